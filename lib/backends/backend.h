/* backend: the seam between the model math (model.c, written once) and the hardware.
 *
 * cpu_backend.c implements it in f32 with gemm.c and OpenMP (the reference); cuda/ implements it in bf16 with
 * cuBLAS. Pointers marked W (weights) and A (activations, the KV cache) are in the backend's memory and its storage
 * types (weight_bytes and act_bytes per element: 4 and 4 on the CPU, 2 and 2 for bf16); F pointers are f32 in the
 * backend's memory (LoRA matrices); plain host pointers (token ids, positions, the batch layout, logits and
 * log-probs out) are the caller's, and the backend moves them where it needs them.
 *
 * Shapes use T (tokens in the call), C (hidden), Hq, Hkv, D (heads, kv heads, head size), I (MLP width), V (vocab),
 * r (LoRA rank). Matrices are row-major; a weight (N, K) maps K inputs to N outputs as in torch.nn.Linear. */
#ifndef TINA_BACKEND_H
#define TINA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "io/safetensors.h"
#include "backends/sampler.h"

/* The sequences of one forward call: sequence s adds n_new[s] tokens to KV slot slot[s], which holds n_past[s]
 * already; its tokens are rows first[s] .. first[s] + n_new[s] - 1 of every (T, ...) activation. */
typedef struct {
    int n_seqs;
    const int *slot;
    const int *n_past;
    const int *n_new;
    const int *first;
    int n_tokens;             /* T */
    const int32_t *tokens;    /* (T,) */
    const int32_t *positions; /* (T,) position of each token in its sequence */
} TinaBatch;

/* Where a KV cache keeps each slot's positions: position p of slot s is row table[s * per_slot + p / page_len] *
 * page_len + p % page_len of a layer's keys or values (pages x page_len, Hkv, D). Only the backend's attention
 * reads inside a page, and pages are copied whole, so a backend may order a page's values its own way (the CPU keeps
 * its keys transposed, (Hkv, D, page_len) a page). */
typedef struct {
    const int32_t *table; /* (slots, per_slot) in backend memory */
    int per_slot, page_len;
} TinaKVPages;

static inline size_t tina_kv_row(const TinaKVPages *pages, int slot, int position) {
    return (size_t)pages->table[(size_t)slot * pages->per_slot + position / pages->page_len] * pages->page_len +
           (size_t)(position % pages->page_len);
}

typedef struct TinaBackend TinaBackend;

struct TinaBackend {
    const char *name;
    size_t weight_bytes, act_bytes;
    /* backend memory is host memory: F pointers may be the caller's own (a LoRA adapter is used in place) */
    bool host_memory;

    /* memory: zeroed allocations in the backend's memory (NULL when out of memory) */
    void *(*alloc)(TinaBackend *b, size_t bytes);
    void (*release)(TinaBackend *b, void *p);
    /* about how many bytes alloc can still give (a GPU's free memory; the host's available memory) */
    size_t (*free_memory)(TinaBackend *b);
    /* copies bytes from host memory at src to backend memory at dst */
    void (*upload)(TinaBackend *b, void *dst, const void *src, size_t bytes);
    /* copies bytes from backend memory at src to host memory at dst, done when it returns */
    void (*download)(TinaBackend *b, void *dst, const void *src, size_t bytes);
    /* the first failure of an operation since the backend was made (a device error), or TINA_OK: operations return
     * nothing, so the model asks after each call */
    TinaStatus (*check)(TinaBackend *b, TinaError *err);
    /* sizes the backend's workspaces for calls of up to max_tokens tokens over caches of max_len positions, so that
     * no operation allocates */
    TinaStatus (*reserve)(TinaBackend *b, int max_tokens, int max_len, int head_dim, double rope_theta, TinaError *err);
    /* converts a F32/F16/BF16 tensor of a mapped file into W storage at dst */
    TinaStatus (*load)(TinaBackend *b, void *dst, const TinaTensorInfo *src, TinaError *err);
    /* copies n W values (weights) out as f32, for export and tests */
    void (*weights_to_host)(TinaBackend *b, float *dst, const void *src, size_t n);
    /* adds f32 host values into n W values in place (merging a LoRA delta) */
    void (*weights_add)(TinaBackend *b, void *dst, const float *delta, size_t n);

