import Foundation

/// One evaluated prompt: the router's score and what each model's answer was worth.
public struct ScoredOutcome: Sendable, Hashable {
    /// Higher = more need for the strong model.
    public var score: Double
    /// Quality of the weak and the strong model's answer, in [0, 1] (1 = correct).
    public var weak: Double
    public var strong: Double
    /// What answering this prompt costs on each model (any unit; only ratios are reported).
    public var weakCost: Double
    public var strongCost: Double

    public init(score: Double, weak: Double, strong: Double, weakCost: Double = 1, strongCost: Double = 1) {
        self.score = score
        self.weak = weak
        self.strong = strong
        self.weakCost = weakCost
        self.strongCost = strongCost
    }
}

/// The quality/cost trade-off a router's scores buy, with the RouteLLM paper's figures.
///
/// Sweeping a threshold down the scores sends the `k` highest-scored of `n` prompts to the strong
/// model, `k = 0…n`; `p = k / n` is the strong-call share. Prompts with equal scores cannot be told
/// apart by any threshold, so within a run of ties the curve is the *expectation over a random
/// order of the tied prompts*: quality and cost move linearly from the run's start to its end.
/// (So a router whose scores are all equal is exactly the random router: a straight line, APGR 0.5.)
///
/// - `PGR(p) = (Quality(p) − Quality(0)) / (Quality(1) − Quality(0))`.
/// - `APGR` = the exact area under that piecewise-linear curve over `p ∈ [0, 1]` (the trapezoid rule
///   on the `n + 1` points, which is exact because the curve is linear between them).
/// - `CPT(x)` = the smallest `k / n` (`k` an integer) with `PGR(k / n) ≥ x`.
/// - Cost at a quality target `q` = the cost at the smallest `k` with `Quality(k / n) ≥ q × Quality(1)`,
///   relative to sending every prompt to the strong model.
public struct RoutingCurve: Sendable {
    /// Runs of tied scores, highest score first: size, summed gain (strong − weak), summed extra cost.
    struct Run: Sendable {
        var count: Double
        var gain: Double
        var extraCost: Double
    }

    let runs: [Run]
    /// Number of prompts (a bootstrap resample counts repeats).
    public let count: Double
    /// Mean quality with every prompt on the weak model, and on the strong model.
    public let weakQuality: Double
    public let strongQuality: Double
    /// Total cost with every prompt on the weak model, and on the strong model.
    public let weakCost: Double
    public let strongCost: Double

    public init(_ outcomes: [ScoredOutcome]) {
        let order = outcomes.indices.sorted { outcomes[$0].score > outcomes[$1].score }
        self.init(sorted: order.map { outcomes[$0] }, multiplicities: nil)
    }

    /// `sorted` must be in descending score order; `multiplicities[i]` says how often prompt `i`
    /// counts (a bootstrap resample), nil = once each.
    init(sorted: [ScoredOutcome], multiplicities: [Int]?) {
        var runs: [Run] = []
        var weak = 0.0, strong = 0.0, weakCost = 0.0, strongCost = 0.0, count = 0.0
        var previous: Double?
        for (index, outcome) in sorted.enumerated() {
            let times = Double(multiplicities?[index] ?? 1)
            guard times > 0 else { continue }
            count += times
            weak += times * outcome.weak
            strong += times * outcome.strong
            weakCost += times * outcome.weakCost
            strongCost += times * outcome.strongCost
            let gain = times * (outcome.strong - outcome.weak)
            let extra = times * (outcome.strongCost - outcome.weakCost)
            if let previous, previous == outcome.score {
                runs[runs.count - 1].count += times
                runs[runs.count - 1].gain += gain
                runs[runs.count - 1].extraCost += extra
            } else {
                runs.append(Run(count: times, gain: gain, extraCost: extra))
            }
            previous = outcome.score
        }
        self.runs = runs
        self.count = count
        self.weakQuality = count > 0 ? weak / count : 0
        self.strongQuality = count > 0 ? strong / count : 0
        self.weakCost = weakCost
        self.strongCost = strongCost
    }

