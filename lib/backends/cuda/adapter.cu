/* adapter: LoRA adapters on the GPU, forward and backward, in f32 as PEFT computes a bf16 model's adapters: the terms
 * of a few rows (a decode step's) in two kernels of their own, more rows in cuBLAS's f32 products and one kernel that
 * adds their outputs; the backward in cuBLAS's f32 products. */
#include "backends/cuda/cuda_impl.cuh"

/* adapters of one input: adapter i adds to out[i] (T, N[i]), then out[i] to residual[i] (T, N[i]) unless NULL */
struct LoraGroup {
    int n;
    bf16 *out[ONE_INPUT_MOST], *residual[ONE_INPUT_MOST];
    const float *a[ONE_INPUT_MOST], *bm[ONE_INPUT_MOST]; /* (r, K), (N[i], r) */
    int N[ONE_INPUT_MOST];
};

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

/* The adapters of a few rows in two kernels, whatever their number: z32 (n, T, r) f32, and z bf16, = in (T, K) @
 * a[i] (r, K)^T summed in f32 from the bf16 input; then out[i] += scale * z32[i] @ bm[i]^T, the sum with out in
 * f32, and residual[i] += out[i], rounded as a residual add */
static void loras_small(Cuda *c, const LoraGroup &group, const bf16 *in, bf16 *z, float *z32, int T, int K, int r,
                        float scale) {
    size_t warps = (size_t)group.n * T * r, outputs = outputs_of(group, T);
    if (!warps) return;
    lora_down_kernel<<<blocks_for(32 * warps), THREADS, 0, c->stream>>>(z32, z, in, group, T, K, r);
    if (outputs) lora_up_kernel<<<blocks_for(outputs), THREADS, 0, c->stream>>>(group, z32, T, r, scale);
    launched(c, "loras");
}

/* one thread per output of every adapter, and per value of z: out_i[t, n] += y_i[t, n]; z = z32 rounded */
static __global__ void lora_outs_kernel(LoraGroup group, const float *y, bf16 *z, const float *z32, size_t nz,
                                        int T) {
    size_t at = (size_t)blockIdx.x * blockDim.x + threadIdx.x, in_out = at;
    if (at < nz) z[at] = __float2bfloat16(z32[at]);
    int i = adapter_of(group, in_out, T);
    if (i < group.n) add_output(group, i, in_out, y[at]);
}

/* The adapters' outputs computed apart (cuBLAS): out[i] += y_i, the sum in f32, y_i the i-th block (T, N[i]) of y;
 * residual[i] += out[i] as above; z (n, T, r) bf16 = z32 */
static void add_outputs(Cuda *c, const LoraGroup &group, const float *y, int T, bf16 *z, const float *z32, int r) {
    size_t outputs = outputs_of(group, T), nz = (size_t)group.n * T * r;
    size_t most = outputs > nz ? outputs : nz;
    if (most) lora_outs_kernel<<<blocks_for(most), THREADS, 0, c->stream>>>(group, y, z, z32, nz, T);
    launched(c, "lora outputs");
}

/* PEFT keeps a bf16 model's adapter in f32 and computes it in f32 (the input cast up, the sum with the base
 * output in f32, then rounded): the same here. A decode step's few rows take loras_small's two kernels for all
 * the adapters of the input; more rows one f32 copy of the input for all of them, cuBLAS's f32 products for each,
 * and one kernel that adds every output (and writes z) */
