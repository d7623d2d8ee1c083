/* swiglu: the MLP's activation silu(gate) * up on the GPU, forward and backward. */
#include <cmath>

#include "backends/cuda/cuda_impl.cuh"

static __global__ void swiglu_kernel(bf16 *out, const bf16 *gate, const bf16 *up, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = __bfloat162float(gate[i]);
    float silu = round_bf16(g / (1.0f + expf(-g)));
    out[i] = __float2bfloat16(silu * __bfloat162float(up[i]));
}

void cuda_swiglu(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)T * I;
    if (!launching(c) || !n) return;
    swiglu_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>((bf16 *)out, (const bf16 *)gate, (const bf16 *)up, n);
    launched(c, "swiglu");
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

void cuda_swiglu_backward(TinaBackend *b, void *dgate, void *dup, const void *gate, const void *up, const void *dact,
                          int T, int I) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)T * I;
    if (failed(c) || !n) return;
    swiglu_backward_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>((bf16 *)dgate, (bf16 *)dup, (const bf16 *)gate,
                                                                     (const bf16 *)up, (const bf16 *)dact, n);
    launched(c, "swiglu backward");
}
