import Foundation

/// Descriptive statistics and the two significance tests experiment reports use. Pure functions of
/// their inputs; nil where a value is undefined (too few observations, no variance).
public enum Statistics {
    public static func mean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        return values.reduce(0, +) / Double(values.count)
    }

    /// The sample variance (n − 1 in the denominator); nil below two values.
    public static func variance(_ values: [Double]) -> Double? {
        guard values.count >= 2, let mean = mean(values) else { return nil }
        return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
    }

    /// The `q`-quantile (0…1) by linear interpolation between order statistics (numpy's default).
    public static func percentile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty, q.isFinite else { return nil }
        let sorted = values.sorted()
        let position = min(max(q, 0), 1) * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    // MARK: Tests

    /// A test's statistic (t or z), its degrees of freedom (t only) and its two-sided p-value.
    public struct TestResult: Sendable, Hashable {
        public var statistic: Double
        public var degreesOfFreedom: Double?
        public var pValue: Double
    }

    /// Welch's unequal-variances t-test of mean(a) − mean(b), two-sided. Nil with fewer than two
    /// values on a side or no variance on either side (the statistic is undefined).
    public static func welchTTest(_ a: [Double], _ b: [Double]) -> TestResult? {
        guard let meanA = mean(a), let meanB = mean(b), let varianceA = variance(a), let varianceB = variance(b) else { return nil }
        let termA = varianceA / Double(a.count)
        let termB = varianceB / Double(b.count)
        let standardError = (termA + termB).squareRoot()
        guard standardError > 0, standardError.isFinite else { return nil }
        let t = (meanA - meanB) / standardError
        // Welch–Satterthwaite.
        let degrees = (termA + termB) * (termA + termB)
            / (termA * termA / Double(a.count - 1) + termB * termB / Double(b.count - 1))
        guard degrees.isFinite, degrees > 0 else { return nil }
        let p = 2 * studentTCDF(-abs(t), degreesOfFreedom: degrees)
        return TestResult(statistic: t, degreesOfFreedom: degrees, pValue: min(1, max(0, p)))
    }

    /// The two-proportion z-test (pooled) of successesA/totalA − successesB/totalB, two-sided. Nil
    /// when a side is empty or the pooled proportion is 0 or 1 (no variance).
    public static func twoProportionZTest(successesA: Int, totalA: Int, successesB: Int, totalB: Int) -> TestResult? {
        guard totalA > 0, totalB > 0, (0...totalA).contains(successesA), (0...totalB).contains(successesB) else { return nil }
        let pA = Double(successesA) / Double(totalA)
        let pB = Double(successesB) / Double(totalB)
        let pooled = Double(successesA + successesB) / Double(totalA + totalB)
        let standardError = (pooled * (1 - pooled) * (1 / Double(totalA) + 1 / Double(totalB))).squareRoot()
        guard standardError > 0 else { return nil }
        let z = (pA - pB) / standardError
        return TestResult(statistic: z, degreesOfFreedom: nil, pValue: min(1, max(0, erfc(abs(z) / 2.0.squareRoot()))))
    }

    // MARK: Distributions

    /// P(T ≤ t) for Student's t with `degreesOfFreedom` (> 0, fractional allowed), through the
    /// regularized incomplete beta function: P(|T| > |t|) = I_{ν/(ν+t²)}(ν/2, 1/2).
    public static func studentTCDF(_ t: Double, degreesOfFreedom: Double) -> Double {
        guard degreesOfFreedom > 0, !t.isNaN else { return .nan }
        if t.isInfinite { return t > 0 ? 1 : 0 }
        let x = degreesOfFreedom / (degreesOfFreedom + t * t)
        let tail = 0.5 * regularizedIncompleteBeta(a: degreesOfFreedom / 2, b: 0.5, x: x)
        return t > 0 ? 1 - tail : tail
    }

    /// I_x(a, b), the regularized incomplete beta function, for a, b > 0 and x in [0, 1]: the
    /// continued fraction of Numerical Recipes (§6.4, modified Lentz), on the side where it
    /// converges fast.
    public static func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
        guard a > 0, b > 0, x.isFinite else { return .nan }
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * betaContinuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - exp(logFront) * betaContinuedFraction(a: b, b: a, x: 1 - x) / b
    }

    private static func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300
        let epsilon = 1e-15
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...10_000 {
            let m = Double(m)
            let m2 = 2 * m
            // Even step.
            var numerator = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + numerator * d
            if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            // Odd step.
            numerator = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + numerator * d
            if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            result *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return result
    }
}
