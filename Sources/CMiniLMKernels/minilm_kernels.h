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

#endif
#endif
