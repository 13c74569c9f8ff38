import Foundation

/// Brute-force nearest neighbours: every search scores every stored vector. Exact, so it is the
/// recall ground truth for `HNSWIndex`, and the right index for small collections (a few thousand
/// vectors score in well under a millisecond).
///
/// Vectors are kept in one contiguous buffer (normalised once at insert for cosine); removal moves
/// the last vector into the freed slot.
public final class ExactVectorIndex: VectorIndex, @unchecked Sendable {
    // @unchecked Sendable: all mutable state is read and written under `lock`.
    public let dimension: Int
    public let metric: VectorMetric
    private let lock = ReadWriteLock()
    private var vectors: [Float] = []
    private var ids: [Int64] = []
    private var slots: [Int64: Int] = [:]

    public init(dimension: Int, metric: VectorMetric = .cosine) {
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
        self.metric = metric
    }

    public var count: Int { lock.withReadLock { ids.count } }

    public func insert(id: Int64, vector: [Float]) throws {
        var vector = try Self.checked(vector, dimension: dimension)
        if metric == .cosine { VectorMath.normalise(&vector) }
        lock.withWriteLock {
            if let slot = slots[id] {
                vectors.replaceSubrange(slot * dimension..<(slot + 1) * dimension, with: vector)
            } else {
                slots[id] = ids.count
                ids.append(id)
                vectors.append(contentsOf: vector)
            }
        }
    }

    public func remove(id: Int64) {
        lock.withWriteLock {
            guard let slot = slots.removeValue(forKey: id) else { return }
            let last = ids.count - 1
            if slot != last {
                let moved = ids[last]
                ids[slot] = moved
                slots[moved] = slot
                for offset in 0..<dimension { vectors[slot * dimension + offset] = vectors[last * dimension + offset] }
            }
            ids.removeLast()
            vectors.removeLast(dimension)
        }
    }

    public func search(_ query: [Float], k: Int, efSearch: Int? = nil, filter: ChunkFilter? = nil) -> [ScoredID] {
        guard k > 0, query.count == dimension else { return [] }
        var query = query
        if metric == .cosine { VectorMath.normalise(&query) }
        return lock.withReadLock {
            var top = TopK(k: k)
            query.withUnsafeBufferPointer { q in
                vectors.withUnsafeBufferPointer { all in
                    for slot in ids.indices {
                        let id = ids[slot]
                        if let filter, !filter(id) { continue }
                        let score = VectorMath.dot(q.baseAddress!, all.baseAddress! + slot * dimension, dimension)
                        top.offer(ScoredID(id: id, score: score))
                    }
                }
            }
            return top.sorted()
        }
    }

    /// The stored (normalised, for cosine) vector of an id.
    public func vector(for id: Int64) -> [Float]? {
        lock.withReadLock {
            guard let slot = slots[id] else { return nil }
            return Array(vectors[slot * dimension..<(slot + 1) * dimension])
        }
    }

    public func contains(_ id: Int64) -> Bool { lock.withReadLock { slots[id] != nil } }

    static let magic = "SYEXACT1"

    public func save(to url: URL) throws {
        let writer: IndexFileWriter = lock.withReadLock {
            var writer = IndexFileWriter()
            writer.append(magic: Self.magic)
            writer.append(UInt32(dimension))
            writer.append(UInt32(metric == .cosine ? 0 : 1))
            writer.append(UInt64(ids.count))
            writer.append(contentsOf: ids)
            writer.append(contentsOf: vectors)
            return writer
        }
        try writer.write(to: url)
    }

    public static func load(from url: URL) throws -> ExactVectorIndex {
        try IndexFileReader.withContents(of: url, magic: magic, kind: "an exact vector index file") { reader in
            let dimension = Int(try reader.read(UInt32.self))
            let metric: VectorMetric = try reader.read(UInt32.self) == 0 ? .cosine : .dot
            let count = Int(try reader.read(UInt64.self))
            guard dimension > 0, count >= 0, count <= reader.size else { throw reader.corrupt("header") }
            let index = ExactVectorIndex(dimension: dimension, metric: metric)
            index.ids = try reader.readArray(Int64.self, count: count, "ids")
            index.vectors = try reader.readArray(Float.self, count: count * dimension, "vectors")
            for (slot, id) in index.ids.enumerated() { index.slots[id] = slot }
            return index
        }
    }

    static func checked(_ vector: [Float], dimension: Int) throws -> [Float] {
        guard vector.count == dimension else {
            throw SearchIndexError(.dimensionMismatch, "vector has \(vector.count) dimensions; this index holds \(dimension)-dimensional vectors")
        }
        guard vector.allSatisfy({ $0.isFinite }) else {
            throw SearchIndexError(.invalidVector, "vector contains NaN or infinite values")
        }
        return vector
    }
}