    /// The curve's corners: (strong share, quality, cost relative to all-strong) at every run boundary,
    /// from (0, weak quality, …) to (1, strong quality, 1). Between corners it is a straight line.
    public var corners: [(strongFraction: Double, quality: Double, relativeCost: Double)] {
        var points = [(0.0, weakQuality, relative(weakCost))]
        var taken = 0.0, gain = 0.0, cost = weakCost
        for run in runs {
            taken += run.count
            gain += run.gain
            cost += run.extraCost
            points.append((taken / count, weakQuality + gain / count, relative(cost)))
        }
        return points
    }

    private func relative(_ cost: Double) -> Double { strongCost > 0 ? cost / strongCost : .nan }

    /// Share of the weak→strong gap recovered at a given quality; NaN when the two models are equally good.
    public func pgr(quality: Double) -> Double {
        let gap = strongQuality - weakQuality
        return gap == 0 ? .nan : (quality - weakQuality) / gap
    }

    /// Area under PGR(p) for p from 0 to 1 (random routing = 0.5).
    public var apgr: Double {
        guard count > 0, strongQuality != weakQuality else { return .nan }
        var area = 0.0
        var previous = 0.0, gain = 0.0
        for run in runs {
            gain += run.gain
            let current = gain / count / (strongQuality - weakQuality)
            area += run.count / count * (previous + current) / 2
            previous = current
        }
        return area
    }

    /// The first point, sweeping k = 0…n, where quality reaches `target`: (k/n, relative cost there).
    /// Nil when no share reaches it.
    public func firstReaching(quality target: Double) -> (strongFraction: Double, relativeCost: Double)? {
        guard count > 0 else { return nil }
        // Tolerance for sums that should be equal but differ in the last bits.
        let tolerance = 1e-12 * max(1, abs(target))
        var taken = 0.0, quality = weakQuality, cost = weakCost
        if quality >= target - tolerance { return (0, relative(cost)) }
        for run in runs {
            let end = quality + run.gain / count
            if end >= target - tolerance, run.gain > 0 {
                // Quality rises linearly by gain / run.count per prompt inside the run.
                let exact = (target - quality) * count * run.count / run.gain
                let steps = min(run.count, max(1, (exact - 1e-9).rounded(.up)))
                return ((taken + steps) / count, relative(cost + steps / run.count * run.extraCost))
            }
            taken += run.count
            quality = end
            cost += run.extraCost
        }
        return nil
    }

    /// Call-performance threshold: the smallest strong-call share whose PGR reaches `x`.
    public func cpt(_ x: Double) -> Double? {
        guard strongQuality != weakQuality else { return nil }
        return firstReaching(quality: weakQuality + x * (strongQuality - weakQuality))?.strongFraction
    }

    /// Cost relative to all-strong at the first point reaching `fraction` of the strong model's quality.
    public func relativeCost(atQualityFraction fraction: Double) -> Double? {
        firstReaching(quality: fraction * strongQuality)?.relativeCost
    }

    /// Strong share and quality when every prompt scoring at least `threshold` goes to the strong model.
    public static func operatingPoint(_ outcomes: [ScoredOutcome], threshold: Double)
        -> (strongFraction: Double, quality: Double, relativeCost: Double)
    {
        guard !outcomes.isEmpty else { return (0, 0, 0) }
        var strongCalls = 0.0, quality = 0.0, cost = 0.0, allStrong = 0.0
        for outcome in outcomes {
            let strong = outcome.score >= threshold
            strongCalls += strong ? 1 : 0
            quality += strong ? outcome.strong : outcome.weak
            cost += strong ? outcome.strongCost : outcome.weakCost
            allStrong += outcome.strongCost
        }
        let n = Double(outcomes.count)
        return (strongCalls / n, quality / n, allStrong > 0 ? cost / allStrong : .nan)
    }
}
