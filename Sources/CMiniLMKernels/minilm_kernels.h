// AVX-512 matrix kernels for the native MiniLM encoder.
//
// Header-only (static inline), so the package needs no C target: Swift's Clang importer compiles
// these functions with the target attributes below. Callers must check the CPU first (Swift reads
// /proc/cpuinfo): mlk_*_f32 need AVX-512F; mlk_*_bf16 also need AVX512_BF16.
//
// Weights are PyTorch Linear weights W[n][k] (row-major, out x in). They are packed once into
// panels of 32 output columns so the kernels stream them contiguously:
//   f32:  panel j, row p:      dst[(j * k + p) * 32 + c]            = W[j*32 + c][p]
//   bf16: panel j, pair q:     dst[((j * k/2 + q) * 32 + c) * 2 + e] = bf16(W[j*32 + c][2q + e])
// C[m][n] = A[m][k] · Wᵀ for a range of whole panels.
#ifndef MINILM_KERNELS_H
#define MINILM_KERNELS_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MLK_HAVE_X86 1
#define MLK_F32 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"), always_inline)) static inline
#define MLK_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx512bf16"), always_inline)) static inline
#define MLK_F32_ENTRY __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"))) static inline
#define MLK_BF16_ENTRY __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx512bf16"))) static inline
#else
#define MLK_HAVE_X86 0
#endif

/// 1 when this build contains the x86 kernels (the CPU must still be checked at run time).
static inline int mlk_compiled_for_x86(void) { return MLK_HAVE_X86; }

#if defined(__GLIBC__)
#include <malloc.h>
#endif
/// Hands memory freed to malloc back to the system (glibc keeps large freed blocks otherwise).
static inline void mlk_release_freed_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

