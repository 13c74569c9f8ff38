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

    static func best(_ scores: [Int64: Float], limit: Int) -> [ScoredID] {
        var top = TopK(k: limit)
        for (id, score) in scores { top.offer(ScoredID(id: id, score: score)) }
        return top.sorted()
    }
}