    /* out (T, C) A = table[tokens] with table (V, C) W */
    void (*embed)(TinaBackend *b, void *out, const void *table, const int32_t *tokens, int T, int C);
    /* out (T, C) A = in / rms(in) * weight, as HF: reduce in f32, normalise, then scale by weight (C) W */
    void (*rmsnorm)(TinaBackend *b, void *out, const void *in, const void *weight, int T, int C, float eps);
    /* out (T, N) A = in (T, K) A @ w (N, K) W ^T + bias (N) W or NULL; added into out when accumulate */
    void (*matmul)(TinaBackend *b, void *out, const void *in, const void *w, const void *bias, int T, int K, int N,
                   bool accumulate);
    /* out[i] (T, N[i]) A = in (T, K) A @ w[i] (N[i], K) W ^T + bias[i] (N[i]) W or NULL, for i < n: products of one
     * input (q, k, v; gate, up), which a backend may run as one (one parallel region on the CPU) */
    void (*matmuls)(TinaBackend *b, int n, void *const *out, const void *in, const void *const *w,
                    const void *const *bias, int T, int K, const int *N);
    /* out (T, N) A += scale * z @ bm (N, r) F ^T with z (T, r) A = in (T, K) A @ a (r, K) F ^T, left in z */
    void (*lora)(TinaBackend *b, void *out, const void *in, const float *a, const float *bm, void *z, int T, int K,
                 int N, int r, float scale);
    /* for i < n, out[i] (T, N[i]) A += scale * z_i @ bm[i] (N[i], r) F ^T with z_i = in (T, K) A @ a[i] (r, K) F ^T,
     * z_i the i-th (T, r) block of z: the adapters of one input (q, k, v; gate, up), which a backend may run as one;
     * then, unless residual is NULL, residual[i] (T, N[i]) A += out[i] (a module's output into the residual stream) */
    void (*loras)(TinaBackend *b, int n, void *const *out, const void *in, const float *const *a,
                  const float *const *bm, void *z, int T, int K, const int *N, int r, float scale,
                  void *const *residual);
    /* rotate-half RoPE in place on q (T, Hq, D) and k (T, Hkv, D) at the batch's positions, by reserve's tables */
    void (*rope)(TinaBackend *b, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D);
    /* stores the new k, v (T, Hkv, D) in this layer's cache (pages x page_len, Hkv, D) where `pages` puts each
     * sequence's positions, then causal GQA attention of q (T, Hq, D) over each sequence's cached keys:
     * out (T, Hq, D) A; f32 softmax */
    void (*attention)(TinaBackend *b, void *out, const void *q, const void *k, const void *v, void *k_cache,
                      void *v_cache, const TinaKVPages *pages, const TinaBatch *batch, int Hq, int Hkv, int D);
    /* out (T, I) A = silu(gate) * up, gate and up (T, I) A; out may be gate */
    void (*swiglu)(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I);
    /* dst = src, n A values (a KV-cache page copied on write) */
    void (*copy)(TinaBackend *b, void *dst, const void *src, size_t n);
    /* out (n, C) A = rows[0..n) of in (T, C) A */
    void (*gather_rows)(TinaBackend *b, void *out, const void *in, const int *rows, int n, int C);
    /* x (n) A += y (n) A */
    void (*add)(TinaBackend *b, void *x, const void *y, size_t n);
    /* out (rows, V) host f32 = h (rows, C) A @ head (V, C) W ^T */
    void (*logits)(TinaBackend *b, float *out, const void *h, const void *head, int rows, int C, int V);
    /* tokens (rows,) and logprobs (rows,) on the host: row i's next token, drawn from the logits h (rows, C) A @
     * head (V, C) W ^T with the uniform u[i] as tina_sampler_draw draws it (sampler.h), so that a GPU hands over
     * the drawn tokens instead of the logits */
    void (*sample)(TinaBackend *b, int32_t *tokens, double *logprobs, const void *h, const void *head, int rows,
                   int C, int V, const TinaSamplerParams *params, const double *u);
    /* out (T,) host f32 = log softmax(h @ head^T)[targets], the vocabulary taken in chunks, never whole; lse (T,)
     * f64 in backend memory, if not NULL, keeps each row's log-sum-exp for logprobs_backward */
    void (*logprobs)(TinaBackend *b, float *out, const void *h, const void *head, const int32_t *targets, int T,
                     int C, int V, double *lse);

