/* cpu_norm: RMSNorm as transformers computes it (reduce in f32, normalise, then scale), and its backward. */
#include "backends/cpu/cpu.h"

#include <math.h>

void cpu_rmsnorm(TinaBackend *b, void *out, const void *in, const void *weight, int T, int C, float eps) {
    (void)b;
    const float *w = weight;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        const float *x = (const float *)in + (size_t)t * C;
        float *y = (float *)out + (size_t)t * C;
        float sum = 0;
        for (int i = 0; i < C; i++) sum += x[i] * x[i];
        float scale = 1.0f / sqrtf(sum / (float)C + eps);
        for (int i = 0; i < C; i++) y[i] = w[i] * (x[i] * scale);
    }
}

/* y = x * rstd * w: dx = rstd * g - x * rstd^3 * (g . x) / C with g = dy * w */
void cpu_rmsnorm_backward(TinaBackend *b, void *dx, const void *x, const void *weight, const void *dout, int T,
                          int C, float eps, bool accumulate) {
    (void)b;
    const float *w = weight;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        const float *xr = (const float *)x + (size_t)t * C, *dy = (const float *)dout + (size_t)t * C;
        float *d = (float *)dx + (size_t)t * C;
        float sum = 0, gx = 0;
        for (int i = 0; i < C; i++) sum += xr[i] * xr[i], gx += dy[i] * w[i] * xr[i];
        float rstd = 1.0f / sqrtf(sum / (float)C + eps), k = rstd * rstd * rstd * gx / (float)C;
        for (int i = 0; i < C; i++) {
            float g = rstd * dy[i] * w[i] - xr[i] * k;
            d[i] = accumulate ? d[i] + g : g;
        }
    }
}
