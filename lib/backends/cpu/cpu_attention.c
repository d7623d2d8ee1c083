/* cpu_attention: causal GQA attention with an f32 softmax: over a paged KV cache for inference (batch-invariant:
 * a token's result does not depend on the other sequences of the call), within each sequence for training, and the
 * training attention's backward. */
#include "backends/cpu/cpu.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backends/cpu/simd.h"
#include "backends/kv_cache.h"

static size_t round16(size_t n) { return (n + TINA_GEMM_STRIP - 1) / TINA_GEMM_STRIP * TINA_GEMM_STRIP; }

/* The training attention's workspace of a thread, for sequences of up to L positions and head size D: two query
 * blocks of scores (QUERY_BLOCK, L); three of a sequence's key or value matrices of one kv head in gemm's strips
 * (round16(L) x round16(D) each); their strips' pointers. */
typedef struct {
    float *p, *dp, *packed[3];
    const float **strips[3];
} TrainingWork;

static TrainingWork training_work(float *at, size_t L, size_t D) {
    TrainingWork w = {.p = at, .dp = at + (size_t)QUERY_BLOCK * L};
    float *next = w.dp + (size_t)QUERY_BLOCK * L;
    for (int i = 0; i < 3; i++) w.packed[i] = next, next += round16(L) * round16(D);
    const float **list = (const float **)next; /* 8-byte aligned: every count above is even */
    for (int i = 0; i < 3; i++) w.strips[i] = list, list += round16(L > D ? L : D) / TINA_GEMM_STRIP;
    return w;
}

/* the calling thread's training workspace */
static TrainingWork thread_work(const Cpu *c, int D) {
    size_t L = (size_t)c->block_len, d = (size_t)D;
    return training_work(c->scratch + (size_t)omp_get_thread_num() * cpu_attention_floats(L, d), L, d);
}

/* the floats of one thread's attention workspace for sequences of up to L positions and head size D: the
 * training attention's (training_work) or the cached attention's (attention_task_run), the larger */
size_t cpu_attention_floats(size_t L, size_t D) {
    size_t lists = 3 * round16(L > D ? L : D) / TINA_GEMM_STRIP * sizeof(float *) / sizeof(float);
    size_t training = 2 * (size_t)QUERY_BLOCK * L + 3 * round16(L) * round16(D) + lists;
    size_t pointers = 2 * L * sizeof(float *) / sizeof(float); /* a sequence's value rows and key pages */
    size_t cached = (size_t)ATTENTION_ROWS * (2 * D + L) + pointers;
    size_t floats = training > cached ? training : cached;
    return floats + floats % 2; /* each thread's part 8-byte aligned, for the pointers */
}

/* The largest of the eight lanes of a softmax's running maxima, in lane order (which, with the lanes' own order,
 * decides what a NaN among the scores gives: both widths keep them) */
__attribute__((target("avx2,fma"))) static float max8(__m256 top) {
    float lanes[8], max = -INFINITY;
    _mm256_storeu_ps(lanes, top);
    for (int i = 0; i < 8; i++) max = lanes[i] > max ? lanes[i] : max;
    return max;
}

/* p[0..n) = softmax(p[0..n)): the maximum in eight lanes, e^(p - max) eight at a time and their sum in eight lanes
 * and a fixed horizontal sum, each value divided by it. */
__attribute__((target("avx2,fma"))) static void softmax_avx2(float *p, int n) {
    __m256 top = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 8) {
        __m256 x = load8(p, (size_t)i, (size_t)n);
        if (i + 8 > n) /* the tail's padding is not a value */
            x = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), x, _mm256_castsi256_ps(tail_mask8(n - i)));
        top = _mm256_max_ps(top, x);
    }
    __m256 sum = _mm256_setzero_ps(), shift = _mm256_set1_ps(-max8(top));
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

/* softmax_avx2 sixteen values at a time, its maximum and sum still in eight lanes: each half of a sixteen is taken
 * in turn, as AVX2 takes two eights, so the same bits */
__attribute__((target("avx512f,avx2,fma"))) static void softmax_avx512(float *p, int n) {
    __m256 top = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) { /* the tail's padding is not a value */
        __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail_mask16((size_t)i, (size_t)n), p + i);
        top = _mm256_max_ps(top, _mm512_castps512_ps256(x));
        if (n - i > 8) top = _mm256_max_ps(top, upper8(x));
    }
    __m512 shift = _mm512_set1_ps(-max8(top));
    __m256 sum = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 16) { /* the tail's padding adds 0, as AVX2's masked tail does */
        __mmask16 valid = tail_mask16((size_t)i, (size_t)n);
        __m512 e = _mm512_maskz_mov_ps(valid, exp16(_mm512_add_ps(load16(p, (size_t)i, (size_t)n), shift)));
        store16(p, (size_t)i, (size_t)n, e);
        sum = _mm256_add_ps(sum, _mm512_castps512_ps256(e));
        if (n - i > 8) sum = _mm256_add_ps(sum, upper8(e));
    }
    __m512 total = _mm512_set1_ps(sum8(sum));
    for (int i = 0; i < n; i += 16)
        store16(p, (size_t)i, (size_t)n, _mm512_div_ps(load16(p, (size_t)i, (size_t)n), total));
}

