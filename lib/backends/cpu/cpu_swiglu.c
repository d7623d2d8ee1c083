/* cpu_swiglu: the MLP's activation silu(gate) * up, and its backward; AVX2 where the processor has it. */
#include "backends/cpu/cpu.h"

#include <immintrin.h>
#include <math.h>

#include "backends/cpu/simd.h"

__attribute__((target("avx2,fma"))) static void swiglu_avx2(float *out, const float *g, const float *u, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i += 8) {
        __m256 x = load8(g, i, n), e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
        store8(out, i, n, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), load8(u, i, n)));
    }
}

void cpu_swiglu(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I) {
    float *o = out;
    const float *g = gate, *u = up;
    size_t n = (size_t)T * I;
    if (((Cpu *)b)->avx2) {
        swiglu_avx2(o, g, u, n);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* act = silu(g) u: du = dact silu(g); dg = dact u sigmoid(g) (1 + g (1 - sigmoid(g))) */
__attribute__((target("avx2,fma"))) static void swiglu_backward_avx2(float *dg, float *du, const float *g,
              const float *u, const float *da, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i += 8) {
        __m256 x = load8(g, i, n), d = load8(da, i, n);
        __m256 sig = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        store8(du, i, n, _mm256_mul_ps(_mm256_mul_ps(d, x), sig));
        __m256 slope = _mm256_add_ps(one, _mm256_mul_ps(x, _mm256_sub_ps(one, sig)));
        store8(dg, i, n, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, load8(u, i, n)), sig), slope));
    }
}

void cpu_swiglu_backward(TinaBackend *b, void *dgate, void *dup, const void *gate, const void *up,
                         const void *dact, int T, int I) {
    const float *g = gate, *u = up, *da = dact;
    float *dg = dgate, *du = dup;
    size_t n = (size_t)T * I;
    if (((Cpu *)b)->avx2) {
        swiglu_backward_avx2(dg, du, g, u, da, n);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float sig = 1.0f / (1.0f + expf(-g[i]));
        du[i] = da[i] * g[i] * sig;
        dg[i] = da[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
    }
}
