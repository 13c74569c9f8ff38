import Foundation
import SwitchyardCore

/// A search result with its document's metadata.
public struct SearchResult: Sendable {
    public var hit: SearchHit
    public var metadata: [String: JSONValue]
}

extension CollectionService {
    /// Dense 0.75, BM25 0.25 in both fusions: what `switchyard eval retrieval` found to beat both
    /// single retrievers on the MS MARCO subset (equal weights did not beat dense).
    public static let defaultFusionWeights: [Float] = [
        RetrievalEvaluation.Configuration().denseWeight, RetrievalEvaluation.Configuration().bm25Weight,
    ]

    /// The `topK` best chunks the caller may see. Metadata filters and access control are one
    /// predicate the indexes apply while they search, so a filtered search still fills `topK`.
    public func search(_ options: SearchOptions, in name: String, access: AccessScope) async throws -> [SearchResult] {
        let collection = try collection(name)
        let catalog = collection.snapshot()
        let filter = options.filter
        let chunkFilter: ChunkFilter?
        if filter.isEmpty, access == .all {
            chunkFilter = nil
        } else {
            chunkFilter = { id in
                guard let chunk = catalog.chunks[id], let document = catalog.documents[chunk.documentID]?.stored else { return false }
                guard access.permits(document.allowed) else { return false }
                return filter.matches { LiveCollection.field($0, chunk: chunk, document: document) }
            }
        }
        let needsVector = options.mode != .bm25 || options.mmrLambda != nil
        var queryVector: [Float] = []
        if needsVector {
            guard let vector = try await embedding.embed(collection.embeddingModel, [options.query]).first, vector.count == collection.dimension else {
                throw SwitchyardError(
                    code: .badUpstreamResponse, message: "The embedding model '\(collection.embeddingModel)' returned no usable query vector.",
                    status: 502)
            }
            queryVector = vector
        }
        // Fusion and MMR choose among more candidates than they return.
        let candidates = options.mode == .hybrid || options.mmrLambda != nil ? max(options.topK * 4, 50) : options.topK
        var ranked: [ScoredID]
        switch options.mode {
        case .dense:
            ranked = collection.vectors.search(queryVector, k: candidates, efSearch: options.efSearch, filter: chunkFilter)
        case .bm25:
            ranked = collection.keywords.search(options.query, k: candidates, filter: chunkFilter)
        case .hybrid:
            let dense = collection.vectors.search(queryVector, k: candidates, efSearch: options.efSearch, filter: chunkFilter)
            let keyword = collection.keywords.search(options.query, k: candidates, filter: chunkFilter)
            let weights = options.weights ?? Self.defaultFusionWeights
            switch options.fusion {
            case .rrf:
                ranked = Fusion.reciprocalRank([dense, keyword], weights: weights, limit: candidates)
            case .weighted:
                ranked = Fusion.weighted([dense, keyword], weights: weights, limit: candidates)
            }
        }
        if let lambda = options.mmrLambda {
            ranked = MMR.select(ranked, vector: { catalog.chunks[$0]?.vector }, query: queryVector, lambda: lambda, k: options.topK)
        }
        var results: [SearchResult] = []
        for scored in ranked.prefix(options.topK) {
            // Chunks written after the snapshot are left out rather than shown unchecked.
            guard let chunk = catalog.chunks[scored.id], let document = catalog.documents[chunk.documentID]?.stored else { continue }
            results.append(
                SearchResult(
                    hit: SearchHit(
                        chunkID: scored.id, documentID: document.id, score: scored.score, text: chunk.text, position: chunk.position,
                        headingPath: chunk.headingPath, tokenCount: chunk.tokenCount, title: document.title, source: document.source),
                    metadata: document.metadata))
        }
        return results
    }
}
