import Foundation
import Testing

@testable import Retrieval

@Suite("Retrieval metrics and BEIR loading")
struct RetrievalMetricsTests {
    static let grades = ["d1": 3, "d2": 1, "d3": 2, "d4": 0]

    @Test("nDCG@10 with graded linear gains, Recall@100 and MRR@10 on a hand-computed ranking")
    func handComputed() {
        let ranking = ["d4", "d1", "d5", "d2"]
        // DCG = 3/log2(3) + 1/log2(5); ideal = 3/log2(2) + 2/log2(3) + 1/log2(4).
        let dcg = 3 / log2(3.0) + 1 / log2(5.0)
        let ideal = 3 + 2 / log2(3.0) + 0.5
        #expect(abs(RetrievalMetrics.ndcg(ranking: ranking, grades: Self.grades, k: 10) - dcg / ideal) < 1e-12)
        #expect(abs(dcg / ideal - 0.4879325) < 1e-6)
        #expect(RetrievalMetrics.recall(ranking: ranking, grades: Self.grades, k: 100) == 2.0 / 3.0)
        #expect(RetrievalMetrics.reciprocalRank(ranking: ranking, grades: Self.grades, k: 10) == 0.5)
        // Cut-offs apply: the relevant passage at rank 2 is outside a cut at 1.
        #expect(RetrievalMetrics.ndcg(ranking: ranking, grades: Self.grades, k: 1) == 0)
        #expect(RetrievalMetrics.reciprocalRank(ranking: ranking, grades: Self.grades, k: 1) == 0)
        #expect(RetrievalMetrics.ndcg(ranking: ["d1", "d3", "d2"], grades: Self.grades, k: 10) == 1)
    }

    @Test("averages skip queries without a relevant passage; a query with an empty run scores 0")
    func averaging() {
        let judgements = ["q1": Self.grades, "q2": ["x": 0], "q3": ["d9": 1]]
        let runs: [String: [(document: String, score: Double)]] = [
            "q1": [("d4", 4), ("d1", 3), ("d5", 2), ("d2", 1)],
            "q2": [("x", 1)],
        ]
        let scores = RetrievalMetrics.evaluate(runs: runs, judgements: judgements)
        #expect(scores.queries == 2)
        #expect(abs(scores.ndcgAt10 - 0.4879325 / 2) < 1e-6)
        #expect(abs(scores.recallAt100 - 1.0 / 3.0) < 1e-12)
        #expect(scores.mrrAt10 == 0.25)
    }

    @Test("runs are ordered as trec_eval orders them: score descending, ties by document id descending")
    func tieOrder() {
        #expect(RetrievalMetrics.ranked([("a", 1), ("c", 0.5), ("b", 1)]) == ["b", "a", "c"])
    }

    @Test("BEIR files load, with or without a qrels header; a bad line names the file and line")
    func loader() throws {
        let directory = searchTestFile("beir")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = directory.appendingPathComponent("corpus.jsonl")
        let queries = directory.appendingPathComponent("queries.jsonl")
        let qrels = directory.appendingPathComponent("qrels.tsv")
        try """
            {"_id": "d1", "title": "Title", "text": "Body one."}
            {"_id": 2, "text": "Body two."}
            """.write(to: corpus, atomically: true, encoding: .utf8)
        try #"{"_id": "q1", "text": "what is one"}"#.write(to: queries, atomically: true, encoding: .utf8)
        try "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\t2\t0\n".write(to: qrels, atomically: true, encoding: .utf8)
        let dataset = try BEIRDataset.load(corpus: corpus, queries: queries, qrels: qrels)
        #expect(dataset.corpus.map(\.id) == ["d1", "2"])
        #expect(dataset.corpus[0].indexedText == "Title Body one.")
        #expect(dataset.corpus[1].indexedText == "Body two.")
        #expect(dataset.queries.map(\.text) == ["what is one"])
        #expect(dataset.judgements == ["q1": ["d1": 2, "2": 0]])

        try "q1\td1\n".write(to: qrels, atomically: true, encoding: .utf8)
        #expect(throws: SearchIndexError.self) { try BEIRDataset.load(corpus: corpus, queries: queries, qrels: qrels) }
        try "q1 d1 1\nq1\td2\tx\n".write(to: qrels, atomically: true, encoding: .utf8)
        do {
            _ = try BEIRDataset.load(corpus: corpus, queries: queries, qrels: qrels)
            Issue.record("a non-integer grade was accepted")
        } catch let error as SearchIndexError {
            #expect(error.message.contains("line 2"))
        }
    }

    @Test("vector files round-trip")
    func vectorFile() throws {
        let url = searchTestFile("rows.vec")
        defer { try? FileManager.default.removeItem(at: url) }
        let rows: [[Float]] = [[1, 2, 3], [4, 5, 6.5]]
        try VectorFile.write(rows, to: url)
        #expect(try VectorFile.read(from: url) == rows)
        #expect(try Data(contentsOf: url).count == VectorFile.headerSize + 6 * 4)
    }
}
