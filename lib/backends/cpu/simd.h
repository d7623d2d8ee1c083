/* simd: AVX2 and AVX-512 helpers shared by the CPU backend and the sampler: a horizontal sum, e^x eight or sixteen at
 * a time, and loads and stores that take the tail of an array. Callers check that the processor has AVX2 and FMA (or
 * AVX-512F) first: gemm.h's kernel in use says. */
#ifndef TINA_SIMD_H
#define TINA_SIMD_H

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

__attribute__((target("avx2,fma"))) static inline float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- e^x eight at a time ---------------------------------------------------------------------------------------
 * Cephes' expf: n = round(x log2 e), r = x - n ln 2 (ln 2 in two parts, so r is exact), e^r by its degree-7 Taylor-
 * like polynomial, times 2^n built in the exponent bits; within 6e-7 relative (test_cpu_backend). Inputs
 * are clamped to +-88.376 so that 2^n stays a normal float: e^x below that is 0 where expf gives a subnormal, which
 * neither a softmax nor silu can tell apart. A value's result depends on that value alone, never on its neighbours
 * or its place in a vector: the cached attention's rows stay batch-invariant. */
#define EXP_LANES(VEC, VECI, V, FLOOR, AS_FLOAT)                                                                       \
    {                                                                                                                  \
        x = V##min_ps(V##max_ps(x, V##set1_ps(-88.3762626647949f)), V##set1_ps(88.3762626647949f));                   \
        VEC n = FLOOR(V##fmadd_ps(x, V##set1_ps(1.44269504088896341f), V##set1_ps(0.5f)));                            \
        VEC r = V##fnmadd_ps(n, V##set1_ps(0.693359375f), x);                                                          \
        r = V##fnmadd_ps(n, V##set1_ps(-2.12194440e-4f), r);                                                           \
        VEC y = V##set1_ps(1.9875691500e-4f);                                                                          \
        y = V##fmadd_ps(y, r, V##set1_ps(1.3981999507e-3f));                                                           \
        y = V##fmadd_ps(y, r, V##set1_ps(8.3334519073e-3f));                                                           \
        y = V##fmadd_ps(y, r, V##set1_ps(4.1665795894e-2f));                                                           \
        y = V##fmadd_ps(y, r, V##set1_ps(1.6666665459e-1f));                                                           \
        y = V##fmadd_ps(y, r, V##set1_ps(5.0000001201e-1f));                                                           \
        y = V##fmadd_ps(y, V##mul_ps(r, r), V##add_ps(r, V##set1_ps(1.0f)));                                          \
        VECI pow2n = V##slli_epi32(V##add_epi32(V##cvtps_epi32(n), V##set1_epi32(127)), 23);                           \
        return V##mul_ps(y, AS_FLOAT(pow2n));                                                                          \
    }

__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x)
    EXP_LANES(__m256, __m256i, _mm256_, _mm256_floor_ps, _mm256_castsi256_ps)

/* exp8 sixteen at a time: one body, so the same operations lane by lane and the same bits */
__attribute__((target("avx512f"))) static inline __m512 floor16(__m512 x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}
__attribute__((target("avx512f"))) static inline __m512 exp16(__m512 x)
    EXP_LANES(__m512, __m512i, _mm512_, floor16, _mm512_castsi512_ps)

/* lanes 0 .. n - 1 of sixteen: the part of a vector an array's tail fills (loads through it read nothing past) */
__attribute__((target("avx512f"))) static inline __mmask16 tail_mask16(size_t i, size_t n) {
    return n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
}

/* lanes 0 .. n - 1 all ones, the rest 0: the part of a vector an array's tail fills */
__attribute__((target("avx2,fma"))) static inline __m256i tail_mask8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Loads the 8 (or, at the end, fewer: zeros after them) floats at p[i..n), and stores them back. */
__attribute__((target("avx2,fma"))) static inline __m256 load8(const float *p, size_t i, size_t n) {
    if (i + 8 <= n) return _mm256_loadu_ps(p + i);
    float tail[8] = {0};
    memcpy(tail, p + i, (n - i) * sizeof *tail);
    return _mm256_loadu_ps(tail);
}

__attribute__((target("avx2,fma"))) static inline void store8(float *p, size_t i, size_t n, __m256 v) {
    if (i + 8 <= n) {
        _mm256_storeu_ps(p + i, v);
        return;
    }
    float tail[8];
    _mm256_storeu_ps(tail, v);
    memcpy(p + i, tail, (n - i) * sizeof *tail);
}

/* load8 and store8 sixteen at a time, masked at the tail */
__attribute__((target("avx512f"))) static inline __m512 load16(const float *p, size_t i, size_t n) {
    return _mm512_maskz_loadu_ps(tail_mask16(i, n), p + i);
}

__attribute__((target("avx512f"))) static inline void store16(float *p, size_t i, size_t n, __m512 v) {
    _mm512_mask_storeu_ps(p + i, tail_mask16(i, n), v);
}

/* the upper eight lanes of a sixteen (the lower: _mm512_castps512_ps256) */
__attribute__((target("avx512f"))) static inline __m256 upper8(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

#endif
