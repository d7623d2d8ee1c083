/* logprobs: the head on the GPU: logits rounded to bf16 as a bf16 model's head gives them, and the log-softmax of the
 * taken tokens over vocabulary chunks, forward (a running log-sum-exp) and backward (the gradient of each chunk's
 * logits into the hidden states). */
#include <cmath>

#include "backends/cuda/cuda_impl.cuh"

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

/* picked[t], the target's logit, becomes its log-prob */
static __global__ void logprob_kernel(float *picked, const double *max, const double *sum, int T, double *lse) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= T) return;
    picked[t] = (float)((double)picked[t] - max[t] - log(sum[t]));
    if (lse) lse[t] = max[t] + log(sum[t]);
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

static __global__ void round_bf16_kernel(float *x, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = round_bf16(x[i]);
}

void rounded_logits(Cuda *c, float *logits, const void *h, const void *head, int rows, int C, int V) {
    product_xyt(c, logits, CUDA_R_32F, h, head, rows, V, C, 1.0f, "head");
    size_t n = (size_t)rows * V;
    if (n) round_bf16_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>(logits, n);
    launched(c, "round logits");
}

void cuda_logits(TinaBackend *b, float *out, const void *h, const void *head, int rows, int C, int V) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)rows * V;
    float *device = (float *)scratch(c, n * sizeof(float));
    if (!device) return;
    rounded_logits(c, device, h, head, rows, C, V);
    ok(c, cudaMemcpyAsync(out, device, n * sizeof(float), cudaMemcpyDeviceToHost, c->stream), "download logits");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* the vocabulary in chunks of at most this many logits a call (rows x columns), 256 MB of f32 */
static const size_t CHUNK_LOGITS = (size_t)64 << 20;

/* the columns of a vocabulary chunk for T rows */
static int chunk_columns(int T, int V) {
    int columns = (int)(CHUNK_LOGITS / (size_t)T);
    return columns > V ? V : columns < 1 ? 1 : columns;
}

/* room for the per-row log-softmax state of T rows; false after a failure */
static bool rows_state(Cuda *c, int T) {
    if (failed(c)) return false;
    if (T <= c->lse_capacity) return true;
    cudaFree(c->lse);
    cudaFree(c->picked);
    c->lse = NULL, c->picked = NULL, c->lse_capacity = 0;
    if (!ok(c, cudaMalloc(&c->lse, 2 * (size_t)T * sizeof *c->lse), "allocate log-softmax state") ||
        !ok(c, cudaMalloc(&c->picked, 2 * (size_t)T * sizeof *c->picked), "allocate log-softmax state"))
        return false;
    c->lse_capacity = T;
    return true;
}

void cuda_logprobs(TinaBackend *b, float *out, const void *h, const void *head, const int32_t *targets, int T, int C,
                   int V, double *lse) {
    Cuda *c = cuda_of(b);
    if (!rows_state(c, T)) return;
    int columns = chunk_columns(T, V);
    float *chunk = (float *)scratch(c, (size_t)T * columns * sizeof(float));
    const int *ids = ints_on_device(c, targets, T, STAGED_TOKENS);
    if (!chunk || !ids) return;
    /* c->lse (max, then sum) over the whole vocabulary, and c->picked the target logits, a chunk at a time */
    for (int v0 = 0; v0 < V; v0 += columns) {
        int n = V - v0 < columns ? V - v0 : columns;
        product_xyt(c, chunk, CUDA_R_32F, h, (const bf16 *)head + (size_t)v0 * C, T, n, C, 1.0f, "head");
        if (T) log_sum_exp_kernel<<<T, THREADS, 0, c->stream>>>(chunk, n, v0, ids, c->lse, c->lse + T, c->picked, v0 == 0);
        launched(c, "log-sum-exp");
    }
    if (T) logprob_kernel<<<blocks_for((size_t)T), THREADS, 0, c->stream>>>(c->picked, c->lse, c->lse + T, T, lse);
    launched(c, "log-probs");
    ok(c, cudaMemcpyAsync(out, c->picked, (size_t)T * sizeof *out, cudaMemcpyDeviceToHost, c->stream),
       "download log-probs");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* Per chunk, with the forward's log-sum-exp: d logits (bf16, as a bf16 model's autograd has them) and dh += d logits
 * @ head rows, summed in f32 over the chunks and rounded once. */
void cuda_logprobs_backward(TinaBackend *b, void *dh, const void *h, const void *head, const int32_t *targets,
                            const float *dlogp, int T, int C, int V, const double *lse) {
    Cuda *c = cuda_of(b);
    if (!rows_state(c, T)) return;
    int columns = chunk_columns(T, V);
    size_t logits = (size_t)T * columns;
    float *chunk = (float *)scratch(c, logits * (sizeof(float) + sizeof(bf16)) + (size_t)T * C * sizeof(float));
    const int *ids = ints_on_device(c, targets, T, STAGED_TOKENS);
    if (!chunk || !ids) return;
    float *dh32 = chunk + logits, *dlogp_device = c->picked + T;
    bf16 *grad = (bf16 *)(dh32 + (size_t)T * C);
    ok(c, cudaMemcpyAsync(dlogp_device, dlogp, (size_t)T * sizeof *dlogp, cudaMemcpyHostToDevice, c->stream),
       "upload log-prob gradients");
    float one = 1.0f, zero = 0.0f;
    for (int v0 = 0; v0 < V; v0 += columns) {
        int n = V - v0 < columns ? V - v0 : columns;
        const bf16 *rows = (const bf16 *)head + (size_t)v0 * C;
        product_xyt(c, chunk, CUDA_R_32F, h, rows, T, n, C, 1.0f, "head");
        /* rows in x (up to 2^31 - 1), a row's columns in y (a chunk's at most V / 256) */
        if (T) logprob_grad_kernel<<<dim3(T, blocks_for((size_t)n)), THREADS, 0, c->stream>>>(grad, chunk, n, v0, ids,
                                                                                           lse, dlogp_device);
        launched(c, "log-prob gradients");
        /* dh^T (C, T) += rows^T (C, n) @ grad^T (n, T), column-major */
        blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, C, T, n, &one, rows, CUDA_R_16BF, C, grad,
                                CUDA_R_16BF, n, v0 ? &one : &zero, dh32, CUDA_R_32F, C, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT),
                "head backward");
    }
    launch_f32_to_bf16(c->stream, (bf16 *)dh, dh32, (size_t)T * C);
    launched(c, "round dh");
}
