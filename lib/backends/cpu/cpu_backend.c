/* cpu_backend: the f32 reference implementation of the backend seam: every matrix product through gemm.c (one fixed
 * order of sums per output, whatever the processor, threads or batch), OpenMP across rows and heads for the rest.
 * Every weight matrix is held twice: as loaded (N, K), for the backward, and laid out in gemm's strips for the
 * forward (2x the weights' memory: no packing in the products that decode and prefill run most). */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "io/config.h"
#include "backends/cpu/gemm.h"
#include "backends/kv_cache.h"
#include "backends/cpu/simd.h"
#include "base/rng.h"
#include "backends/rope.h"

enum { VOCAB_CHUNK = 4096 }; /* rows of the head per log-prob step: (T, 4096) f32 at most, never (T, V) */
enum { QUERY_BLOCK = 64 };   /* queries per step of the training attention: (64, sequence length) scores */
enum { ATTENTION_ROWS = TINA_MAX_HEAD_GROUP }; /* query rows (tokens x a group's heads) of a cached-attention task */

/* the floats of one thread's attention workspace for sequences of up to L positions and head size D: the
 * training attention's (2 query blocks of scores) or the cached attention's (attention_task_run), the larger */
static size_t attention_floats(size_t L, size_t D) {
    size_t pointers = 2 * L * sizeof(float *) / sizeof(float); /* a sequence's value rows and key pages */
    size_t training = 2 * (size_t)QUERY_BLOCK * L, cached = (size_t)ATTENTION_ROWS * (2 * D + L) + pointers;
    size_t floats = training > cached ? training : cached;
    return floats + floats % 2; /* each thread's part 8-byte aligned, for the pointers */
}

