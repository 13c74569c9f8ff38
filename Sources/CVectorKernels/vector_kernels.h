// Inner-product kernels for every vector scan (retrieval indexes, the semantic cache, learned
// routers), prefetch hints, and growing a mapping.
//
// Header-only (static inline), so the package needs no C target: Swift's Clang importer compiles
// these functions with the target attributes below, and SwitchyardCore's `VectorKernel` calls one
// only after checking that the CPU has the instructions. Everything else about the indexes is Swift.
#ifndef VECTOR_KERNELS_H
#define VECTOR_KERNELS_H

#include <stddef.h>

/// Hints the CPU to bring the cache line at `address` into all cache levels (no fault if invalid).
static inline void rk_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Hints the CPU to bring `lines` cache lines from `address` on closer: the first two into L1 (a
/// distance reads them first), the rest into L2 only. L2 tracks more outstanding misses than L1, so
/// the vectors of a whole neighbour list can be on their way at once instead of a few lines at a time.
static inline void rk_prefetch_lines(const void *address, long lines) {
    const char *line = (const char *)address;
    long i = 0;
    for (; i < lines && i < 2; i++) __builtin_prefetch(line + 64 * i, 0, 3);
    for (; i < lines; i++) __builtin_prefetch(line + 64 * i, 0, 2);
}

#if defined(__linux__)
// Declared here because Swift's Glibc module is built without _GNU_SOURCE, which hides it.
extern void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...);

/// Grows an anonymous mapping, moving it if it must (MREMAP_MAYMOVE): the pages move, the bytes are
/// not copied. Returns MAP_FAILED ((void *)-1) on failure.
static inline void *rk_mremap_grow(void *address, size_t old_size, size_t new_size) {
    return mremap(address, old_size, new_size, 1 /* MREMAP_MAYMOVE */);
}
#endif

#if defined(__x86_64__)
#include <immintrin.h>

#define RK_AVX512 __attribute__((target("avx512f,fma")))
#define RK_AVX2 __attribute__((target("avx2,fma")))

/// a·b over `count` floats: 16 lanes, four independent FMA chains, masked tail.
RK_AVX512 static inline float rk_dot_avx512(const float *a, const float *b, long count) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    long i = 0;
    for (; i + 64 <= count; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= count; i += 16) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    }
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/// query·v for `n` vectors, the i-th at `base + ids[i]·stride` bytes, into `out` (each value exactly
/// what rk_dot_avx512(query, v, dim) returns). At 384 dimensions (MiniLM's) the query stays in 24
/// registers for the whole batch, so each vector costs 24 loads instead of 48: at one 512-bit load a
/// cycle, loads, not FMAs, bound the single-vector kernel.
RK_AVX512 static inline void rk_dots_avx512(const float *query, const void *base, long stride, const int *ids, long n, long dim,
                                            float *out) {
    if (dim != 384) {
        for (long k = 0; k < n; k++) out[k] = rk_dot_avx512(query, (const float *)((const char *)base + ids[k] * stride), dim);
        return;
    }
#define RK_Q(j) const __m512 q##j = _mm512_loadu_ps(query + 16 * j);
    RK_Q(0) RK_Q(1) RK_Q(2) RK_Q(3) RK_Q(4) RK_Q(5) RK_Q(6) RK_Q(7) RK_Q(8) RK_Q(9) RK_Q(10) RK_Q(11)
    RK_Q(12) RK_Q(13) RK_Q(14) RK_Q(15) RK_Q(16) RK_Q(17) RK_Q(18) RK_Q(19) RK_Q(20) RK_Q(21) RK_Q(22) RK_Q(23)
#undef RK_Q
    for (long k = 0; k < n; k++) {
        const float *v = (const float *)((const char *)base + ids[k] * stride);
        // The same accumulators in the same order as rk_dot_avx512: block j goes to chain j mod 4.
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
#define RK_STEP(j0, j1, j2, j3)                                        \
        s0 = _mm512_fmadd_ps(q##j0, _mm512_loadu_ps(v + 16 * j0), s0); \
        s1 = _mm512_fmadd_ps(q##j1, _mm512_loadu_ps(v + 16 * j1), s1); \
        s2 = _mm512_fmadd_ps(q##j2, _mm512_loadu_ps(v + 16 * j2), s2); \
        s3 = _mm512_fmadd_ps(q##j3, _mm512_loadu_ps(v + 16 * j3), s3);
        RK_STEP(0, 1, 2, 3) RK_STEP(4, 5, 6, 7) RK_STEP(8, 9, 10, 11)
        RK_STEP(12, 13, 14, 15) RK_STEP(16, 17, 18, 19) RK_STEP(20, 21, 22, 23)
#undef RK_STEP
        out[k] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    }
}

/// a·b over `count` floats: 8 lanes, four independent FMA chains, scalar tail.
RK_AVX2 static inline float rk_dot_avx2(const float *a, const float *b, long count) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 32 <= count; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= count; i += 8) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float total = _mm_cvtss_f32(h);
    for (; i < count; i++) total += a[i] * b[i];
    return total;
}
#endif

#endif
