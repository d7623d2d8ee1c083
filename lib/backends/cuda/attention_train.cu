/* attention_train: the kernels around training's attention backward on the GPU, whose products are cuBLAS's
 * (matmul.cu's product_xyt and the two below); the forward is the prefill's flash attention (attention.cu,
 * launch_self_attention).
 *
 * Training sees whole sequences, so the backward is matrix products on the tensor cores: a sequence's rows are copied
 * head-major, the scores of each kv head's group of query heads are one product (group x n, n), the causal softmax
 * recomputes the probabilities row by row (f32, stored as bf16 as flash attention keeps them), and dS = P (dP -
 * rowsum(P dP)) is taken in place. The full square is computed and the part above the diagonal masked: twice the
 * arithmetic of a causal kernel, on hardware many times faster than a hand-written one. */
#include <cmath>

#include "backends/cuda/cuda_impl.cuh"

/* one thread per element: heads (H, n, D) from rows (n, H, D), or back */
static __global__ void heads_kernel(bf16 *heads, bf16 *rows, int n, int H, int D, bool to_heads) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)n * H * D) return;
    int d = (int)(i % D), h = (int)(i / D % H), t = (int)(i / D / H);
    size_t at = ((size_t)h * n + t) * D + d;
    if (to_heads) heads[at] = rows[i];
    else rows[i] = heads[at];
}

/* a sequence's rows (n, H, D) to heads (H, n, D), or back */
static void regroup(Cuda *c, bf16 *heads, bf16 *rows, int n, int H, int D, bool to_heads) {
    size_t count = (size_t)n * H * D;
    if (count) heads_kernel<<<blocks_for(count), THREADS, 0, c->stream>>>(heads, rows, n, H, D, to_heads);
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

/* Training attention's per-sequence buffers in scratch, for sequences of up to n tokens: head-major copies
 * (attention_train.cu) of q, dout, dq (Hq, n, D) and k, v, dk, dv (Hkv, n, D); one group's scores or dP (group x n,
 * n) f32 and probabilities or dS (group x n, n) bf16. */
typedef struct {
    bf16 *q, *dout, *dq, *k, *v, *dk, *dv, *p;
    float *scores;
} SequenceAttention;

static bool sequence_attention(Cuda *c, SequenceAttention *sa, const TinaBatch *batch, int Hq, int Hkv, int D) {
    int n = 0;
    for (int s = 0; s < batch->n_seqs; s++) n = batch->n_new[s] > n ? batch->n_new[s] : n;
    size_t q = (size_t)Hq * n * D, kv = (size_t)Hkv * n * D, square = (size_t)(Hq / Hkv) * n * n;
    char *at = (char *)scratch(c, square * sizeof(float) + (3 * q + 4 * kv + square) * sizeof(bf16));
    if (!at) return false;
    sa->scores = (float *)at;
    bf16 *next = (bf16 *)(sa->scores + square);
    bf16 **slots[] = {&sa->q, &sa->dout, &sa->dq, &sa->k, &sa->v, &sa->dk, &sa->dv, &sa->p};
    size_t sizes[] = {q, q, q, kv, kv, kv, kv, square};
    for (int i = 0; i < 8; i++) *slots[i] = next, next += sizes[i];
    return true;
}

/* Row-major (rows, columns) matrices are column-major (columns, rows) to cuBLAS: out (R, D) = x (R, S) @ y (S, D)
 * is gemm(N, N, D, R, S, y, x); with x_t, out (S, D) = x (R, S)^T @ y (R, D) is gemm(N, T, D, S, R, y, x). bf16 in,
 * f32 sums, bf16 out (product_xyt, matmul.cu, the one with y transposed). */
static void product_xy(Cuda *c, bf16 *out, const bf16 *x, bool x_t, const bf16 *y, int R, int S, int D, float alpha) {
    float zero = 0.0f;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, x_t ? CUBLAS_OP_T : CUBLAS_OP_N, D, x_t ? S : R, x_t ? R : S, &alpha,
                            y, CUDA_R_16BF, D, x, CUDA_R_16BF, S, &zero, out, CUDA_R_16BF, D, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT),
            "attention product");
}

