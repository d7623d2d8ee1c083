/* rmsnorm: RMSNorm on the GPU, forward and backward, one block a row, f32 sums, rounded to bf16 where
 * transformers' bf16 model rounds. */
#include <cmath>

#include "backends/cuda/cuda_impl.cuh"

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

void cuda_rmsnorm(TinaBackend *b, void *out, const void *in, const void *weight, int T, int C, float eps) {
    Cuda *c = cuda_of(b);
    if (!launching(c) || !T) return;
    rmsnorm_kernel<<<T, THREADS, 0, c->stream>>>((bf16 *)out, (const bf16 *)in, (const bf16 *)weight, C, eps);
    launched(c, "rmsnorm");
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

void cuda_rmsnorm_backward(TinaBackend *b, void *dx, const void *x, const void *weight, const void *dout, int T, int C,
                           float eps, bool accumulate) {
    Cuda *c = cuda_of(b);
    if (failed(c) || !T) return;
    rmsnorm_backward_kernel<<<T, THREADS, 0, c->stream>>>((bf16 *)dx, (const bf16 *)x, (const bf16 *)weight,
                                                          (const bf16 *)dout, C, eps, accumulate);
    launched(c, "rmsnorm backward");
}