/// Round-to-nearest-even float → bfloat16.
static inline uint16_t mlk_bf16_from_f32(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu)) return (uint16_t)((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

/// Packs W[n][k] into f32 panels (n a multiple of 32). dst holds n*k floats.
static inline void mlk_pack_f32(const float *w, int n, int k, float *dst) {
    for (int j = 0; j < n / 32; j++)
        for (int p = 0; p < k; p++)
            for (int c = 0; c < 32; c++)
                dst[((long)j * k + p) * 32 + c] = w[(long)(j * 32 + c) * k + p];
}

/// Packs W[n][k] into bf16 pair panels (n a multiple of 32, k even). dst holds n*k uint16.
static inline void mlk_pack_bf16(const float *w, int n, int k, uint16_t *dst) {
    for (int j = 0; j < n / 32; j++)
        for (int q = 0; q < k / 2; q++)
            for (int c = 0; c < 32; c++)
                for (int e = 0; e < 2; e++)
                    dst[(((long)j * (k / 2) + q) * 32 + c) * 2 + e] = mlk_bf16_from_f32(w[(long)(j * 32 + c) * k + 2 * q + e]);
}

#if MLK_HAVE_X86

// Explicit repetition: the importer's optimiser does not fully unroll loops over accumulators,
// so each row's two accumulators are spelled out and stay in registers.
#ifndef MLK_PREFETCH_ROWS
#define MLK_PREFETCH_ROWS 32   // weight rows (128 bytes each) fetched ahead of use
#endif

#define MLK_REP1(X) X(0)
#define MLK_REP2(X) X(0) X(1)
#define MLK_REP4(X) MLK_REP2(X) X(2) X(3)
#define MLK_REP8(X) MLK_REP4(X) X(4) X(5) X(6) X(7)
#define MLK_REP9(X) MLK_REP8(X) X(8)
#define MLK_REP10(X) MLK_REP9(X) X(9)
#define MLK_REP11(X) MLK_REP10(X) X(10)
#define MLK_REP12(X) MLK_REP11(X) X(11)
#define MLK_REP13(X) MLK_REP12(X) X(12)
#define MLK_REP14(X) MLK_REP13(X) X(13)
#define MLK_REP15(X) MLK_REP14(X) X(14)
#define MLK_REP16(X) MLK_REP15(X) X(15)

// One micro-kernel call: MR rows × 32 columns over k-range [p0, p1); accumulates into C when `add`.
#define MLK_F32_INIT(r)                                                                                \
    __m512 c0_##r = add ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();                          \
    __m512 c1_##r = add ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
#define MLK_F32_STEP(r)                                                                                \
    { __m512 x = _mm512_set1_ps(a[r * lda + p]);                                                       \
      c0_##r = _mm512_fmadd_ps(x, w0, c0_##r); c1_##r = _mm512_fmadd_ps(x, w1, c1_##r); }
#define MLK_STORE(r)                                                                                   \
    _mm512_storeu_ps(c + r * ldc, c0_##r); _mm512_storeu_ps(c + r * ldc + 16, c1_##r);
#define MLK_F32_MICRO(MR)                                                                              \
    MLK_F32 void mlk_f32_micro_##MR(const float *a, long lda, const float *panel, int p0, int p1,     \
                                    float *c, long ldc, int add) {                                    \
        MLK_REP##MR(MLK_F32_INIT)                                                                     \
        const float *w = panel + (long)p0 * 32;                                                       \
        for (int p = p0; p < p1; p++, w += 32) {                                                      \
            _mm_prefetch((const char *)(w + MLK_PREFETCH_ROWS * 32), _MM_HINT_T0);                    \
            _mm_prefetch((const char *)(w + MLK_PREFETCH_ROWS * 32 + 16), _MM_HINT_T0);               \
            __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);                             \
            MLK_REP##MR(MLK_F32_STEP)                                                                 \
        }                                                                                             \
        MLK_REP##MR(MLK_STORE)                                                                        \
    }
MLK_F32_MICRO(12)
MLK_F32_MICRO(8)
MLK_F32_MICRO(4)
MLK_F32_MICRO(2)
MLK_F32_MICRO(1)

// MR rows × 16 columns (one half of a panel, `half` 0 or 1): for 9-16 rows, so a short input
// reads each weight once with up to 16 accumulators.
#define MLK_N16_INIT(r) __m512 c0_##r = add ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
#define MLK_N16_STORE(r) _mm512_storeu_ps(c + r * ldc, c0_##r);
#define MLK_F32_N16_STEP(r) c0_##r = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + p]), w0, c0_##r);
#define MLK_F32_NARROW(MR)                                                                             \
    MLK_F32 void mlk_f32_narrow_##MR(const float *a, long lda, const float *panel, int p0, int p1,    \
                                     float *c, long ldc, int add) {                                   \
        MLK_REP##MR(MLK_N16_INIT)                                                                     \
        const float *w = panel + (long)p0 * 32;                                                       \
        for (int p = p0; p < p1; p++, w += 32) {                                                      \
            _mm_prefetch((const char *)(w + MLK_PREFETCH_ROWS * 32), _MM_HINT_T0);                    \
            __m512 w0 = _mm512_loadu_ps(w);                                                           \
            MLK_REP##MR(MLK_F32_N16_STEP)                                                             \
        }                                                                                             \
        MLK_REP##MR(MLK_N16_STORE)                                                                    \
    }
MLK_F32_NARROW(9)
MLK_F32_NARROW(10)
MLK_F32_NARROW(11)
MLK_F32_NARROW(12)
MLK_F32_NARROW(13)
MLK_F32_NARROW(14)
MLK_F32_NARROW(15)
MLK_F32_NARROW(16)

MLK_F32 void mlk_f32_narrow(int m, const float *a, long lda, const float *panel, int p0, int p1,
                            float *c, long ldc, int add) {
    for (int half = 0; half < 2; half++) {
        const float *hp = panel + half * 16;
        float *hc = c + half * 16;
        switch (m) {
        case 9: mlk_f32_narrow_9(a, lda, hp, p0, p1, hc, ldc, add); break;
        case 10: mlk_f32_narrow_10(a, lda, hp, p0, p1, hc, ldc, add); break;
        case 11: mlk_f32_narrow_11(a, lda, hp, p0, p1, hc, ldc, add); break;
        case 12: mlk_f32_narrow_12(a, lda, hp, p0, p1, hc, ldc, add); break;
        case 13: mlk_f32_narrow_13(a, lda, hp, p0, p1, hc, ldc, add); break;
        case 14: mlk_f32_narrow_14(a, lda, hp, p0, p1, hc, ldc, add); break;
        case 15: mlk_f32_narrow_15(a, lda, hp, p0, p1, hc, ldc, add); break;
        default: mlk_f32_narrow_16(a, lda, hp, p0, p1, hc, ldc, add); break;
        }
    }
}

MLK_F32 void mlk_f32_rows(int m, const float *a, long lda, const float *panel, int p0, int p1,
                          float *c, long ldc, int add) {
    if (m > 8 && m <= 16) { mlk_f32_narrow(m, a, lda, panel, p0, p1, c, ldc, add); return; }
    int i = 0;
    for (; i + 12 <= m; i += 12) mlk_f32_micro_12(a + i * lda, lda, panel, p0, p1, c + i * ldc, ldc, add);
    if (i + 8 <= m) { mlk_f32_micro_8(a + i * lda, lda, panel, p0, p1, c + i * ldc, ldc, add); i += 8; }
    if (i + 4 <= m) { mlk_f32_micro_4(a + i * lda, lda, panel, p0, p1, c + i * ldc, ldc, add); i += 4; }
    if (i + 2 <= m) { mlk_f32_micro_2(a + i * lda, lda, panel, p0, p1, c + i * ldc, ldc, add); i += 2; }
    if (i < m) mlk_f32_micro_1(a + i * lda, lda, panel, p0, p1, c + i * ldc, ldc, add);
}

/// C[0..m)[j0..j1) = A[m][k] · Wᵀ, W packed by mlk_pack_f32; j0, j1 multiples of 32.
MLK_F32_ENTRY void mlk_gemm_f32(int m, int j0, int j1, int k, const float *a, long lda,
                                const float *packed, float *c, long ldc) {
    // Blocking: a block of panels whose k-slice (~384 KiB) stays in L2 while blocks of 96 rows
    // of A stream past it; short inputs (m <= 16) take each panel once.
    const int rowBlock = 96, kBlock = 384;
    const int panelsPerBlock = 8;
    for (int jb = j0; jb < j1; jb += panelsPerBlock * 32) {
        int jbEnd = jb + panelsPerBlock * 32 < j1 ? jb + panelsPerBlock * 32 : j1;
        for (int p0 = 0; p0 < k; p0 += kBlock) {
            int p1 = p0 + kBlock < k ? p0 + kBlock : k;
            for (int i0 = 0; i0 < m; i0 += rowBlock) {
                int mb = m - i0 < rowBlock ? m - i0 : rowBlock;
                for (int j = jb; j < jbEnd; j += 32) {
                    const float *panel = packed + (long)(j / 32) * k * 32;
                    mlk_f32_rows(mb, a + (long)i0 * lda, lda, panel, p0, p1, c + (long)i0 * ldc + j, ldc, p0 > 0);
                }
            }
        }
    }
}

#define MLK_BF16_STEP(r)                                                                               \
    { int32_t pair; memcpy(&pair, a + r * lda + 2 * q, 4);                                             \
      __m512bh x = (__m512bh)_mm512_set1_epi32(pair);                                                  \
      c0_##r = _mm512_dpbf16_ps(c0_##r, x, w0); c1_##r = _mm512_dpbf16_ps(c1_##r, x, w1); }
#define MLK_BF16_MICRO(MR)                                                                             \
    MLK_BF16 void mlk_bf16_micro_##MR(const uint16_t *a, long lda, const uint16_t *panel, int q0,     \
                                      int q1, float *c, long ldc, int add) {                          \
        MLK_REP##MR(MLK_F32_INIT)                                                                     \
        const uint16_t *w = panel + (long)q0 * 64;                                                    \
        for (int q = q0; q < q1; q++, w += 64) {                                                      \
            _mm_prefetch((const char *)(w + MLK_PREFETCH_ROWS * 64), _MM_HINT_T0);                    \
            _mm_prefetch((const char *)(w + MLK_PREFETCH_ROWS * 64 + 32), _MM_HINT_T0);               \
            __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)w);                              \
            __m512bh w1 = (__m512bh)_mm512_loadu_si512((const void *)(w + 32));                       \
            MLK_REP##MR(MLK_BF16_STEP)                                                                \
        }                                                                                             \
        MLK_REP##MR(MLK_STORE)                                                                        \
    }
