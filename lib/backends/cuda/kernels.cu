/* kernels: the element-wise and row-wise kernels of the CUDA backend (kernels.h says what each computes). */
#include "backends/cuda/kernels.h"

#include <cmath>

#include "backends/cuda/common.cuh"


/* ---- conversions -------------------------------------------------------------------------------------------- */

/* bf16 converts to and from float both ways */
template <class To, class From> static __global__ void convert_kernel(To *out, const From *in, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = (To)(float)in[i];
}

void launch_f32_to_bf16(cudaStream_t s, bf16 *out, const float *in, size_t n) {
    if (n) convert_kernel<<<blocks_for(n), THREADS, 0, s>>>(out, in, n);
}

void launch_bf16_to_f32(cudaStream_t s, float *out, const bf16 *in, size_t n) {
    if (n) convert_kernel<<<blocks_for(n), THREADS, 0, s>>>(out, in, n);
}

static __global__ void add_f32_kernel(bf16 *w, const float *delta, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) w[i] = __float2bfloat16(__bfloat162float(w[i]) + delta[i]);
}

void launch_add_f32(cudaStream_t s, bf16 *w, const float *delta, size_t n) {
    if (n) add_f32_kernel<<<blocks_for(n), THREADS, 0, s>>>(w, delta, n);
}

static __global__ void round_bf16_kernel(float *out, const float *in, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = round_bf16(in[i]);
}

void launch_round_bf16(cudaStream_t s, float *out, const float *in, size_t n) {
    if (n) round_bf16_kernel<<<blocks_for(n), THREADS, 0, s>>>(out, in, n);
}

/* ---- rows --------------------------------------------------------------------------------------------------- */

static __global__ void embed_kernel(bf16 *out, const bf16 *table, const int32_t *tokens, int C) {
    const bf16 *row = table + (size_t)tokens[blockIdx.x] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[(size_t)blockIdx.x * C + c] = row[c];
}

void launch_embed(cudaStream_t s, bf16 *out, const bf16 *table, const int32_t *tokens, int T, int C) {
    embed_kernel<<<T, THREADS, 0, s>>>(out, table, tokens, C);
}

static __global__ void gather_rows_kernel(bf16 *out, const bf16 *in, const int *rows, int C) {
    const bf16 *row = in + (size_t)rows[blockIdx.x] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[(size_t)blockIdx.x * C + c] = row[c];
}

void launch_gather_rows(cudaStream_t s, bf16 *out, const bf16 *in, const int *rows, int n, int C) {
    if (n) gather_rows_kernel<<<n, THREADS, 0, s>>>(out, in, rows, C);
}

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

/* ---- element-wise ------------------------------------------------------------------------------------------- */

/* one thread per element of the products side by side (T, sum of N) */
static __global__ void finish_products_kernel(ProductGroup group, const float *p, size_t n, int width,
                                              bool accumulate) {
    size_t at = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (at >= n) return;
    int t = (int)(at / width), column = (int)(at % width), i = 0;
    while (column >= group.N[i]) column -= group.N[i], i++;
    const bf16 *bias = group.bias[i];
    float v = round_bf16(p[at] + (bias ? __bfloat162float(bias[column]) : 0.0f));
    bf16 *out = group.out[i] + (size_t)t * group.N[i] + column;
    *out = __float2bfloat16(accumulate ? __bfloat162float(*out) + v : v);
}

void launch_finish_products(cudaStream_t s, const ProductGroup &group, const float *p, int T, bool accumulate) {
    int width = 0;
    for (int i = 0; i < group.n; i++) width += group.N[i];
    size_t n = (size_t)T * width;
    if (n) finish_products_kernel<<<blocks_for(n), THREADS, 0, s>>>(group, p, n, width, accumulate);
}

void launch_finish_product(cudaStream_t s, bf16 *out, const float *p, const bf16 *bias, int T, int N, bool accumulate) {
    launch_finish_products(s, {1, {out}, {bias}, {N}}, p, T, accumulate);
}

