import Foundation
import Testing
@testable import Embeddings

@Suite("matrix kernels and vector math")
struct MatrixMultiplyTests {
    /// Deterministic pseudo-random values in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    /// C = alpha·A·Bᵀ + beta·C in Double, the plain triple loop.
    static func naiveTransposed(m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * lda + p]) * Double(b[j * ldb + p]) }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (3, 5, 7), (15, 384, 384), (17, 33, 40), (64, 96, 1536), (2, 9, 32)]

    @Test("A·Bᵀ matches the naive product", arguments: [false, true])
    func transposedProduct(useBLAS: Bool) throws {
        if useBLAS && BLAS.shared == nil { return }
        for (m, n, k) in Self.shapes {
            let lda = k + 3, ldb = k + 1, ldc = n + 2
            let a = Self.values(m * lda, seed: 1), b = Self.values(n * ldb, seed: 2), c0 = Self.values(m * ldc, seed: 3)
            for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(1)), (Float(2), Float(-0.5))] {
                let expected = Self.naiveTransposed(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c0, ldc: ldc)
                var c = c0
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            MatrixMultiply.multiplyTransposed(m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc, useBLAS: useBLAS)
                        }
                    }
                }
                let error = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
                #expect(error < 1e-4 * Float(max(1, k)).squareRoot(), "m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta): max error \(error)")
            }
        }
    }

    @Test("A·B matches the naive product", arguments: [false, true])
    func plainProduct(useBLAS: Bool) throws {
        if useBLAS && BLAS.shared == nil { return }
        for (m, n, k) in Self.shapes {
            let lda = k + 2, ldb = n + 3, ldc = n + 1
            let a = Self.values(m * lda, seed: 4), b = Self.values(k * ldb, seed: 5), c0 = Self.values(m * ldc, seed: 6)
            // A·B = A·(Bᵀ)ᵀ: build Bᵀ and reuse the naive transposed product.
            var bt = [Float](repeating: 0, count: n * k)
            for p in 0..<k { for j in 0..<n { bt[j * k + p] = b[p * ldb + j] } }
            let expected = Self.naiveTransposed(m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: bt, ldb: k, beta: 0, c: c0, ldc: ldc)
            var c = c0
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        MatrixMultiply.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: ldc, useBLAS: useBLAS)
                    }
                }
            }
            let error = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(error < 1e-4 * Float(max(1, k)).squareRoot(), "m=\(m) n=\(n) k=\(k): max error \(error)")
        }
    }

    @Test("vectorised exp and erf agree with the C library")
    func vectorMath() {
        var worstExp: Float = 0, worstErf: Float = 0
        var x: Float = -90
        while x < 88 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
            let e = VectorMath.exp(lanes)
            let f = VectorMath.erf(lanes * 0.05)
            for i in 0..<8 {
                let reference = Foundation.exp(Double(lanes[i]))
                if reference > 1e-30 { worstExp = max(worstExp, Float(abs(Double(e[i]) - reference) / reference)) }
                worstErf = max(worstErf, Float(abs(Double(f[i]) - Foundation.erf(Double(lanes[i] * 0.05)))))
            }
            x += 0.11
        }
        #expect(worstExp < 5e-7, "exp relative error \(worstExp)")
        #expect(worstErf < 1e-6, "erf absolute error \(worstErf)")
    }

    @Test("softmax rows sum to one and match the direct formula")
    func softmax() {
        for count in [1, 5, 8, 15, 110] {
            var row = Self.values(count, seed: UInt64(count)).map { $0 * 3.4 }
            let m = row.max()!
            let e = row.map { Foundation.exp(Double($0 - m)) }
            let s = e.reduce(0, +)
            row.withUnsafeMutableBufferPointer { VectorMath.softmax($0.baseAddress!, count: count) }
            for (value, reference) in zip(row, e) { #expect(abs(Double(value) - reference / s) < 1e-6) }
        }
    }
}
