import Foundation
import SwitchyardCore

/// A search result with its document's metadata.
public struct SearchResult: Sendable {
    public var hit: SearchHit
    public var metadata: [String: JSONValue]
}

extension CollectionService {
    /// The rerank settings of `collection`: its own from the configuration, else the default.
    public func rerankSettings(for collection: String) -> RerankSettings {
        settings.collectionRerank[collection] ?? settings.rerank
    }

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
        let rerank = rerankSettings(for: name).applying(options.rerank)
        let needsVector = options.mode != .bm25 || options.mmrLambda != nil || rerank.enabled
        var queryVector: [Float] = []
        if needsVector {
            guard let vector = try await embedding.embed(collection.embeddingModel, [options.query]).first, vector.count == collection.dimension else {
                throw SwitchyardError(
                    code: .badUpstreamResponse, message: "The embedding model '\(collection.embeddingModel)' returned no usable query vector.",
                    status: 502)
            }
            queryVector = vector
        }
        // Fusion, reranking and MMR choose among more candidates than they return.
        var candidates = options.mode == .hybrid || options.mmrLambda != nil ? max(options.topK * 4, 50) : options.topK
        if rerank.enabled { candidates = max(candidates, rerank.topN) }
        var ranked: [ScoredID]
        switch options.mode {
        case .dense:
            ranked = collection.vectors.search(queryVector, k: candidates, efSearch: options.efSearch, filter: chunkFilter)
        case .bm25:
            ranked = collection.keywords.search(options.query, k: candidates, filter: chunkFilter)
        case .hybrid:
            let dense = collection.vectors.search(queryVector, k: candidates, efSearch: options.efSearch, filter: chunkFilter)
            let keyword = collection.keywords.search(options.query, k: candidates, filter: chunkFilter)
            let weights = options.weights ?? options.fusion.defaultWeights
            switch options.fusion {
            case .zscore:
                // RRF picks the pool (chunks high in either list, or fairly high in both); exact scores order it.
                let ids = Fusion.reciprocalRank([dense, keyword], weights: nil, limit: candidates).map(\.id).filter { catalog.chunks[$0] != nil }
                let cosines = ids.map { HybridScoreReranker.cosine(queryVector, catalog.chunks[$0]?.vector ?? []) }
                let bm25 = collection.keywords.scores(options.query, ids: ids)
                ranked = Fusion.standardised(ids: ids, scores: [cosines, bm25], weights: weights, limit: candidates)
            case .rrf:
                ranked = Fusion.reciprocalRank([dense, keyword], weights: weights, limit: candidates)
            case .weighted:
                ranked = Fusion.weighted([dense, keyword], weights: weights, limit: candidates)
            }
        }
        if rerank.enabled {
            ranked = try await self.rerank(ranked, settings: rerank, query: options.query, queryVector: queryVector, collection: collection, catalog: catalog)
        }
        if let lambda = options.mmrLambda {
            ranked = MMR.select(ranked, vector: { catalog.chunks[$0]?.vector }, query: queryVector, lambda: lambda, k: options.topK)
        }
        if let minScore = options.minScore {
            ranked = ranked.filter { $0.score >= minScore }
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

    /// Runs the configured reranker over the first `settings.topN` of `ranked`.
    private func rerank(
        _ ranked: [ScoredID], settings: RerankSettings, query: String, queryVector: [Float], collection: LiveCollection, catalog: LiveCollection.Catalog
    ) async throws -> [ScoredID] {
        guard let reranker = rerankers[settings.reranker] else {
            throw SwitchyardError(
                code: .invalidRequest, message: "The reranker '\(settings.reranker)' is not available; known: \(rerankers.keys.sorted().joined(separator: ", ")).",
                status: 400, param: "rerank")
        }
        var candidates: [RerankCandidate] = []
        for (position, scored) in ranked.prefix(settings.topN).enumerated() {
            guard let chunk = catalog.chunks[scored.id] else { continue }
            let title = catalog.documents[chunk.documentID]?.stored.title
            candidates.append(
                RerankCandidate(
                    id: scored.id, text: LiveCollection.indexedText(chunk, title: title), vector: chunk.vector, fusedScore: scored.score, fusedRank: position))
        }
        guard !candidates.isEmpty else { return ranked }
        let keywords = collection.keywords
        let context = RerankContext(query: query, queryVector: queryVector, keywordScores: { keywords.scores(query, ids: $0) })
        let scores = try await reranker.scores(candidates, context: context)
        guard scores.count == candidates.count else {
            throw SwitchyardError(code: .internal, message: "The reranker '\(reranker.name)' returned \(scores.count) scores for \(candidates.count) passages.", status: 500)
        }
        // Candidates whose chunk vanished since the snapshot were skipped: rerank what is left.
        let kept = Set(candidates.map(\.id))
        let head = candidates.map { ScoredID(id: $0.id, score: $0.fusedScore) }
        return RerankStage.reorder(head, scores: scores) + ranked.dropFirst(settings.topN).filter { !kept.contains($0.id) }
    }
}
