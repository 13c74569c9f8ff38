import Synchronization
import Testing
@testable import Embeddings

@Suite("helper pool")
struct ParallelTests {
    @Test("every slice of every step runs exactly once, also from concurrent callers")
    func slicesRunOnce() async {
        let pool = HelperPool(helpers: 1)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    for step in 0..<2_000 {
                        let count = 1 + step % 4
                        let hits = Atomic<Int>(0)
                        let seen = Mutex<Set<Int>>([])
                        pool.run(count) { slice in
                            hits.add(1, ordering: .relaxed)
                            seen.withLock { _ = $0.insert(slice) }
                        }
                        #expect(hits.load(ordering: .relaxed) == count)
                        #expect(seen.withLock { $0 } == Set(0..<count))
                    }
                }
            }
        }
    }

    @Test("slices cover a range exactly, in granules")
    func slices() {
        for total in [0, 1, 15, 384, 1536] {
            for count in 1...3 {
                let parts = (0..<count).map { Parallel.slice($0, of: count, total: total, multipleOf: 32) }
                #expect(parts.map(\.count).reduce(0, +) == total)
                #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == total)
                for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                for part in parts.dropLast() { #expect(part.count % 32 == 0) }
            }
        }
    }
}