    /* ---- backward (training): gradients reach activations and LoRA matrices, never the frozen weights. An
     * activation gradient is overwritten unless `accumulate`; LoRA gradients (F) always accumulate. ---- */
    /* dh (T, C) A = d/dh of sum_t dlogp[t] * log softmax(h @ head^T)[t, targets[t]], the vocabulary in chunks,
     * given lse (T,) as logprobs kept it for the same h: one pass of the head, not two */
    void (*logprobs_backward)(TinaBackend *b, void *dh, const void *h, const void *head, const int32_t *targets,
                              const float *dlogp, int T, int C, int V, const double *lse);
    /* dx (T, C) A (+)= the gradient through out = rmsnorm(x) * weight, given dout (T, C) A */
    void (*rmsnorm_backward)(TinaBackend *b, void *dx, const void *x, const void *weight, const void *dout, int T,
                             int C, float eps, bool accumulate);
    /* din (T, K) A (+)= dout (T, N) A @ w (N, K) W */
    void (*matmul_backward)(TinaBackend *b, void *din, const void *dout, const void *w, int T, int K, int N,
                            bool accumulate);
    /* through out += scale * z @ bm^T, z = in @ a^T (T, r) A as the forward's lora left it: din (T, K) A (+)=,
     * da (r, K) F +=, db (N, r) F +=; dscratch (T, r) A */
    void (*lora_backward)(TinaBackend *b, void *din, float *da, float *db, const void *in, const void *dout,
                          const float *a, const float *bm, const void *z, void *dscratch, int T, int K, int N, int r,
                          float scale, bool accumulate);
    /* the inverse rotation of rope, in place on dq (T, Hq, D) and dk (T, Hkv, D) */
    void (*rope_backward)(TinaBackend *b, void *dq, void *dk, const TinaBatch *batch, int Hq, int Hkv, int D);
    /* causal attention of each sequence over its own tokens (n_past 0), no cache: out (T, Hq, D) A from q (T, Hq, D)
     * and k, v (T, Hkv, D) A after rope; the training forward, which need not be batch-invariant */
    void (*self_attention)(TinaBackend *b, void *out, const void *q, const void *k, const void *v,
                           const TinaBatch *batch, int Hq, int Hkv, int D);
    /* the backward of self_attention: dq (T, Hq, D), dk and dv (T, Hkv, D) A from dout (T, Hq, D) and the forward's
     * q (after rope), k (after rope), v */
    void (*attention_backward)(TinaBackend *b, void *dq, void *dk, void *dv, const void *q, const void *k,
                               const void *v, const void *dout, const TinaBatch *batch, int Hq, int Hkv, int D);
    /* dgate, dup (T, I) A through act = silu(gate) * up, from dact (T, I) A and the forward's gate and up */
    void (*swiglu_backward)(TinaBackend *b, void *dgate, void *dup, const void *gate, const void *up,
                            const void *dact, int T, int I);

    /* LoRA dropout, the mask a pure function of (seed, stream, row x K + column) so that the backward's recompute
     * draws it again: out (T, K) A = in * keep / (1 - p), keep with probability 1 - p */
    void (*dropout)(TinaBackend *b, void *out, const void *in, int T, int K, float p, uint64_t seed,
                    uint64_t stream);
    /* dst (T, K) A += src (T, K) A * keep / (1 - p), with dropout's mask for the same seed and stream */
    void (*dropout_backward)(TinaBackend *b, void *dst, const void *src, int T, int K, float p, uint64_t seed,
                             uint64_t stream);

    /* Recorded decode steps (NULL where a backend has none; CUDA graphs). The operations between graph_begin and
     * graph_end are a step of shape `key`: whenever the key is the same, so are the operations, their pointers and
     * sizes, and only the contents of the batch's tokens, positions and slots and of gather_rows' rows differ. The
     * backend may run them, record them, or replay a recording instead; graph_end returns false when they did not
     * run (a recording failed: for want of memory it is tried again later, else recording is off) and the caller
     * must issue them again. A backend forgets its recordings whenever it frees memory. */
    void (*graph_begin)(TinaBackend *b, uint64_t key);
    bool (*graph_end)(TinaBackend *b);

    void (*destroy)(TinaBackend *b);
};

/* The f32 reference backend. threads: OpenMP threads (0: all cores). */
TinaStatus tina_cpu_backend_new(int threads, TinaBackend **backend, TinaError *err);

/* The backend called name: "cpu", or "cuda" (the first GPU) in a build with CUDA=1. threads: the CPU backend's.
 * A backend this build or machine lacks is TINA_ERR_INPUT, with a message that says so. */
TinaStatus tina_backend_new(const char *name, int threads, TinaBackend **backend, TinaError *err);

#endif
