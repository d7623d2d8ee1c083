/* elementwise: the CUDA backend's moves and conversions: f32 and bf16 both ways, weights to the host and an f32 delta
 * into them, embedding and gathering rows, adding and copying activations. */
#include "backends/cuda/cuda_impl.cuh"

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

void cuda_weights_to_host(TinaBackend *b, float *dst, const void *src, size_t n) {
    Cuda *c = cuda_of(b);
    float *device = (float *)scratch(c, n * sizeof(float));
    if (!device) return;
    launch_bf16_to_f32(c->stream, device, (const bf16 *)src, n);
    launched(c, "convert weights");
    ok(c, cudaMemcpyAsync(dst, device, n * sizeof(float), cudaMemcpyDeviceToHost, c->stream), "download weights");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* x (n) bf16 += y (n), f32 or bf16, the sum in f32 */
template <class Y> static __global__ void add_kernel(bf16 *x, const Y *y, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = __float2bfloat16(__bfloat162float(x[i]) + (float)y[i]);
}

void cuda_weights_add(TinaBackend *b, void *dst, const float *delta, size_t n) {
    Cuda *c = cuda_of(b);
    float *device = (float *)scratch(c, n * sizeof(float));
    if (!device) return;
    ok(c, cudaMemcpyAsync(device, delta, n * sizeof(float), cudaMemcpyHostToDevice, c->stream), "upload a delta");
    if (n) add_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>((bf16 *)dst, device, n);
    launched(c, "add a delta");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* one block per row: out[block] = in[rows[block]], rows of C */
static __global__ void gather_rows_kernel(bf16 *out, const bf16 *in, const int *rows, int C) {
    const bf16 *row = in + (size_t)rows[blockIdx.x] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[(size_t)blockIdx.x * C + c] = row[c];
}

/* out (n, C) = in's rows named by the host's ids (n), uploaded into staging row `staged` */
static void gather(TinaBackend *b, void *out, const void *in, const int *host_ids, int n, int C, int staged,
                   const char *what) {
    Cuda *c = cuda_of(b);
    const int *ids = ints_on_device(c, host_ids, n, staged);
    if (!ids || !launching(c)) return;
    if (n) gather_rows_kernel<<<n, THREADS, 0, c->stream>>>((bf16 *)out, (const bf16 *)in, ids, C);
    launched(c, what);
}

void cuda_embed(TinaBackend *b, void *out, const void *table, const int32_t *tokens, int T, int C) {
    gather(b, out, table, tokens, T, C, STAGED_TOKENS, "embed");
}

void cuda_gather_rows(TinaBackend *b, void *out, const void *in, const int *rows, int n, int C) {
    gather(b, out, in, rows, n, C, STAGED_ROWS, "gather rows");
}

void cuda_add(TinaBackend *b, void *x, const void *y, size_t n) {
    Cuda *c = cuda_of(b);
    if (!launching(c)) return;
    if (n) add_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>((bf16 *)x, (const bf16 *)y, n);
    launched(c, "add");
}

void cuda_copy(TinaBackend *b, void *dst, const void *src, size_t n) {
    Cuda *c = cuda_of(b);
    if (launching(c)) ok(c, cudaMemcpyAsync(dst, src, n * sizeof(bf16), cudaMemcpyDeviceToDevice, c->stream), "copy");
}
