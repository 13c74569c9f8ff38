import Foundation

/// Reranks by the two signals a collection already holds, computed exactly for every candidate:
/// the cosine of the query and chunk embeddings and the chunk's BM25 score. Each is standardised
/// over the candidates (z-score: minus the mean, over the standard deviation), then
/// `score = σ(denseWeight · z(cosine) + keywordWeight · z(bm25))`, σ the logistic function (scores in
/// (0, 1), 0.5 an average candidate).
///
/// Fusion by ranks (RRF) gives a chunk that one list missed nothing from that list, and treats a
/// 0.01 cosine gap like a 0.3 one; here every candidate has both scores and their spread counts, so
/// a query whose BM25 scores are flat (its terms are common) leans on the embedding, and one with a
/// standout keyword match leans on that. It needs no model beyond the collection's embedder and
/// costs microseconds. Not a cross-encoder: no such weights could be had from a package registry.
public struct HybridScoreReranker: Reranker {
    public static let defaultName = "hybrid-scores"

    public let name: String
    public var denseWeight: Float
    public var keywordWeight: Float

    public init(name: String = HybridScoreReranker.defaultName, denseWeight: Float = 1, keywordWeight: Float = 0.3) {
        self.name = name
        self.denseWeight = denseWeight
        self.keywordWeight = keywordWeight
    }

    public func scores(_ candidates: [RerankCandidate], context: RerankContext) async throws -> [Float] {
        Self.combine(
            dense: candidates.map { Self.cosine(context.queryVector, $0.vector) }, keyword: context.keywordScores(candidates.map(\.id)),
            denseWeight: denseWeight, keywordWeight: keywordWeight
        ).map(Fusion.logistic)
    }

    /// `denseWeight · z(dense) + keywordWeight · z(keyword)`, z over the given values.
    public static func combine(dense: [Float], keyword: [Float], denseWeight: Float, keywordWeight: Float) -> [Float] {
        zip(Fusion.standardise(dense), Fusion.standardise(keyword)).map { denseWeight * $0 + keywordWeight * $1 }
    }

    /// Cosine similarity; 0 when either vector is empty, of another length or all zeros.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        guard !a.isEmpty, a.count == b.count else { return 0 }
        var dot: Float = 0, normA: Float = 0, normB: Float = 0
        for index in a.indices {
            dot += a[index] * b[index]
            normA += a[index] * a[index]
            normB += b[index] * b[index]
        }
        let norms = (normA * normB).squareRoot()
        return norms > 0 ? dot / norms : 0
    }
}
