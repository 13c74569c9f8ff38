// Inner-product kernels for the vector indexes in Retrieval, prefetch hints, and growing a mapping.
//
// Header-only (static inline), so the package needs no C target: Swift's Clang importer compiles
// these functions with the target attributes below, and Retrieval calls one only after checking that
// the CPU has the instructions (VectorMath.swift). Everything else about the indexes is Swift.
#ifndef RETRIEVAL_KERNELS_H
#define RETRIEVAL_KERNELS_H

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
