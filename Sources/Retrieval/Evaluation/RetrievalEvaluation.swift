import Foundation

/// Runs BM25, dense (HNSW and exact) and hybrid retrieval over a BEIR dataset and scores each with
/// `RetrievalMetrics`. Embedding is the caller's job: it passes one vector per passage and per query,
/// in dataset order, so the same code serves any embedding model.
public struct RetrievalEvaluation: Sendable {
    public struct Configuration: Sendable {
        public var bm25 = BM25Parameters()
        public var hnsw = HNSWParameters(m: 16, efConstruction: 200, efSearch: 200, metric: .cosine)
        /// How many results each retriever contributes to fusion (and each system returns).
        public var depth = 100
        public var rrfK: Float = 60
        /// Dense and BM25 list weights of the weighted systems (`hybrid-weighted`, `hybrid-rrf-weighted`).
        /// 0.75 / 0.25 is Weaviate's hybrid default (alpha = 0.75 with min-max "relative score" fusion),
        /// and was the gateway's default until it proved tuned to MS MARCO.
        public var denseWeight: Float = 0.75
        public var bm25Weight: Float = 0.25
        /// [dense, BM25] weights of `hybrid-zscore`, the gateway's default fusion.
        public var zscoreWeights = FusionMethod.zscore.defaultWeights
        /// Candidates RRF hands to `hybrid-zscore` (a search uses max(4 × top_k, 50)).
        public var zscorePool = 50
        /// The rerank stage of the `*+rerank` systems: how many fused candidates, and its weights.
        public var rerankTopN = RerankSettings.defaultTopN
        public var reranker = HybridScoreReranker()

        public init() {}
    }

    public struct System: Sendable {
        public var name: String
        public var scores: RetrievalMetrics.Scores
        /// Query id → ranked (document id, score), best first.
        public var runs: [String: [(document: String, score: Double)]]
        /// Time to build the system's index, and to answer all queries (embedding excluded).
        public var buildSeconds: Double
        public var searchSeconds: Double
    }

    /// Per-query time of the rerank stage alone (candidates scored and reordered), in seconds.
    public struct RerankTiming: Sendable {
        public var candidates: Int
        public var p50: Double
        public var p99: Double
    }

    public var configuration: Configuration

    public init(configuration: Configuration = .init()) { self.configuration = configuration }

    public func run(dataset: BEIRDataset, passageVectors: [[Float]], queryVectors: [[Float]]) async throws -> (systems: [System], rerank: RerankTiming) {
        precondition(passageVectors.count == dataset.corpus.count && queryVectors.count == dataset.queries.count)
        let clock = ContinuousClock()
        let depth = configuration.depth
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        }
        func runs(_ lists: [[ScoredID]]) -> [String: [(document: String, score: Double)]] {
            var out: [String: [(document: String, score: Double)]] = [:]
            for (query, list) in zip(dataset.queries, lists) {
                out[query.id] = list.map { (dataset.corpus[Int($0.id)].id, Double($0.score)) }
            }
            return out
        }
        func system(_ name: String, _ lists: [[ScoredID]], build: Double, search: Double) -> System {
            let run = runs(lists)
            return System(name: name, scores: RetrievalMetrics.evaluate(runs: run, judgements: dataset.judgements), runs: run, buildSeconds: build, searchSeconds: search)
        }

        // Passages are keyed by their position in the corpus.
        var start = clock.now
        let bm25 = BM25Index(parameters: configuration.bm25)
        for (position, passage) in dataset.corpus.enumerated() { bm25.insert(id: Int64(position), text: passage.indexedText) }
        let bm25Build = seconds(clock.now - start)
        start = clock.now
        let bm25Lists = dataset.queries.map { bm25.search($0.text, k: depth) }
        let bm25Search = seconds(clock.now - start)

        let dimension = passageVectors.first?.count ?? 1
        start = clock.now
        let hnsw = HNSWIndex(dimension: dimension, parameters: configuration.hnsw)
        try hnsw.insert(passageVectors.enumerated().map { (Int64($0.offset), $0.element) })
        let hnswBuild = seconds(clock.now - start)
        start = clock.now
        let denseLists = queryVectors.map { hnsw.search($0, k: depth, efSearch: max(configuration.hnsw.efSearch, depth), filter: nil) }
        let denseSearch = seconds(clock.now - start)

        start = clock.now
        let exact = ExactVectorIndex(dimension: dimension, metric: configuration.hnsw.metric)
        for (position, vector) in passageVectors.enumerated() { try exact.insert(id: Int64(position), vector: vector) }
        let exactBuild = seconds(clock.now - start)
        start = clock.now
        let exactLists = queryVectors.map { exact.search($0, k: depth, efSearch: nil, filter: nil) }
        let exactSearch = seconds(clock.now - start)

