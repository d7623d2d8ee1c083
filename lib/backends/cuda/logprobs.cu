/* logprobs: the log-softmax of the taken tokens over vocabulary chunks on the GPU, forward (a running
 * log-sum-exp) and backward (the gradient of each chunk's logits). */
#include "backends/cuda/kernels.h"

#include <cmath>

#include "backends/cuda/common.cuh"

/* one block per row of the chunk */
static __global__ void log_sum_exp_kernel(const float *chunk, int n, int v0, const int32_t *targets, double *max,
                                          double *sum, float *picked, bool first) {
    __shared__ float shared[THREADS / 32];
    int t = blockIdx.x;
    const float *z = chunk + (size_t)t * n;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, round_bf16(z[j]));
    m = block_reduce(m, shared, Max(), -INFINITY);
    float e = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) e += expf(round_bf16(z[j]) - m);
    e = block_reduce(e, shared, Sum(), 0.0f);
    if (threadIdx.x != 0) return;
    double old_max = first ? -INFINITY : max[t], old_sum = first ? 0.0 : sum[t];
    double new_max = fmax(old_max, (double)m);
    max[t] = new_max;
    sum[t] = old_sum * exp(old_max - new_max) + (double)e * exp((double)m - new_max);
    if (targets[t] >= v0 && targets[t] < v0 + n) picked[t] = round_bf16(z[targets[t] - v0]);
}

void launch_log_sum_exp(cudaStream_t s, const float *chunk, int T, int n, int v0, const int32_t *targets,
                        double *max, double *sum, float *picked, bool first) {
    if (T) log_sum_exp_kernel<<<T, THREADS, 0, s>>>(chunk, n, v0, targets, max, sum, picked, first);
}

static __global__ void logprob_kernel(float *out, const float *picked, const double *max, const double *sum, int T,
                                      double *lse) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= T) return;
    out[t] = (float)((double)picked[t] - max[t] - log(sum[t]));
    if (lse) lse[t] = max[t] + log(sum[t]);
}

void launch_logprob(cudaStream_t s, float *out, const float *picked, const double *max, const double *sum, int T,
                    double *lse) {
    if (T) logprob_kernel<<<blocks_for((size_t)T), THREADS, 0, s>>>(out, picked, max, sum, T, lse);
}

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
