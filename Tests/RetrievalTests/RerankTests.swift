import Foundation
import SwitchyardCore
import Testing

@testable import Retrieval

@Suite("Fusion defaults and the rerank stage")
struct RerankTests {
    static func ids(_ list: [ScoredID]) -> [Int64] { list.map(\.id) }

    @Test func defaultFusionIsStandardisedScoresAndExplicitRRFIsPlain() {
        #expect(SearchOptions(query: "q").fusion == .zscore && SearchOptions(query: "q").weights == nil)
        #expect(FusionMethod.zscore.defaultWeights == [1, 0.3] && FusionMethod.rrf.defaultWeights == [1, 1])
        let dense = [ScoredID(id: 1, score: 0.9), ScoredID(id: 2, score: 0.8), ScoredID(id: 3, score: 0.7)]
        let keyword = [ScoredID(id: 3, score: 12), ScoredID(id: 4, score: 9)]
        let plain = Fusion.reciprocalRank([dense, keyword], weights: FusionMethod.rrf.defaultWeights, limit: 10)
        #expect(plain == Fusion.reciprocalRank([dense, keyword], weights: nil, limit: 10))
        // 3 is in both lists (1/63 + 1/61) and beats 1 (1/61 alone); 2 and 4 are both 2nd (1/62): smaller id first.
        #expect(Self.ids(plain) == [3, 1, 2, 4])
        #expect(abs(plain[0].score - (1 / 63 + 1 / 61)) < 1e-7)
    }

    @Test func standardisedFusionUsesEveryCandidatesExactScores() {
        // BM25 ranks the candidates in nearly the reverse order at a fifth of the weight: the embedding's
        // order wins, though plain RRF would have put 3 (first in BM25) near the top.
        let ids: [Int64] = [1, 2, 3, 4]
        let cosines: [Float] = [0.80, 0.60, 0.40, 0.20]
        let flatBM25: [Float] = [9.0, 9.1, 9.3, 9.2]
        #expect(Self.ids(Fusion.standardised(ids: ids, scores: [cosines, flatBM25], weights: [1, 0.2], limit: 4)) == [1, 2, 3, 4])
        // A standout keyword match (one score far above the rest) lifts its chunk past closer cosines.
        let standout: [Float] = [0, 0, 20, 0]
        #expect(Self.ids(Fusion.standardised(ids: ids, scores: [cosines, standout], weights: [1, 1], limit: 4)).first == 3)
        // Equal scores add nothing, duplicates count once, the limit holds.
        let fused = Fusion.standardised(ids: [5, 5, 6], scores: [[0.1, 0.1, 0.9], [1, 1, 1]], weights: [1, 0.2], limit: 1)
        #expect(Self.ids(fused) == [6])
    }

    @Test func reorderSortsTheHeadAndKeepsTheTail() {
        let ranked = (1...6).map { ScoredID(id: Int64($0), score: Float(10 - $0)) }
        // Scores for the first four: 3rd best, tie, NaN, best. Ties keep fused order; NaN goes last.
        let reordered = RerankStage.reorder(ranked, scores: [0.5, 0.5, .nan, 2])
        #expect(Self.ids(reordered) == [4, 1, 2, 3, 5, 6])
        #expect(reordered[0].score == 2 && reordered[3].score == -.infinity)
        #expect(reordered[4] == ranked[4] && reordered[5] == ranked[5])
        // More scores than entries, or none: no crash, no change beyond the entries.
        #expect(Self.ids(RerankStage.reorder(Array(ranked.prefix(2)), scores: [1, 2, 3])) == [2, 1])
        #expect(RerankStage.reorder(ranked, scores: []) == ranked)
    }

    @Test func hybridScoresStandardiseEachSignal() {
        // Dense spread is tiny, BM25 spread large: after z-scores both count by their weights alone.
        let scores = HybridScoreReranker.combine(dense: [0.50, 0.51, 0.52], keyword: [30, 0, 0], denseWeight: 1, keywordWeight: 1)
        let z: Float = 1.2247449  // sqrt(1.5): the z-score of the extremes of three evenly spaced values
        #expect(abs(scores[0] - (-z + 2 * 0.70710677)) < 1e-4)
        #expect(scores[2] > scores[0] && scores[0] > scores[1])
        // Flat signals contribute nothing, and a single candidate scores 0.
        #expect(HybridScoreReranker.combine(dense: [0.3, 0.3], keyword: [1, 1], denseWeight: 1, keywordWeight: 1) == [0, 0])
        #expect(HybridScoreReranker.combine(dense: [0.3], keyword: [1], denseWeight: 1, keywordWeight: 1) == [0])
        #expect(Fusion.standardise([.nan, 1]) == [0, 0])
        #expect(HybridScoreReranker.cosine([1, 0], [0, 0]) == 0 && HybridScoreReranker.cosine([1, 0], [1]) == 0)
    }

