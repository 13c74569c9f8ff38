import Foundation

/// How well a judge's pass/fail verdicts agree with human labels: observed agreement, Cohen's κ (agreement beyond
/// what the two raters' pass rates give by chance), the confusion matrix, and a seeded 95 % bootstrap interval for κ.
public struct JudgeCalibration: Sendable, Hashable {
    /// One example's judge verdict and human label.
    public struct Pair: Sendable, Hashable {
        /// The judge's verdict: true = pass.
        public var judge: Bool
        /// The human label: true = pass.
        public var human: Bool
        public init(judge: Bool, human: Bool) {
            self.judge = judge
            self.human = human
        }
    }

    /// Counts of (judge, human) verdict pairs.
    public struct ConfusionMatrix: Sendable, Hashable, Codable {
        /// Both pass (agreement).
        public var judgePassHumanPass: Int
        /// The judge passes what the human failed (a lenient judge).
        public var judgePassHumanFail: Int
        /// The judge fails what the human passed (a strict judge).
        public var judgeFailHumanPass: Int
        /// Both fail (agreement).
        public var judgeFailHumanFail: Int

        public init(judgePassHumanPass: Int = 0, judgePassHumanFail: Int = 0, judgeFailHumanPass: Int = 0, judgeFailHumanFail: Int = 0) {
            self.judgePassHumanPass = judgePassHumanPass
            self.judgePassHumanFail = judgePassHumanFail
            self.judgeFailHumanPass = judgeFailHumanPass
            self.judgeFailHumanFail = judgeFailHumanFail
        }

        public init(_ pairs: [Pair]) {
            self.init()
            for pair in pairs {
                switch (pair.judge, pair.human) {
                case (true, true): judgePassHumanPass += 1
                case (true, false): judgePassHumanFail += 1
                case (false, true): judgeFailHumanPass += 1
                case (false, false): judgeFailHumanFail += 1
                }
            }
        }

        /// Examples counted.
        public var total: Int { judgePassHumanPass + judgePassHumanFail + judgeFailHumanPass + judgeFailHumanFail }
        /// Examples where judge and human agree.
        public var agreements: Int { judgePassHumanPass + judgeFailHumanFail }
    }

    /// A two-sided interval.
    public struct Interval: Sendable, Hashable, Codable {
        /// The 2.5th percentile.
        public var lower: Double
        /// The 97.5th percentile.
        public var upper: Double
        public init(lower: Double, upper: Double) {
            self.lower = lower
            self.upper = upper
        }
    }

    /// The (judge, human) counts behind every statistic.
    public var confusion: ConfusionMatrix
    /// Share of examples where judge and human agree (0 for none).
    public var agreement: Double
    /// Agreement expected by chance from the two pass rates.
    public var chanceAgreement: Double
    /// Cohen's κ, in [-1, 1].
    public var kappa: Double
    /// 95 % percentile-bootstrap interval for κ; nil for fewer than two examples.
    public var kappaInterval: Interval?
    /// Bootstrap resamples behind `kappaInterval`, and the seed that makes it repeatable.
    public var resamples: Int
    public var seed: UInt64

    /// Computes the statistics; the interval from `resamples` bootstrap resamples drawn with `seed`.
    public init(pairs: [Pair], resamples: Int = 2_000, seed: UInt64 = 0x5EED_CA1B) {
        let matrix = ConfusionMatrix(pairs)
        confusion = matrix
        let total = Double(matrix.total)
        agreement = total > 0 ? Double(matrix.agreements) / total : 0
        chanceAgreement = Self.chanceAgreement(matrix)
        kappa = Self.kappa(matrix)
        self.resamples = max(0, resamples)
        self.seed = seed
        kappaInterval = Self.bootstrapInterval(pairs, resamples: self.resamples, seed: seed)
    }

    /// Cohen's κ of a confusion matrix. When chance agreement is total (both raters gave one and the same verdict
    /// throughout) κ is undefined; it is taken as 1 for perfect agreement and 0 otherwise. No examples: 0.
    public static func kappa(_ matrix: ConfusionMatrix) -> Double {
        guard matrix.total > 0 else { return 0 }
        let observed = Double(matrix.agreements) / Double(matrix.total)
        let chance = chanceAgreement(matrix)
        guard 1 - chance > 1e-12 else { return observed >= 1 - 1e-12 ? 1 : 0 }
        return (observed - chance) / (1 - chance)
    }

    static func chanceAgreement(_ matrix: ConfusionMatrix) -> Double {
        guard matrix.total > 0 else { return 0 }
        let total = Double(matrix.total)
        let judgePass = Double(matrix.judgePassHumanPass + matrix.judgePassHumanFail) / total
        let humanPass = Double(matrix.judgePassHumanPass + matrix.judgeFailHumanPass) / total
        return judgePass * humanPass + (1 - judgePass) * (1 - humanPass)
    }

    /// The 2.5th and 97.5th percentiles of κ over resamples (with replacement) of the pairs.
    static func bootstrapInterval(_ pairs: [Pair], resamples: Int, seed: UInt64) -> Interval? {
        guard pairs.count >= 2, resamples > 0 else { return nil }
        var generator = SplitMix64(seed: seed)
        var kappas: [Double] = []
        kappas.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var matrix = ConfusionMatrix()
            for _ in 0..<pairs.count {
                let pair = pairs[Int(generator.next() % UInt64(pairs.count))]
                switch (pair.judge, pair.human) {
                case (true, true): matrix.judgePassHumanPass += 1
                case (true, false): matrix.judgePassHumanFail += 1
                case (false, true): matrix.judgeFailHumanPass += 1
                case (false, false): matrix.judgeFailHumanFail += 1
                }
            }
            kappas.append(kappa(matrix))
        }
        kappas.sort()
        func percentile(_ fraction: Double) -> Double {
            let position = fraction * Double(kappas.count - 1)
            let below = Int(position.rounded(.down))
            let above = min(below + 1, kappas.count - 1)
            let weight = position - Double(below)
            return kappas[below] * (1 - weight) + kappas[above] * weight
        }
        return Interval(lower: percentile(0.025), upper: percentile(0.975))
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same bootstrap on every machine.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
