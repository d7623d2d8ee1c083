/* kernels: the CUDA backend's own kernels, each behind a launcher on a stream (C++ only, inside lib/backends/cuda/).
 *
 * Activations are bf16 and every arithmetic step is f32, rounded to bf16 where transformers' bf16 model rounds, so
 * that the two agree to bf16's precision: RMSNorm rounds the normalised value before the weight multiplies it, RoPE
 * rounds cos and sin and each product, SwiGLU rounds silu(gate) before the product. Shapes as in backend.h. */
#ifndef TINA_CUDA_KERNELS_H
#define TINA_CUDA_KERNELS_H

#include <cstddef>
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

extern "C" {
#include "backends/backend.h"
#include "backends/sampler.h"
}

typedef __nv_bfloat16 bf16;

/* The per-token layout of a forward call, on the device: position of each token, and its sequence's cache slot. */
struct DeviceBatch {
    const int *positions; /* (T,) */
    const int *slot;      /* (T,) */
};

/* elementwise.cu: out (n) bf16 = in (n) f32 */
void launch_f32_to_bf16(cudaStream_t s, bf16 *out, const float *in, size_t n);
/* out (n) f32 = in (n) bf16 */
void launch_bf16_to_f32(cudaStream_t s, float *out, const bf16 *in, size_t n);
/* w (n) bf16 = w + delta (n) f32 */
void launch_add_f32(cudaStream_t s, bf16 *w, const float *delta, size_t n);
/* out (T, C) = table[tokens] with table (V, C) */
void launch_embed(cudaStream_t s, bf16 *out, const bf16 *table, const int32_t *tokens, int T, int C);
/* Up to ONE_INPUT_MOST products (or adapters) of one input: q, k, v; gate, up */
static constexpr int ONE_INPUT_MOST = 3;
/* products of one input side by side in an f32 (T, N[0] + N[1] + ...): product i goes to out[i] (T, N[i]) with
 * bias[i] (N[i]) or NULL */
struct ProductGroup {
    int n;
    bf16 *out[ONE_INPUT_MOST];
    const bf16 *bias[ONE_INPUT_MOST];
    int N[ONE_INPUT_MOST];
};
/* Finishes products as a bf16 model's linear layers and residual add do: each p plus its bias, rounded once (the
 * bias rides in cuBLAS's epilogue there); then, when accumulate, out + that, rounded again; else that. */
void launch_finish_products(cudaStream_t s, const ProductGroup &group, const float *p, int T, bool accumulate);
/* the same for one product p (T, N) */
void launch_finish_product(cudaStream_t s, bf16 *out, const float *p, const bf16 *bias, int T, int N, bool accumulate);
/* x (n) += y (n) */
void launch_add(cudaStream_t s, bf16 *x, const bf16 *y, size_t n);
/* out (n, C) = in[rows] */
void launch_gather_rows(cudaStream_t s, bf16 *out, const bf16 *in, const int *rows, int n, int C);
/* out (n) f32 = in (n) f32 rounded to bf16 (logits as transformers' bf16 head gives them) */
void launch_round_bf16(cudaStream_t s, float *out, const float *in, size_t n);

/* rmsnorm.cu: out (T, C) = in / rms(in) * weight (C) */
void launch_rmsnorm(cudaStream_t s, bf16 *out, const bf16 *in, const bf16 *weight, int T, int C, float eps);
/* dx (T, C) (+)= the gradient through out = rmsnorm(x) * weight, given dout (T, C) */
void launch_rmsnorm_backward(cudaStream_t s, bf16 *dx, const bf16 *x, const bf16 *weight, const bf16 *dout, int T,
                             int C, float eps, bool accumulate);

/* adapter.cu: adapters of one input: adapter i adds to out[i] (T, N[i]), then out[i] to residual[i] (T, N[i]) unless
 * NULL */
struct LoraGroup {
    int n;
    bf16 *out[ONE_INPUT_MOST], *residual[ONE_INPUT_MOST];
    const float *a[ONE_INPUT_MOST], *bm[ONE_INPUT_MOST]; /* (r, K), (N[i], r) */
    int N[ONE_INPUT_MOST];
};
/* The adapters of a few rows (a decode step's) in two kernels, whatever their number: z32 (n, T, r) f32, and z
 * bf16, = in (T, K) @ a[i] (r, K)^T summed in f32 from the bf16 input; then out[i] += scale * z32[i] @ bm[i]^T, the
 * sum with out in f32, and residual[i] += out[i], rounded as a residual add */
void launch_lora_small(cudaStream_t s, const LoraGroup &group, const bf16 *in, bf16 *z, float *z32, int T, int K,
                       int r, float scale);
/* The adapters' outputs computed apart (cuBLAS): out[i] += y_i, the sum in f32, y_i the i-th block (T, N[i]) of y;
 * residual[i] += out[i] as above; z (n, T, r) bf16 = z32 */
void launch_lora_outs(cudaStream_t s, const LoraGroup &group, const float *y, int T, bf16 *z, const float *z32,
                      int r);

/* rotary.cu: q (T, Hq, D) and k (T, Hkv, D) rotated in place by the f32 tables cos, sin (positions, D / 2); inverse:
 * rotated back (the gradient of the rotation) */