    @Test func bm25ScoresForGivenIDsMatchSearch() {
        let index = BM25Index()
        let texts = [
            "the quick brown fox jumps", "a lazy dog sleeps all day", "the fox and the dog are friends", "foxes are quick; dogs are lazy", "nothing here",
        ]
        for (position, text) in texts.enumerated() { index.insert(id: Int64(position + 10), text: text) }
        index.remove(id: 14)
        for query in ["quick fox", "lazy dog dog", "friends", "unseen words"] {
            let searched = Dictionary(uniqueKeysWithValues: index.search(query, k: 10).map { ($0.id, $0.score) })
            let ids: [Int64] = [10, 11, 12, 13, 14, 99]
            let scored = index.scores(query, ids: ids)
            for (id, score) in zip(ids, scored) {
                #expect(abs(score - (searched[id] ?? 0)) < 1e-5, "\(query) \(id)")
            }
        }
        #expect(index.scores("", ids: [10]) == [0])
    }

    @Test func searchOptionsReadRerankAndCutOff() throws {
        let on = try SearchOptions.parse(JSONValue.parse(#"{"query": "q", "rerank": true, "min_score": 0.25}"#)!)
        #expect(on.rerank == RerankRequest(enabled: true) && on.minScore == 0.25)
        let off = try SearchOptions.parse(JSONValue.parse(#"{"query": "q", "rerank": false}"#)!)
        #expect(off.rerank == RerankRequest(enabled: false))
        let deep = try SearchOptions.parse(JSONValue.parse(#"{"query": "q", "rerank": {"top_n": 20}}"#)!)
        #expect(deep.rerank == RerankRequest(enabled: true, topN: 20))
        let unset = try SearchOptions.parse(JSONValue.parse(#"{"query": "q"}"#)!)
        #expect(unset.rerank == RerankRequest() && unset.minScore == nil)

        let settings = RerankSettings(enabled: true, topN: 50)
        #expect(settings.applying(RerankRequest(enabled: false)).enabled == false)
        #expect(settings.applying(RerankRequest(topN: 7)) == RerankSettings(enabled: true, topN: 7))
    }

    @Test(arguments: [
        (#"{"query": "q", "rerank": {"top_n": 1e300}}"#, "rerank.top_n"),
        (#"{"query": "q", "rerank": {"top_n": -1}}"#, "rerank.top_n"),
        (#"{"query": "q", "rerank": {"top_n": 0}}"#, "rerank.top_n"),
        (#"{"query": "q", "rerank": {"top_n": 201}}"#, "rerank.top_n"),
        (#"{"query": "q", "rerank": {"top_n": 2.5}}"#, "rerank.top_n"),
        (#"{"query": "q", "rerank": {"top_n": "NaN"}}"#, "rerank.top_n"),
        (#"{"query": "q", "rerank": {"top_n": null}}"#, "rerank.top_n"),
        (#"{"query": "q", "rerank": {"enabled": "yes"}}"#, "rerank.enabled"),
        (#"{"query": "q", "rerank": {"depth": 5}}"#, "rerank.depth"),
        (#"{"query": "q", "rerank": "on"}"#, "rerank"),
        (#"{"query": "q", "rerank": 1}"#, "rerank"),
        (#"{"query": "q", "min_score": 1e300}"#, "min_score"),
        (#"{"query": "q", "min_score": "NaN"}"#, "min_score"),
        (#"{"query": "q", "min_score": true}"#, "min_score"),
    ])
    func hostileRerankOptionsAreA400NamingTheField(body: String, field: String) throws {
        let value = try #require(JSONValue.parse(body))
        do {
            _ = try SearchOptions.parse(value)
            Issue.record("accepted \(body)")
        } catch let error as SwitchyardError {
            #expect(error.status == 400 && error.param == field, "\(body): \(error.message)")
            #expect(error.message.contains(field), "\(error.message)")
        }
    }

    @Test func hugeQueriesAreRefused() throws {
        let huge = String(repeating: "word ", count: 10_000)
        do {
            _ = try SearchOptions.parse(["query": .string(huge)])
            Issue.record("accepted a 50 kB query")
        } catch let error as SwitchyardError {
            #expect(error.status == 400 && error.param == "query" && error.message.contains("16384"))
        }
        // Just under the limit is fine.
        _ = try SearchOptions.parse(["query": .string(String(repeating: "a", count: SearchOptions.maximumQueryBytes))])
    }
}
