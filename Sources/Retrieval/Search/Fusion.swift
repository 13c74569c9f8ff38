import Foundation

/// Combines ranked lists from several retrievers (dense, BM25, …) into one.
public enum Fusion {
    /// Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009):
    /// `score(d) = Σᵢ wᵢ / (k + rankᵢ(d))`, ranks counted from 1 within each list as given (best
    /// first); a list that lacks `d` adds nothing. Only ranks matter, so lists on different scales
    /// mix without calibration. Ties go to the smaller id.
    ///
    /// - Parameters:
    ///   - weights: one per list (default all 1); a missing or extra weight is a programming error.
    ///   - k: damping constant; 60 is the paper's value.
    public static func reciprocalRank(_ lists: [[ScoredID]], weights: [Float]? = nil, k: Float = 60, limit: Int) -> [ScoredID] {
        if let weights { precondition(weights.count == lists.count, "one weight per list") }
        var scores: [Int64: Float] = [:]
        for (listIndex, list) in lists.enumerated() {
            let weight = weights?[listIndex] ?? 1
            var seen = Set<Int64>()
            for (position, item) in list.enumerated() where seen.insert(item.id).inserted {
                scores[item.id, default: 0] += weight / (k + Float(position + 1))
            }
        }
        return best(scores, limit: limit)
    }

    /// Weighted score fusion: each list's scores are min-max normalised to [0, 1] within that list
    /// (`(s − min) / (max − min)`; a list whose scores are all equal maps them all to 1), then
    /// `score(d) = Σᵢ wᵢ · normᵢ(d)`, a list that lacks `d` adding 0. Use it when the retrievers'
    /// scores carry information beyond rank (e.g. a cosine gap). Ties go to the smaller id.
    public static func weighted(_ lists: [[ScoredID]], weights: [Float], limit: Int) -> [ScoredID] {
        precondition(weights.count == lists.count, "one weight per list")
        var scores: [Int64: Float] = [:]
        for (list, weight) in zip(lists, weights) where !list.isEmpty {
            var low = Float.infinity, high = -Float.infinity
            for item in list {
                low = min(low, item.score)
                high = max(high, item.score)
            }
            let range = high - low
            var seen = Set<Int64>()
            for item in list where seen.insert(item.id).inserted {
                let normalised = range > 0 ? (item.score - low) / range : 1
                scores[item.id, default: 0] += weight * normalised
            }
        }
        return best(scores, limit: limit)
    }

    /// Standardised score fusion: every candidate carries its exact score from each retriever
    /// (`scores[i][j]` = retriever i's score of `ids[j]`, not 0 for one its top list missed); each
    /// retriever's scores are z-scored over the candidates (minus the mean, over the standard
    /// deviation; a retriever whose scores are all equal adds 0), then `score = σ(Σᵢ wᵢ · zᵢ)`, σ the
    /// logistic function, so scores lie in (0, 1) and 0.5 is an average candidate. Unlike
    /// RRF the spread counts: a query whose BM25 scores are flat leans on the embedding, one with a
    /// standout keyword match leans on that. Ties go to the smaller id.
    public static func standardised(ids: [Int64], scores: [[Float]], weights: [Float], limit: Int) -> [ScoredID] {
        precondition(weights.count == scores.count && scores.allSatisfy { $0.count == ids.count }, "one weight and one score per id per list")
        var combined = [Float](repeating: 0, count: ids.count)
        for (list, weight) in zip(scores, weights) {
            for (index, z) in standardise(list).enumerated() { combined[index] += weight * z }
        }
        var top = TopK(k: limit)
        var seen = Set<Int64>()
        for (id, score) in zip(ids, combined) where seen.insert(id).inserted { top.offer(ScoredID(id: id, score: logistic(score))) }
        return top.sorted()
    }

    /// 1 / (1 + e^−x): a monotone map of a z-score sum into (0, 1).
    public static func logistic(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// (x − mean) / standard deviation; all 0 when the values are equal or one is not finite.
    public static func standardise(_ values: [Float]) -> [Float] {
        guard values.count > 1, values.allSatisfy(\.isFinite) else { return [Float](repeating: 0, count: values.count) }
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)
        let deviation = variance.squareRoot()
        guard deviation > 1e-12 else { return [Float](repeating: 0, count: values.count) }
        return values.map { ($0 - mean) / deviation }
    }

    static func best(_ scores: [Int64: Float], limit: Int) -> [ScoredID] {
        var top = TopK(k: limit)
        for (id, score) in scores { top.offer(ScoredID(id: id, score: score)) }
        return top.sorted()
    }
}