MLK_BF16_MICRO(12)
MLK_BF16_MICRO(8)
MLK_BF16_MICRO(4)
MLK_BF16_MICRO(2)
MLK_BF16_MICRO(1)

#define MLK_BF16_N16_STEP(r)                                                                           \
    { int32_t pair; memcpy(&pair, a + r * lda + 2 * q, 4);                                             \
      c0_##r = _mm512_dpbf16_ps(c0_##r, (__m512bh)_mm512_set1_epi32(pair), w0); }
#define MLK_BF16_NARROW(MR)                                                                            \
    MLK_BF16 void mlk_bf16_narrow_##MR(const uint16_t *a, long lda, const uint16_t *panel, int q0,    \
                                       int q1, float *c, long ldc, int add) {                         \
        MLK_REP##MR(MLK_N16_INIT)                                                                     \
        const uint16_t *w = panel + (long)q0 * 64;                                                    \
        for (int q = q0; q < q1; q++, w += 64) {                                                      \
            _mm_prefetch((const char *)(w + MLK_PREFETCH_ROWS * 64), _MM_HINT_T0);                    \
            __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)w);                              \
            MLK_REP##MR(MLK_BF16_N16_STEP)                                                            \
        }                                                                                             \
        MLK_REP##MR(MLK_N16_STORE)                                                                    \
    }