        start = clock.now
        // Plain RRF, every list weight 1 (the gateway's `fusion: rrf`).
        let rrfLists = zip(denseLists, bm25Lists).map { Fusion.reciprocalRank([$0, $1], weights: nil, k: configuration.rrfK, limit: depth) }
        let rrfSeconds = seconds(clock.now - start)
        let weightedRRFLists = zip(denseLists, bm25Lists).map {
            Fusion.reciprocalRank([$0, $1], weights: [configuration.denseWeight, configuration.bm25Weight], k: configuration.rrfK, limit: depth)
        }
        start = clock.now
        let weightedLists = zip(denseLists, bm25Lists).map {
            Fusion.weighted([$0, $1], weights: [configuration.denseWeight, configuration.bm25Weight], limit: depth)
        }
        let weightedSeconds = seconds(clock.now - start)
        start = clock.now
        // The gateway's default: plain RRF picks a pool of `zscorePool` (as a search of top_k ≤ 12 does),
        // exact cosine and BM25 z-scored over it order the pool; the rest follow in RRF order.
        let zscoreLists = dataset.queries.indices.map { queryIndex in
            let fused = Fusion.reciprocalRank([denseLists[queryIndex], bm25Lists[queryIndex]], weights: nil, k: configuration.rrfK, limit: depth)
            let ids = fused.prefix(configuration.zscorePool).map(\.id)
            let cosines = ids.map { HybridScoreReranker.cosine(queryVectors[queryIndex], passageVectors[Int($0)]) }
            let keyword = bm25.scores(dataset.queries[queryIndex].text, ids: Array(ids))
            return Fusion.standardised(ids: Array(ids), scores: [cosines, keyword], weights: configuration.zscoreWeights, limit: depth)
                + fused.dropFirst(configuration.zscorePool)
        }
        let zscoreSeconds = seconds(clock.now - start)

        // The rerank stage over each fused list, as a collection search runs it.
        let reranker = configuration.reranker
        let topN = configuration.rerankTopN
        var rerankTimes: [Double] = []
        func reranked(_ lists: [[ScoredID]]) async throws -> [[ScoredID]] {
            var out: [[ScoredID]] = []
            for (queryIndex, list) in lists.enumerated() {
                let began = clock.now
                let head = Array(list.prefix(topN))
                let candidates = head.enumerated().map { position, item in
                    RerankCandidate(
                        id: item.id, text: dataset.corpus[Int(item.id)].indexedText, vector: passageVectors[Int(item.id)], fusedScore: item.score,
                        fusedRank: position)
                }
                let query = dataset.queries[queryIndex].text
                let context = RerankContext(query: query, queryVector: queryVectors[queryIndex], keywordScores: { bm25.scores(query, ids: $0) })
                let scores = try await reranker.scores(candidates, context: context)
                out.append(RerankStage.reorder(head, scores: scores) + list.dropFirst(topN))
                rerankTimes.append(seconds(clock.now - began))
            }
            return out
        }
        let rrfReranked = try await reranked(rrfLists)
        let timing = Self.timing(rerankTimes, candidates: topN)
        let denseReranked = try await reranked(denseLists)

        let systems = [
            system("bm25", bm25Lists, build: bm25Build, search: bm25Search),
            system("dense-hnsw", denseLists, build: hnswBuild, search: denseSearch),
            system("dense-exact", exactLists, build: exactBuild, search: exactSearch),
            system("hybrid-zscore", zscoreLists, build: bm25Build + hnswBuild, search: bm25Search + denseSearch + zscoreSeconds),
            system("hybrid-rrf", rrfLists, build: bm25Build + hnswBuild, search: bm25Search + denseSearch + rrfSeconds),
            system("hybrid-rrf-w", weightedRRFLists, build: bm25Build + hnswBuild, search: bm25Search + denseSearch + rrfSeconds),
            system("hybrid-weighted", weightedLists, build: bm25Build + hnswBuild, search: bm25Search + denseSearch + weightedSeconds),
            system("dense+rerank", denseReranked, build: hnswBuild, search: denseSearch + timing.p50 * Double(dataset.queries.count)),
            system("rrf+rerank", rrfReranked, build: bm25Build + hnswBuild, search: bm25Search + denseSearch + rrfSeconds + timing.p50 * Double(dataset.queries.count)),
        ]
        return (systems, timing)
    }

    static func timing(_ samples: [Double], candidates: Int) -> RerankTiming {
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))]
        }
        return RerankTiming(candidates: candidates, p50: percentile(0.5), p99: percentile(0.99))
    }

    /// Writes a run in TREC format (`qid Q0 docid rank score tag`), the format trec_eval and
    /// pytrec_eval-based tools read.
    public static func writeTRECRun(_ system: System, to url: URL) throws {
        var lines: [String] = []
        for (query, ranked) in system.runs.sorted(by: { $0.key < $1.key }) {
            for (rank, item) in ranked.enumerated() {
                lines.append("\(query) Q0 \(item.document) \(rank + 1) \(item.score) \(system.name)")
            }
        }
        do { try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8) } catch {
            throw SearchIndexError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
