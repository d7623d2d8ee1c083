/* cpu_rope: rotate-half RoPE at each token's position from the tables reserve made, and its inverse (the backward). */
#include "backends/cpu/cpu.h"

/* rotate-half: element j pairs with j + D/2; direction -1 rotates back (rope's gradient) */
static void rotate(float *x, const float *cs, const float *sn, int half, float direction) {
    for (int j = 0; j < half; j++) {
        float x1 = x[j], x2 = x[j + half], s = direction * sn[j];
        x[j] = x1 * cs[j] - x2 * s;
        x[j + half] = x2 * cs[j] + x1 * s;
    }
}

static void rotate_all(const Cpu *c, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D,
                       float direction) {
    int half = D / 2;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < batch->n_tokens; t++) {
        const float *cs = c->rope_cos + (size_t)batch->positions[t] * half;
        const float *sn = c->rope_sin + (size_t)batch->positions[t] * half;
        for (int h = 0; h < Hq; h++) rotate((float *)q + ((size_t)t * Hq + h) * D, cs, sn, half, direction);
        for (int h = 0; h < Hkv; h++) rotate((float *)k + ((size_t)t * Hkv + h) * D, cs, sn, half, direction);
    }
}

void cpu_rope(TinaBackend *b, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D) {
    rotate_all((Cpu *)b, q, k, batch, Hq, Hkv, D, 1.0f);
}

/* rope is a rotation; its gradient rotates back */
void cpu_rope_backward(TinaBackend *b, void *dq, void *dk, const TinaBatch *batch, int Hq, int Hkv, int D) {
    rotate_all((Cpu *)b, dq, dk, batch, Hq, Hkv, D, -1.0f);
}
