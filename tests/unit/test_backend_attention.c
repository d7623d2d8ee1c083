/* The backend's cached attention against attention computed here in f64: causal, GQA with groups of 1 to 7 query
 * heads a kv head, head sizes 16 to 128, two sequences of a call in cache slots apart, a prefill of hundreds of
 * positions and a decode step after it (on a GPU these take split key ranges, and the decode step the most), the
 * new keys and values stored at each sequence's own positions in pages scattered over the cache, and a third slot
 * that maps the first slot's first pages (a sample sharing its prompt) and decodes after them; and training's
 * attention of whole sequences (self_attention) on the same heads. TINA_TEST_BACKEND names the backend (default cpu;
 * tests/gpu/run.sh runs this with cuda), whose activations may be f32 or bf16: the inputs are bf16 values either
 * way, and the bound is 1e-5 of the output's scale for f32, 1e-2 for bf16 (its output's own rounding is 2^-9). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backend_values.h"
#include "base/rng.h"
#include "test.h"

enum { SLOTS = 3, MAX_LEN = 700, LONG = 600, SHORT = 9, SHARED = 160, PAGE = 16, PER_SLOT = (MAX_LEN + PAGE - 1) / PAGE };

static TinaBackend *backend;

typedef struct {
    int Hq, Hkv, D;
    float *keys[SLOTS], *vals[SLOTS]; /* host mirror of the cache: (MAX_LEN, Hkv, D) a slot */
    void *k_cache, *v_cache;
    TinaKVPages pages;
    double worst;                     /* the worst error so far, over the output's largest value */
} Case;

/* One call: sequence s appends n_new[s] tokens to slot[s] after n_past[s]; checks every output row. whole: the call
 * is training's attention of whole sequences (self_attention, n_past 0), which keeps nothing in the cache. */
static void call(Case *c, int n_seqs, const int *slot, const int *n_past, const int *n_new, uint64_t stream,
                 bool whole) {
    int Hq = c->Hq, Hkv = c->Hkv, D = c->D, T = 0, first[4];
    int32_t positions[LONG + SHORT], tokens[LONG + SHORT] = {0};
    for (int s = 0; s < n_seqs; s++) {
        first[s] = T;
        for (int i = 0; i < n_new[s]; i++) positions[T++] = n_past[s] + i;
    }
    size_t qn = (size_t)T * Hq * D, kn = (size_t)T * Hkv * D;
    float *q = malloc(qn * sizeof *q), *k = malloc(kn * sizeof *k), *v = malloc(kn * sizeof *v);
    float *out = malloc(qn * sizeof *out);
    uniform_values(q, qn, 5, 3 * stream, 1.0f, true), uniform_values(k, kn, 5, 3 * stream + 1, 1.0f, true);
    uniform_values(v, kn, 5, 3 * stream + 2, 1.0f, true);
    size_t bytes = backend->act_bytes;
    void *q_b = upload_values(backend, q, qn, bytes), *k_b = upload_values(backend, k, kn, bytes);
    void *v_b = upload_values(backend, v, kn, bytes), *out_b = backend->alloc(backend, qn * bytes);
    TinaBatch batch = {n_seqs, slot, n_past, n_new, first, T, tokens, positions};
    if (whole) backend->self_attention(backend, out_b, q_b, k_b, v_b, &batch, Hq, Hkv, D);
    else backend->attention(backend, out_b, q_b, k_b, v_b, c->k_cache, c->v_cache, &c->pages, &batch, Hq, Hkv, D);
    TinaError err;
    CHECK(backend->check(backend, &err) == TINA_OK);
    download_values(backend, out, out_b, qn, bytes);
    size_t row = (size_t)Hkv * D;
    for (int s = 0; s < n_seqs; s++) /* the mirror: what the cache should now hold */
        for (int i = 0; i < n_new[s]; i++) {
            memcpy(c->keys[slot[s]] + (size_t)(n_past[s] + i) * row, k + (size_t)(first[s] + i) * row, row * 4);
            memcpy(c->vals[slot[s]] + (size_t)(n_past[s] + i) * row, v + (size_t)(first[s] + i) * row, row * 4);
        }
    double *p = malloc(MAX_LEN * sizeof *p), *want = malloc((size_t)D * sizeof *want);
    for (int s = 0; s < n_seqs; s++)
        for (int i = 0; i < n_new[s]; i++) {
            int t = first[s] + i, keys = n_past[s] + i + 1;
            for (int h = 0; h < Hq; h++) {
                const float *qh = q + ((size_t)t * Hq + h) * D;
                size_t g = (size_t)(h / (Hq / Hkv)) * D;
                double max = -INFINITY, sum = 0, scale = 1 / sqrt((double)D), biggest = 0, error = 0;
                for (int j = 0; j < keys; j++) {
                    double dot = 0;
                    for (int d = 0; d < D; d++) dot += (double)qh[d] * c->keys[slot[s]][(size_t)j * row + g + d];
                    p[j] = dot * scale;
                    max = fmax(max, p[j]);
                }
                for (int j = 0; j < keys; j++) sum += p[j] = exp(p[j] - max);
                for (int d = 0; d < D; d++) want[d] = 0;
                for (int j = 0; j < keys; j++) { /* each want[d] summed over j in order, a value row at a time */
                    const float *vj = c->vals[slot[s]] + (size_t)j * row + g;
                    double weight = p[j] / sum;
                    for (int d = 0; d < D; d++) want[d] += weight * vj[d];
                }
                for (int d = 0; d < D; d++) biggest = fmax(biggest, fabs(want[d]));
                for (int d = 0; d < D; d++)
                    error = fmax(error, fabs(out[((size_t)t * Hq + h) * D + d] - want[d]));
                c->worst = fmax(c->worst, error / (biggest > 1e-3 ? biggest : 1e-3));
            }
        }
    free(p), free(want), free(q), free(k), free(v), free(out);
    backend->release(backend, q_b), backend->release(backend, k_b), backend->release(backend, v_b);
    backend->release(backend, out_b);
}

