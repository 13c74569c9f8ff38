import CMiniLMKernels
import Testing
@testable import Embeddings

/// The AVX-512 kernels (packed weights) against the naive product; skipped on CPUs without them.
@Suite("AVX-512 packed kernels", .enabled(if: CPUFeatures.current.avx512, "CPU without AVX-512"))
struct PackedKernelTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 32, 32), (15, 384, 384), (15, 1536, 384), (27, 384, 1536), (130, 96, 768)]

    static func reference(_ m: Int, _ n: Int, _ k: Int, _ a: [Float], _ w: [Float]) -> [Float] {
        MatrixMultiplyTests.naiveTransposed(m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: w, ldb: k, beta: 0,
                                            c: [Float](repeating: 0, count: m * n), ldc: n)
    }

    @Test("f32 panels: every column range of whole panels matches")
    func float32() {
        for (m, n, k) in Self.shapes {
            let a = MatrixMultiplyTests.values(m * k, seed: 7), w = MatrixMultiplyTests.values(n * k, seed: 8)
            let expected = Self.reference(m, n, k, a, w)
            let packed = w.withUnsafeBufferPointer { PackedWeight(FloatTensorFixture.tensor($0, shape: [n, k]), packFloat32: true, packBFloat16: false) }
            var c = [Float](repeating: .nan, count: m * n)
            // Two calls over split column ranges, as two workers would make them.
            let middle = (n / 64) * 32
            for range in [0..<middle, middle..<n] where !range.isEmpty {
                a.withUnsafeBufferPointer { ap in
                    c.withUnsafeMutableBufferPointer { cp in
                        mlk_gemm_f32(Int32(m), Int32(range.lowerBound), Int32(range.upperBound), Int32(k), ap.baseAddress!, k, packed.float32Panels!, cp.baseAddress!, n)
                    }
                }
            }
            let error = zip(c, expected).map { abs($0 - $1) }.max() ?? .nan
            #expect(error < 1e-4 * Float(k).squareRoot(), "m=\(m) n=\(n) k=\(k): max error \(error)")
        }
    }

    @Test("bf16 panels: within bf16 rounding of the exact product", .enabled(if: CPUFeatures.current.avx512BF16, "CPU without AVX512_BF16"))
    func bfloat16() {
        for (m, n, k) in Self.shapes {
            let a = MatrixMultiplyTests.values(m * k, seed: 9), w = MatrixMultiplyTests.values(n * k, seed: 10)
            let expected = Self.reference(m, n, k, a, w)
            let packed = w.withUnsafeBufferPointer { PackedWeight(FloatTensorFixture.tensor($0, shape: [n, k]), packFloat32: false, packBFloat16: true) }
            var converted = [UInt16](repeating: 0, count: m * k)
            var c = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { ap in
                converted.withUnsafeMutableBufferPointer { bp in
                    mlk_convert_bf16(Int32(m), Int32(k), ap.baseAddress!, k, bp.baseAddress!)
                    c.withUnsafeMutableBufferPointer { cp in
                        mlk_gemm_bf16(Int32(m), 0, Int32(n), Int32(k), bp.baseAddress!, k, packed.bfloat16Panels!, cp.baseAddress!, n)
                    }
                }
            }
            // Each product of two bf16-rounded values in [-1, 1) is off by ≤ ~2^-8 relative; the
            // errors add up like a random walk over k terms.
            let error = zip(c, expected).map { abs($0 - $1) }.max() ?? .nan
            #expect(error < 0.02 * Float(k).squareRoot(), "m=\(m) n=\(n) k=\(k): max error \(error)")
            let scale = expected.map(abs).max() ?? 1
            #expect(error / scale < 0.05)
        }
    }

    @Test("bf16 conversion rounds to nearest even")
    func rounding() {
        #expect(mlk_bf16_from_f32(1.0) == 0x3F80)
        #expect(mlk_bf16_from_f32(Float(bitPattern: 0x3F80_8000)) == 0x3F80) // tie → even
        #expect(mlk_bf16_from_f32(Float(bitPattern: 0x3F81_8000)) == 0x3F82) // tie → even (up)
        #expect(mlk_bf16_from_f32(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(mlk_bf16_from_f32(-2.0) == 0xC000)
    }
}

/// Wraps test-owned memory as a FloatTensor (the array outlives every use in these tests).
enum FloatTensorFixture {
    static func tensor(_ buffer: UnsafeBufferPointer<Float>, shape: [Int]) -> FloatTensor {
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: buffer.count)
        copy.initialize(from: buffer.baseAddress!, count: buffer.count)
        return FloatTensor(shape: shape, pointer: UnsafePointer(copy), owner: OwnedFloats(copy))
    }
}
