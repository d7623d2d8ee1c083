/* cpu_swiglu: the MLP's activation silu(gate) * up, and its backward; AVX-512 or AVX2 where the processor has it. */
#include "backends/cpu/cpu.h"

#include <immintrin.h>
#include <math.h>

#include "backends/cpu/simd.h"

/* The activation and its backward at one vector width: VEC its type, V its intrinsics' prefix, STEP its floats, LOAD,
 * STORE and EXP its helpers (simd.h). Lane for lane the same operations, so AVX2 and AVX-512 give the same bits. */
#define SWIGLU_KERNELS(WIDTH, TARGET, VEC, V, STEP, LOAD, STORE, EXP)                                                  \
    __attribute__((target(TARGET))) static void swiglu_##WIDTH(float *out, const float *g, const float *u, size_t n) { \
        const VEC one = V##set1_ps(1.0f);                                                                              \
        _Pragma("omp parallel for schedule(static)") for (size_t i = 0; i < n; i += STEP) {                            \
            VEC x = LOAD(g, i, n), e = EXP(V##sub_ps(V##setzero_ps(), x));                                             \
            STORE(out, i, n, V##mul_ps(V##div_ps(x, V##add_ps(one, e)), LOAD(u, i, n)));                               \
        }                                                                                                              \
    }                                                                                                                  \
    /* act = silu(g) u: du = dact silu(g); dg = dact u sigmoid(g) (1 + g (1 - sigmoid(g))) */                          \
    __attribute__((target(TARGET))) static void swiglu_backward_##WIDTH(float *dg, float *du, const float *g,          \
                                                                        const float *u, const float *da, size_t n) {   \
        const VEC one = V##set1_ps(1.0f);                                                                              \
        _Pragma("omp parallel for schedule(static)") for (size_t i = 0; i < n; i += STEP) {                            \
            VEC x = LOAD(g, i, n), d = LOAD(da, i, n);                                                                 \
            VEC sig = V##div_ps(one, V##add_ps(one, EXP(V##sub_ps(V##setzero_ps(), x))));                              \
            STORE(du, i, n, V##mul_ps(V##mul_ps(d, x), sig));                                                          \
            VEC slope = V##add_ps(one, V##mul_ps(x, V##sub_ps(one, sig)));                                             \
            STORE(dg, i, n, V##mul_ps(V##mul_ps(V##mul_ps(d, LOAD(u, i, n)), sig), slope));                            \
        }                                                                                                              \
    }

SWIGLU_KERNELS(avx2, "avx2,fma", __m256, _mm256_, 8, load8, store8, exp8)
SWIGLU_KERNELS(avx512, "avx512f", __m512, _mm512_, 16, load16, store16, exp16)

void cpu_swiglu(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I) {
    float *o = out;
    const float *g = gate, *u = up;
    size_t n = (size_t)T * I;
    if (((Cpu *)b)->avx512) {
        swiglu_avx512(o, g, u, n);
    } else if (((Cpu *)b)->avx2) {
        swiglu_avx2(o, g, u, n);
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}

void cpu_swiglu_backward(TinaBackend *b, void *dgate, void *dup, const void *gate, const void *up,
                         const void *dact, int T, int I) {
    const float *g = gate, *u = up, *da = dact;
    float *dg = dgate, *du = dup;
    size_t n = (size_t)T * I;
    if (((Cpu *)b)->avx512) {
        swiglu_backward_avx512(dg, du, g, u, da, n);
    } else if (((Cpu *)b)->avx2) {
        swiglu_backward_avx2(dg, du, g, u, da, n);
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float sig = 1.0f / (1.0f + expf(-g[i]));
            du[i] = da[i] * g[i] * sig;
            dg[i] = da[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
        }
    }
}