/* p[0..n) = softmax(p[0..n)), p[n..len) = 0: a causal row of scores, the keys past its own position masked */
static void softmax(float *p, int n, int len, const Cpu *c) {
    memset(p + n, 0, (size_t)(len - n) * sizeof *p);
    if (c->avx512) {
        softmax_avx512(p, n);
    } else if (c->avx2) {
        softmax_avx2(p, n);
    } else {
        float max = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) max = p[j] > max ? p[j] : max;
        for (int j = 0; j < n; j++) p[j] = expf(p[j] - max);
        for (int j = 0; j < n; j++) sum += p[j];
        for (int j = 0; j < n; j++) p[j] /= sum;
    }
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
static void attention_task_run(Cpu *c, float *w, float *out, const float *q, const float *k_cache,
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
    cpu_products(c, &scores, 1, 1);
    for (int r = 0; r < rows; r++) /* causal: itself and everything before it */
        softmax(S + (size_t)r * keys, batch->positions[a.first + r / group] + 1, keys, c);
    cpu_products(c, &mix, 1, 1);
    for (int i = 0; i < a.tokens; i++)
        memcpy(out + ((size_t)(a.first + i) * Hq + (size_t)a.kv_head * group) * D, O + (size_t)i * group * D,
               (size_t)group * D * sizeof *O);
}

void cpu_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v, void *k_cache,
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
    size_t stride = cpu_attention_floats((size_t)c->block_len, (size_t)D);
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
    for (int task = 0; task < tasks; task++)
        attention_task_run(c, c->scratch + (size_t)omp_get_thread_num() * stride, out, q, k_cache, v_cache, pages,
                           batch, attention_task(batch, per_task, Hkv, task), Hq, Hkv, D);
}

/* ---- attention of whole sequences (training): blocks of queries as matrix products -----------------------------
 * A block of up to QUERY_BLOCK queries of one head takes its scores against every key up to its last query in one
 * product, so the work is matrix products instead of vector rows; the few scores above the diagonal are computed and
 * then masked. A task's products run on its thread alone; the keys and values they read as gemm's B are laid out in
 * strips once a task, not once a product (packing them for each product took as long as the product itself). */

/* x (n rows ld apart, D each: a sequence's keys or values of one kv head) as B = x^T (D, n) in gemm's strips at
 * `at`, their pointers in list: strip s holds rows 16 s .. 16 s + 15, its row d their elements d (0 past n). */
static const float *const *strips_across(float *at, const float **list, const float *x, size_t ld, int n, int D) {
    for (int s = 0; s * TINA_GEMM_STRIP < n; s++) {
        float *strip = at + (size_t)s * TINA_GEMM_STRIP * D;
        list[s] = strip;
        for (int j = 0; j < TINA_GEMM_STRIP; j++) {
            int i = s * TINA_GEMM_STRIP + j;
            for (int d = 0; d < D; d++) strip[(size_t)d * TINA_GEMM_STRIP + j] = i < n ? x[(size_t)i * ld + d] : 0;
        }
    }
    return list;
}

/* x as B = x (n, D) in gemm's strips: strip s holds elements 16 s .. 16 s + 15 of every row (0 past D) */
static const float *const *strips_along(float *at, const float **list, const float *x, size_t ld, int n, int D) {
    for (int s = 0; s * TINA_GEMM_STRIP < D; s++) {
        float *strip = at + (size_t)s * TINA_GEMM_STRIP * n;
        list[s] = strip;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < TINA_GEMM_STRIP; j++) {
                int d = s * TINA_GEMM_STRIP + j;
                strip[(size_t)i * TINA_GEMM_STRIP + j] = d < D ? x[(size_t)i * ld + d] : 0;
            }
    }
    return list;
}

/* out (M, N), rows ldc apart, = alpha A (M, K) B (K, N), B in strips; by the calling thread */
static void strips_product(Cpu *c, float *out, size_t ldc, TinaMatrix a, const float *const *b, float alpha, int M,
                           int N, int K) {
    TinaProduct p = {.c = out, .ldc = ldc, .a = a, .strips = b, .alpha = alpha, .M = M, .N = N, .K = K};
    cpu_products(c, &p, 1, 1);
}

