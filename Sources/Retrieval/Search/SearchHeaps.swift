/// A node of the graph with its distance to the query (smaller is nearer).
struct NodeDistance {
    var distance: Float
    var node: Int32
}

/// A binary max-heap on distance over a contiguous buffer: the result set of a beam search keeps its
/// farthest member on top; the candidate queue stores negated distances so its nearest is on top.
struct DistanceMaxHeap {
    private(set) var items: ContiguousArray<NodeDistance> = []

    init(capacity: Int) { items.reserveCapacity(capacity) }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: NodeDistance { items[0] }

    @inline(__always)
    mutating func push(_ distance: Float, _ node: Int32) {
        items.append(NodeDistance(distance: distance, node: node))
        items.withUnsafeMutableBufferPointer { buffer in
            var child = buffer.count - 1
            let item = buffer[child]
            while child > 0 {
                let parent = (child - 1) >> 1
                guard buffer[parent].distance < item.distance else { break }
                buffer[child] = buffer[parent]
                child = parent
            }
            buffer[child] = item
        }
    }

    @inline(__always)
    @discardableResult
    mutating func pop() -> NodeDistance {
        let first = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items.withUnsafeMutableBufferPointer { buffer in
                let count = buffer.count
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    if left >= count { break }
                    var larger = left
                    if left + 1 < count, buffer[left + 1].distance > buffer[left].distance { larger = left + 1 }
                    guard buffer[larger].distance > last.distance else { break }
                    buffer[parent] = buffer[larger]
                    parent = larger
                }
                buffer[parent] = last
            }
        }
        return first
    }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    /// The members nearest first.
    func sortedAscending() -> [NodeDistance] {
        items.sorted { $0.distance < $1.distance || ($0.distance == $1.distance && $0.node < $1.node) }
    }
}

/// Marks visited nodes with an epoch counter, so clearing between searches is one increment.
/// `@unchecked Sendable`: a list is used by one search at a time, handed out by the index's pool.
final class VisitedList: @unchecked Sendable {
    private(set) var marks: UnsafeMutablePointer<UInt16>
    private(set) var capacity: Int
    private var epoch: UInt16 = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        marks = .allocate(capacity: self.capacity)
        marks.initialize(repeating: 0, count: self.capacity)
    }

    deinit { marks.deallocate() }

    /// Starts a new search over `nodes` nodes; returns the epoch that marks "visited" this time.
    func begin(nodes: Int) -> UInt16 {
        if nodes > capacity {
            marks.deallocate()
            capacity = max(nodes, capacity * 2)
            marks = .allocate(capacity: capacity)
            marks.initialize(repeating: 0, count: capacity)
            epoch = 0
        }
        epoch &+= 1
        if epoch == 0 {
            marks.update(repeating: 0, count: capacity)
            epoch = 1
        }
        return epoch
    }
}
