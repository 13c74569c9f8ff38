import Foundation
import Testing

@testable import Retrieval

/// Deterministic vectors for tests (SplitMix64, uniform in [-1, 1)).
struct SearchTestVectors {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(Double(z >> 11) * 0x1p-53) * 2 - 1
    }

    mutating func vector(_ dimension: Int) -> [Float] { (0..<dimension).map { _ in next() } }
}

func searchTestFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("retrieval-tests-\(UUID().uuidString)-\(name)")
}

@Suite("HNSW index")
struct HNSWIndexTests {
    static let dimension = 32

    static func build(count: Int, metric: VectorMetric = .cosine, seed: UInt64 = 1) throws -> (HNSWIndex, ExactVectorIndex, [[Float]]) {
        var random = SearchTestVectors(seed: seed)
        let hnsw = HNSWIndex(dimension: dimension, parameters: HNSWParameters(m: 12, efConstruction: 100, efSearch: 64, metric: metric))
        let exact = ExactVectorIndex(dimension: dimension, metric: metric)
        var vectors: [[Float]] = []
        for id in 0..<count {
            let vector = random.vector(dimension)
            vectors.append(vector)
            try hnsw.insert(id: Int64(id), vector: vector)
            try exact.insert(id: Int64(id), vector: vector)
        }
        return (hnsw, exact, vectors)
    }

    static func recall(_ hnsw: HNSWIndex, _ exact: ExactVectorIndex, queries: Int, k: Int, ef: Int?, seed: UInt64 = 99) -> Double {
        var random = SearchTestVectors(seed: seed)
        var found = 0
        for _ in 0..<queries {
            let query = random.vector(dimension)
            let truth = Set(exact.search(query, k: k, efSearch: nil, filter: nil).map(\.id))
            found += hnsw.search(query, k: k, efSearch: ef, filter: nil).filter { truth.contains($0.id) }.count
        }
        return Double(found) / Double(queries * k)
    }

    @Test("recall@10 against exact search is at least 0.95 on 3,000 random 32-d vectors", arguments: [VectorMetric.cosine, .dot])
    func recallAgainstExact(metric: VectorMetric) throws {
        let (hnsw, exact, _) = try Self.build(count: 3000, metric: metric)
        #expect(hnsw.count == 3000)
        let recall = Self.recall(hnsw, exact, queries: 100, k: 10, ef: 100)
        #expect(recall >= 0.95, "recall \(recall)")
    }

    @Test("a larger efSearch does not lower recall")
    func efSearchOverride() throws {
        let (hnsw, exact, _) = try Self.build(count: 2000)
        let low = Self.recall(hnsw, exact, queries: 60, k: 10, ef: 10)
        let high = Self.recall(hnsw, exact, queries: 60, k: 10, ef: 200)
        #expect(high >= low)
        #expect(high >= 0.98)
    }

    @Test("scores are cosine similarities, best first, and a stored vector is its own nearest neighbour")
    func scoresAndSelf() throws {
        let (hnsw, _, vectors) = try Self.build(count: 500)
        for id in [0, 17, 250, 499] {
            let results = hnsw.search(vectors[id], k: 5, efSearch: nil, filter: nil)
            #expect(results.first?.id == Int64(id))
            #expect(abs((results.first?.score ?? 0) - 1) < 1e-4)
            #expect(zip(results, results.dropFirst()).allSatisfy { $0.score >= $1.score })
            let expected = VectorMath.cosine(vectors[id], vectors[Int(results[1].id)])
            #expect(abs(results[1].score - expected) < 1e-4)
        }
    }