typedef struct {
    TinaBackend base;
    int threads;
    bool avx2;      /* the attention's and activations' vector code needs AVX2 and FMA */
    float *scratch; /* attention_floats(block_len, D) a thread for the attention, or log-prob chunks (T, VOCAB_CHUNK)
                     * and sums */
    size_t scratch_len;
    int block_len;  /* the longest sequence the attention scratch holds */
    float *rope_cos, *rope_sin; /* (rope_positions, D / 2) tables for one (theta, D) */
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

/* w's packed copy, when it has one of that shape */
static const Packed *packed_of(const Cpu *c, const float *w, int N, int K) {
    for (int i = 0; i < c->n_packed; i++)
        if (c->packed[i].w == w) return c->packed[i].N == N && c->packed[i].K == K ? &c->packed[i] : NULL;
    return NULL;
}

static void *cpu_alloc(TinaBackend *b, size_t bytes) {
    Cpu *c = (Cpu *)b;
    if (c->n_blocks == c->blocks_cap) {
        int cap = c->blocks_cap ? 2 * c->blocks_cap : 16;
        Block *grown = realloc(c->blocks, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        c->blocks = grown, c->blocks_cap = cap;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (p) c->blocks[c->n_blocks++] = (Block){p, bytes};
    return p;
}

static void cpu_release(TinaBackend *b, void *p) {
    Cpu *c = (Cpu *)b;
    for (int i = 0; i < c->n_blocks; i++) {
        if (c->blocks[i].p != p) continue;
        const char *end = c->blocks[i].p + c->blocks[i].bytes;
        for (int j = 0; j < c->n_packed;) { /* the packed copies of weights in it go with it */
            const char *w = (const char *)c->packed[j].w;
            if (w >= (const char *)p && w < end) {
                free(c->packed[j].p);
                c->packed[j] = c->packed[--c->n_packed];
            } else {
                j++;
            }
        }
        c->blocks[i] = c->blocks[--c->n_blocks];
        break;
    }
    free(p);
}

/* MemAvailable of /proc/meminfo, else the free pages */
static size_t cpu_free_memory(TinaBackend *b) {
    (void)b;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib ? (size_t)kib * 1024 : (size_t)sysconf(_SC_AVPHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
}

/* upload and download: backend memory is host memory */
static void cpu_copy_bytes(TinaBackend *b, void *dst, const void *src, size_t bytes) {
    (void)b;
    memcpy(dst, src, bytes);
}

static TinaStatus cpu_check(TinaBackend *b, TinaError *err) {
    /* every other failure of the CPU's operations is caught before they run */
    if (((Cpu *)b)->out_of_memory) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (sampling workspace)");
    return TINA_OK;
}

static TinaStatus cpu_load(TinaBackend *b, void *dst, const TinaTensorInfo *src, TinaError *err) {
    Cpu *c = (Cpu *)b;
    TinaStatus status = tina_tensor_to_f32(src, dst, err);
    if (status || src->ndim != 2) return status;
    int N = (int)src->shape[0], K = (int)src->shape[1];
    if (c->n_packed == c->packed_cap) {
        int cap = c->packed_cap ? 2 * c->packed_cap : 64;
        Packed *grown = realloc(c->packed, (size_t)cap * sizeof *grown);
        if (!grown) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
        c->packed = grown, c->packed_cap = cap;
    }
    float *p = aligned_alloc(64, tina_gemm_packed_floats(N, K) * sizeof *p);
    if (!p) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (a packed copy of %s)", src->name);
    tina_gemm_pack(p, dst, N, K, false);
    c->packed[c->n_packed++] = (Packed){dst, p, N, K};
    return TINA_OK;
}

static void cpu_weights_to_host(TinaBackend *b, float *dst, const void *src, size_t n) {
    (void)b;
    memcpy(dst, src, n * sizeof *dst);
}

/* (merging an adapter adds a whole matrix's delta at a time: to its packed copy as well) */
static void cpu_weights_add(TinaBackend *b, void *dst, const float *delta, size_t n) {
    float *w = dst;
    for (size_t i = 0; i < n; i++) w[i] += delta[i];
    Cpu *c = (Cpu *)b;
    for (int i = 0; i < c->n_packed; i++)
        if (c->packed[i].w == w && (size_t)c->packed[i].N * c->packed[i].K == n)
            tina_gemm_pack(c->packed[i].p, delta, c->packed[i].N, c->packed[i].K, true);
}

static void cpu_embed(TinaBackend *b, void *out, const void *table, const int32_t *tokens, int T, int C) {
    (void)b;
    for (int t = 0; t < T; t++)
        memcpy((float *)out + (size_t)t * C, (const float *)table + (size_t)tokens[t] * C, (size_t)C * sizeof(float));
}

static void cpu_rmsnorm(TinaBackend *b, void *out, const void *in, const void *weight, int T, int C, float eps) {
    (void)b;
    const float *w = weight;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        const float *x = (const float *)in + (size_t)t * C;
        float *y = (float *)out + (size_t)t * C;
        float sum = 0;
        for (int i = 0; i < C; i++) sum += x[i] * x[i];
        float scale = 1.0f / sqrtf(sum / (float)C + eps);
        for (int i = 0; i < C; i++) y[i] = w[i] * (x[i] * scale);
    }
}

/* ---- matrix products ------------------------------------------------------------------------------------------ */

/* out (T, N) = alpha in (T, K) @ w (N, K)^T (+ bias (N) unless NULL), or out + that when accumulating, through w's
 * packed copy when it has one: gemm.h's order, so each row the same whatever rows come with it. */
static TinaProduct weight_product(const Cpu *c, float *out, const float *in, const float *w, const float *bias, int T,
                                  int K, int N, float alpha, bool accumulate) {
    const Packed *p = packed_of(c, w, N, K);
    return (TinaProduct){.c = out, .ldc = (size_t)N, .a = tina_matrix(in, (size_t)K, false),
                         .b = tina_matrix(w, (size_t)K, true),
                         .packed = p ? p->p : NULL, .bias = bias, .alpha = alpha, .M = T, .N = N, .K = K,
                         .accumulate = accumulate};
}

/* the products by threads (1: the calling thread alone, inside a parallel region); a workspace that could not be
 * had is reported by check */
static void products(Cpu *c, const TinaProduct *p, int n, int threads) {
    if (!tina_gemm(p, n, threads)) {
#pragma omp atomic write
        c->out_of_memory = true;
    }
}

static void product(Cpu *c, float *out, const float *in, const float *w, const float *bias, int T, int K, int N,
                    float alpha, bool accumulate) {
    TinaProduct p = weight_product(c, out, in, w, bias, T, K, N, alpha, accumulate);
    products(c, &p, 1, c->threads);
}

/* out (M, N), rows ldc apart, (+)= alpha A (M, K) B (K, N) */
static void general(Cpu *c, int threads, float *out, size_t ldc, TinaMatrix a, TinaMatrix b, float alpha, int M, int N,
                    int K, bool accumulate) {
    TinaProduct p = {.c = out, .ldc = ldc, .a = a, .b = b, .alpha = alpha, .M = M, .N = N, .K = K,
                     .accumulate = accumulate};
    products(c, &p, 1, threads);
}

static void cpu_matmul(TinaBackend *b, void *out, const void *in, const void *w, const void *bias, int T, int K, int N,
                       bool accumulate) {
    product((Cpu *)b, out, in, w, bias, T, K, N, 1.0f, accumulate);
}

enum { MAX_PRODUCTS = 4 };

/* several products of one input in one parallel region: one barrier for all */
static void cpu_matmuls(TinaBackend *b, int n, void *const *out, const void *in, const void *const *w,
                        const void *const *bias, int T, int K, const int *N) {
    Cpu *c = (Cpu *)b;
    TinaProduct p[MAX_PRODUCTS];
    for (int done = 0; done < n; done += MAX_PRODUCTS) {
        int now = n - done < MAX_PRODUCTS ? n - done : MAX_PRODUCTS;
        for (int i = 0; i < now; i++)
            p[i] = weight_product(c, out[done + i], in, w[done + i], bias[done + i], T, K, N[done + i], 1.0f, false);
        products(c, p, now, c->threads);
    }
}

static void cpu_lora(TinaBackend *b, void *out, const void *in, const float *a, const float *bm, void *z, int T,
                     int K, int N, int r, float scale) {
    product((Cpu *)b, z, in, a, NULL, T, K, r, 1.0f, false);
    product((Cpu *)b, out, z, bm, NULL, T, r, N, scale, true);
}

/* the workspaces, and the rope tables (rope.h) for max_len positions */
static TinaStatus cpu_reserve(TinaBackend *b, int max_tokens, int max_len, int D, double theta, TinaError *err) {
    Cpu *c = (Cpu *)b;
    int block_len = max_len > c->block_len ? max_len : c->block_len;
    /* attention scores and their gradients, or the cached attention's products, per thread */
    size_t need = (size_t)c->threads * attention_floats((size_t)block_len, (size_t)D);
    size_t logprob = (size_t)max_tokens * (VOCAB_CHUNK + 4);       /* a vocabulary chunk and two doubles a row */
    if (logprob > need) need = logprob;
    if (need > c->scratch_len) {
        float *bigger = realloc(c->scratch, need * sizeof *bigger);
        if (!bigger) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (CPU workspace of %zu floats)", need);
        c->scratch = bigger;
        c->scratch_len = need;
    }
    c->block_len = block_len;
    if (max_len <= c->rope_positions && D == c->rope_dim && theta == c->rope_theta) return TINA_OK;
    size_t n = (size_t)max_len * (size_t)(D / 2);
    float *cs = malloc(n * sizeof *cs), *sn = malloc(n * sizeof *sn);
    if (!cs || !sn) {
        free(cs);
        free(sn);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (rope tables)");
    }
    tina_rope_tables(cs, sn, max_len, D, theta);
    free(c->rope_cos);
    free(c->rope_sin);
    c->rope_cos = cs;
    c->rope_sin = sn;
    c->rope_positions = max_len;
    c->rope_dim = D;
    c->rope_theta = theta;
    return TINA_OK;
}

/* rotate-half: element j pairs with j + D/2; direction -1 rotates back (rope's gradient) */
static void rotate(float *x, const float *cs, const float *sn, int half, float direction) {
    for (int j = 0; j < half; j++) {
        float x1 = x[j], x2 = x[j + half], s = direction * sn[j];
        x[j] = x1 * cs[j] - x2 * s;
        x[j + half] = x2 * cs[j] + x1 * s;
    }
}

static void rotate_all(const Cpu *c, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D,
                       float direction) {
    int half = D / 2;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < batch->n_tokens; t++) {
        const float *cs = c->rope_cos + (size_t)batch->positions[t] * half;
        const float *sn = c->rope_sin + (size_t)batch->positions[t] * half;
        for (int h = 0; h < Hq; h++) rotate((float *)q + ((size_t)t * Hq + h) * D, cs, sn, half, direction);
        for (int h = 0; h < Hkv; h++) rotate((float *)k + ((size_t)t * Hkv + h) * D, cs, sn, half, direction);
    }
}

static void cpu_rope(TinaBackend *b, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D, double theta) {
    (void)theta; /* the tables were made for it by reserve */
    rotate_all((Cpu *)b, q, k, batch, Hq, Hkv, D, 1.0f);
}

/* p[0..n) = softmax(p[0..n)): the maximum (in any order: it is exact), e^(p - max) eight at a time and their sum in
 * eight lanes and a fixed horizontal sum, each value divided by it. */
__attribute__((target("avx2,fma"))) static void softmax_avx2(float *p, int n) {
    __m256 top = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 8) {
        __m256 x = load8(p, (size_t)i, (size_t)n);
        if (i + 8 > n) /* the tail's padding is not a value */
            x = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), x, _mm256_castsi256_ps(tail_mask8(n - i)));
        top = _mm256_max_ps(top, x);
    }
    float lanes[8], max = -INFINITY;
    _mm256_storeu_ps(lanes, top);
    for (int i = 0; i < 8; i++) max = lanes[i] > max ? lanes[i] : max;
    __m256 sum = _mm256_setzero_ps(), shift = _mm256_set1_ps(-max);
    for (int i = 0; i < n; i += 8) {
        __m256 e = exp8(_mm256_add_ps(load8(p, (size_t)i, (size_t)n), shift));
        if (i + 8 > n) e = _mm256_and_ps(e, _mm256_castsi256_ps(tail_mask8(n - i)));
        store8(p, (size_t)i, (size_t)n, e);
        sum = _mm256_add_ps(sum, e);
    }
    __m256 total = _mm256_set1_ps(sum8(sum));
    for (int i = 0; i < n; i += 8)
        store8(p, (size_t)i, (size_t)n, _mm256_div_ps(load8(p, (size_t)i, (size_t)n), total));
}