MLK_BF16_NARROW(9)
MLK_BF16_NARROW(10)
MLK_BF16_NARROW(11)
MLK_BF16_NARROW(12)
MLK_BF16_NARROW(13)
MLK_BF16_NARROW(14)
MLK_BF16_NARROW(15)
MLK_BF16_NARROW(16)

MLK_BF16 void mlk_bf16_narrow(int m, const uint16_t *a, long lda, const uint16_t *panel, int q0, int q1,
                              float *c, long ldc, int add) {
    for (int half = 0; half < 2; half++) {
        const uint16_t *hp = panel + half * 32;
        float *hc = c + half * 16;
        switch (m) {
        case 9: mlk_bf16_narrow_9(a, lda, hp, q0, q1, hc, ldc, add); break;
        case 10: mlk_bf16_narrow_10(a, lda, hp, q0, q1, hc, ldc, add); break;
        case 11: mlk_bf16_narrow_11(a, lda, hp, q0, q1, hc, ldc, add); break;
        case 12: mlk_bf16_narrow_12(a, lda, hp, q0, q1, hc, ldc, add); break;
        case 13: mlk_bf16_narrow_13(a, lda, hp, q0, q1, hc, ldc, add); break;
        case 14: mlk_bf16_narrow_14(a, lda, hp, q0, q1, hc, ldc, add); break;
        case 15: mlk_bf16_narrow_15(a, lda, hp, q0, q1, hc, ldc, add); break;
        default: mlk_bf16_narrow_16(a, lda, hp, q0, q1, hc, ldc, add); break;
        }
    }
}

MLK_BF16 void mlk_bf16_rows(int m, const uint16_t *a, long lda, const uint16_t *panel, int q0, int q1,
                            float *c, long ldc, int add) {
    if (m > 8 && m <= 16) { mlk_bf16_narrow(m, a, lda, panel, q0, q1, c, ldc, add); return; }
    int i = 0;
    for (; i + 12 <= m; i += 12) mlk_bf16_micro_12(a + i * lda, lda, panel, q0, q1, c + i * ldc, ldc, add);
    if (i + 8 <= m) { mlk_bf16_micro_8(a + i * lda, lda, panel, q0, q1, c + i * ldc, ldc, add); i += 8; }
    if (i + 4 <= m) { mlk_bf16_micro_4(a + i * lda, lda, panel, q0, q1, c + i * ldc, ldc, add); i += 4; }
    if (i + 2 <= m) { mlk_bf16_micro_2(a + i * lda, lda, panel, q0, q1, c + i * ldc, ldc, add); i += 2; }
    if (i < m) mlk_bf16_micro_1(a + i * lda, lda, panel, q0, q1, c + i * ldc, ldc, add);
}