    @Test("a removed id is never returned, also after it was the nearest")
    func removeReallyRemoves() throws {
        let (hnsw, _, vectors) = try Self.build(count: 1000)
        var removed = Set<Int64>()
        for id in stride(from: 0, to: 1000, by: 3) {
            hnsw.remove(id: Int64(id))
            removed.insert(Int64(id))
        }
        #expect(hnsw.count == 1000 - removed.count)
        for id in stride(from: 0, to: 1000, by: 7) {
            let results = hnsw.search(vectors[id], k: 20, efSearch: nil, filter: nil)
            #expect(results.count == 20)
            #expect(results.allSatisfy { !removed.contains($0.id) })
            if !removed.contains(Int64(id)) { #expect(results.first?.id == Int64(id)) }
        }
        #expect(hnsw.vector(for: 0) == nil)
        #expect(!hnsw.contains(0))
    }

    @Test("removing most ids compacts the graph and keeps search correct")
    func compaction() throws {
        let (hnsw, exact, vectors) = try Self.build(count: 1200)
        for id in 0..<900 {
            hnsw.remove(id: Int64(id))
            exact.remove(id: Int64(id))
        }
        #expect(hnsw.count == 300)
        #expect(hnsw.tombstoneCount < 300)
        let results = hnsw.search(vectors[1000], k: 10, efSearch: 100, filter: nil)
        #expect(results.allSatisfy { $0.id >= 900 })
        #expect(results.first?.id == 1000)
        #expect(Self.recall(hnsw, exact, queries: 30, k: 10, ef: 100) >= 0.95)
    }

    @Test("re-inserting an id replaces its vector")
    func replace() throws {
        let (hnsw, _, vectors) = try Self.build(count: 300)
        try hnsw.insert(id: 5, vector: vectors[200])
        #expect(hnsw.count == 300)
        let results = hnsw.search(vectors[200], k: 2, efSearch: nil, filter: nil)
        #expect(Set(results.map(\.id)) == [5, 200])
        #expect(hnsw.search(vectors[5], k: 1, efSearch: nil, filter: nil).first?.id != 5)
    }

    @Test("a filtered search returns k accepted ids, at broad and narrow selectivity", arguments: [2, 10, 50, 400])
    func filteredSearch(modulus: Int) throws {
        let (hnsw, exact, _) = try Self.build(count: 2000)
        let filter: ChunkFilter = { $0 % Int64(modulus) == 0 }
        var random = SearchTestVectors(seed: 7)
        var found = 0
        for _ in 0..<20 {
            let query = random.vector(Self.dimension)
            let results = hnsw.search(query, k: 5, efSearch: nil, filter: filter)
            #expect(results.count == 5)
            #expect(results.allSatisfy { $0.id % Int64(modulus) == 0 })
            let truth = Set(exact.search(query, k: 5, efSearch: nil, filter: filter).map(\.id))
            found += results.filter { truth.contains($0.id) }.count
        }
        #expect(Double(found) / 100 >= 0.9)
    }

    @Test("a filter accepting fewer than k ids returns exactly those")
    func filterFewerThanK() throws {
        let (hnsw, _, vectors) = try Self.build(count: 1000)
        let results = hnsw.search(vectors[3], k: 10, efSearch: nil, filter: { [11, 500, 999].contains($0) })
        #expect(Set(results.map(\.id)) == [11, 500, 999])
    }

    @Test("save and load round trip, then insert and remove after load")
    func saveLoad() throws {
        let (hnsw, _, vectors) = try Self.build(count: 1500, metric: .dot)
        hnsw.remove(id: 10)
        let url = searchTestFile("index.hnsw")
        defer { try? FileManager.default.removeItem(at: url) }
        try hnsw.save(to: url)
        let loaded = try HNSWIndex.load(from: url)
        #expect(loaded.count == hnsw.count)
        #expect(loaded.parameters == hnsw.parameters)
        var random = SearchTestVectors(seed: 3)
        for _ in 0..<20 {
            let query = random.vector(Self.dimension)
            #expect(loaded.search(query, k: 10, efSearch: 50, filter: nil) == hnsw.search(query, k: 10, efSearch: 50, filter: nil))
        }
        #expect(!loaded.contains(10))
        var fresh = SearchTestVectors(seed: 1234)
        var added: [[Float]] = []
        for id in 5000..<5600 {
            let vector = fresh.vector(Self.dimension)
            added.append(vector)
            try loaded.insert(id: Int64(id), vector: vector)
        }
        loaded.remove(id: 20)
        #expect(loaded.count == hnsw.count + 600 - 1)
        #expect(loaded.search(added[42], k: 1, efSearch: nil, filter: nil).first?.id == 5042)
        #expect(loaded.search(vectors[30], k: 1, efSearch: nil, filter: nil).first?.id == 30)
        #expect(!loaded.search(vectors[20], k: 10, efSearch: nil, filter: nil).contains { $0.id == 20 })
        // Saving over the mapped file and loading again keeps everything.
        try loaded.save(to: url)
        let again = try HNSWIndex.load(from: url)
        #expect(again.count == loaded.count)
        #expect(again.search(added[99], k: 1, efSearch: nil, filter: nil).first?.id == 5099)
    }

    @Test("removing most ids from a loaded index compacts it from the mapped records")
    func compactionAfterLoad() throws {
        let (hnsw, _, vectors) = try Self.build(count: 1200)
        let url = searchTestFile("compact.hnsw")
        defer { try? FileManager.default.removeItem(at: url) }
        try hnsw.save(to: url)
        let loaded = try HNSWIndex.load(from: url)
        for id in 0..<900 { loaded.remove(id: Int64(id)) }
        #expect(loaded.count == 300)
        #expect(loaded.tombstoneCount < 300)
        for id in stride(from: 900, to: 1200, by: 37) {
            #expect(loaded.search(vectors[id], k: 1, efSearch: nil, filter: nil).first?.id == Int64(id))
            #expect(loaded.vector(for: Int64(id)) == hnsw.vector(for: Int64(id)))
        }
    }

    @Test("a version-1 file (vectors and count-prefixed link lists in separate sections) still loads")
    func versionOneFile() throws {
        // Four unit vectors on a circle, dot metric, m = 2 (layer-0 lists of 4 slots, a count before
        // them in version 1); node 0 is also on layer 1 and is the entry point; node 2 is removed.
        var writer = IndexFileWriter()
        writer.append(magic: HNSWIndex.magic)
        for value: UInt32 in [1, 2, 1, 2, 10, 10] { writer.append(value) }  // version, dimension, dot, m, efC, efS
        writer.append(UInt64(42))  // seed
        writer.append(UInt64(12345))  // random state
        writer.append(UInt64(4))  // nodes
        writer.append(Int32(0))  // entry point
        writer.append(Int32(1))  // max level
        writer.append(UInt64(1))  // tombstones
        writer.append(UInt64(3))  // upper-link slots: one layer of m + 1
        writer.align()
        for value: Float in [1, 0, 0, 1, -1, 0, 0, -1] { writer.append(value) }
        writer.align()
        for value: Int32 in [2, 1, 3, 0, 0, 2, 0, 2, 0, 0, 2, 1, 3, 0, 0, 2, 0, 2, 0, 0] { writer.append(value) }
        writer.align()
        writer.append(contentsOf: [Int64(10), 11, 12, 13])
        writer.append(contentsOf: [UInt8(1), 0, 0, 0])
        writer.append(contentsOf: [UInt8(0), 0, 1, 0])
        writer.align()
        for value: Int32 in [0, 0, 0] { writer.append(value) }
        let url = searchTestFile("version1.hnsw")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)

        let loaded = try HNSWIndex.load(from: url)
        #expect(loaded.count == 3)
        #expect(!loaded.contains(12))
        #expect(loaded.search([1, 0.1], k: 3, efSearch: 10, filter: nil).map(\.id) == [10, 11, 13])
        try loaded.insert(id: 14, vector: [0.8, 0.6])
        #expect(loaded.search([0.8, 0.6], k: 1, efSearch: 10, filter: nil).first?.id == 14)
        // Saved again, it is a current-version file with the same contents.
        try loaded.save(to: url)
        let again = try HNSWIndex.load(from: url)
        #expect(again.search([1, 0.1], k: 4, efSearch: 10, filter: nil) == loaded.search([1, 0.1], k: 4, efSearch: 10, filter: nil))
    }