static void softmax(float *p, int n, bool avx2) {
    if (avx2) {
        softmax_avx2(p, n);
        return;
    }
    float max = -INFINITY, sum = 0;
    for (int j = 0; j < n; j++) max = p[j] > max ? p[j] : max;
    for (int j = 0; j < n; j++) p[j] = expf(p[j] - max);
    for (int j = 0; j < n; j++) sum += p[j];
    for (int j = 0; j < n; j++) p[j] /= sum;
}

/* A task's rows: its sequence, its first token (row of the batch) and how many, and its kv head */
typedef struct {
    int seq, first, tokens, kv_head;
} AttentionTask;

/* Task `task` of the batch, cut into blocks of `per_task` tokens of a sequence, times Hkv */
static AttentionTask attention_task(const TinaBatch *batch, int per_task, int Hkv, int task) {
    int block = task / Hkv, s = 0;
    for (;; s++) {
        int blocks = (batch->n_new[s] + per_task - 1) / per_task;
        if (block < blocks) break;
        block -= blocks;
    }
    int first = block * per_task, left = batch->n_new[s] - first;
    return (AttentionTask){s, batch->first[s] + first, left < per_task ? left : per_task, task % Hkv};
}

/* The CPU's KV cache: a page's values as backend.h lays them out, (page_len, Hkv, D); its keys transposed,
 * (Hkv, D, page_len), so that a kv head's D x 16 block of a page is a strip of gemm's B for the scores, with no
 * packing in a decoding step (where packing the keys took 12% of the time). */