/// Converts rows of A (f32, stride lda) to bf16 (stride k), k a multiple of 32.
MLK_BF16_ENTRY void mlk_convert_bf16(int m, int k, const float *a, long lda, uint16_t *out) {
    for (int i = 0; i < m; i++) {
        const float *row = a + (long)i * lda;
        uint16_t *dst = out + (long)i * k;
        for (int p = 0; p < k; p += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + p + 16), _mm512_loadu_ps(row + p));
            _mm512_storeu_si512((void *)(dst + p), (__m512i)v);
        }
    }
}

/// C[0..m)[j0..j1) = A_bf16[m][k] · Wᵀ with f32 accumulation; W packed by mlk_pack_bf16.
MLK_BF16_ENTRY void mlk_gemm_bf16(int m, int j0, int j1, int k, const uint16_t *a, long lda,
                                  const uint16_t *packed, float *c, long ldc) {
    const int rowBlock = 96, qBlock = 384;
    const int panelsPerBlock = 8;
    const int pairs = k / 2;
    for (int jb = j0; jb < j1; jb += panelsPerBlock * 32) {
        int jbEnd = jb + panelsPerBlock * 32 < j1 ? jb + panelsPerBlock * 32 : j1;
        for (int q0 = 0; q0 < pairs; q0 += qBlock) {
            int q1 = q0 + qBlock < pairs ? q0 + qBlock : pairs;
            for (int i0 = 0; i0 < m; i0 += rowBlock) {
                int mb = m - i0 < rowBlock ? m - i0 : rowBlock;
                for (int j = jb; j < jbEnd; j += 32) {
                    const uint16_t *panel = packed + (long)(j / 32) * pairs * 64;
                    mlk_bf16_rows(mb, a + (long)i0 * lda, lda, panel, q0, q1, c + (long)i0 * ldc + j, ldc, q0 > 0);
                }
            }
        }
    }
}


// ---- Row operations (f32, AVX-512F), the same polynomials as VectorMath's portable versions ----

/// e^x, within 2 ulp over the float range (Cephes' expf polynomial); underflows to 0.
MLK_F32 __m512 mlk_exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 shifted = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic);
    __m512 n = _mm512_sub_ps(shifted, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i integer = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_castps_si512(magic));
    __m512i exponent = _mm512_slli_epi32(_mm512_add_epi32(integer, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(exponent));
}

/// erf(x), the rational approximation Eigen and XLA use for float (error < 2e-7).
MLK_F32 __m512 mlk_erf16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(x2, _mm512_set1_ps(-2.72614225801306e-10f), _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
    p = _mm512_mul_ps(x, p);
    __m512 q = _mm512_fmadd_ps(x2, _mm512_set1_ps(-1.45660718464996e-05f), _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
    return _mm512_div_ps(p, q);
}

#define MLK_TAIL(count, j) ((__mmask16)((count) - (j) >= 16 ? 0xFFFF : ((1u << ((count) - (j))) - 1)))

/// rows × count block (stride ld): gelu(x + bias), exact (erf) GELU, written to `bf16` (stride ldb)
/// as bf16 for the next dense layer (which is all that reads it); x itself is left as it was.
MLK_BF16_ENTRY void mlk_bias_gelu_bf16(int rows, int count, const float *x, long ld, const float *bias,
                                  uint16_t *bf16, long ldb) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), rsqrt2 = _mm512_set1_ps(0.70710678118654752f);
    for (int i = 0; i < rows; i++) {
        const float *row = x + (long)i * ld;
        for (int j = 0; j < count; j += 16) {
            __mmask16 m = MLK_TAIL(count, j);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, row + j), _mm512_maskz_loadu_ps(m, bias + j));
            v = _mm512_mul_ps(_mm512_mul_ps(v, half), _mm512_add_ps(one, mlk_erf16(_mm512_mul_ps(v, rsqrt2))));
            _mm256_mask_storeu_epi16(bf16 + (long)i * ldb + j, m, (__m256i)_mm512_cvtneps_pbh(v));
        }
    }
}

