import Foundation

/// The figures `switchyard route eval` reports for one router.
public struct RoutingMetrics: Sendable, Hashable {
    public var apgr: Double
    public var cpt50: Double?
    public var cpt80: Double?
    /// Cost relative to all-strong at 95 % of the strong model's quality.
    public var costAt95: Double?

    public init(_ curve: RoutingCurve, qualityFraction: Double = 0.95) {
        apgr = curve.apgr
        cpt50 = curve.cpt(0.5)
        cpt80 = curve.cpt(0.8)
        costAt95 = curve.relativeCost(atQualityFraction: qualityFraction)
    }
}

/// A percentile bootstrap interval.
public struct Interval: Sendable, Hashable {
    public var low: Double
    public var high: Double
}

/// Percentile bootstrap over prompts: resample the prompts with replacement (seeded), recompute every
/// figure on each resample, report the 2.5th and 97.5th percentiles.
public enum RoutingBootstrap {
    public struct Result: Sendable {
        public var apgr: Interval
        public var cpt50: Interval
        public var cpt80: Interval
        public var costAt95: Interval
    }

    public static func intervals(
        _ outcomes: [ScoredOutcome], resamples: Int = 1000, seed: UInt64 = 7, confidence: Double = 0.95,
        qualityFraction: Double = 0.95
    ) -> Result {
        // Sort once; a resample keeps that order and only changes how often each prompt counts.
        let sorted = outcomes.sorted { $0.score > $1.score }
        var generator = SeededGenerator(seed: seed)
        var apgr: [Double] = [], cpt50: [Double] = [], cpt80: [Double] = [], cost: [Double] = []
        var counts = [Int](repeating: 0, count: sorted.count)
        for _ in 0..<resamples {
            for index in counts.indices { counts[index] = 0 }
            for _ in 0..<sorted.count { counts[Int(generator.next() % UInt64(sorted.count))] += 1 }
            let curve = RoutingCurve(sorted: sorted, multiplicities: counts)
            let metrics = RoutingMetrics(curve, qualityFraction: qualityFraction)
            if !metrics.apgr.isNaN { apgr.append(metrics.apgr) }
            if let value = metrics.cpt50 { cpt50.append(value) }
            if let value = metrics.cpt80 { cpt80.append(value) }
            if let value = metrics.costAt95 { cost.append(value) }
        }
        let tail = (1 - confidence) / 2
        return Result(
            apgr: percentiles(apgr, tail), cpt50: percentiles(cpt50, tail), cpt80: percentiles(cpt80, tail),
            costAt95: percentiles(cost, tail))
    }

    /// The `tail` and `1 − tail` quantiles (nearest rank).
    static func percentiles(_ values: [Double], _ tail: Double) -> Interval {
        guard !values.isEmpty else { return Interval(low: .nan, high: .nan) }
        let sorted = values.sorted()
        let rank: (Double) -> Int = { q in min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)) }
        return Interval(low: sorted[rank(tail)], high: sorted[rank(1 - tail)])
    }
}

/// Prices and the token formula of the RouteLLM paper (see `../shared/data/README.md`).
public struct RoutingPrices: Sendable, Hashable, Codable {
    /// USD per million tokens, blended input/output.
    public var weakPerMillion: Double
    public var strongPerMillion: Double
    /// Tokens per prompt word, and output tokens per request.
    public var tokensPerWord: Double
    public var outputTokens: Double

    public init(weakPerMillion: Double = 0.24, strongPerMillion: Double = 24.7, tokensPerWord: Double = 1.3, outputTokens: Double = 300) {
        self.weakPerMillion = weakPerMillion
        self.strongPerMillion = strongPerMillion
        self.tokensPerWord = tokensPerWord
        self.outputTokens = outputTokens
    }

    /// Mixtral-8x7B vs GPT-4, as in the paper.
    public static let routeLLM = RoutingPrices()

    /// prompt words × 1.3 + 300.
    public func tokens(prompt: String) -> Double {
        Double(prompt.split(whereSeparator: { $0.isWhitespace }).count) * tokensPerWord + outputTokens
    }

    public func costs(prompt: String) -> (weak: Double, strong: Double) {
        let tokens = tokens(prompt: prompt)
        return (tokens * weakPerMillion / 1e6, tokens * strongPerMillion / 1e6)
    }
}