_Static_assert((int)TINA_KV_PAGE == (int)TINA_GEMM_STRIP, "a page of keys is one strip of gemm's B");

static float *transposed_key(float *k_cache, size_t at, size_t row, size_t e) {
    return k_cache + at / TINA_KV_PAGE * TINA_KV_PAGE * row + e * TINA_KV_PAGE + at % TINA_KV_PAGE;
}

/* The cached attention of one task, in matrix products of its own workspace w: its queries Q (rows = tokens x the
 * group's heads, D), the sequence's keys K and values V read from their pages (keys, D), S = scale Q K^T, a causal
 * softmax along each row, then O = S V. Each score is one chain over the head size, each output one chain over
 * every key of the task (a row's keys past its own position have probability 0 and add nothing, not even a
 * rounding): a row's values depend on that row alone, so decoding, prefill in any blocks and a rebuilt cache agree
 * bit for bit. */
static void attention_task_run(const Cpu *c, float *w, float *out, const float *q, const float *k_cache,
                               const float *v_cache, const TinaKVPages *pages, const TinaBatch *batch,
                               AttentionTask a, int Hq, int Hkv, int D) {
    int group = Hq / Hkv, rows = a.tokens * group, keys = batch->positions[a.first + a.tokens - 1] + 1;
    size_t row = (size_t)Hkv * D, d = (size_t)D;
    float *Q = w, *O = Q + (size_t)ATTENTION_ROWS * D, *S = O + (size_t)ATTENTION_ROWS * D;
    const float **V = (const float **)(S + (size_t)ATTENTION_ROWS * c->block_len); /* (keys,) rows */
    const float **K = V + keys; /* (pages,) the kv head's strip of each page */
    for (int i = 0; i < a.tokens; i++) /* a token's group of heads lies together */
        memcpy(Q + (size_t)i * group * D, q + ((size_t)(a.first + i) * Hq + (size_t)a.kv_head * group) * D,
               (size_t)group * D * sizeof *Q);
    for (int j0 = 0; j0 < keys; j0 += TINA_KV_PAGE) { /* a page's values are rows `row` apart */
        size_t at = tina_kv_row(pages, batch->slot[a.seq], j0);
        K[j0 / TINA_KV_PAGE] = transposed_key((float *)k_cache, at, row, (size_t)a.kv_head * D);
        const float *vp = v_cache + at * row + (size_t)a.kv_head * D;
        for (int j = j0; j < keys && j < j0 + TINA_KV_PAGE; j++) V[j] = vp + (size_t)(j - j0) * row;
    }
    TinaProduct scores = {.c = S, .ldc = (size_t)keys, .a = tina_matrix(Q, d, false), .strips = K,
                          .alpha = 1.0f / sqrtf((float)D), .M = rows, .N = keys, .K = D};
    TinaProduct mix = {.c = O, .ldc = d, .a = tina_matrix(S, (size_t)keys, false), .b = {.rows = V}, .alpha = 1.0f,
                       .M = rows, .N = D, .K = keys};
    bool ok = tina_gemm(&scores, 1, 1);
    for (int r = 0; r < rows; r++) {
        int visible = batch->positions[a.first + r / group] + 1; /* causal: itself and everything before it */
        float *p = S + (size_t)r * keys;
        softmax(p, visible, c->avx2);
        memset(p + visible, 0, (size_t)(keys - visible) * sizeof *p);
    }
    ok = ok && tina_gemm(&mix, 1, 1);
    for (int i = 0; i < a.tokens; i++)
        memcpy(out + ((size_t)(a.first + i) * Hq + (size_t)a.kv_head * group) * D, O + (size_t)i * group * D,
               (size_t)group * D * sizeof *O);
    if (!ok) {
#pragma omp atomic write
        ((Cpu *)c)->out_of_memory = true;
    }
}

static void cpu_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v, void *k_cache,
                          void *v_cache, const TinaKVPages *pages, const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cpu *c = (Cpu *)b;
    size_t row = (size_t)Hkv * D; /* one position's keys or values */
    for (int s = 0; s < batch->n_seqs; s++)
        for (int i = 0; i < batch->n_new[s]; i++) {
            size_t t = (size_t)(batch->first[s] + i), at = tina_kv_row(pages, batch->slot[s], batch->n_past[s] + i);
            for (size_t e = 0; e < row; e++) *transposed_key(k_cache, at, row, e) = ((const float *)k)[t * row + e];
            memcpy((float *)v_cache + at * row, (const float *)v + t * row, row * sizeof(float));
        }
    int group = Hq / Hkv, per_task = ATTENTION_ROWS / group > 0 ? ATTENTION_ROWS / group : 1, tasks = 0;
    for (int s = 0; s < batch->n_seqs; s++) tasks += (batch->n_new[s] + per_task - 1) / per_task * Hkv;
    size_t stride = attention_floats((size_t)c->block_len, (size_t)D);
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
    for (int task = 0; task < tasks; task++)
        attention_task_run(c, c->scratch + (size_t)omp_get_thread_num() * stride, out, q, k_cache, v_cache, pages,
                           batch, attention_task(batch, per_task, Hkv, task), Hq, Hkv, D);
}

