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
        /// Dense and BM25 list weights, used by both fusions. 0.75 / 0.25 is Weaviate's hybrid
        /// default (alpha = 0.75 with min-max "relative score" fusion).
        public var denseWeight: Float = 0.75
        public var bm25Weight: Float = 0.25
        /// Weight RRF's lists like weighted fusion's (false: plain RRF, every list weight 1).
        public var weightedRRF = true

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

    public var configuration: Configuration

    public init(configuration: Configuration = .init()) { self.configuration = configuration }

    public func run(dataset: BEIRDataset, passageVectors: [[Float]], queryVectors: [[Float]]) throws -> [System] {
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
        let rrfLists = zip(denseLists, bm25Lists).map {
            Fusion.reciprocalRank(
                [$0, $1], weights: configuration.weightedRRF ? [configuration.denseWeight, configuration.bm25Weight] : nil,
                k: configuration.rrfK, limit: depth)
        }
        let rrfSeconds = seconds(clock.now - start)
        start = clock.now
        let weightedLists = zip(denseLists, bm25Lists).map {
            Fusion.weighted([$0, $1], weights: [configuration.denseWeight, configuration.bm25Weight], limit: depth)
        }
        let weightedSeconds = seconds(clock.now - start)

        return [
            system("bm25", bm25Lists, build: bm25Build, search: bm25Search),
            system("dense-hnsw", denseLists, build: hnswBuild, search: denseSearch),
            system("dense-exact", exactLists, build: exactBuild, search: exactSearch),
            system("hybrid-rrf", rrfLists, build: bm25Build + hnswBuild, search: bm25Search + denseSearch + rrfSeconds),
            system("hybrid-weighted", weightedLists, build: bm25Build + hnswBuild, search: bm25Search + denseSearch + weightedSeconds),
        ]
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
