import Foundation

/// The C library's erf, reachable from inside `VectorMath` (whose own `erf` shadows it).
@inline(__always) func scalarErf(_ x: Double) -> Double { erf(x) }

/// Row operations of the encoder, vectorised 8 lanes at a time.
enum VectorMath {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// e^x, within 2 ulp over the float range (Cephes' expf polynomial); underflows to 0.
    @inline(__always)
    static func exp(_ input: V) -> V {
        var x = input.replacing(with: 88.3, where: input .> 88.3)
        x = x.replacing(with: -87.3, where: x .< -87.3)
        // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits,
        // which avoids the generic (slow) float-to-int SIMD conversion.
        let magic = V(repeating: 12582912)
        let shifted = x * 1.44269504088896341 + magic
        let n = shifted - magic
        var r = x - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let exponent = (integer &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: V.self)
    }

    /// erf(x) as a rational approximation (the one Eigen and XLA use for float; error < 2e-7).
    @inline(__always)
    static func erf(_ input: V) -> V {
        var x = input.replacing(with: 4, where: input .> 4)
        x = x.replacing(with: -4, where: x .< -4)
        let x2 = x * x
        var p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08
        p = x2 * p + -2.10102402082508e-06
        p = x2 * p + -5.69250639462346e-05
        p = x2 * p + -7.34990630326855e-04
        p = x2 * p + -2.95459980854025e-03
        p = x2 * p + -1.60960333262415e-02
        p = x * p
        var q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04
        q = x2 * q + -1.68282697438203e-03
        q = x2 * q + -7.37332916720468e-03
        q = x2 * q + -1.42647390514189e-02
        return p / q
    }

    /// row = gelu(row + bias), exact (erf) GELU.
    static func addBiasGELU(_ row: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, count: Int) {
        var j = 0
        while j + 8 <= count {
            let x = load(row + j) + load(bias + j)
            store(x * 0.5 * (1 + erf(x * 0.70710678118654752)), row + j)
            j += 8
        }
        while j < count {
            let x = row[j] + bias[j]
            row[j] = x * 0.5 * (1 + Float(scalarErf(Double(x) * 0.70710678118654752)))
            j += 1
        }
    }

    /// row += bias.
    static func addBias(_ row: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, count: Int) {
        var j = 0
        while j + 8 <= count { store(load(row + j) + load(bias + j), row + j); j += 8 }
        while j < count { row[j] += bias[j]; j += 1 }
    }

    /// output = LayerNorm(input + bias + residual) · gamma + beta; `output` may alias `residual`.
    static func addBiasResidualLayerNorm(
        input: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, residual: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float,
        output: UnsafeMutablePointer<Float>, count: Int
    ) {
        precondition(count % 8 == 0)
        var sum = V()
        var j = 0
        while j < count {
            let x = load(input + j) + load(bias + j) + load(residual + j)
            store(x, input + j)
            sum += x
            j += 8
        }
        let mean = sum.sum() / Float(count)
        var squares = V()
        j = 0
        while j < count {
            let d = load(input + j) - mean
            squares += d * d
            j += 8
        }
        let scale = 1 / (squares.sum() / Float(count) + epsilon).squareRoot()
        j = 0
        while j < count {
            let d = (load(input + j) - mean) * scale
            store(d * load(gamma + j) + load(beta + j), output + j)
            j += 8
        }
    }

    /// In-place softmax of a row (already scaled).
    static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        var lanesMax = V(repeating: -.infinity)
        var j = 0
        while j + 8 <= count { lanesMax = pointwiseMaxFast(lanesMax, load(row + j)); j += 8 }
        var maxValue = lanesMax.max()
        while j < count { maxValue = Swift.max(maxValue, row[j]); j += 1 }
        let shift = V(repeating: maxValue)
        var total = V()
        var tail: Float = 0
        j = 0
        while j + 8 <= count {
            let e = exp(load(row + j) - shift)
            store(e, row + j)
            total += e
            j += 8
        }
        if j < count {
            var lanes = V(repeating: -Float.infinity)
            for t in j..<count { lanes[t - j] = row[t] }
            let e = exp(lanes - shift)
            for t in j..<count { row[t] = e[t - j]; tail += e[t - j] }
        }
        let inverse = 1 / (total.sum() + tail)
        j = 0
        while j + 8 <= count { store(load(row + j) * inverse, row + j); j += 8 }
        while j < count { row[j] *= inverse; j += 1 }
    }

    /// Lane-wise maximum without the generic (non-inlined) `pointwiseMax`.
    @inline(__always)
    static func pointwiseMaxFast(_ a: V, _ b: V) -> V {
        a.replacing(with: b, where: b .> a)
    }
}