__attribute__((target("avx2,fma"))) static void swiglu_avx2(float *out, const float *g, const float *u, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i += 8) {
        __m256 x = load8(g, i, n), e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
        store8(out, i, n, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), load8(u, i, n)));
    }
}

static void cpu_swiglu(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I) {
    float *o = out;
    const float *g = gate, *u = up;
    size_t n = (size_t)T * I;
    if (((Cpu *)b)->avx2) {
        swiglu_avx2(o, g, u, n);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

static void cpu_copy(TinaBackend *b, void *dst, const void *src, size_t n) {
    (void)b;
    memcpy(dst, src, n * sizeof(float));
}

static void cpu_gather_rows(TinaBackend *b, void *out, const void *in, const int *rows, int n, int C) {
    (void)b;
    for (int i = 0; i < n; i++)
        memcpy((float *)out + (size_t)i * C, (const float *)in + (size_t)rows[i] * C, (size_t)C * sizeof(float));
}

static void cpu_add(TinaBackend *b, void *x, const void *y, size_t n) {
    (void)b;
    float *xs = x;
    const float *ys = y;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) xs[i] += ys[i];
}

static void cpu_loras(TinaBackend *b, int n, void *const *out, const void *in, const float *const *a,
                      const float *const *bm, void *z, int T, int K, const int *N, int r, float scale,
                      void *const *residual) {
    for (int i = 0; i < n; i++) {
        cpu_lora(b, out[i], in, a[i], bm[i], (float *)z + (size_t)i * T * r, T, K, N[i], r, scale);
        if (residual) cpu_add(b, residual[i], out[i], (size_t)T * N[i]);
    }
}

static void cpu_logits(TinaBackend *b, float *out, const void *h, const void *head, int rows, int C, int V) {
    cpu_matmul(b, out, h, head, NULL, rows, C, V, false); /* the same rows whatever the batch, as every product */
}

static void free_samplers(Cpu *c) {
    for (int i = 0; c->samplers && i < c->threads; i++) tina_sampler_free(c->samplers[i]);
    free(c->samplers);
    c->samplers = NULL;
}

/* room for the logits of rows x V and a sampler per thread; false (and out_of_memory) when there is none */
static bool draw_workspace(Cpu *c, int rows, int V) {
    if (c->out_of_memory) return false;
    if (V != c->draw_vocab) {
        free_samplers(c);
        c->samplers = calloc((size_t)c->threads, sizeof *c->samplers);
        TinaError ignored;
        for (int i = 0; c->samplers && i < c->threads; i++)
            if (tina_sampler_new(V, &c->samplers[i], &ignored)) {
                free_samplers(c);
                break;
            }
        c->draw_vocab = V;
        c->draw_rows = 0;
    }
    if (c->samplers && rows > c->draw_rows) {
        free(c->draw_logits);
        c->draw_logits = malloc((size_t)rows * (size_t)V * sizeof *c->draw_logits);
        c->draw_rows = c->draw_logits ? rows : 0;
    }
    c->out_of_memory = !c->samplers || !c->draw_logits;
    return !c->out_of_memory;
}

static void cpu_sample(TinaBackend *b, int32_t *tokens, double *logprobs, const void *h, const void *head, int rows,
                       int C, int V, const TinaSamplerParams *params, const double *u) {
    Cpu *c = (Cpu *)b;
    if (!draw_workspace(c, rows, V)) return;
    cpu_logits(b, c->draw_logits, h, head, rows, C, V);
#pragma omp parallel for schedule(dynamic) num_threads(c->threads)
    for (int i = 0; i < rows; i++)
        tokens[i] = tina_sampler_draw(c->samplers[omp_get_thread_num()], c->draw_logits + (size_t)i * V, params,
                                      u[i], &logprobs[i]);
}

/* The log-sum-exp of every row of h @ head^T, a running one over vocabulary chunks; out[t] (if not NULL) gets the
 * logit of targets[t]. lse (T,) doubles follow the chunk in the scratch. */
static double *log_sum_exp(Cpu *c, float *out, const void *h, const void *head, const int32_t *targets, int T, int C,
                           int V) {
    float *chunk = c->scratch;
    double *max = (double *)(c->scratch + (size_t)T * VOCAB_CHUNK), *sum = max + T; /* 8-aligned: T * 4096 floats */
    for (int t = 0; t < T; t++) max[t] = -INFINITY, sum[t] = 0;
    for (int v0 = 0; v0 < V; v0 += VOCAB_CHUNK) {
        int n = V - v0 < VOCAB_CHUNK ? V - v0 : VOCAB_CHUNK;
        product(c, chunk, h, (const float *)head + (size_t)v0 * C, NULL, T, C, n, 1.0f, false); /* as every product */
#pragma omp parallel for schedule(static)
        for (int t = 0; t < T; t++) {
            const float *z = chunk + (size_t)t * n;
            double m = max[t];
            for (int j = 0; j < n; j++) m = z[j] > m ? z[j] : m;
            double s = sum[t] * exp(max[t] - m);
            for (int j = 0; j < n; j++) s += exp(z[j] - m);
            max[t] = m;
            sum[t] = s;
            if (out && targets[t] >= v0 && targets[t] < v0 + n) out[t] = z[targets[t] - v0];
        }
    }
    for (int t = 0; t < T; t++) max[t] += log(sum[t]);
    return max;
}

static void cpu_logprobs(TinaBackend *b, float *out, const void *h, const void *head, const int32_t *targets, int T,
                         int C, int V, double *lse) {
    const double *sums = log_sum_exp((Cpu *)b, out, h, head, targets, T, C, V);
    for (int t = 0; t < T; t++) out[t] = (float)(out[t] - sums[t]);
    if (lse) memcpy(lse, sums, (size_t)T * sizeof *lse);
}

/* ---- backward ---------------------------------------------------------------------------------------------- */

/* d logits[t, v] = dlogp[t] * ([v == target] - softmax[t, v]); dh = d logits @ head, one vocabulary chunk at a time */
static void cpu_logprobs_backward(TinaBackend *b, void *dh, const void *h, const void *head, const int32_t *targets,
                                  const float *dlogp, int T, int C, int V, const double *lse) {
    Cpu *c = (Cpu *)b;
    float *chunk = c->scratch;
    for (int v0 = 0; v0 < V; v0 += VOCAB_CHUNK) {
        int n = V - v0 < VOCAB_CHUNK ? V - v0 : VOCAB_CHUNK;
        const float *rows = (const float *)head + (size_t)v0 * C;
        product(c, chunk, h, rows, NULL, T, C, n, 1.0f, false);
#pragma omp parallel for schedule(static)
        for (int t = 0; t < T; t++) {
            float *z = chunk + (size_t)t * n;
            for (int j = 0; j < n; j++) z[j] = (float)(-dlogp[t] * exp(z[j] - lse[t]));
            if (targets[t] >= v0 && targets[t] < v0 + n) z[targets[t] - v0] += dlogp[t];
        }
        general(c, c->threads, dh, (size_t)C, tina_matrix(chunk, (size_t)n, false), tina_matrix(rows, (size_t)C, false),
                1.0f, T, C, n, v0 > 0); /* one chain over the whole vocabulary */
    }
}

/* y = x * rstd * w: dx = rstd * g - x * rstd^3 * (g . x) / C with g = dy * w */
static void cpu_rmsnorm_backward(TinaBackend *b, void *dx, const void *x, const void *weight, const void *dout, int T,
                                 int C, float eps, bool accumulate) {
    (void)b;
    const float *w = weight;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        const float *xr = (const float *)x + (size_t)t * C, *dy = (const float *)dout + (size_t)t * C;
        float *d = (float *)dx + (size_t)t * C;
        float sum = 0, gx = 0;
        for (int i = 0; i < C; i++) sum += xr[i] * xr[i], gx += dy[i] * w[i] * xr[i];
        float rstd = 1.0f / sqrtf(sum / (float)C + eps), k = rstd * rstd * rstd * gx / (float)C;
        for (int i = 0; i < C; i++) {
            float g = rstd * dy[i] * w[i] - xr[i] * k;
            d[i] = accumulate ? d[i] + g : g;
        }
    }
}

