/* cpu: the CPU backend's private header: its state and the operations cpu_backend.c puts in its table, each
 * defined in the file of its op. Part of backends/cpu, included by nothing else. */
#ifndef TINA_CPU_H
#define TINA_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/backend.h"
#include "backends/cpu/gemm.h"
#include "io/config.h"

enum { VOCAB_CHUNK = 4096 }; /* rows of the head per log-prob step: (T, 4096) f32 at most, never (T, V) */

enum { QUERY_BLOCK = 64 };   /* queries per step of the training attention: (64, sequence length) scores */

enum { ATTENTION_ROWS = TINA_MAX_HEAD_GROUP }; /* query rows (tokens x a group's heads) of a cached-attention task */

typedef struct {
    TinaBackend base;
    int threads;
    bool avx2;      /* the attention's and activations' vector code needs AVX2 and FMA */
    bool avx512;    /* and runs sixteen floats at a time with AVX-512F (the same bits) */
    float *scratch; /* cpu_attention_floats(block_len, D) a thread for the attention, or log-prob chunks
                     * (T, VOCAB_CHUNK) and sums */
    size_t scratch_len;
    int block_len;  /* the longest sequence the attention scratch holds */
    float *rope_cos, *rope_sin; /* (rope_positions, D / 2) tables for one (theta, D), one allocation */
    int rope_positions, rope_dim;
    double rope_theta;
    struct Packed *packed;     /* the weight matrices' copies in gemm's strips */
    int n_packed, packed_cap;
    struct Block *blocks;      /* every allocation and its size, so that releasing weights drops their copies */
    int n_blocks, blocks_cap;
    float *draw_logits;        /* (draw_rows, draw_vocab) the logits sample draws from */
    int draw_rows, draw_vocab;
    TinaSampler **samplers;    /* (threads,) for draw_vocab tokens */
    float *scaled;             /* the LoRA backward's operands times the adapter's scale */
    size_t scaled_len;
    bool out_of_memory;        /* a workspace (sample's, gemm's, the LoRA backward's) could not grow: check says */
} Cpu;

typedef struct Block {
    char *p;
    size_t bytes;
} Block;

/* A weight matrix w (N, K) and its copy p in gemm's strips (tina_gemm_pack) */
typedef struct Packed {
    const float *w;
    float *p;
    int N, K;
} Packed;

/* cpu_backend.c */
void cpu_add(TinaBackend *b, void *x, const void *y, size_t n);

/* cpu_norm.c */
void cpu_rmsnorm(TinaBackend *b, void *out, const void *in, const void *weight, int T, int C, float eps);
void cpu_rmsnorm_backward(TinaBackend *b, void *dx, const void *x, const void *weight, const void *dout, int T,
                          int C, float eps, bool accumulate);

/* cpu_matmul.c */
void cpu_product(Cpu *c, float *out, const float *in, const float *w, const float *bias, int T, int K, int N,
                 float alpha, bool accumulate);
void cpu_products(Cpu *c, const TinaProduct *p, int n, int threads);
void cpu_general(Cpu *c, int threads, float *out, size_t ldc, TinaMatrix a, TinaMatrix b, int M, int N, int K,
                 bool accumulate);
void cpu_matmul(TinaBackend *b, void *out, const void *in, const void *w, const void *bias, int T, int K, int N,
                bool accumulate);
void cpu_matmuls(TinaBackend *b, int n, void *const *out, const void *in, const void *const *w,
                 const void *const *bias, int T, int K, const int *N);
void cpu_lora(TinaBackend *b, void *out, const void *in, const float *a, const float *bm, void *z, int T,
              int K, int N, int r, float scale);
void cpu_loras(TinaBackend *b, int n, void *const *out, const void *in, const float *const *a,
               const float *const *bm, void *z, int T, int K, const int *N, int r, float scale,
               void *const *residual);
void cpu_matmul_backward(TinaBackend *b, void *din, const void *dout, const void *w, int T, int K, int N,
                         bool accumulate);
void cpu_lora_backward(TinaBackend *b, void *din, float *da, float *db, const void *in, const void *dout,
                       const float *a, const float *bm, const void *z, void *dscratch, int T, int K, int N,
                       int r, float scale, bool accumulate);

/* cpu_rope.c */
void cpu_rope(TinaBackend *b, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D);
void cpu_rope_backward(TinaBackend *b, void *dq, void *dk, const TinaBatch *batch, int Hq, int Hkv, int D);

/* cpu_attention.c */
size_t cpu_attention_floats(size_t L, size_t D);
void cpu_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v, void *k_cache,
                   void *v_cache, const TinaKVPages *pages, const TinaBatch *batch, int Hq, int Hkv, int D);
void cpu_self_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v,
                        const TinaBatch *batch, int Hq, int Hkv, int D);
void cpu_attention_backward(TinaBackend *b, void *dq, void *dk, void *dv, const void *q, const void *k,
                            const void *v, const void *dout, const TinaBatch *batch, int Hq, int Hkv, int D);

/* cpu_swiglu.c */
void cpu_swiglu(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I);
void cpu_swiglu_backward(TinaBackend *b, void *dgate, void *dup, const void *gate, const void *up,
                         const void *dact, int T, int I);

/* cpu_logits.c */
void cpu_logits(TinaBackend *b, float *out, const void *h, const void *head, int rows, int C, int V);
void cpu_free_samplers(Cpu *c);
void cpu_sample(TinaBackend *b, int32_t *tokens, double *logprobs, const void *h, const void *head, int rows,
                int C, int V, const TinaSamplerParams *params, const double *u);
void cpu_logprobs(TinaBackend *b, float *out, const void *h, const void *head, const int32_t *targets, int T,
                  int C, int V, double *lse);
void cpu_logprobs_backward(TinaBackend *b, void *dh, const void *h, const void *head, const int32_t *targets,
                           const float *dlogp, int T, int C, int V, const double *lse);

/* cpu_dropout.c */
void cpu_dropout(TinaBackend *b, void *out, const void *in, int T, int K, float p, uint64_t seed,
                 uint64_t stream);
void cpu_dropout_backward(TinaBackend *b, void *dst, const void *src, int T, int K, float p, uint64_t seed,
                          uint64_t stream);

#endif
