import Foundation

/// Picks the score threshold that meets a user's goal on held-out data. A prompt goes to the strong
/// model when its score is at or above the threshold; only the scores seen are considered as
/// thresholds (plus one just above the highest: nothing to the strong model).
public enum ThresholdCalibration {
    public enum Goal: Sendable, Hashable {
        /// Keep at least this fraction of the strong model's quality, as cheaply as possible.
        case targetQuality(Double)
        /// Send at most this share of requests to the strong model, with the best quality.
        case maxStrongFraction(Double)
        /// Spend at most this many USD per 1,000 requests (costs in `ScoredOutcome` are USD), best quality.
        case maxCostPer1kRequests(Double)

        public var name: String {
            switch self {
            case .targetQuality: "target_quality"
            case .maxStrongFraction: "max_strong_fraction"
            case .maxCostPer1kRequests: "max_cost_per_1k_requests"
            }
        }

        public var value: Double {
            switch self {
            case .targetQuality(let value), .maxStrongFraction(let value), .maxCostPer1kRequests(let value): value
            }
        }
    }

    public struct Choice: Sendable, Hashable {
        public var threshold: Double
        public var strongFraction: Double
        /// Quality as a fraction of the strong model's.
        public var qualityFraction: Double
        public var relativeCost: Double
        public var costPer1kRequests: Double
        /// False when no threshold meets the goal (the closest one is returned).
        public var met: Bool
    }

    public static func choose(_ outcomes: [ScoredOutcome], goal: Goal) -> Choice {
        let sorted = outcomes.sorted { $0.score > $1.score }
        let n = Double(sorted.count)
        let strongQuality = sorted.reduce(0) { $0 + $1.strong } / n
        let allStrongCost = sorted.reduce(0) { $0 + $1.strongCost }
        var quality = sorted.reduce(0) { $0 + $1.weak }
        var cost = sorted.reduce(0) { $0 + $1.weakCost }
        // Candidate points: nothing strong, then after each run of equal scores.
        let top = sorted.first?.score ?? 0
        var points: [Choice] = []
        func point(_ threshold: Double, taken: Int) -> Choice {
            Choice(
                threshold: threshold, strongFraction: Double(taken) / n,
                qualityFraction: strongQuality > 0 ? quality / n / strongQuality : .nan,
                relativeCost: allStrongCost > 0 ? cost / allStrongCost : .nan, costPer1kRequests: cost / n * 1000, met: true)
        }
        points.append(point(top.nextUp, taken: 0))
        var index = 0
        while index < sorted.count {
            let score = sorted[index].score
            while index < sorted.count, sorted[index].score == score {
                quality += sorted[index].strong - sorted[index].weak
                cost += sorted[index].strongCost - sorted[index].weakCost
                index += 1
            }
            points.append(point(score, taken: index))
        }
        switch goal {
        case .targetQuality(let fraction):
            if let first = points.first(where: { $0.qualityFraction >= fraction - 1e-12 }) { return first }
            var best = points.max { $0.qualityFraction < $1.qualityFraction }!
            best.met = false
            return best
        case .maxStrongFraction(let limit):
            return best(points.filter { $0.strongFraction <= limit + 1e-12 }) ?? unmet(points[0])
        case .maxCostPer1kRequests(let limit):
            return best(points.filter { $0.costPer1kRequests <= limit + 1e-12 }) ?? unmet(points[0])
        }
    }

    /// Highest quality; among equals, the cheapest.
    private static func best(_ points: [Choice]) -> Choice? {
        points.max { ($0.qualityFraction, -$0.relativeCost) < ($1.qualityFraction, -$1.relativeCost) }
    }

    private static func unmet(_ point: Choice) -> Choice {
        var point = point
        point.met = false
        return point
    }
}