static void cpu_matmul_backward(TinaBackend *b, void *din, const void *dout, const void *w, int T, int K, int N,
                                bool accumulate) {
    Cpu *c = (Cpu *)b;
    general(c, c->threads, din, (size_t)K, tina_matrix(dout, (size_t)N, false), tina_matrix(w, (size_t)K, false), 1.0f,
            T, K, N, accumulate);
}

/* db += dout^T (scale z); dz = dout @ (scale bm); da += dz^T in; din (+)= dz @ a. The scale goes into copies of the
 * small operands (T x r, N x r), so the products read dout, the large one, in place. The adapter's gradients
 * continue their chains over the tokens (gemm.h): micro-batches of any size add up to the bits of one. */
static void cpu_lora_backward(TinaBackend *b, void *din, float *da, float *db, const void *in, const void *dout,
                              const float *a, const float *bm, const void *z, void *dscratch, int T, int K, int N,
                              int r, float scale, bool accumulate) {
    Cpu *c = (Cpu *)b;
    float *dz = dscratch;
    size_t n = (size_t)N, k = (size_t)K, rank = (size_t)r, scaled = ((size_t)T + n) * rank;
    if (scaled > c->scaled_len) {
        float *bigger = realloc(c->scaled, scaled * sizeof *bigger);
        if (!bigger) {
            c->out_of_memory = true;
            return;
        }
        c->scaled = bigger, c->scaled_len = scaled;
    }
    float *z_scaled = c->scaled, *bm_scaled = c->scaled + (size_t)T * rank;
    for (size_t i = 0; i < (size_t)T * rank; i++) z_scaled[i] = scale * ((const float *)z)[i];
    for (size_t i = 0; i < n * rank; i++) bm_scaled[i] = scale * bm[i];
    general(c, c->threads, db, rank, tina_matrix(dout, n, true), tina_matrix(z_scaled, rank, false), 1.0f, N, r, T,
            true);
    general(c, c->threads, dz, rank, tina_matrix(dout, n, false), tina_matrix(bm_scaled, rank, false), 1.0f, T, r, N,
            false);
    general(c, c->threads, da, k, tina_matrix(dz, rank, true), tina_matrix(in, k, false), 1.0f, r, K, T, true);
    general(c, c->threads, din, k, tina_matrix(dz, rank, false), tina_matrix(a, k, false), 1.0f, T, K, r, accumulate);
}

/* rope is a rotation; its gradient rotates back */
static void cpu_rope_backward(TinaBackend *b, void *dq, void *dk, const TinaBatch *batch, int Hq, int Hkv, int D) {
    rotate_all((Cpu *)b, dq, dk, batch, Hq, Hkv, D, -1.0f);
}

