/// Keeps the `k` best `ScoredID`s seen so far (a min-heap on score, so the worst kept is at the top).
/// Ties are broken by the smaller id, so every index orders equal scores the same way.
struct TopK {
    let k: Int
    private(set) var heap: [ScoredID] = []

    init(k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(min(self.k, 4096))
    }

    /// `a` ranks below `b` (lower score, or same score and larger id).
    @inline(__always)
    static func worse(_ a: ScoredID, _ b: ScoredID) -> Bool {
        a.score < b.score || (a.score == b.score && a.id > b.id)
    }

    /// The score a candidate must beat to enter, or -infinity while not full.
    var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    var isFull: Bool { heap.count >= k }

    @inline(__always)
    mutating func offer(_ item: ScoredID) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.append(item)
            siftUp(heap.count - 1)
        } else if Self.worse(heap[0], item) {
            heap[0] = item
            siftDown(0)
        }
    }

    /// Best first.
    func sorted() -> [ScoredID] {
        heap.sorted { Self.worse($1, $0) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.worse(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var smallest = left
            let right = left + 1
            if right < count, Self.worse(heap[right], heap[left]) { smallest = right }
            guard Self.worse(heap[smallest], heap[parent]) else { break }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
