/* rmsnorm: RMSNorm on the GPU, forward and backward, one block a row, f32 sums, rounded to bf16 where
 * transformers' bf16 model rounds. */
#include "backends/cuda/kernels.h"

#include <cmath>

#include "backends/cuda/common.cuh"

/* one block per row: the mean square in f32, the row times its rsqrt rounded to bf16, then times the weight */
static __global__ void rmsnorm_kernel(bf16 *out, const bf16 *in, const bf16 *weight, int C, float eps) {
    __shared__ float shared[THREADS / 32];
    const bf16 *x = in + (size_t)blockIdx.x * C;
    float squares = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float v = __bfloat162float(x[c]);
        squares += v * v;
    }
    float scale = rsqrtf(block_reduce(squares, shared, Sum(), 0.0f) / (float)C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float normed = round_bf16(__bfloat162float(x[c]) * scale);
        out[(size_t)blockIdx.x * C + c] = __float2bfloat16(__bfloat162float(weight[c]) * normed);
    }
}

void launch_rmsnorm(cudaStream_t s, bf16 *out, const bf16 *in, const bf16 *weight, int T, int C, float eps) {
    rmsnorm_kernel<<<T, THREADS, 0, s>>>(out, in, weight, C, eps);
}

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