void cuda_loras(TinaBackend *b, int n, void *const *out, const void *in, const float *const *a, const float *const *bm,
                void *z, int T, int K, const int *N, int r, float scale, void *const *residual) {
    Cuda *c = cuda_of(b);
    if (n > ONE_INPUT_MOST) {
        for (int i = 0; i < n; i += ONE_INPUT_MOST) {
            int part = n - i < ONE_INPUT_MOST ? n - i : ONE_INPUT_MOST;
            cuda_loras(b, part, out + i, in, a + i, bm + i, (bf16 *)z + (size_t)i * T * r, T, K, N + i, r, scale,
                       residual ? residual + i : NULL);
        }
        return;
    }
    if (!launching(c)) return;
    LoraGroup group = {n, {}, {}, {}, {}, {}};
    size_t in_n = (size_t)T * K, z_n = (size_t)n * T * r, y_n = 0;
    for (int i = 0; i < n; i++) {
        group.out[i] = (bf16 *)out[i], group.residual[i] = residual ? (bf16 *)residual[i] : NULL;
        group.a[i] = a[i], group.bm[i] = bm[i], group.N[i] = N[i];
        y_n += (size_t)T * N[i];
    }
    if (T <= FEW_ROWS) {
        float *z32 = (float *)scratch(c, z_n * sizeof(float));
        if (!z32) return;
        return loras_small(c, group, (const bf16 *)in, (bf16 *)z, z32, T, K, r, scale);
    }
    float *in32 = (float *)scratch(c, (in_n + z_n + y_n) * sizeof(float));
    if (!in32) return;
    float *z32 = in32 + in_n, *y32 = z32 + z_n, one = 1.0f, zero = 0.0f;
    launch_bf16_to_f32(c->stream, in32, (const bf16 *)in, in_n);
    launched(c, "lora input");
    for (int i = 0; i < n; i++) {
        blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, r, T, K, &one, a[i], K, in32, K, &zero, z32, r),
                "lora A");
        blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, N[i], T, r, &scale, bm[i], r, z32, r, &zero, y32,
                               N[i]),
                "lora B");
        z32 += (size_t)T * r, y32 += (size_t)T * N[i];
    }
    add_outputs(c, group, in32 + in_n + z_n, T, (bf16 *)z, in32 + in_n, r);
}

void cuda_lora(TinaBackend *b, void *out, const void *in, const float *a, const float *bm, void *z, int T, int K, int N,
               int r, float scale) {
    cuda_loras(b, 1, &out, in, &a, &bm, z, T, K, &N, r, scale, NULL);
}

/* In f32 as the forward: z = in @ a^T recomputed (the forward kept it rounded); db += scale dout^T z;
 * dz = scale dout @ bm; da += dz^T in; din (+)= dz @ a. Column-major, each row-major (R, S) matrix read as (S, R). */
void cuda_lora_backward(TinaBackend *b, void *din, float *da, float *db, const void *in, const void *dout, const float *a,
                        const float *bm, const void *z, void *dscratch, int T, int K, int N, int r, float scale,
                        bool accumulate) {
    Cuda *c = cuda_of(b);
    (void)z, (void)dscratch; /* z again in f32, dz in f32 scratch */
    size_t in_n = (size_t)T * K, out_n = (size_t)T * N, z_n = (size_t)T * r;
    float *in32 = (float *)scratch(c, (2 * in_n + out_n + 2 * z_n) * sizeof(float));
    if (!in32) return;
    float *dout32 = in32 + in_n, *z32 = dout32 + out_n, *dz32 = z32 + z_n, *din32 = dz32 + z_n;
    launch_bf16_to_f32(c->stream, in32, (const bf16 *)in, in_n);
    launch_bf16_to_f32(c->stream, dout32, (const bf16 *)dout, out_n);
    launched(c, "lora backward inputs");
    float one = 1.0f, zero = 0.0f;
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, r, T, K, &one, a, K, in32, K, &zero, z32, r), "lora z");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, r, N, T, &scale, z32, r, dout32, N, &one, db, r),
            "lora dB");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, r, T, N, &scale, bm, r, dout32, N, &zero, dz32, r),
            "lora dz");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, K, r, T, &one, in32, K, dz32, r, &one, da, K), "lora dA");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, K, T, r, &one, a, K, dz32, r, &zero, din32, K),
            "lora din");
    finish_product(c, (bf16 *)din, din32, NULL, T, K, accumulate);
}
