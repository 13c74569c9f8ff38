/// Maximal marginal relevance (Carbonell & Goldstein 1998): picks results one at a time, each time the
/// candidate maximising `λ · sim(q, d) − (1 − λ) · max_{s ∈ chosen} sim(d, s)`, so near-duplicates of
/// what is already chosen fall back. Similarities are cosines of the vectors.
public enum MMR {
    /// - Parameters:
    ///   - candidates: the pool, e.g. a hybrid search's top 50.
    ///   - vector: a candidate's vector; a candidate without one keeps its own score as relevance and
    ///     is never penalised for redundancy (nothing to compare).
    ///   - lambda: 1 ranks by relevance alone, 0 by diversity alone.
    /// - Returns: up to `k` candidates in MMR order, each with its original score.
    public static func select(_ candidates: [ScoredID], vector: (Int64) -> [Float]?, query: [Float], lambda: Float, k: Int) -> [ScoredID] {
        guard k > 0, !candidates.isEmpty else { return [] }
        var normalisedQuery = query
        VectorMath.normalise(&normalisedQuery)
        var vectors: [[Float]?] = []
        var relevance: [Float] = []
        for candidate in candidates {
            if var v = vector(candidate.id), v.count == query.count {
                VectorMath.normalise(&v)
                relevance.append(VectorMath.dot(normalisedQuery, v))
                vectors.append(v)
            } else {
                relevance.append(candidate.score)
                vectors.append(nil)
            }
        }
        // redundancy[i] = max cosine of candidate i to anything chosen so far.
        var redundancy = [Float](repeating: -.infinity, count: candidates.count)
        var remaining = Array(candidates.indices)
        var chosen: [ScoredID] = []
        while chosen.count < k, !remaining.isEmpty {
            var bestPosition = 0
            var bestValue = -Float.infinity
            for (position, index) in remaining.enumerated() {
                let penalty = redundancy[index] == -.infinity ? 0 : redundancy[index]
                let value = lambda * relevance[index] - (1 - lambda) * penalty
                if value > bestValue {
                    bestValue = value
                    bestPosition = position
                }
            }
            let picked = remaining.remove(at: bestPosition)
            chosen.append(candidates[picked])
            if let pickedVector = vectors[picked] {
                for index in remaining {
                    if let other = vectors[index] {
                        redundancy[index] = max(redundancy[index], VectorMath.dot(pickedVector, other))
                    }
                }
            }
        }
        return chosen
    }
}
