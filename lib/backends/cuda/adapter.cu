/* adapter: the LoRA terms of a few rows (a decode step's) in two kernels, and the adding of adapters' outputs
 * computed by cuBLAS; the adapters' backward is cuBLAS's (backend.cu). */
#include "backends/cuda/kernels.h"

#include "backends/cuda/common.cuh"

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
