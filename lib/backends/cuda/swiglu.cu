/* swiglu: the MLP's activation silu(gate) * up on the GPU, forward and backward. */
#include "backends/cuda/kernels.h"

#include <cmath>

#include "backends/cuda/common.cuh"

static __global__ void swiglu_kernel(bf16 *out, const bf16 *gate, const bf16 *up, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = __bfloat162float(gate[i]);
    float silu = round_bf16(g / (1.0f + expf(-g)));
    out[i] = __float2bfloat16(silu * __bfloat162float(up[i]));
}

void launch_swiglu(cudaStream_t s, bf16 *out, const bf16 *gate, const bf16 *up, size_t n) {
    if (n) swiglu_kernel<<<blocks_for(n), THREADS, 0, s>>>(out, gate, up, n);
}

/* act = silu(g) u with silu(g) rounded to bf16 as the forward rounds it: du = dact silu(g);
 * dg = dact u sigmoid(g) (1 + g (1 - sigmoid(g))) */
static __global__ void swiglu_backward_kernel(bf16 *dgate, bf16 *dup, const bf16 *gate, const bf16 *up,
                                              const bf16 *dact, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = __bfloat162float(gate[i]), u = __bfloat162float(up[i]), d = __bfloat162float(dact[i]);
    float sig = 1.0f / (1.0f + expf(-g));
    dup[i] = __float2bfloat16(d * round_bf16(g * sig));
    dgate[i] = __float2bfloat16(d * u * sig * (1.0f + g * (1.0f - sig)));
}

void launch_swiglu_backward(cudaStream_t s, bf16 *dgate, bf16 *dup, const bf16 *gate, const bf16 *up,
                            const bf16 *dact, size_t n) {
    if (n) swiglu_backward_kernel<<<blocks_for(n), THREADS, 0, s>>>(dgate, dup, gate, up, dact, n);
}