    @Test("a truncated or foreign file fails with a clear error")
    func damagedFile() throws {
        let (hnsw, _, _) = try Self.build(count: 200)
        let url = searchTestFile("damaged.hnsw")
        defer { try? FileManager.default.removeItem(at: url) }
        try hnsw.save(to: url)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        #expect(throws: SearchIndexError.self) { try HNSWIndex.load(from: url) }
        try Data("not an index at all".utf8).write(to: url)
        do {
            _ = try HNSWIndex.load(from: url)
            Issue.record("loaded a foreign file")
        } catch let error as SearchIndexError {
            #expect(error.code == .unsupportedFile)
        }
    }

    @Test("a vector of the wrong dimension is rejected")
    func wrongDimension() {
        let hnsw = HNSWIndex(dimension: 4)
        #expect(throws: SearchIndexError.self) { try hnsw.insert(id: 1, vector: [1, 2, 3]) }
        #expect(throws: SearchIndexError.self) { try hnsw.insert(id: 1, vector: [1, 2, .nan, 3]) }
        #expect(hnsw.search([1, 2, 3], k: 3, efSearch: nil, filter: nil).isEmpty)
    }

    @Test("concurrent searches while inserting stay correct")
    func concurrency() async throws {
        let (hnsw, _, vectors) = try Self.build(count: 800)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var random = SearchTestVectors(seed: 77)
                for id in 10_000..<10_400 { try hnsw.insert(id: Int64(id), vector: random.vector(Self.dimension)) }
            }
            for worker in 0..<4 {
                group.addTask {
                    for id in stride(from: worker, to: 800, by: 8) {
                        let top = hnsw.search(vectors[id], k: 1, efSearch: 64, filter: nil)
                        #expect(top.first?.id == Int64(id))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(hnsw.count == 1200)
    }
}

@Suite("Exact vector index")
struct ExactVectorIndexTests {
    @Test("scores every vector, honours filters and removal, and round-trips through a file")
    func exact() throws {
        let index = ExactVectorIndex(dimension: 3)
        try index.insert(id: 1, vector: [1, 0, 0])
        try index.insert(id: 2, vector: [0, 1, 0])
        try index.insert(id: 3, vector: [1, 1, 0])
        let results = index.search([2, 0, 0], k: 3, efSearch: nil, filter: nil)
        #expect(results.map(\.id) == [1, 3, 2])
        #expect(abs(results[1].score - 0.70710677) < 1e-6)
        #expect(index.search([2, 0, 0], k: 3, efSearch: nil, filter: { $0 != 1 }).map(\.id) == [3, 2])
        index.remove(id: 1)
        #expect(index.count == 2)
        #expect(index.search([1, 0, 0], k: 3, efSearch: nil, filter: nil).map(\.id) == [3, 2])
        let url = searchTestFile("exact.idx")
        defer { try? FileManager.default.removeItem(at: url) }
        try index.save(to: url)
        let loaded = try ExactVectorIndex.load(from: url)
        #expect(loaded.search([1, 0, 0], k: 3, efSearch: nil, filter: nil) == index.search([1, 0, 0], k: 3, efSearch: nil, filter: nil))
    }

    @Test("dot metric keeps magnitudes")
    func dot() throws {
        let index = ExactVectorIndex(dimension: 2, metric: .dot)
        try index.insert(id: 1, vector: [1, 0])
        try index.insert(id: 2, vector: [3, 3])
        let results = index.search([1, 0], k: 2, efSearch: nil, filter: nil)
        #expect(results.map(\.id) == [2, 1])
        #expect(results[0].score == 3)
    }
}

@Suite("Distance kernels")
struct DistanceKernelTests {
    @Test("every kernel this CPU supports agrees with a scalar inner product, at every tail length")
    func kernelsAgree() {
        var random = SearchTestVectors(seed: 5)
        for count in [1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 384, 385] {
            let a = random.vector(count), b = random.vector(count)
            var expected: Double = 0
            for index in 0..<count { expected += Double(a[index]) * Double(b[index]) }
            for kernel in VectorMath.Kernel.supported {
                let value = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in kernel.dot(pa.baseAddress!, pb.baseAddress!, count) } }
                #expect(abs(Double(value) - expected) < 1e-4, "\(kernel) at \(count): \(value) vs \(expected)")
            }
        }
        #expect(VectorMath.Kernel.supported.last == .portable)
    }

