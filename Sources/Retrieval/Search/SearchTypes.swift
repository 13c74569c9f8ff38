import Foundation

// The contract between the search indexes and the collections built on them.
// Chunk keys are the `Int64` row ids the collection store gives its chunks; every index speaks them.

/// A chunk key with a score; higher is better in every index (cosine/dot similarity, BM25, fused).
public struct ScoredID: Sendable, Hashable {
    public var id: Int64
    public var score: Float
    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// Decides inside a search whether a chunk may be returned (metadata filters, access control).
/// Indexes call it while they search, so a filtered search still returns `k` results when `k` exist.
public typealias ChunkFilter = @Sendable (Int64) -> Bool

public enum VectorMetric: String, Sendable, Codable, Hashable {
    case cosine, dot
}

public struct HNSWParameters: Sendable, Codable, Hashable {
    /// Links per node on the upper layers (layer 0 keeps 2·m).
    public var m: Int
    public var efConstruction: Int
    /// Default beam width at query time; a search may override it.
    public var efSearch: Int
    public var metric: VectorMetric
    /// Seeds the level generator so builds are reproducible.
    public var seed: UInt64

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, metric: VectorMetric = .cosine, seed: UInt64 = 42) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.metric = metric
        self.seed = seed
    }
}

/// An approximate nearest-neighbour index over fixed-dimension vectors. Safe to share between
/// tasks: searches run concurrently, inserts and removals are exclusive.
public protocol VectorIndex: AnyObject, Sendable {
    var dimension: Int { get }
    var count: Int { get }
    /// Adds a vector, or replaces the vector of an existing id.
    func insert(id: Int64, vector: [Float]) throws
    /// Removes an id; later searches never return it. Unknown ids are ignored.
    func remove(id: Int64)
    /// The `k` best ids by similarity to `query`, best first, only ids the filter accepts.
    func search(_ query: [Float], k: Int, efSearch: Int?, filter: ChunkFilter?) -> [ScoredID]
    /// Writes the index to one file, atomically (write to a temporary file, then rename).
    func save(to url: URL) throws
}

public struct BM25Parameters: Sendable, Codable, Hashable {
    public var k1: Float
    public var b: Float
    /// Porter-style English stemming of terms at index and query time.
    public var stemming: Bool

    public init(k1: Float = 0.9, b: Float = 0.4, stemming: Bool = true) {
        self.k1 = k1
        self.b = b
        self.stemming = stemming
    }
}

/// A keyword index (Okapi BM25) over chunk texts, keyed like the vector index. Same sharing rules.
public protocol KeywordIndex: AnyObject, Sendable {
    var count: Int { get }
    /// Adds a text, or replaces the text of an existing id.
    func insert(id: Int64, text: String)
    func remove(id: Int64)
    func search(_ query: String, k: Int, filter: ChunkFilter?) -> [ScoredID]
    /// The score `search` would give each of `ids` (0 for an id the index lacks or that shares no
    /// term with the query), in order: what a reranker needs for candidates outside the top list.
    func scores(_ query: String, ids: [Int64]) -> [Float]
}
