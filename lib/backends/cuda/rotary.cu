/* rotary: rotate-half RoPE on the GPU, and its inverse (the backward) by the same kernel. */
#include "backends/cuda/cuda_impl.cuh"

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

/* q (T, Hq, D) and k (T, Hkv, D) rotated in place by the tables reserve made, forward (direction 1) or back (-1) */
static void rotate(Cuda *c, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D, float direction) {
    DeviceBatch d = batch_on_device(c, batch);
    int T = batch->n_tokens;
    size_t n = (size_t)T * (Hq + Hkv) * (D / 2);
    if (!launching(c) || !n) return;
    rope_kernel<<<blocks_for(n), THREADS, 0, c->stream>>>((bf16 *)q, (bf16 *)k, c->rope_cos, c->rope_sin, d, T, Hq, Hkv,
                                                          D, direction);
    launched(c, direction > 0 ? "rope" : "rope backward");
}

void cuda_rope(TinaBackend *b, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D) {
    rotate(cuda_of(b), q, k, batch, Hq, Hkv, D, 1.0f);
}

/* the gradient of a rotation is the rotation back */
void cuda_rope_backward(TinaBackend *b, void *dq, void *dk, const TinaBatch *batch, int Hq, int Hkv, int D) {
    rotate(cuda_of(b), dq, dk, batch, Hq, Hkv, D, -1.0f);
}