/// The same without bf16 output, for CPUs with AVX-512F but not AVX512_BF16.
MLK_F32_ENTRY void mlk_bias_gelu_f32(int rows, int count, float *x, long ld, const float *bias) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), rsqrt2 = _mm512_set1_ps(0.70710678118654752f);
    for (int i = 0; i < rows; i++) {
        float *row = x + (long)i * ld;
        for (int j = 0; j < count; j += 16) {
            __mmask16 m = MLK_TAIL(count, j);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, row + j), _mm512_maskz_loadu_ps(m, bias + j));
            v = _mm512_mul_ps(_mm512_mul_ps(v, half), _mm512_add_ps(one, mlk_erf16(_mm512_mul_ps(v, rsqrt2))));
            _mm512_mask_storeu_ps(row + j, m, v);
        }
    }
}

/// In-place softmax of `rows` rows of `count` scores each (stride ld), after scaling by `scale`.
MLK_F32_ENTRY void mlk_softmax_rows(int rows, int count, float *x, long ld, float scale) {
    const __m512 s = _mm512_set1_ps(scale);
    for (int i = 0; i < rows; i++) {
        float *row = x + (long)i * ld;
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < count; j += 16) {
            __mmask16 m = MLK_TAIL(count, j);
            mx = _mm512_mask_max_ps(mx, m, mx, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), s));
        }
        const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
        __m512 total = _mm512_setzero_ps();
        for (int j = 0; j < count; j += 16) {
            __mmask16 m = MLK_TAIL(count, j);
            __m512 e = mlk_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), s), shift));
            e = _mm512_maskz_mov_ps(m, e);
            _mm512_mask_storeu_ps(row + j, m, e);
            total = _mm512_add_ps(total, e);
        }
        const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(total));
        for (int j = 0; j < count; j += 16) {
            __mmask16 m = MLK_TAIL(count, j);
            _mm512_mask_storeu_ps(row + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), inverse));
        }
    }
}

/// out = LayerNorm(in + bias + residual) · gamma + beta over `count` (a multiple of 16) values;
/// `out` may alias `residual`.
MLK_F32_ENTRY void mlk_layer_norm(int count, const float *in, const float *bias, const float *residual,
                                  const float *gamma, const float *beta, float epsilon, float *out) {
    __m512 sum = _mm512_setzero_ps();
    for (int j = 0; j < count; j += 16) {
        __m512 v = _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(in + j), _mm512_loadu_ps(bias + j)), _mm512_loadu_ps(residual + j));
        _mm512_storeu_ps(out + j, v);
        sum = _mm512_add_ps(sum, v);
    }
    const __m512 mean = _mm512_set1_ps(_mm512_reduce_add_ps(sum) / (float)count);
    __m512 squares = _mm512_setzero_ps();
    for (int j = 0; j < count; j += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(out + j), mean);
        squares = _mm512_fmadd_ps(d, d, squares);
    }
    const __m512 scale = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(squares) / (float)count + epsilon));
    for (int j = 0; j < count; j += 16) {
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(out + j), mean), scale);
        __m512 v = _mm512_fmadd_ps(d, _mm512_loadu_ps(gamma + j), _mm512_loadu_ps(beta + j));
        _mm512_storeu_ps(out + j, v);
    }
}


// ---- Attention for one (text, head), head size 32 ----

// The tiles' loops over rows and chunks must be unrolled so the accumulators live in registers:
// Swift's Clang importer does not unroll them by itself, and accumulators left on the stack made
// every multiply-add wait on a store (attention took ~10 % of a 30-token query that way).
#define MLK_UNROLL _Pragma("clang loop unroll(full)")

// Scores tile: R query rows × C chunks of 16 keys, over the 32 dimensions of the head.
MLK_F32 void mlk_scores_tile(int R, int C, const float *q, long ld, const float *kt, int padded, float *scores, int i, int j) {
    __m512 acc[4][4];
    MLK_UNROLL for (int r = 0; r < R; r++) MLK_UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (int d = 0; d < 32; d++) {
        __m512 kv[4];
        MLK_UNROLL for (int c = 0; c < C; c++) kv[c] = _mm512_loadu_ps(kt + (long)d * padded + j + 16 * c);
        MLK_UNROLL for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(q[(long)(i + r) * ld + d]);
            MLK_UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(x, kv[c], acc[r][c]);
        }
    }
    MLK_UNROLL for (int r = 0; r < R; r++)
        MLK_UNROLL for (int c = 0; c < C; c++) _mm512_storeu_ps(scores + (long)(i + r) * padded + j + 16 * c, acc[r][c]);
}