void launch_rope(cudaStream_t s, bf16 *q, bf16 *k, const float *cos, const float *sin, DeviceBatch batch, int T,
                 int Hq, int Hkv, int D, bool inverse);

/* swiglu.cu: out (T, I) = silu(gate) * up */
void launch_swiglu(cudaStream_t s, bf16 *out, const bf16 *gate, const bf16 *up, size_t n);
/* dgate, dup (n) through act = silu(gate) * up, given dact (n) */
void launch_swiglu_backward(cudaStream_t s, bf16 *dgate, bf16 *dup, const bf16 *gate, const bf16 *up,
                            const bf16 *dact, size_t n);

/* logprobs.cu: A running log-sum-exp over vocabulary chunks, f32 logits rounded to bf16 first as transformers' bf16
 * head does: for each row t of chunk (T, n) (columns v0 .. v0 + n - 1), max[t] and sum[t] (f64) absorb the chunk and
 * picked[t] takes the logit of targets[t] if it falls in the chunk. first: max and sum start afresh. */
void launch_log_sum_exp(cudaStream_t s, const float *chunk, int T, int n, int v0, const int32_t *targets,
                        double *max, double *sum, float *picked, bool first);
/* out (T) = picked - max - log(sum); lse (T), if not NULL, = max + log(sum) */
void launch_logprob(cudaStream_t s, float *out, const float *picked, const double *max, const double *sum, int T,
                    double *lse);
/* grad (T, n) = d/dlogits of sum_t dlogp[t] * log softmax[t, targets[t]] for the chunk (T, n) of f32 logits of
 * columns v0 .. v0 + n - 1, given the whole vocabulary's log-sum-exp lse (T) */
void launch_logprob_grad(cudaStream_t s, bf16 *grad, const float *chunk, int T, int n, int v0,
                         const int32_t *targets, const double *lse, const float *dlogp);

/* dropout.cu: out (n) = in * keep / (1 - p), or out += that when add; keep: tina_rng_uniform(seed, stream, i) >= p */
void launch_dropout(cudaStream_t s, bf16 *out, const bf16 *in, size_t n, float p, uint64_t seed, uint64_t stream,
                    bool add);

/* sample.cu: tokens (rows,) and logprobs (rows,) = the draws from logits (rows, V) f32 with uniform (rows,), as
 * tina_sampler_draw draws; a token is -1 where the host must draw it (sample.cu says when) */
void launch_sample(cudaStream_t s, int32_t *tokens, double *logprobs, const float *logits, int rows, int V,
                   const TinaSamplerParams &params, const double *uniform);

/* attention.cu: stores the new k, v (T, Hkv, D) in the layer's cache (pages x page_len, Hkv, D) where `pages` puts
 * each token's slot and position, then out (T, Hq, D) = causal GQA attention of q over positions 0 .. position of
 * each token, for the head sizes tina_cuda_attention_fits admits (16, 32, 64, 96, 128). A decode step's way: each
 * token's keys in `splits` ranges, whose shares take partial (T x Hq x splits, D + 2) f32 when splits > 1. A
 * prefill's (tiles): blocks of 64 queries of a sequence against its keys 64 at a time, on the tensor cores. */
bool tina_cuda_attention_fits(int D);
void launch_attention(cudaStream_t s, bf16 *out, const bf16 *q, const bf16 *k, const bf16 *v, bf16 *k_cache,
                      bf16 *v_cache, TinaKVPages pages, DeviceBatch batch, int T, int Hq, int Hkv, int D,
                      int splits, float *partial, bool tiles);
/* out (T, Hq, D) = causal GQA attention of each sequence of the call over its own tokens, k and v (T, Hkv, D) the
 * call's (training's whole sequences, from position 0): the prefill's tiles on the tensor cores, without a cache */
void launch_self_attention(cudaStream_t s, bf16 *out, const bf16 *q, const bf16 *k, const bf16 *v, DeviceBatch batch,
                           int T, int Hq, int Hkv, int D);
/* the splits for T tokens of Hq query and Hkv kv heads whose longest walk is max_keys keys, on a GPU of `sms`
 * multiprocessors: enough warps to fill it (32 a multiprocessor; a warp serves a kv head's group of query heads),
 * no range shorter than a chunk of 32 keys; 1 when the tokens fill it */
int attention_splits(int T, int Hq, int Hkv, int max_keys, int sms);

/* attention_train.cu: a sequence's rows (n, H, D) to heads (H, n, D) and back */
void launch_to_heads(cudaStream_t s, bf16 *heads, const bf16 *rows, int n, int H, int D);
void launch_to_rows(cudaStream_t s, bf16 *rows, const bf16 *heads, int n, int H, int D);
/* p (rows, n) = the causal softmax of scores (rows, n) f32, row r being query r % n of its head */
void launch_causal_softmax(cudaStream_t s, bf16 *p, const float *scores, int rows, int n);
/* p (rows, n) = p * (dp - rowsum(p * dp)), in place: the softmax's backward (before the scale) */
void launch_softmax_backward(cudaStream_t s, bf16 *p, const float *dp, int rows, int n);

#endif
