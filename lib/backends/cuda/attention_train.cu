/* attention_train: the kernels around training's attention backward on the GPU, whose products are cuBLAS's
 * (backend.cu); the forward is the prefill's flash attention (attention.cu, launch_self_attention).
 *
 * Training sees whole sequences, so the backward is matrix products on the tensor cores: a sequence's rows are copied
 * head-major, the scores of each kv head's group of query heads are one product (group x n, n), the causal softmax
 * recomputes the probabilities row by row (f32, stored as bf16 as flash attention keeps them), and dS = P (dP -
 * rowsum(P dP)) is taken in place. The full square is computed and the part above the diagonal masked: twice the
 * arithmetic of a causal kernel, on hardware many times faster than a hand-written one. */
#include "backends/cuda/kernels.h"

#include <cmath>

#include "backends/cuda/common.cuh"

/* one thread per element: heads (H, n, D) from rows (n, H, D), or back */
static __global__ void heads_kernel(bf16 *heads, bf16 *rows, int n, int H, int D, bool to_heads) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)n * H * D) return;
    int d = (int)(i % D), h = (int)(i / D % H), t = (int)(i / D / H);
    size_t at = ((size_t)h * n + t) * D + d;
    if (to_heads) heads[at] = rows[i];
    else rows[i] = heads[at];
}

void launch_to_heads(cudaStream_t s, bf16 *heads, const bf16 *rows, int n, int H, int D) {
    size_t count = (size_t)n * H * D;
    if (count) heads_kernel<<<blocks_for(count), THREADS, 0, s>>>(heads, (bf16 *)rows, n, H, D, true);
}

void launch_to_rows(cudaStream_t s, bf16 *rows, const bf16 *heads, int n, int H, int D) {
    size_t count = (size_t)n * H * D;
    if (count) heads_kernel<<<blocks_for(count), THREADS, 0, s>>>((bf16 *)heads, rows, n, H, D, false);
}

/* one block per row r of scores (rows, n), the query r % n: p = softmax over keys 0 .. r % n, 0 above them */
static __global__ void causal_softmax_kernel(bf16 *p, const float *scores, int n) {
    __shared__ float shared[THREADS / 32];
    size_t row = (size_t)blockIdx.x * n;
    int visible = (int)(blockIdx.x % n) + 1;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) m = fmaxf(m, scores[row + j]);
    m = block_reduce(m, shared, Max(), -INFINITY);
    float sum = 0;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) sum += expf(scores[row + j] - m);
    sum = block_reduce(sum, shared, Sum(), 0.0f);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        p[row + j] = __float2bfloat16(j < visible ? expf(scores[row + j] - m) / sum : 0.0f);
}

void launch_causal_softmax(cudaStream_t s, bf16 *p, const float *scores, int rows, int n) {
    if (rows && n) causal_softmax_kernel<<<rows, THREADS, 0, s>>>(p, scores, n);
}

/* one block per row: p (rows, n) becomes dS = p (dp - sum_j p_j dp_j) */
static __global__ void softmax_backward_kernel(bf16 *p, const float *dp, int n) {
    __shared__ float shared[THREADS / 32];
    size_t row = (size_t)blockIdx.x * n;
    float delta = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) delta += __bfloat162float(p[row + j]) * dp[row + j];
    delta = block_reduce(delta, shared, Sum(), 0.0f);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        p[row + j] = __float2bfloat16(__bfloat162float(p[row + j]) * (dp[row + j] - delta));
}

void launch_softmax_backward(cudaStream_t s, bf16 *p, const float *dp, int rows, int n) {
    if (rows && n) softmax_backward_kernel<<<rows, THREADS, 0, s>>>(p, dp, n);
}
