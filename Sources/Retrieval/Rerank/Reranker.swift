import Foundation

/// One fused candidate as a reranker sees it.
public struct RerankCandidate: Sendable {
    public var id: Int64
    /// What the indexes saw: title and headings, then the chunk's text.
    public var text: String
    /// The chunk's stored embedding.
    public var vector: [Float]
    /// Its score after fusion (or from the single index), and its 0-based place in that order.
    public var fusedScore: Float
    public var fusedRank: Int

    public init(id: Int64, text: String, vector: [Float], fusedScore: Float, fusedRank: Int) {
        self.id = id
        self.text = text
        self.vector = vector
        self.fusedScore = fusedScore
        self.fusedRank = fusedRank
    }
}

/// What a reranker may ask of the collection it reranks for.
public struct RerankContext: Sendable {
    public var query: String
    /// The query's embedding with the collection's model (empty when the search had none).
    public var queryVector: [Float]
    /// The keyword index's score of each id for the query, computed for exactly these ids.
    public var keywordScores: @Sendable (_ ids: [Int64]) -> [Float]

    public init(query: String, queryVector: [Float], keywordScores: @escaping @Sendable ([Int64]) -> [Float]) {
        self.query = query
        self.queryVector = queryVector
        self.keywordScores = keywordScores
    }
}

/// A second-stage scorer: gives each candidate a relevance score, higher = better.
public protocol Reranker: Sendable {
    /// The name collections and requests use to pick it.
    var name: String { get }
    /// One finite score per candidate, in the candidates' order.
    func scores(_ candidates: [RerankCandidate], context: RerankContext) async throws -> [Float]
}

/// Where the rerank stage is on, how deep it goes and which reranker it uses.
public struct RerankSettings: Sendable, Equatable {
    public var enabled: Bool
    /// Fused candidates the reranker reorders (the rest follow in fused order).
    public var topN: Int
    public var reranker: String

    public static let defaultTopN = 50

    public init(enabled: Bool = false, topN: Int = RerankSettings.defaultTopN, reranker: String = HybridScoreReranker.defaultName) {
        self.enabled = enabled
        self.topN = topN
        self.reranker = reranker
    }

    /// These settings with a request's overrides applied.
    public func applying(_ request: RerankRequest) -> RerankSettings {
        var settings = self
        if let enabled = request.enabled { settings.enabled = enabled }
        if let topN = request.topN { settings.topN = topN }
        return settings
    }
}

public enum RerankStage {
    /// Reorders the first `scores.count` entries of `ranked` by `scores` (best first; a tie keeps
    /// the fused order) and gives them those scores; entries past them follow unchanged. A
    /// non-finite score sorts last among the reranked.
    public static func reorder(_ ranked: [ScoredID], scores: [Float]) -> [ScoredID] {
        let depth = min(scores.count, ranked.count)
        var entries: [(position: Int, score: Float)] = []
        entries.reserveCapacity(depth)
        for position in 0..<depth {
            let score = scores[position]
            entries.append((position, score.isFinite ? score : -Float.infinity))
        }
        entries.sort { left, right in left.score != right.score ? left.score > right.score : left.position < right.position }
        var reordered: [ScoredID] = entries.map { ScoredID(id: ranked[$0.position].id, score: $0.score) }
        reordered.append(contentsOf: ranked.dropFirst(depth))
        return reordered
    }
}
