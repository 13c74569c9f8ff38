import ArgumentParser
import Embeddings
import Foundation
import Retrieval

/// `switchyard eval retrieval`: nDCG@10, Recall@100 and MRR@10 of BM25, dense (HNSW and exact) and
/// hybrid retrieval on a BEIR-format dataset, embedding with the local all-MiniLM-L6-v2.
struct EvalRetrievalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval",
        abstract: "Score BM25, dense and hybrid retrieval on a BEIR dataset (corpus.jsonl, queries.jsonl, qrels.tsv).")

    @Option(help: "BEIR corpus.jsonl (_id, title, text).")
    var corpus: String

    @Option(help: "BEIR queries.jsonl (_id, text).")
    var queries: String

    @Option(help: "Relevance judgements: query-id, corpus-id, grade (tab-separated).")
    var qrels: String

    @Option(name: .customLong("model-dir"), help: "Model folder (default: $SWITCHYARD_MODEL_DIR or the cache).")
    var modelDirectory: String?

    @Option(name: .customLong("cache-dir"), help: "Where corpus embeddings are cached (default ~/.cache/switchyard/eval).")
    var cacheDirectory: String?

    @Option(help: "Write the runs (TREC format), the vectors and the BM25 terms here, for the anchor script.")
    var export: String?

    @Option(help: "HNSW links per node.") var m = 16
    @Option(name: .customLong("ef-construction"), help: "HNSW build beam width.") var efConstruction = 200
    @Option(name: .customLong("ef-search"), help: "HNSW search beam width (at least --depth is used).") var efSearch = 200
    @Option(help: "Results per query from each retriever and after fusion.") var depth = 100
    @Option(help: "BM25 k1.") var k1: Float = 0.9
    @Option(help: "BM25 b.") var b: Float = 0.4
    @Flag(name: .customLong("no-stemming"), help: "Index and query BM25 terms without Porter stemming.") var noStemming = false
    @Option(name: .customLong("rrf-k"), help: "Reciprocal rank fusion constant.") var rrfK: Float = 60
    @Option(name: .customLong("dense-weight"), help: "Dense list weight of hybrid-weighted and hybrid-rrf-w (Weaviate's hybrid default).") var denseWeight: Float = 0.75
    @Option(name: .customLong("bm25-weight"), help: "BM25 list weight of hybrid-weighted and hybrid-rrf-w.") var bm25Weight: Float = 0.25
    @Option(name: .customLong("zscore-bm25-weight"), help: "BM25 weight of hybrid-zscore, the default fusion (dense weight 1).") var zscoreBM25Weight = FusionMethod.zscore.defaultWeights[1]
    @Option(name: .customLong("rerank-top-n"), help: "Fused candidates the rerank stage reorders.") var rerankTopN = RerankSettings.defaultTopN
    @Option(name: .customLong("rerank-dense-weight"), help: "hybrid-scores reranker: weight of the standardised cosine.") var rerankDenseWeight = HybridScoreReranker().denseWeight
    @Option(name: .customLong("rerank-bm25-weight"), help: "hybrid-scores reranker: weight of the standardised BM25 score.") var rerankBM25Weight = HybridScoreReranker().keywordWeight

    func run() async throws {
        let dataset = try BEIRDataset.load(
            corpus: URL(fileURLWithPath: corpus), queries: URL(fileURLWithPath: queries), qrels: URL(fileURLWithPath: qrels))
        let judged = dataset.judgements.values.filter { $0.values.contains { $0 > 0 } }.count
        log("dataset: \(dataset.corpus.count) passages, \(dataset.queries.count) queries, \(judged) with a relevant passage")

        let clock = ContinuousClock()
        var start = clock.now
        let embedder = try MiniLMEmbedder.load(modelDirectory: modelDirectory)
        let texts = dataset.corpus.map(\.indexedText)
        let cacheURL = cacheFile(texts: texts, model: embedder.modelName)
        let passageVectors: [[Float]]
        if let cached = try? VectorFile.read(from: cacheURL), cached.count == texts.count {
            passageVectors = cached
            log("passage embeddings: read from \(cacheURL.path)")
        } else {
            var vectors: [[Float]] = []
            vectors.reserveCapacity(texts.count)
            let chunk = 256
            for first in stride(from: 0, to: texts.count, by: chunk) {
                vectors += embedder.embedSync(Array(texts[first..<min(first + chunk, texts.count)]))
                log("embedding passages: \(vectors.count)/\(texts.count)")
            }
            passageVectors = vectors
            try VectorFile.write(passageVectors, to: cacheURL)
            let elapsed = Figures.seconds(clock.now - start)
            log("passage embeddings: \(texts.count) in \(Figures.format(elapsed, 1)) s (\(Figures.format(Double(texts.count) / elapsed, 1)) passages/s), cached in \(cacheURL.path)")
        }
        start = clock.now
        let queryVectors = embedder.embedSync(dataset.queries.map(\.text))
        log("query embeddings: \(queryVectors.count) in \(Figures.format(Figures.seconds(clock.now - start) * 1000, 1)) ms")

        var configuration = RetrievalEvaluation.Configuration()
        configuration.bm25 = BM25Parameters(k1: k1, b: b, stemming: !noStemming)
        configuration.hnsw = HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch, metric: .cosine)
        configuration.depth = depth
        configuration.rrfK = rrfK
        configuration.denseWeight = denseWeight
        configuration.bm25Weight = bm25Weight
        configuration.rerankTopN = rerankTopN
        configuration.zscoreWeights = [1, zscoreBM25Weight]
        configuration.reranker = HybridScoreReranker(denseWeight: rerankDenseWeight, keywordWeight: rerankBM25Weight)
        let (systems, rerank) = try await RetrievalEvaluation(configuration: configuration).run(
            dataset: dataset, passageVectors: passageVectors, queryVectors: queryVectors)

        print("retrieval on \(URL(fileURLWithPath: corpus).deletingLastPathComponent().lastPathComponent): \(dataset.corpus.count) passages, \(judged) judged queries; "
            + "BM25 k1=\(k1) b=\(b) stemming=\(!noStemming); HNSW M=\(m) efC=\(efConstruction) efS=\(max(efSearch, depth)); zscore weights \(configuration.zscoreWeights) (the default); RRF k=\(rrfK) (hybrid-rrf: plain); "
            + "weighted list weights dense=\(denseWeight) bm25=\(bm25Weight); rerank: \(configuration.reranker.name) dense=\(rerankDenseWeight) bm25=\(rerankBM25Weight) over the top \(rerankTopN)")
        print(Figures.pad("system", 16) + Figures.pad("nDCG@10", 9) + Figures.pad("Recall@100", 11) + Figures.pad("MRR@10", 8) + Figures.pad("build s", 9) + "search ms/query")
        for system in systems {
            print(Figures.pad(system.name, 16) + Figures.pad(Figures.format(system.scores.ndcgAt10, 4), 9) + Figures.pad(Figures.format(system.scores.recallAt100, 4), 11)
                + Figures.pad(Figures.format(system.scores.mrrAt10, 4), 8) + Figures.pad(Figures.format(system.buildSeconds, 3), 9)
                + Figures.format(system.searchSeconds * 1000 / Double(max(dataset.queries.count, 1)), 3))
        }

        print("rerank stage, \(rerank.candidates) candidates: p50 \(Figures.format(rerank.p50 * 1000, 3)) ms, p99 \(Figures.format(rerank.p99 * 1000, 3)) ms per query")

        if let export {
            try exportFiles(to: URL(fileURLWithPath: export), dataset: dataset, systems: systems, passages: passageVectors, queries: queryVectors, configuration: configuration)
            log("exported runs, vectors and BM25 terms to \(export)")
        }
    }

    /// The files `Benchmarks/retrieval.sh` feeds the reference implementations.
    private func exportFiles(
        to directory: URL, dataset: BEIRDataset, systems: [RetrievalEvaluation.System], passages: [[Float]], queries: [[Float]],
        configuration: RetrievalEvaluation.Configuration
    ) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for system in systems { try RetrievalEvaluation.writeTRECRun(system, to: directory.appendingPathComponent("run-\(system.name).trec")) }
        try VectorFile.write(passages, to: directory.appendingPathComponent("passages.vec"))
        try VectorFile.write(queries, to: directory.appendingPathComponent("queries.vec"))
        let tokenizer = TextTokenizer(removesStopwords: true, stemming: configuration.bm25.stemming)
        var lines: [String] = []
        for passage in dataset.corpus {
            let object: [String: Any] = ["id": passage.id, "terms": tokenizer.terms(passage.indexedText)]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("passage-terms.jsonl"), atomically: true, encoding: .utf8)
        lines = []
        for query in dataset.queries {
            let object: [String: Any] = ["id": query.id, "terms": tokenizer.terms(query.text)]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("query-terms.jsonl"), atomically: true, encoding: .utf8)
        // BM25 scores of every passage that matches, for comparing with a reference on the same terms.
        let bm25 = BM25Index(parameters: configuration.bm25, tokenizer: tokenizer)
        for (position, passage) in dataset.corpus.enumerated() { bm25.insert(id: Int64(position), text: passage.indexedText) }
        lines = []
        for query in dataset.queries {
            let scores = bm25.search(query.text, k: dataset.corpus.count).map { ["id": dataset.corpus[Int($0.id)].id, "score": Double($0.score)] as [String: Any] }
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: ["id": query.id, "scores": scores] as [String: Any]), as: UTF8.self))
        }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("bm25-scores.jsonl"), atomically: true, encoding: .utf8)
    }

    /// One cache file per model and exact corpus text (FNV-1a over every passage).
    private func cacheFile(texts: [String], model: String) -> URL {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in model.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for text in texts {
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x100_0000_01b3
        }
        let directory = cacheDirectory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/switchyard/eval")
        let name = model.replacingOccurrences(of: "/", with: "_")
        return directory.appendingPathComponent("\(name)-\(texts.count)-\(String(hash, radix: 16)).vec")
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// Number formatting shared by the retrieval evaluation and the index benchmark.
enum Figures {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    static func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