    @Test("the batch kernel gives exactly the single-vector kernel's values (the graph a build makes depends on them)", arguments: [384, 100, 16, 385])
    func batchKernelMatches(dimension: Int) {
        var random = SearchTestVectors(seed: 11)
        let stride = (dimension * 4 + 63) / 64 * 64 + 128  // records with links after the vector, as in NodeRecords
        let count = 40
        let base = UnsafeMutableRawPointer.allocate(byteCount: count * stride, alignment: 64)
        defer { base.deallocate() }
        for row in 0..<count {
            let vector = random.vector(dimension)
            (base + row * stride).bindMemory(to: Float.self, capacity: dimension).update(from: vector, count: dimension)
        }
        let query = random.vector(dimension)
        let ids: [Int32] = (0..<Int32(count)).reversed().filter { $0 % 3 != 1 }
        for kernel in VectorMath.Kernel.supported {
            var batch = [Float](repeating: .nan, count: ids.count)
            query.withUnsafeBufferPointer { q in
                ids.withUnsafeBufferPointer { ids in
                    batch.withUnsafeMutableBufferPointer { out in
                        VectorMath.dots(kernel, q.baseAddress!, base: base, stride: stride, ids: ids.baseAddress!, ids.count, count: dimension, into: out.baseAddress!)
                    }
                }
            }
            for (position, id) in ids.enumerated() {
                let single = query.withUnsafeBufferPointer { q in
                    kernel.dot(q.baseAddress!, (base + Int(id) * stride).assumingMemoryBound(to: Float.self), dimension)
                }
                #expect(batch[position].bitPattern == single.bitPattern, "\(kernel) at \(dimension), vector \(id)")
            }
        }
    }
}
