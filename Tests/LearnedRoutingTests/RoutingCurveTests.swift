import Foundation
import Testing

@testable import LearnedRouting

/// Hand-made cases whose figures are worked out in the comments.
@Suite("PGR curve, APGR, CPT and cost")
struct RoutingCurveTests {
    /// Four prompts, distinct scores; weak answers cost 1, strong ones 10.
    ///
    ///   score   0.9  0.7  0.5  0.1
    ///   weak     0    1    0    1     weak quality   2/4 = 0.50
    ///   strong   1    1    1    0     strong quality 3/4 = 0.75, gap 0.25
    ///   gain    +1    0   +1   −1
    ///
    /// Sending the top k to the strong model: quality 0.50, 0.75, 0.75, 1.00, 0.75 → PGR 0, 1, 1, 2, 1.
    /// APGR = ¼ · [(0+1)/2 + (1+1)/2 + (1+2)/2 + (2+1)/2] = ¼ · 4.5 = 1.125 (the PGR can pass 1: the
    /// last prompt is one the weak model gets right and the strong one wrong).
    /// CPT(50 %) = CPT(80 %) = ¼ (k = 1 already recovers the whole gap); CPT(150 %) = ¾.
    /// Cost: 4 + 9k of an all-strong 40. 95 % of the strong quality is 0.7125, first reached at k = 1,
    /// so the cost there is 13 / 40 = 0.325.
    static let distinct = [
        ScoredOutcome(score: 0.9, weak: 0, strong: 1, weakCost: 1, strongCost: 10),
        ScoredOutcome(score: 0.1, weak: 1, strong: 0, weakCost: 1, strongCost: 10),
        ScoredOutcome(score: 0.5, weak: 0, strong: 1, weakCost: 1, strongCost: 10),
        ScoredOutcome(score: 0.7, weak: 1, strong: 1, weakCost: 1, strongCost: 10),
    ]

    @Test func distinctScores() throws {
        let curve = RoutingCurve(Self.distinct)
        #expect(curve.weakQuality == 0.5 && curve.strongQuality == 0.75)
        #expect(abs(curve.apgr - 1.125) < 1e-12)
        #expect(curve.cpt(0.5) == 0.25)
        #expect(curve.cpt(0.8) == 0.25)
        #expect(curve.cpt(1.5) == 0.75)
        #expect(curve.cpt(2.5) == nil)
        #expect(try #require(curve.relativeCost(atQualityFraction: 0.95)) == 0.325)
        #expect(curve.corners.map(\.quality) == [0.5, 0.75, 0.75, 1.0, 0.75])
        #expect(curve.corners.map(\.relativeCost) == [0.1, 0.325, 0.55, 0.775, 1.0])
    }

    /// Ties: two prompts score 1 (gains +1 and 0), two score 0 (gains −1 and +1).
    /// weak quality 2/4 = 0.5, strong 3/4 = 0.75. No threshold separates tied prompts, so inside a run
    /// of ties the curve is the expectation over their order: PGR goes 0 → 1 linearly over the first
    /// run (k = 1 gives 0.5 in expectation) and stays at 1 over the second (its gains sum to 0).
    /// APGR = ½ · (0 + 1)/2 + ½ · 1 = 0.75. CPT(50 %) = ¼ (expected PGR at k = 1 is exactly 0.5);
    /// CPT(80 %) = ½. (Taking the tied prompts in file order instead would give CPT(50 %) = ¼ or ½
    /// depending on the order — that is what the expectation removes.)
    @Test func tiedScoresAreAveraged() {
        let tied = [
            ScoredOutcome(score: 1, weak: 1, strong: 1),
            ScoredOutcome(score: 0, weak: 1, strong: 0),
            ScoredOutcome(score: 1, weak: 0, strong: 1),
            ScoredOutcome(score: 0, weak: 0, strong: 1),
        ]
        let curve = RoutingCurve(tied)
        #expect(abs(curve.apgr - 0.75) < 1e-12)
        #expect(curve.cpt(0.5) == 0.25)
        #expect(curve.cpt(0.8) == 0.5)
        #expect(curve.corners.count == 3)
        // Shuffling the input changes nothing.
        #expect(RoutingCurve(tied.reversed()).apgr == curve.apgr)
    }

    /// Every score equal = random routing: PGR(k/5) = k/5, a straight line, APGR exactly ½.
    /// weak 0,0,0,1,1 (0.4), strong 1,1,0,1,1 (0.8). CPT(50 %) = 3/5 (PGR 0.4 at k = 2, 0.6 at k = 3);
    /// CPT(80 %) = 4/5 exactly (a case where rounding could push it to 1). 95 % of 0.8 = 0.76 needs
    /// k = 4.5 → 5: cost 100 %.
    @Test func equalScoresAreTheRandomRouter() throws {
        let outcomes = zip([0.0, 0, 0, 1, 1], [1.0, 1, 0, 1, 1]).map { ScoredOutcome(score: 0.3, weak: $0, strong: $1) }
        let curve = RoutingCurve(outcomes)
        #expect(abs(curve.apgr - 0.5) < 1e-12)
        #expect(curve.cpt(0.5) == 0.6)
        #expect(curve.cpt(0.8) == 0.8)
        #expect(try #require(curve.relativeCost(atQualityFraction: 0.95)) == 1)
        #expect(curve.cpt(0) == 0)
    }

