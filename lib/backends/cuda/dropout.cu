/* dropout: LoRA dropout's masks on the GPU, a pure function of (seed, stream, element), as the CPU draws them. */
#include "backends/cuda/kernels.h"

#include "backends/cuda/common.cuh"
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

void launch_dropout(cudaStream_t s, bf16 *out, const bf16 *in, size_t n, float p, uint64_t seed, uint64_t stream,
                    bool add) {
    if (n) dropout_kernel<<<blocks_for(n), THREADS, 0, s>>>(out, in, n, p, seed, stream, add);
}
