/* backward: the element-wise and row-wise kernels of training on the GPU (kernels.h says what each computes):
 * the gradients through RMSNorm, SwiGLU and the log-softmax of the taken tokens, LoRA dropout's masks, and the
 * conversions between f32 sums and bf16 gradients. Every sum is f32; a gradient is rounded to bf16 once, when
 * stored, as a bf16 model's autograd stores it. */
#include "backends/cuda/kernels.h"

#include <cmath>

#include "backends/cuda/common.cuh"
extern "C" {
#include "base/rng.h"
}

/* ---- RMSNorm ----------------------------------------------------------------------------------------------- */

/* one block per row: y = x * rstd * w; dx = rstd * g - x * rstd^3 * (g . x) / C with g = dy * w */
static __global__ void rmsnorm_backward_kernel(bf16 *dx, const bf16 *x, const bf16 *weight, const bf16 *dout, int C,
                                               float eps, bool accumulate) {
    __shared__ float shared[THREADS / 32];
    size_t row = (size_t)blockIdx.x * C;
    float squares = 0, gx = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float v = __bfloat162float(x[row + c]);
        squares += v * v;
        gx += __bfloat162float(dout[row + c]) * __bfloat162float(weight[c]) * v;
    }
    squares = block_reduce(squares, shared, Sum(), 0.0f);
    gx = block_reduce(gx, shared, Sum(), 0.0f);
    float rstd = rsqrtf(squares / (float)C + eps), k = rstd * rstd * rstd * gx / (float)C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float g = rstd * __bfloat162float(dout[row + c]) * __bfloat162float(weight[c]) -
                  __bfloat162float(x[row + c]) * k;
        dx[row + c] = __float2bfloat16(accumulate ? __bfloat162float(dx[row + c]) + g : g);
    }
}

void launch_rmsnorm_backward(cudaStream_t s, bf16 *dx, const bf16 *x, const bf16 *weight, const bf16 *dout, int T,
                             int C, float eps, bool accumulate) {
    if (T) rmsnorm_backward_kernel<<<T, THREADS, 0, s>>>(dx, x, weight, dout, C, eps, accumulate);
}

/* ---- SwiGLU ------------------------------------------------------------------------------------------------ */

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

/* ---- the log-softmax of the taken tokens ------------------------------------------------------------------- */

/* d logits[t, v] = dlogp[t] * ([v == target] - softmax[t, v]) over one chunk (T, n) of f32 logits, rounded to bf16
 * as the forward rounds them; stored as bf16 for the product with the head */
static __global__ void logprob_grad_kernel(bf16 *grad, const float *chunk, int n, int v0, const int32_t *targets,
                                           const double *lse, const float *dlogp) {
    int t = blockIdx.x;
    int j = blockIdx.y * blockDim.x + threadIdx.x;
    if (j >= n) return;
    size_t at = (size_t)t * n + j;
    float g = -dlogp[t] * expf(round_bf16(chunk[at]) - (float)lse[t]);
    if (targets[t] == v0 + j) g += dlogp[t];
    grad[at] = __float2bfloat16(g);
}

void launch_logprob_grad(cudaStream_t s, bf16 *grad, const float *chunk, int T, int n, int v0,
                         const int32_t *targets, const double *lse, const float *dlogp) {
    /* rows in x (up to 2^31 - 1), a row's columns in y (a chunk's at most V / 256) */
    if (T && n) logprob_grad_kernel<<<dim3(T, blocks_for((size_t)n)), THREADS, 0, s>>>(grad, chunk, n, v0, targets,
                                                                                    lse, dlogp);
}

/* ---- LoRA dropout ------------------------------------------------------------------------------------------ */

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
