/* simd: AVX2 and AVX-512 helpers shared by the CPU backend and the sampler: a horizontal sum, e^x eight or sixteen at
 * a time (and in double four at a time, with its twin in plain C), and loads and stores that take the tail of an
 * array. Callers check that the processor has AVX2 and FMA (or AVX-512F) first: gemm.h's kernel in use says. */
#ifndef TINA_SIMD_H
#define TINA_SIMD_H

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
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

/* ---- e^x in double, four at a time or one -----------------------------------------------------------------------
 * For the log-sum-exps and log-probs: n = round(x log2 e), r = x - n ln 2 (ln 2 in two parts by fused multiply-adds),
 * e^r by its Taylor polynomial to degree 12 (truncated below 2e-16 relative for |r| <= ln 2 / 2), times 2^n made in
 * the exponent bits (2^52 + 1023 + n holds 1023 + n in its low bits). Within a few ulp of e^x (test_cpu_backend).
 * Inputs are clamped to +-708 so that 2^n stays a normal double: e^-708 (1e-308) beside a term e^0 of the same sum,
 * or times a gradient in f32, changes nothing. NaN stays NaN. One body, for the processor's four lanes and for C's
 * one (exp1d: the generic kernel, and the tail of an array): the same operations, so the same bits, and no C
 * library's rounding in them. */
#define EXPD_BODY(T, SET1, MUL, FMA, FNMA, ROUND, MAX, MIN, POW2)                                                      \
    {                                                                                                                  \
        x = MIN(SET1(708.0), MAX(SET1(-708.0), x)); /* x second: a NaN x comes through */                             \
        T n = ROUND(MUL(x, SET1(1.4426950408889634074)));                                                              \
        T r = FNMA(n, SET1(6.93147180369123816490e-01), x);                                                           \
        r = FNMA(n, SET1(1.90821492927058770002e-10), r);                                                              \
        T y = SET1(2.08767569878680989792e-09);                                                                        \
        y = FMA(y, r, SET1(2.50521083854417187751e-08));                                                               \
        y = FMA(y, r, SET1(2.75573192239858906526e-07));                                                               \
        y = FMA(y, r, SET1(2.75573192239858906526e-06));                                                               \
        y = FMA(y, r, SET1(2.48015873015873015873e-05));                                                               \
        y = FMA(y, r, SET1(1.98412698412698412698e-04));                                                               \
        y = FMA(y, r, SET1(1.38888888888888888889e-03));                                                               \
        y = FMA(y, r, SET1(8.33333333333333333333e-03));                                                               \
        y = FMA(y, r, SET1(4.16666666666666666667e-02));                                                               \
        y = FMA(y, r, SET1(1.66666666666666666667e-01));                                                               \
        y = FMA(y, r, SET1(0.5));                                                                                      \
        y = FMA(y, r, SET1(1.0));                                                                                      \
        y = FMA(y, r, SET1(1.0));                                                                                      \
        return MUL(y, POW2(n));                                                                                        \
    }

__attribute__((target("avx2,fma"))) static inline __m256d pow2_4d(__m256d n) {
    __m256i low = _mm256_castpd_si256(_mm256_add_pd(n, _mm256_set1_pd(4503599627371519.0))); /* 2^52 + 1023 */
    return _mm256_castsi256_pd(_mm256_slli_epi64(low, 52));
}
__attribute__((target("avx2,fma"))) static inline __m256d round4d(__m256d x) {
    return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
__attribute__((target("avx2,fma"))) static inline __m256d exp4d(__m256d x)
    EXPD_BODY(__m256d, _mm256_set1_pd, _mm256_mul_pd, _mm256_fmadd_pd, _mm256_fnmadd_pd, round4d, _mm256_max_pd,
              _mm256_min_pd, pow2_4d)

static inline double mul1d(double a, double b) { return a * b; }
static inline double fnma1d(double a, double b, double c) { return fma(-a, b, c); }
static inline double max1d(double a, double b) { return a > b ? a : b; } /* as maxpd: b unless a > b */
static inline double min1d(double a, double b) { return a < b ? a : b; }
static inline double pow2_1d(double n) {
    double low = n + 4503599627371519.0;
    uint64_t bits;
    memcpy(&bits, &low, sizeof bits);
    bits <<= 52;
    memcpy(&low, &bits, sizeof low);
    return low;
}
static inline double set1d(double a) { return a; }
static inline double exp1d(double x) EXPD_BODY(double, set1d, mul1d, fma, fnma1d, nearbyint, max1d, min1d, pow2_1d)

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