/* p (n, keys) = causal softmax(scale q k^T) for queries i0 .. i0 + n - 1 of one head (q rows q_row apart) against keys
 * 0 .. keys - 1 = i0 + n - 1 of its kv head (kt: its keys as strips_across); 0 above the diagonal. Returns keys. */
static int block_probabilities(Cpu *c, float *p, const float *q, size_t q_row, const float *const *kt, int i0, int n,
                               int D) {
    int keys = i0 + n;
    strips_product(c, p, (size_t)keys, tina_matrix(q, q_row, false), kt, 1.0f / sqrtf((float)D), n, keys, D);
    for (int r = 0; r < n; r++) softmax(p + (size_t)r * keys, i0 + r + 1, keys, c);
    return keys;
}

/* One task per (sequence, head): out (T, Hq, D) = P v a block of queries at a time. */
void cpu_self_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v,
                        const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cpu *c = (Cpu *)b;
    int group = Hq / Hkv;
    size_t kv_row = (size_t)Hkv * D, q_row = (size_t)Hq * D;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
    for (int task = 0; task < batch->n_seqs * Hq; task++) {
        int s = task / Hq, h = task % Hq, first = batch->first[s], n = batch->n_new[s];
        size_t kv_at = (size_t)first * kv_row + (size_t)(h / group) * D;
        TrainingWork w = thread_work(c, D);
        const float *const *kt = strips_across(w.packed[0], w.strips[0], (const float *)k + kv_at, kv_row, n, D);
        const float *const *vs = strips_along(w.packed[1], w.strips[1], (const float *)v + kv_at, kv_row, n, D);
        for (int i0 = 0; i0 < n; i0 += QUERY_BLOCK) {
            int rows = n - i0 < QUERY_BLOCK ? n - i0 : QUERY_BLOCK;
            size_t at = (size_t)(first + i0) * q_row + (size_t)h * D;
            int keys = block_probabilities(c, w.p, (const float *)q + at, q_row, kt, i0, rows, D);
            strips_product(c, (float *)out + at, q_row, tina_matrix(w.p, (size_t)keys, false), vs, 1.0f, rows, D, keys);
        }
    }
}

/* Per block, with the forward's probabilities P recomputed: dP = dout v^T; dS = P (dP - rowsum(P dP)) scale;
 * dq = dS k; dk += dS^T q; dv += P^T dout. One task per (sequence, kv head), which alone writes its dk, dv. */
void cpu_attention_backward(TinaBackend *b, void *dq, void *dk, void *dv, const void *q, const void *k,
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
        TrainingWork w = thread_work(c, D);
        float *p = w.p, *dp = w.dp;
        const float *const *kt = strips_across(w.packed[0], w.strips[0], ks, kv_row, n, D);
        const float *const *vt = strips_across(w.packed[1], w.strips[1], vs, kv_row, n, D);
        const float *const *kd = strips_along(w.packed[2], w.strips[2], ks, kv_row, n, D);
        for (int h = g * group; h < (g + 1) * group; h++)
            for (int i0 = 0; i0 < n; i0 += QUERY_BLOCK) {
                int rows = n - i0 < QUERY_BLOCK ? n - i0 : QUERY_BLOCK;
                size_t at = (size_t)(first + i0) * q_row + (size_t)h * D;
                const float *qb = (const float *)q + at, *dob = (const float *)dout + at;
                int keys = block_probabilities(c, p, qb, q_row, kt, i0, rows, D);
                size_t ld = (size_t)keys;
                strips_product(c, dp, ld, tina_matrix(dob, q_row, false), vt, 1.0f, rows, keys, D);
                for (int r = 0; r < rows; r++) {
                    float *pr = p + (size_t)r * keys, *dpr = dp + (size_t)r * keys, pdp = 0;
                    for (int j = 0; j < keys; j++) pdp += pr[j] * dpr[j];
                    for (int j = 0; j < keys; j++) dpr[j] = pr[j] * (dpr[j] - pdp) * scale; /* dS, scaled once */
                }
                strips_product(c, (float *)dq + at, q_row, tina_matrix(dp, ld, false), kd, 1.0f, rows, D, keys);
                cpu_general(c, 1, dks, kv_row, tina_matrix(dp, ld, true), tina_matrix(qb, q_row, false), keys, D, rows,
                            true);
                cpu_general(c, 1, dvs, kv_row, tina_matrix(p, ld, true), tina_matrix(dob, q_row, false), keys, D, rows,
                            true);
            }
    }
}
