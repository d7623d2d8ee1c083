/* elementwise: the CUDA backend's moves and conversions: f32 and bf16 both ways, a weight plus an f32 delta, rounding
 * to bf16, embedding and gathering rows, adding activations, and finishing cuBLAS's f32 products as a bf16 linear
 * layer does (kernels.h says what each computes). */
#include "backends/cuda/kernels.h"

#include "backends/cuda/common.cuh"

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

static __global__ void add_kernel(bf16 *x, const bf16 *y, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = __float2bfloat16(__bfloat162float(x[i]) + __bfloat162float(y[i]));
}

void launch_add(cudaStream_t s, bf16 *x, const bf16 *y, size_t n) {
    if (n) add_kernel<<<blocks_for(n), THREADS, 0, s>>>(x, y, n);
}
