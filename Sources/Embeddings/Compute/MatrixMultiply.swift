/// Single-threaded matrix products on row-major F32 matrices with leading dimensions
/// (so heads and column slices can be addressed in place), on the weights as stored. Uses
/// OpenBLAS when present, else a portable SIMD Swift kernel. (The AVX-512 kernels for packed
/// weights are in CMiniLMKernels.)
enum MatrixMultiply {
    /// C[m×n] = alpha · A[m×k] · B[n×k]ᵀ + beta · C — the shape of `x · Wᵀ` with PyTorch weights.
    @inline(__always)
    static func multiplyTransposed(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        useBLAS: Bool = true
    ) {
        if m == 0 || n == 0 { return }
        if useBLAS, let blas = BLAS.shared {
            blas.sgemm(BLAS.rowMajor, BLAS.noTranspose, BLAS.transpose, Int32(m), Int32(n), Int32(k),
                       alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        } else {
            SwiftGEMM.multiplyTransposed(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                         beta: beta, c: c, ldc: ldc)
        }
    }

    /// C[m×n] = alpha · A[m×k] · B[k×n] + beta · C.
    @inline(__always)
    static func multiply(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        useBLAS: Bool = true
    ) {
        if m == 0 || n == 0 { return }
        if useBLAS, let blas = BLAS.shared {
            blas.sgemm(BLAS.rowMajor, BLAS.noTranspose, BLAS.noTranspose, Int32(m), Int32(n), Int32(k),
                       alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        } else {
            SwiftGEMM.multiply(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: c, ldc: ldc)
        }
    }
}

/// The portable kernels: register-blocked dot products over contiguous rows, 8 lanes wide.
enum SwiftGEMM {
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// C = alpha · A · Bᵀ + beta · C, B given as n rows of length k.
    static func multiplyTransposed(
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let k8 = k & ~7
        @inline(__always) func finish(_ i: Int, _ j: Int, _ acc: SIMD8<Float>, _ tail: Float) {
            let value = alpha * (acc.sum() + tail)
            let p = c + i * ldc + j
            p.pointee = beta == 0 ? value : value + beta * p.pointee
        }
        // Blocks of columns (rows of B) so a block of B stays in L1/L2 while the rows of A stream.
        let columnBlock = max(4, (48 * 1024) / max(1, k * 4)) & ~3
        var j0 = 0
        while j0 < n {
            let j1 = min(n, j0 + columnBlock)
            var i = 0
            while i + 2 <= m {
                let a0 = a + i * lda, a1 = a0 + lda
                var j = j0
                while j + 4 <= j1 {
                    let b0 = b + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb
                    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c02 = SIMD8<Float>(), c03 = SIMD8<Float>()
                    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>(), c12 = SIMD8<Float>(), c13 = SIMD8<Float>()
                    var p = 0
                    while p < k8 {
                        let x0 = load8(a0 + p), x1 = load8(a1 + p)
                        let y0 = load8(b0 + p), y1 = load8(b1 + p), y2 = load8(b2 + p), y3 = load8(b3 + p)
                        c00 += x0 * y0; c01 += x0 * y1
                        c02 += x0 * y2; c03 += x0 * y3
                        c10 += x1 * y0; c11 += x1 * y1
                        c12 += x1 * y2; c13 += x1 * y3
                        p += 8
                    }
                    var t00: Float = 0, t01: Float = 0, t02: Float = 0, t03: Float = 0
                    var t10: Float = 0, t11: Float = 0, t12: Float = 0, t13: Float = 0
                    while p < k {
                        let x0 = a0[p], x1 = a1[p]
                        t00 += x0 * b0[p]; t01 += x0 * b1[p]; t02 += x0 * b2[p]; t03 += x0 * b3[p]
                        t10 += x1 * b0[p]; t11 += x1 * b1[p]; t12 += x1 * b2[p]; t13 += x1 * b3[p]
                        p += 1
                    }
                    finish(i, j, c00, t00); finish(i, j + 1, c01, t01); finish(i, j + 2, c02, t02); finish(i, j + 3, c03, t03)
                    finish(i + 1, j, c10, t10); finish(i + 1, j + 1, c11, t11); finish(i + 1, j + 2, c12, t12); finish(i + 1, j + 3, c13, t13)
                    j += 4
                }
                while j < j1 {
                    let bj = b + j * ldb
                    var c0 = SIMD8<Float>(), c1 = SIMD8<Float>()
                    var p = 0
                    while p < k8 { let y = load8(bj + p); c0 += load8(a0 + p) * y; c1 += load8(a1 + p) * y; p += 8 }
                    var t0: Float = 0, t1: Float = 0
                    while p < k { t0 += a0[p] * bj[p]; t1 += a1[p] * bj[p]; p += 1 }
                    finish(i, j, c0, t0); finish(i + 1, j, c1, t1)
                    j += 1
                }
                i += 2
            }
            if i < m {
                let a0 = a + i * lda
                for j in j0..<j1 {
                    let bj = b + j * ldb
                    var c0 = SIMD8<Float>()
                    var p = 0
                    while p < k8 { c0 += load8(a0 + p) * load8(bj + p); p += 8 }
                    var t0: Float = 0
                    while p < k { t0 += a0[p] * bj[p]; p += 1 }
                    finish(i, j, c0, t0)
                }
            }
            j0 = j1
        }
    }

    /// C = alpha · A · B + beta · C, B given as k rows of length n.
    static func multiply(
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let n8 = n & ~7
        for i in 0..<m {
            let ci = c + i * ldc
            if beta == 0 {
                ci.update(repeating: 0, count: n)
            } else if beta != 1 {
                for j in 0..<n { ci[j] *= beta }
            }
            let ai = a + i * lda
            for p in 0..<k {
                let s = alpha * ai[p]
                if s == 0 { continue }
                let bp = b + p * ldb
                let sv = SIMD8<Float>(repeating: s)
                var j = 0
                while j < n8 { store8(load8(ci + j) + sv * load8(bp + j), ci + j); j += 8 }
                while j < n { ci[j] += s * bp[j]; j += 1 }
            }
        }
    }
}
