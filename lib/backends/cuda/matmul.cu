/* matmul: the linear layers on the GPU, forward and backward: cuBLAS's bf16 products with f32 sums, finished (bias,
 * rounding, the residual add) as a bf16 model's layer does.
 *
 * Row-major out (T, N) = in (T, K) @ w (N, K)^T is column-major out^T (N, T) = w^T' (N, K) @ in^T (K, T): cuBLAS
 * reads w as a (K, N) column-major matrix and transposes it. */
#include "backends/cuda/cuda_impl.cuh"

/* products of one input side by side in an f32 (T, N[0] + N[1] + ...): product i goes to out[i] (T, N[i]) with
 * bias[i] (N[i]) or NULL */
struct ProductGroup {
    int n;
    bf16 *out[ONE_INPUT_MOST];
    const bf16 *bias[ONE_INPUT_MOST];
    int N[ONE_INPUT_MOST];
};

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

/* each product of the group finished as finish_product says */
static void finish_products(Cuda *c, const ProductGroup &group, const float *p, int T, bool accumulate) {
    int width = 0;
    for (int i = 0; i < group.n; i++) width += group.N[i];
    size_t n = (size_t)T * width;
    if (n) finish_products_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>(group, p, n, width, accumulate);
    launched(c, "finish products");
}

void finish_product(Cuda *c, bf16 *out, const float *p, const bf16 *bias, int T, int N, bool accumulate) {
    finish_products(c, {1, {out}, {bias}, {N}}, p, T, accumulate);
}

void product_xyt(Cuda *c, void *out, cudaDataType out_type, const void *x, const void *y, int R, int S, int K,
                 float alpha, const char *what) {
    float zero = 0.0f;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, S, R, K, &alpha, y, CUDA_R_16BF, K, x, CUDA_R_16BF, K,
                            &zero, out, out_type, S, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            what);
}

/* bf16 in and out, f32 accumulation. With a bias or into the residual stream, the product goes through f32 so that
 * it rounds where transformers rounds (finish_product). */
void cuda_matmul(TinaBackend *b, void *out, const void *in, const void *w, const void *bias, int T, int K, int N,
                 bool accumulate) {
    Cuda *c = cuda_of(b);
    if (!launching(c)) return;
    if (!bias && !accumulate) return product_xyt(c, out, CUDA_R_16BF, in, w, T, N, K, 1.0f, "matmul");
    float *p = (float *)scratch(c, (size_t)T * N * sizeof(float));
    if (!p) return;
    product_xyt(c, p, CUDA_R_32F, in, w, T, N, K, 1.0f, "matmul");
    finish_product(c, (bf16 *)out, p, (const bf16 *)bias, T, N, accumulate);
}

/* products of one input: when their weights lie one after the other in memory (q, k and v's), as one product into
 * f32 that one kernel splits, biases and rounds: two launches, where each product alone takes one, and two with a
 * bias (through f32 as well). Taken when it saves launches, and without biases only for a decode step's few rows,
 * whose f32 round trip costs little. */
void cuda_matmuls(TinaBackend *b, int n, void *const *out, const void *in, const void *const *w,
                  const void *const *bias, int T, int K, const int *N) {
    Cuda *c = cuda_of(b);
    int width = N[0], biases = bias[0] != NULL;
    bool adjacent = n <= ONE_INPUT_MOST;
    for (int i = 1; i < n && adjacent; i++) {
        adjacent = w[i] == (const bf16 *)w[i - 1] + (size_t)N[i - 1] * K;
        width += N[i], biases += bias[i] != NULL;
    }
    if (!adjacent || n + biases <= 2 || (!biases && T > FEW_ROWS)) {
        for (int i = 0; i < n; i++) cuda_matmul(b, out[i], in, w[i], bias[i], T, K, N[i], false);
        return;
    }
    if (!launching(c)) return;
    float *p = (float *)scratch(c, (size_t)T * width * sizeof(float));
    if (!p) return;
    product_xyt(c, p, CUDA_R_32F, in, w[0], T, width, K, 1.0f, "matmuls");
    ProductGroup group = {n, {}, {}, {}};
    for (int i = 0; i < n; i++) group.out[i] = (bf16 *)out[i], group.bias[i] = (const bf16 *)bias[i], group.N[i] = N[i];
    finish_products(c, group, p, T, false);
}

/* din (T, K) = dout (T, N) @ w (N, K) is column-major din^T (K, T) = w^T (K, N) @ dout^T (N, T); added into din
 * through f32, rounded once, when accumulate */
void cuda_matmul_backward(TinaBackend *b, void *din, const void *dout, const void *w, int T, int K, int N,
                          bool accumulate) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    float one = 1.0f, zero = 0.0f, *p = NULL;
    if (accumulate && !(p = (float *)scratch(c, (size_t)T * K * sizeof(float)))) return;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, K, T, N, &one, w, CUDA_R_16BF, K, dout, CUDA_R_16BF, N,
                            &zero, p ? (void *)p : din, p ? CUDA_R_32F : CUDA_R_16BF, K, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT),
            "matmul backward");
    if (p) finish_product(c, (bf16 *)din, p, NULL, T, K, true);
}