/* A prefill of LONG and SHORT positions in slots 0 and 2, in one call, then a decode step of both; then slot 1,
 * which maps slot 0's pages of its first SHARED positions, decodes a token after them. */
static double prefill_then_decode(int Hq, int Hkv, int D) {
    Case c = {.Hq = Hq, .Hkv = Hkv, .D = D};
    TinaError err;
    size_t slot_values = (size_t)MAX_LEN * Hkv * D, cache_values = (size_t)SLOTS * PER_SLOT * PAGE * Hkv * D;
    CHECK(backend->reserve(backend, LONG + SHORT, MAX_LEN, D, 10000.0, &err) == TINA_OK);
    c.k_cache = backend->alloc(backend, cache_values * backend->act_bytes);
    c.v_cache = backend->alloc(backend, cache_values * backend->act_bytes);
    int32_t table[SLOTS * PER_SLOT]; /* every page once, in a shuffled order */
    for (int i = 0; i < SLOTS * PER_SLOT; i++) table[i] = i;
    for (int i = SLOTS * PER_SLOT - 1; i > 0; i--) {
        int j = (int)(tina_rng_bits(7, (uint64_t)D, (uint64_t)i) % (uint64_t)(i + 1)), swap = table[i];
        table[i] = table[j], table[j] = swap;
    }
    memcpy(table + PER_SLOT, table, SHARED / PAGE * sizeof *table); /* slot 1 maps slot 0's first pages */
    int32_t *backend_table = backend->alloc(backend, sizeof table);
    backend->upload(backend, backend_table, table, sizeof table);
    c.pages = (TinaKVPages){backend_table, PER_SLOT, PAGE};
    for (int s = 0; s < SLOTS; s++) {
        c.keys[s] = calloc(slot_values, sizeof(float));
        c.vals[s] = calloc(slot_values, sizeof(float));
    }
    const int slot[] = {0, 2}, prefill[] = {LONG, SHORT}, one[] = {1, 1}, start[] = {0, 0}, after[] = {LONG, SHORT};
    call(&c, 2, slot, start, prefill, (uint64_t)(Hq * 1000 + D), false);
    call(&c, 2, slot, after, one, (uint64_t)(Hq * 1000 + D + 1), false);
    size_t shared = (size_t)SHARED * Hkv * D * sizeof(float);
    memcpy(c.keys[1], c.keys[0], shared), memcpy(c.vals[1], c.vals[0], shared);
    const int sharer[] = {1}, at[] = {SHARED};
    call(&c, 1, sharer, at, one, (uint64_t)(Hq * 1000 + D + 2), false);
    const int whole[] = {SHORT, LONG}; /* training's attention of two whole sequences, the short one first */
    call(&c, 2, slot, start, whole, (uint64_t)(Hq * 1000 + D + 3), true);
    for (int s = 0; s < SLOTS; s++) free(c.keys[s]), free(c.vals[s]);
    backend->release(backend, c.k_cache), backend->release(backend, c.v_cache), backend->release(backend, backend_table);
    printf("note: %s attention, %d query heads over %d, head size %d: worst error %.2e of the output's scale\n",
           backend->name, Hq, Hkv, D, c.worst);
    return c.worst;
}

static void cached_attention_matches_f64_for_every_group_and_head_size(void) {
    double bound = backend->act_bytes == 4 ? 1e-5 : 1e-2;
    CHECK(prefill_then_decode(4, 1, 16) < bound);   /* the tiny Llama's */
    CHECK(prefill_then_decode(4, 2, 16) < bound);   /* the tiny Qwen2's */
    CHECK(prefill_then_decode(12, 2, 128) < bound); /* DeepSeek-R1-Distill-Qwen-1.5B's */
    CHECK(prefill_then_decode(14, 2, 64) < bound);  /* a group of 7: served in two parts on a GPU */
    CHECK(prefill_then_decode(8, 8, 96) < bound);   /* no grouping */
    CHECK(prefill_then_decode(6, 3, 32) < bound);
}

int main(void) {
    static const TestCase tests[] = {TEST(cached_attention_matches_f64_for_every_group_and_head_size)};
    return test_main_on_backend("test_backend_attention", tests, sizeof tests / sizeof tests[0], &backend);
}
