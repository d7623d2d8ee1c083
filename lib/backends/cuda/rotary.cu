/* rotary: rotate-half RoPE on the GPU, and its inverse (the backward) by the same kernel. */
#include "backends/cuda/kernels.h"

#include "backends/cuda/common.cuh"

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
