/* cpu_dropout: LoRA dropout with a mask that is a pure function of (seed, stream, element), so the backward draws
 * it again instead of keeping it. */
#include "backends/cpu/cpu.h"

#include "base/rng.h"

/* dst = (or +=) src * keep / (1 - p), element i kept when its uniform is at least p: with probability 1 - p */
static void drop(float *dst, const float *src, size_t n, float p, uint64_t seed, uint64_t stream, bool add) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float value = tina_rng_uniform(seed, stream, i) >= p ? src[i] * scale : 0.0f;
        dst[i] = add ? dst[i] + value : value;
    }
}

void cpu_dropout(TinaBackend *b, void *out, const void *in, int T, int K, float p, uint64_t seed,
                 uint64_t stream) {
    (void)b;
    drop(out, in, (size_t)T * K, p, seed, stream, false);
}

void cpu_dropout_backward(TinaBackend *b, void *dst, const void *src, int T, int K, float p, uint64_t seed,
                          uint64_t stream) {
    (void)b;
    drop(dst, src, (size_t)T * K, p, seed, stream, true);
}
