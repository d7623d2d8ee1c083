/* dropout: LoRA dropout's masks on the GPU, a pure function of (seed, stream, element), as the CPU draws them. */
#include "backends/cuda/cuda_impl.cuh"
extern "C" {
#include "base/rng.h"
}

/* out (=, or += when add) in * keep / (1 - p), element i kept when tina_rng_uniform(seed, stream, i) >= p: the CPU
 * backend's masks, bit for bit */
static __global__ void dropout_kernel(bf16 *out, const bf16 *in, size_t n, float p, uint64_t seed, uint64_t stream,
                                      bool add) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float value = tina_rng_uniform(seed, stream, i) >= p ? __bfloat162float(in[i]) * (1.0f / (1.0f - p)) : 0.0f;
    out[i] = __float2bfloat16(add ? __bfloat162float(out[i]) + value : value);
}

static void drop(TinaBackend *b, void *out, const void *in, int T, int K, float p, uint64_t seed, uint64_t stream,
                 bool add) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)T * K;
    if (failed(c) || !n) return;
    dropout_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>((bf16 *)out, (const bf16 *)in, n, p, seed, stream, add);
    launched(c, add ? "dropout backward" : "dropout");
}

void cuda_dropout(TinaBackend *b, void *out, const void *in, int T, int K, float p, uint64_t seed, uint64_t stream) {
    drop(b, out, in, T, K, p, seed, stream, false);
}

/* the same mask, the gradient added into dst */
void cuda_dropout_backward(TinaBackend *b, void *dst, const void *src, int T, int K, float p, uint64_t seed,
                           uint64_t stream) {
    drop(b, dst, src, T, K, p, seed, stream, true);
}