/* sa->p = the causal softmax of group g's scores: (group x n, n), query heads g x group .. of sequence rows n */
static void group_probabilities(Cuda *c, const SequenceAttention *sa, int g, int group, int n, int D) {
    const bf16 *q = sa->q + (size_t)g * group * n * D, *k = sa->k + (size_t)g * n * D;
    product_xyt(c, sa->scores, CUDA_R_32F, q, k, group * n, n, D, 1.0f / sqrtf((float)D), "attention scores");
    if (n) causal_softmax_kernel<<<group * n, THREADS, 0, c->stream>>>(sa->p, sa->scores, n);
    launched(c, "causal softmax");
}

/* flash attention in tiles (attention.cu), as a prefill's: the backward below recomputes the probabilities its own
 * way, as whole products */
void cuda_self_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v, const TinaBatch *batch,
                         int Hq, int Hkv, int D) {
    Cuda *c = cuda_of(b);
    DeviceBatch d = batch_on_device(c, batch);
    if (!launching(c)) return;
    launch_self_attention(c->stream, (bf16 *)out, (const bf16 *)q, (const bf16 *)k, (const bf16 *)v, d,
                          batch->n_tokens, Hq, Hkv, D);
    launched(c, "self-attention");
}

/* Per sequence and kv head, P recomputed: dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum(P dP)); dQ = scale dS K;
 * dK = scale dS^T Q (the group's query heads summed by the product itself). */
void cuda_attention_backward(TinaBackend *b, void *dq, void *dk, void *dv, const void *q, const void *k, const void *v,
                             const void *dout, const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cuda *c = cuda_of(b);
    SequenceAttention sa;
    if (failed(c) || !sequence_attention(c, &sa, batch, Hq, Hkv, D)) return;
    int group = Hq / Hkv;
    size_t q_row = (size_t)Hq * D, kv_row = (size_t)Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
    for (int s = 0; s < batch->n_seqs; s++) {
        int n = batch->n_new[s];
        size_t first = (size_t)batch->first[s];
        regroup(c, sa.q, (bf16 *)q + first * q_row, n, Hq, D, true);
        regroup(c, sa.dout, (bf16 *)dout + first * q_row, n, Hq, D, true);
        regroup(c, sa.k, (bf16 *)k + first * kv_row, n, Hkv, D, true);
        regroup(c, sa.v, (bf16 *)v + first * kv_row, n, Hkv, D, true);
        for (int g = 0; g < Hkv; g++) {
            size_t qg = (size_t)g * group * n * D, kg = (size_t)g * n * D;
            group_probabilities(c, &sa, g, group, n, D);
            product_xy(c, sa.dv + kg, sa.p, true, sa.dout + qg, group * n, n, D, 1.0f);
            product_xyt(c, sa.scores, CUDA_R_32F, sa.dout + qg, sa.v + kg, group * n, n, D, 1.0f, "attention dP");
            if (n) softmax_backward_kernel<<<group * n, THREADS, 0, c->stream>>>(sa.p, sa.scores, n);
            launched(c, "softmax backward");
            product_xy(c, sa.dq + qg, sa.p, false, sa.k + kg, group * n, n, D, scale);
            product_xy(c, sa.dk + kg, sa.p, true, sa.q + qg, group * n, n, D, scale);
        }
        regroup(c, sa.dq, (bf16 *)dq + first * q_row, n, Hq, D, false);
        regroup(c, sa.dk, (bf16 *)dk + first * kv_row, n, Hkv, D, false);
        regroup(c, sa.dv, (bf16 *)dv + first * kv_row, n, Hkv, D, false);
        launched(c, "attention backward");
    }
}