/* one warp per (i, t, j): z32[i, t, j] = in[t, :] . a_i[j, :], in f32 from the bf16 input; z the same rounded */
static __global__ void lora_down_kernel(float *z32, bf16 *z, const bf16 *in, LoraGroup group, int T, int K, int r) {
    int warp = (int)((blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32), lane = threadIdx.x % 32;
    if (warp >= group.n * T * r) return; /* the whole warp */
    int i = warp / (T * r), t = warp / r % T, j = warp % r;
    const bf16 *x = in + (size_t)t * K;
    const float *row = group.a[i] + (size_t)j * K;
    float sum = 0;
    for (int k = lane; k < K; k += 32) sum += __bfloat162float(x[k]) * row[k];
    sum = warp_reduce(sum, Sum());
    if (lane == 0) z32[warp] = sum, z[warp] = __float2bfloat16(sum);
}

/* The adapters' outputs one after the other, (T, N[i]) each: the adapter of output `at`, which becomes the index in
 * its out[i]; group.n past the last. */
static __device__ int adapter_of(const LoraGroup &group, size_t &at, int T) {
    int i = 0;
    while (i < group.n && at >= (size_t)T * group.N[i]) at -= (size_t)T * group.N[i], i++;
    return i;
}

/* out_i[at] += value, the sum in f32; then into the residual stream, if given */
static __device__ void add_output(const LoraGroup &group, int i, size_t at, float value) {
    bf16 *out = group.out[i] + at, *residual = group.residual[i];
    *out = __float2bfloat16(__bfloat162float(*out) + value);
    if (residual) residual[at] = __float2bfloat16(__bfloat162float(residual[at]) + __bfloat162float(*out));
}

static size_t outputs_of(const LoraGroup &group, int T) {
    size_t outputs = 0;
    for (int i = 0; i < group.n; i++) outputs += (size_t)T * group.N[i];
    return outputs;
}

/* one thread per output (i, t, n) of every adapter: out_i[t, n] += scale * z32[i, t, :] . bm_i[n, :] */
static __global__ void lora_up_kernel(LoraGroup group, const float *z32, int T, int r, float scale) {
    size_t at = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    int i = adapter_of(group, at, T);
    if (i == group.n) return;
    int N = group.N[i];
    const float *z = z32 + ((size_t)i * T + at / N) * r, *row = group.bm[i] + at % N * r;
    float sum = 0;
    for (int j = 0; j < r; j++) sum += z[j] * row[j];
    add_output(group, i, at, scale * sum);
}

void launch_lora_small(cudaStream_t s, const LoraGroup &group, const bf16 *in, bf16 *z, float *z32, int T, int K,
                       int r, float scale) {
    size_t warps = (size_t)group.n * T * r, outputs = outputs_of(group, T);
    if (!warps) return;
    lora_down_kernel<<<blocks_for(32 * warps), THREADS, 0, s>>>(z32, z, in, group, T, K, r);
    if (outputs) lora_up_kernel<<<blocks_for(outputs), THREADS, 0, s>>>(group, z32, T, r, scale);
}

/* one thread per output of every adapter, and per value of z: out_i[t, n] += y_i[t, n]; z = z32 rounded */
static __global__ void lora_outs_kernel(LoraGroup group, const float *y, bf16 *z, const float *z32, size_t nz,
                                        int T) {
    size_t at = (size_t)blockIdx.x * blockDim.x + threadIdx.x, in_out = at;
    if (at < nz) z[at] = __float2bfloat16(z32[at]);
    int i = adapter_of(group, in_out, T);
    if (i < group.n) add_output(group, i, in_out, y[at]);
}

void launch_lora_outs(cudaStream_t s, const LoraGroup &group, const float *y, int T, bf16 *z, const float *z32,
                      int r) {
    size_t outputs = outputs_of(group, T), nz = (size_t)group.n * T * r;
    size_t most = outputs > nz ? outputs : nz;
    if (most) lora_outs_kernel<<<blocks_for(most), THREADS, 0, s>>>(group, y, z, z32, nz, T);
}

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

static __global__ void add_kernel(bf16 *x, const bf16 *y, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = __float2bfloat16(__bfloat162float(x[i]) + __bfloat162float(y[i]));
}

void launch_add(cudaStream_t s, bf16 *x, const bf16 *y, size_t n) {
    if (n) add_kernel<<<blocks_for(n), THREADS, 0, s>>>(x, y, n);
}

/* ---- RoPE --------------------------------------------------------------------------------------------------- */

/* one thread per (token, head, pair j): element j pairs with j + D/2, as transformers' bf16 rotate-half computes
 * x * cos + rotate_half(x) * sin with cos and sin cast to bf16 and every product rounded */
static __global__ void rope_kernel(bf16 *q, bf16 *k, const float *cos_table, const float *sin_table,
                                   DeviceBatch batch, int T, int Hq, int Hkv, int D, float direction) {
    int half = D / 2, heads = Hq + Hkv;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)T * heads * half) return;
    int j = (int)(i % half), h = (int)(i / half % heads), t = (int)(i / half / heads);
    bf16 *x = h < Hq ? q + ((size_t)t * Hq + h) * D : k + ((size_t)t * Hkv + (h - Hq)) * D;
    size_t at = (size_t)batch.positions[t] * half + j;
    float c = round_bf16(cos_table[at]), s = direction * round_bf16(sin_table[at]);
    float x1 = __bfloat162float(x[j]), x2 = __bfloat162float(x[j + half]);
    x[j] = __float2bfloat16(round_bf16(x1 * c) - round_bf16(x2 * s));
    x[j + half] = __float2bfloat16(round_bf16(x2 * c) + round_bf16(x1 * s));
}

void launch_rope(cudaStream_t s, bf16 *q, bf16 *k, const float *cos, const float *sin, DeviceBatch batch, int T,
                 int Hq, int Hkv, int D, bool inverse) {
    size_t n = (size_t)T * (Hq + Hkv) * (D / 2);
    if (n) rope_kernel<<<blocks_for(n), THREADS, 0, s>>>(q, k, cos, sin, batch, T, Hq, Hkv, D, inverse ? -1.0f : 1.0f);
}

/* ---- log-softmax over vocabulary chunks --------------------------------------------------------------------- */

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
