import Foundation

/// The figures BEIR reports, computed as pytrec_eval (trec_eval) computes them.
///
/// - A run is re-sorted as trec_eval does: score descending, ties by document id descending.
/// - nDCG@k uses the grades as linear gains: DCG = Σ_{i=1}^{k} grade_i / log2(i + 1), divided by
///   the DCG of the ideal ordering of all judged grades (cut at k).
/// - Recall@k = relevant passages in the top k / all relevant passages; relevant means grade > 0.
/// - MRR@k = 1 / rank of the first relevant passage in the top k, 0 if none (BEIR's definition).
/// - Averages are over the queries with at least one relevant passage.
public enum RetrievalMetrics {
    public struct Scores: Sendable, Hashable {
        public var ndcgAt10: Double
        public var recallAt100: Double
        public var mrrAt10: Double
        /// Queries averaged over.
        public var queries: Int

        public init(ndcgAt10: Double, recallAt100: Double, mrrAt10: Double, queries: Int) {
            self.ndcgAt10 = ndcgAt10
            self.recallAt100 = recallAt100
            self.mrrAt10 = mrrAt10
            self.queries = queries
        }
    }

    /// trec_eval's order: score descending, then document id descending.
    public static func ranked(_ run: [(document: String, score: Double)]) -> [String] {
        run.sorted { $0.score != $1.score ? $0.score > $1.score : $0.document > $1.document }.map(\.document)
    }

    public static func ndcg(ranking: [String], grades: [String: Int], k: Int) -> Double {
        var dcg = 0.0
        for (position, document) in ranking.prefix(k).enumerated() {
            let grade = grades[document] ?? 0
            if grade > 0 { dcg += Double(grade) / log2(Double(position + 2)) }
        }
        var ideal = 0.0
        for (position, grade) in grades.values.filter({ $0 > 0 }).sorted(by: >).prefix(k).enumerated() {
            ideal += Double(grade) / log2(Double(position + 2))
        }
        return ideal > 0 ? dcg / ideal : 0
    }

    public static func recall(ranking: [String], grades: [String: Int], k: Int) -> Double {
        let relevant = grades.filter { $0.value > 0 }.count
        guard relevant > 0 else { return 0 }
        let found = ranking.prefix(k).filter { (grades[$0] ?? 0) > 0 }.count
        return Double(found) / Double(relevant)
    }

    public static func reciprocalRank(ranking: [String], grades: [String: Int], k: Int) -> Double {
        for (position, document) in ranking.prefix(k).enumerated() where (grades[document] ?? 0) > 0 {
            return 1 / Double(position + 1)
        }
        return 0
    }

    /// Averages the three figures over the queries that have a relevant passage.
    /// - Parameter runs: query id → (document id, score) pairs, in any order.
    public static func evaluate(runs: [String: [(document: String, score: Double)]], judgements: [String: [String: Int]]) -> Scores {
        var ndcgSum = 0.0, recallSum = 0.0, mrrSum = 0.0
        var counted = 0
        for (query, grades) in judgements where grades.values.contains(where: { $0 > 0 }) {
            let ranking = ranked(runs[query] ?? [])
            ndcgSum += ndcg(ranking: ranking, grades: grades, k: 10)
            recallSum += recall(ranking: ranking, grades: grades, k: 100)
            mrrSum += reciprocalRank(ranking: ranking, grades: grades, k: 10)
            counted += 1
        }
        guard counted > 0 else { return Scores(ndcgAt10: 0, recallAt100: 0, mrrAt10: 0, queries: 0) }
        let n = Double(counted)
        return Scores(ndcgAt10: ndcgSum / n, recallAt100: recallSum / n, mrrAt10: mrrSum / n, queries: counted)
    }
}