    /// The oracle: scores put exactly the prompts the strong model gains on first.
    /// weak 0,1,1,1 (0.75), strong 1,1,1,1 (1.0): one gain of +1 out of 4 → PGR 1 from k = 1 on.
    /// APGR = ¼ · ½ + ¾ · 1 = 0.875; CPT(50 %) = ¼; and when the weak quality already meets 95 %?
    /// 0.75 < 0.95, so k = 1: cost (3·1 + 10) / 40 = 0.325.
    @Test func oracle() throws {
        let outcomes = [
            ScoredOutcome(score: 4, weak: 0, strong: 1, weakCost: 1, strongCost: 10),
            ScoredOutcome(score: 3, weak: 1, strong: 1, weakCost: 1, strongCost: 10),
            ScoredOutcome(score: 2, weak: 1, strong: 1, weakCost: 1, strongCost: 10),
            ScoredOutcome(score: 1, weak: 1, strong: 1, weakCost: 1, strongCost: 10),
        ]
        let curve = RoutingCurve(outcomes)
        #expect(abs(curve.apgr - 0.875) < 1e-12)
        #expect(curve.cpt(0.5) == 0.25)
        #expect(try #require(curve.relativeCost(atQualityFraction: 0.95)) == 0.325)
        // At 70 % of the strong quality the weak model alone is enough: cost 4 / 40.
        #expect(try #require(curve.relativeCost(atQualityFraction: 0.7)) == 0.1)
    }

    @Test func equallyGoodModelsHaveNoPGR() {
        let curve = RoutingCurve([ScoredOutcome(score: 1, weak: 1, strong: 1), ScoredOutcome(score: 0, weak: 0, strong: 0)])
        #expect(curve.apgr.isNaN)
        #expect(curve.cpt(0.5) == nil)
    }

    @Test func bootstrapIsSeededAndBracketsTheEstimate() {
        var generator = SeededGenerator(seed: 3)
        let outcomes = (0..<400).map { _ -> ScoredOutcome in
            let score = generator.nextUnit()
            // The strong model gains more often where the score is high.
            let strongWins = generator.nextUnit() < score
            return ScoredOutcome(score: score, weak: strongWins ? 0 : 1, strong: 1)
        }
        let first = RoutingBootstrap.intervals(outcomes, resamples: 300, seed: 11)
        let second = RoutingBootstrap.intervals(outcomes, resamples: 300, seed: 11)
        let other = RoutingBootstrap.intervals(outcomes, resamples: 300, seed: 12)
        #expect(first.apgr == second.apgr && first.cpt50 == second.cpt50)
        #expect(first.apgr != other.apgr)
        let apgr = RoutingCurve(outcomes).apgr
        #expect(first.apgr.low < apgr && apgr < first.apgr.high)
        #expect(first.apgr.low > 0.5)
        #expect(first.cpt50.low <= first.cpt50.high && first.costAt95.low <= first.costAt95.high)
    }

    @Test func operatingPointSendsScoresAtOrAboveTheThreshold() {
        let point = RoutingCurve.operatingPoint(Self.distinct, threshold: 0.5)
        // 0.9, 0.7 and 0.5 go strong: quality (1 + 1 + 1 + 1) / 4, cost (30 + 1) / 40.
        #expect(point.strongFraction == 0.75 && point.quality == 1 && point.relativeCost == 31.0 / 40)
    }

    @Test func pricesFollowTheRouteLLMFormula() {
        // 10 words → 13 + 300 = 313 tokens.
        let costs = RoutingPrices.routeLLM.costs(prompt: "one two three four five six seven eight nine\nten")
        #expect(abs(costs.weak - 313 * 0.24 / 1e6) < 1e-15)
        #expect(abs(costs.strong - 313 * 24.7 / 1e6) < 1e-15)
    }
}

@Suite("Threshold calibration")
struct ThresholdCalibrationTests {
    // Costs are 1 and 10 USD: per 1k requests, k strong calls of 4 cost (4 + 9k) / 4 × 1000.
    let outcomes = RoutingCurveTests.distinct

    @Test func targetQualityTakesTheFirstThresholdThatReachesIt() {
        let choice = ThresholdCalibration.choose(outcomes, goal: .targetQuality(0.95))
        // k = 1 (score 0.9) already gives quality 0.75 = 100 % of the strong model's.
        #expect(choice.threshold == 0.9 && choice.strongFraction == 0.25 && choice.qualityFraction == 1 && choice.met)
    }

    @Test func shareLimitKeepsTheBestQualityThenTheCheapest() {
        // k ≤ 2 allowed; k = 1 and k = 2 both give quality 1.0; k = 1 is cheaper.
        let choice = ThresholdCalibration.choose(outcomes, goal: .maxStrongFraction(0.5))
        #expect(choice.threshold == 0.9 && choice.strongFraction == 0.25)
        // No strong call at all: the threshold sits just above the highest score.
        let none = ThresholdCalibration.choose(outcomes, goal: .maxStrongFraction(0))
        #expect(none.threshold > 0.9 && none.strongFraction == 0)
    }

    @Test func costLimit() {
        // $3,000 per 1k allows only k = 0 ($1,000); $6,000 allows k ≤ 2 ($5,500) → best is k = 1.
        #expect(ThresholdCalibration.choose(outcomes, goal: .maxCostPer1kRequests(3000)).strongFraction == 0)
        let choice = ThresholdCalibration.choose(outcomes, goal: .maxCostPer1kRequests(6000))
        #expect(choice.strongFraction == 0.25 && choice.costPer1kRequests == 3250)
        #expect(!ThresholdCalibration.choose(outcomes, goal: .maxCostPer1kRequests(10)).met)
    }
}