/* ---- attention of whole sequences (training): blocks of queries as matrix products -----------------------------
 * A block of up to QUERY_BLOCK queries of one head takes its scores against every key up to its last query in one
 * product, so the work is matrix products instead of vector rows; the few scores above the diagonal are computed and
 * then masked. Each (sequence, head) is one thread's task, its products run by that thread alone. */
/* p (n, keys) = causal softmax(scale q k^T) for queries i0 .. i0 + n - 1 of one head (q rows q_row apart) against keys
 * 0 .. keys - 1 = i0 + n - 1 of its kv head (rows kv_row apart); 0 above the diagonal. Returns keys. */
static int block_probabilities(Cpu *c, float *p, const float *q, size_t q_row, const float *k, size_t kv_row, int i0,
                               int n, int D) {
    int keys = i0 + n;
    general(c, 1, p, (size_t)keys, tina_matrix(q, q_row, false), tina_matrix(k, kv_row, true), 1.0f / sqrtf((float)D),
            n, keys, D, false);
    for (int r = 0; r < n; r++) {
        float *row = p + (size_t)r * keys;
        int visible = i0 + r + 1;
        softmax(row, visible, c->avx2);
        memset(row + visible, 0, (size_t)(keys - visible) * sizeof *row);
    }
    return keys;
}

/* One task per (sequence, head): out (T, Hq, D) = P v a block of queries at a time. */
static void cpu_self_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v,
                               const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cpu *c = (Cpu *)b;
    int group = Hq / Hkv;
    size_t kv_row = (size_t)Hkv * D, q_row = (size_t)Hq * D;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
    for (int task = 0; task < batch->n_seqs * Hq; task++) {
        int s = task / Hq, h = task % Hq, first = batch->first[s], n = batch->n_new[s];
        const float *ks = (const float *)k + (size_t)first * kv_row + (size_t)(h / group) * D;
        const float *vs = (const float *)v + (size_t)first * kv_row + (size_t)(h / group) * D;
        float *p = c->scratch + (size_t)omp_get_thread_num() * attention_floats((size_t)c->block_len, (size_t)D);
        for (int i0 = 0; i0 < n; i0 += QUERY_BLOCK) {
            int rows = n - i0 < QUERY_BLOCK ? n - i0 : QUERY_BLOCK;
            size_t at = (size_t)(first + i0) * q_row + (size_t)h * D;
            int keys = block_probabilities(c, p, (const float *)q + at, q_row, ks, kv_row, i0, rows, D);
            general(c, 1, (float *)out + at, q_row, tina_matrix(p, (size_t)keys, false), tina_matrix(vs, kv_row, false),
                    1.0f, rows, D, keys, false);
        }
    }
}

/* Per block, with the forward's probabilities P recomputed: dP = dout v^T; dS = P (dP - rowsum(P dP)) scale;
 * dq = dS k; dk += dS^T q; dv += P^T dout. One task per (sequence, kv head), which alone writes its dk, dv. */
static void cpu_attention_backward(TinaBackend *b, void *dq, void *dk, void *dv, const void *q, const void *k,
                                   const void *v, const void *dout, const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cpu *c = (Cpu *)b;
    int group = Hq / Hkv;
    size_t kv_row = (size_t)Hkv * D, q_row = (size_t)Hq * D;
    float scale = 1.0f / sqrtf((float)D);
    memset(dk, 0, (size_t)batch->n_tokens * kv_row * sizeof(float));
    memset(dv, 0, (size_t)batch->n_tokens * kv_row * sizeof(float));
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
    for (int task = 0; task < batch->n_seqs * Hkv; task++) {
        int s = task / Hkv, g = task % Hkv, first = batch->first[s], n = batch->n_new[s];
        size_t kv_at = (size_t)first * kv_row + (size_t)g * D;
        const float *ks = (const float *)k + kv_at, *vs = (const float *)v + kv_at;
        float *dks = (float *)dk + kv_at, *dvs = (float *)dv + kv_at;
        float *p = c->scratch + (size_t)omp_get_thread_num() * attention_floats((size_t)c->block_len, (size_t)D);
        float *dp = p + (size_t)QUERY_BLOCK * c->block_len;
        for (int h = g * group; h < (g + 1) * group; h++)
            for (int i0 = 0; i0 < n; i0 += QUERY_BLOCK) {
                int rows = n - i0 < QUERY_BLOCK ? n - i0 : QUERY_BLOCK;
                size_t at = (size_t)(first + i0) * q_row + (size_t)h * D;
                const float *qb = (const float *)q + at, *dob = (const float *)dout + at;
                int keys = block_probabilities(c, p, qb, q_row, ks, kv_row, i0, rows, D);
                size_t ld = (size_t)keys;
                general(c, 1, dp, ld, tina_matrix(dob, q_row, false), tina_matrix(vs, kv_row, true), 1.0f, rows, keys,
                        D, false);
                for (int r = 0; r < rows; r++) {
                    float *pr = p + (size_t)r * keys, *dpr = dp + (size_t)r * keys, pdp = 0;
                    for (int j = 0; j < keys; j++) pdp += pr[j] * dpr[j];
                    for (int j = 0; j < keys; j++) dpr[j] = pr[j] * (dpr[j] - pdp) * scale; /* dS, scaled once */
                }
                general(c, 1, (float *)dq + at, q_row, tina_matrix(dp, ld, false), tina_matrix(ks, kv_row, false),
                        1.0f, rows, D, keys, false);
                general(c, 1, dks, kv_row, tina_matrix(dp, ld, true), tina_matrix(qb, q_row, false), 1.0f, keys, D,
                        rows, true);
                general(c, 1, dvs, kv_row, tina_matrix(p, ld, true), tina_matrix(dob, q_row, false), 1.0f, keys, D,
                        rows, true);
            }
    }
}