// Context tile: R rows of P · V (32 columns).
MLK_F32 void mlk_context_tile(int R, int len, const float *p, int padded, const float *v, long ld, float *out, int i) {
    __m512 acc[8][2];
    MLK_UNROLL for (int r = 0; r < R; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (int j = 0; j < len; j++) {
        __m512 v0 = _mm512_loadu_ps(v + (long)j * ld), v1 = _mm512_loadu_ps(v + (long)j * ld + 16);
        MLK_UNROLL for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(p[(long)(i + r) * padded + j]);
            acc[r][0] = _mm512_fmadd_ps(x, v0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, v1, acc[r][1]);
        }
    }
    MLK_UNROLL for (int r = 0; r < R; r++) {
        _mm512_storeu_ps(out + (long)(i + r) * ld, acc[r][0]);
        _mm512_storeu_ps(out + (long)(i + r) * ld + 16, acc[r][1]);
    }
}

/// Bytes of scratch (in floats) that mlk_attention_head needs for `len` tokens.
static inline long mlk_attention_scratch(int len) {
    long padded = (len + 15) & ~15;
    return padded * len + 32 * padded;
}

/// softmax(scale · Q Kᵀ) V for one head of one text: q, k, v and out point at the head's first
/// column of the text's first row, rows `ld` floats apart; head size 32. `scratch` holds
/// mlk_attention_scratch(len) floats.
MLK_F32_ENTRY void mlk_attention_head(int len, const float *q, const float *k, const float *v, long ld,
                                      float scale, float *scratch, float *out) {
    const int padded = (len + 15) & ~15;
    float *scores = scratch, *kt = scratch + (long)padded * len;
    // Kᵀ, so 16 keys' values of one dimension are one vector; padding keys are zero.
    for (int d = 0; d < 32; d++) {
        float *row = kt + (long)d * padded;
        for (int j = 0; j < len; j++) row[j] = k[(long)j * ld + d];
        for (int j = len; j < padded; j++) row[j] = 0;
    }
    const int chunks = padded / 16;
    int i = 0;
    for (; i < len; i += 4) {
        int R = len - i < 4 ? len - i : 4;
        int c = 0;
        for (; c + 4 <= chunks; c += 4) {
            switch (R) {
            case 4: mlk_scores_tile(4, 4, q, ld, kt, padded, scores, i, 16 * c); break;
            case 3: mlk_scores_tile(3, 4, q, ld, kt, padded, scores, i, 16 * c); break;
            case 2: mlk_scores_tile(2, 4, q, ld, kt, padded, scores, i, 16 * c); break;
            default: mlk_scores_tile(1, 4, q, ld, kt, padded, scores, i, 16 * c); break;
            }
        }
        for (; c < chunks; c++) {
            switch (R) {
            case 4: mlk_scores_tile(4, 1, q, ld, kt, padded, scores, i, 16 * c); break;
            case 3: mlk_scores_tile(3, 1, q, ld, kt, padded, scores, i, 16 * c); break;
            case 2: mlk_scores_tile(2, 1, q, ld, kt, padded, scores, i, 16 * c); break;
            default: mlk_scores_tile(1, 1, q, ld, kt, padded, scores, i, 16 * c); break;
            }
        }
    }
    mlk_softmax_rows(len, len, scores, padded, scale);
    for (i = 0; i + 8 <= len; i += 8) mlk_context_tile(8, len, scores, padded, v, ld, out, i);
    switch (len - i) {
    case 7: mlk_context_tile(7, len, scores, padded, v, ld, out, i); break;
    case 6: mlk_context_tile(6, len, scores, padded, v, ld, out, i); break;
    case 5: mlk_context_tile(5, len, scores, padded, v, ld, out, i); break;
    case 4: mlk_context_tile(4, len, scores, padded, v, ld, out, i); break;
    case 3: mlk_context_tile(3, len, scores, padded, v, ld, out, i); break;
    case 2: mlk_context_tile(2, len, scores, padded, v, ld, out, i); break;
    case 1: mlk_context_tile(1, len, scores, padded, v, ld, out, i); break;
    default: break;
    }
}

#endif
#endif
