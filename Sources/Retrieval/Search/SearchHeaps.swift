/// A node of the graph with its distance to the query (smaller is nearer).
struct NodeDistance {
    var distance: Float
    var node: Int32
}

/// A binary max-heap on distance in a manually managed buffer (no uniqueness or bounds checks in
/// the search loop). The result set of a beam search keeps its farthest member on top; the
/// candidate queue stores negated distances so its nearest is on top. Owned by a `SearchScratch`,
/// which frees the buffer.
struct NodeHeap {
    private(set) var base: UnsafeMutablePointer<NodeDistance>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    var isEmpty: Bool { count == 0 }
    var top: NodeDistance { base[0] }

    @inline(__always)
    mutating func push(_ distance: Float, _ node: Int32) {
        if count == capacity { grow() }
        var child = count
        count &+= 1
        while child > 0 {
            let parent = (child &- 1) >> 1
            guard base[parent].distance < distance else { break }
            base[child] = base[parent]
            child = parent
        }
        base[child] = NodeDistance(distance: distance, node: node)
    }

    @inline(__always)
    @discardableResult
    mutating func pop() -> NodeDistance {
        let first = base[0]
        count &-= 1
        guard count > 0 else { return first }
        let last = base[count]
        var parent = 0
        while true {
            let left = 2 &* parent &+ 1
            if left >= count { break }
            var larger = left
            if left &+ 1 < count, base[left &+ 1].distance > base[left].distance { larger = left &+ 1 }
            guard base[larger].distance > last.distance else { break }
            base[parent] = base[larger]
            parent = larger
        }
        base[parent] = last
        return first
    }

    mutating func removeAll() { count = 0 }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<NodeDistance>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    /// The members nearest first.
    func sortedAscending() -> [NodeDistance] {
        UnsafeBufferPointer(start: base, count: count).sorted {
            $0.distance < $1.distance || ($0.distance == $1.distance && $0.node < $1.node)
        }
    }
}

/// Everything one search needs besides the graph: visited marks (an epoch counter, so clearing
/// between searches is one increment), the two heaps and buffers for the pending neighbours and their inner products with the query.
/// `@unchecked Sendable`: a scratch is used by one search at a time, handed out by the index's pool.
final class SearchScratch: @unchecked Sendable {
    private(set) var marks: UnsafeMutablePointer<UInt16>
    private(set) var markCapacity: Int
    private var epoch: UInt16 = 0
    var results = NodeHeap(capacity: 256)
    var candidates = NodeHeap(capacity: 1024)
    let pending: UnsafeMutablePointer<Int32>
    /// The inner products of the pending neighbours with the query.
    let products: UnsafeMutablePointer<Float>

    init(nodes: Int, maxLinks: Int) {
        markCapacity = max(nodes, 1)
        marks = .allocate(capacity: markCapacity)
        marks.initialize(repeating: 0, count: markCapacity)
        pending = .allocate(capacity: maxLinks + 1)
        products = .allocate(capacity: maxLinks + 1)
    }

    deinit {
        marks.deallocate()
        pending.deallocate()
        products.deallocate()
        results.deallocate()
        candidates.deallocate()
    }

    /// Starts a new search over `nodes` nodes; returns the epoch that marks "visited" this time.
    func begin(nodes: Int) -> UInt16 {
        if nodes > markCapacity {
            marks.deallocate()
            markCapacity = max(nodes, markCapacity * 2)
            marks = .allocate(capacity: markCapacity)
            marks.initialize(repeating: 0, count: markCapacity)
            epoch = 0
        }
        epoch &+= 1
        if epoch == 0 {
            marks.update(repeating: 0, count: markCapacity)
            epoch = 1
        }
        return epoch
    }
}