/* act = silu(g) u: du = dact silu(g); dg = dact u sigmoid(g) (1 + g (1 - sigmoid(g))) */
__attribute__((target("avx2,fma"))) static void swiglu_backward_avx2(float *dg, float *du, const float *g,
                                                                      const float *u, const float *da, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i += 8) {
        __m256 x = load8(g, i, n), d = load8(da, i, n);
        __m256 sig = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        store8(du, i, n, _mm256_mul_ps(_mm256_mul_ps(d, x), sig));
        __m256 slope = _mm256_add_ps(one, _mm256_mul_ps(x, _mm256_sub_ps(one, sig)));
        store8(dg, i, n, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, load8(u, i, n)), sig), slope));
    }
}

static void cpu_swiglu_backward(TinaBackend *b, void *dgate, void *dup, const void *gate, const void *up,
                                const void *dact, int T, int I) {
    const float *g = gate, *u = up, *da = dact;
    float *dg = dgate, *du = dup;
    size_t n = (size_t)T * I;
    if (((Cpu *)b)->avx2) {
        swiglu_backward_avx2(dg, du, g, u, da, n);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float sig = 1.0f / (1.0f + expf(-g[i]));
        du[i] = da[i] * g[i] * sig;
        dg[i] = da[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
    }
}

/* the drop decision of element i: kept with probability 1 - p */
static bool kept(uint64_t seed, uint64_t stream, uint64_t i, float p) { return tina_rng_uniform(seed, stream, i) >= p; }

/* dst = (or +=) src * keep / (1 - p) */
static void drop(float *dst, const float *src, size_t n, float p, uint64_t seed, uint64_t stream, bool add) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float value = kept(seed, stream, i, p) ? src[i] * scale : 0.0f;
        dst[i] = add ? dst[i] + value : value;
    }
}

static void cpu_dropout(TinaBackend *b, void *out, const void *in, int T, int K, float p, uint64_t seed,
                        uint64_t stream) {
    (void)b;
    drop(out, in, (size_t)T * K, p, seed, stream, false);
}

static void cpu_dropout_backward(TinaBackend *b, void *dst, const void *src, int T, int K, float p, uint64_t seed,
                                 uint64_t stream) {
    (void)b;
    drop(dst, src, (size_t)T * K, p, seed, stream, true);
}

static void cpu_destroy(TinaBackend *b) {
    Cpu *c = (Cpu *)b;
    free(c->scratch);
    free(c->rope_cos);
    free(c->rope_sin);
    for (int i = 0; i < c->n_packed; i++) free(c->packed[i].p);
    free(c->packed);
    free(c->blocks);
    free(c->draw_logits);
    free(c->scaled);
    free_samplers(c);
    free(c);
}

TinaStatus tina_cpu_backend_new(int threads, TinaBackend **backend, TinaError *err) {
    Cpu *c = calloc(1, sizeof *c);
    if (!c) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (CPU backend)");
    c->threads = threads > 0 ? threads : omp_get_max_threads();
    c->avx2 = tina_gemm_kernel() != TINA_KERNEL_GENERIC; /* TINA_CPU=generic: no vector code at all */
    omp_set_num_threads(c->threads);
    c->base = (TinaBackend){
        .name = "cpu",
        .weight_bytes = sizeof(float),
        .act_bytes = sizeof(float),
        .host_memory = true,
        .alloc = cpu_alloc,
        .release = cpu_release,
        .free_memory = cpu_free_memory,
        .upload = cpu_copy_bytes,
        .download = cpu_copy_bytes,
        .check = cpu_check,
        .reserve = cpu_reserve,
        .load = cpu_load,
        .weights_to_host = cpu_weights_to_host,
        .weights_add = cpu_weights_add,
        .embed = cpu_embed,
        .rmsnorm = cpu_rmsnorm,
        .matmul = cpu_matmul,
        .matmuls = cpu_matmuls,
        .lora = cpu_lora,
        .loras = cpu_loras,
        .rope = cpu_rope,
        .attention = cpu_attention,
        .swiglu = cpu_swiglu,
        .copy = cpu_copy,
        .gather_rows = cpu_gather_rows,
        .add = cpu_add,
        .logits = cpu_logits,
        .sample = cpu_sample,
        .logprobs = cpu_logprobs,
        .logprobs_backward = cpu_logprobs_backward,
        .rmsnorm_backward = cpu_rmsnorm_backward,
        .matmul_backward = cpu_matmul_backward,
        .lora_backward = cpu_lora_backward,
        .rope_backward = cpu_rope_backward,
        .self_attention = cpu_self_attention,
        .attention_backward = cpu_attention_backward,
        .swiglu_backward = cpu_swiglu_backward,
        .dropout = cpu_dropout,
        .dropout_backward = cpu_dropout_backward,
        .destroy = cpu_destroy,
    };
    *backend = &c->base;
    return TINA_OK;
}
