/* kv_cache: the paged KV cache under the tiny Qwen2 fixture, on the backend TINA_TEST_BACKEND names (default cpu;
 * the emulated and real GPU runs take cuda). Pages are taken as sequences grow and given back when they are
 * released; the samples of a prompt share its pages, and the first write into a shared page copies it: two samples
 * that decode different tokens after a shared prompt get the logits of slots that prefilled the prompt themselves;
 * running out of pages, a share of positions a slot does not hold and a cache smaller than one sequence are errors. */
#include <stdlib.h>
#include <string.h>

#include "backend_values.h"
#include "backends/kv_cache.h"
#include "model/model.h"
#include "test.h"

enum { MAX_LEN = 64, PROMPT = 20 };

static TinaBackend *backend;
/* a prompt of PROMPT tokens, 20 positions: a full page and a partly filled one */
static const int32_t prompt[MAX_LEN] = {3, 1, 93, 322, 226, 24, 283, 226, 28, 19, 2, 4, 77, 796, 395, 724, 226, 23, 5, 9};

static TinaModel *load(void) {
    TinaModel *m = NULL;
    TinaError err;
    if (tina_model_load("tests/fixtures/models/qwen2-f32", backend, MAX_LEN, &m, &err))
        fprintf(stderr, "    %s\n", err.message);
    CHECK(m != NULL);
    return m;
}

/* the largest |a - b| over the largest |b| of n logits */
static double gap(const float *a, const float *b, int n) {
    double worst = 0, scale = 1e-3;
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i])), scale = fmax(scale, fabs(b[i]));
    return worst / scale;
}

static TinaStatus prefill(TinaModel *m, TinaKVCache *kv, int slot) {
    TinaError err;
    TinaSequence seq = {slot, 0, PROMPT, prompt};
    TinaStatus status = tina_model_forward(m, kv, &seq, 1, NULL, TINA_LOGITS_NONE, NULL, &err);
    if (status) fprintf(stderr, "    %s\n", err.message);
    return status;
}

static void pages_are_taken_as_sequences_grow_and_given_back(void) {
    TinaModel *m = load();
    TinaKVCache *kv = NULL;
    TinaError err;
    if (!m) return;
    CHECK(tina_model_kv_cache(m, 4, MAX_LEN, 0, &kv, &err) == TINA_OK);
    CHECK(tina_kv_cache_pages(kv) == 4 * MAX_LEN / TINA_KV_PAGE);
    CHECK(tina_kv_cache_pages_free(kv) == 16);
    CHECK(tina_kv_cache_pages_to_write(kv, 0, 0, PROMPT) == 2);
    CHECK(prefill(m, kv, 0) == TINA_OK);
    CHECK(tina_kv_cache_pages_free(kv) == 14);
    CHECK(tina_kv_cache_share(kv, 0, 1, PROMPT, &err) == TINA_OK);
    CHECK(tina_kv_cache_pages_free(kv) == 14);                       /* shared, not copied */
    CHECK(tina_kv_cache_pages_to_write(kv, 1, PROMPT, PROMPT + 1) == 1); /* the shared, partly filled page */
    CHECK(tina_kv_cache_pages_to_write(kv, 0, PROMPT, PROMPT + 1) == 1); /* shared from either side */
    CHECK(tina_kv_cache_pages_to_write(kv, 1, 32, 33) == 1);           /* a page it does not map yet */
    int32_t token = 7;
    TinaSequence step = {1, PROMPT, 1, &token};
    CHECK(tina_model_forward(m, kv, &step, 1, NULL, TINA_LOGITS_NONE, NULL, &err) == TINA_OK);
    CHECK(tina_kv_cache_pages_free(kv) == 13);                       /* slot 1's own copy */
    CHECK(tina_kv_cache_pages_to_write(kv, 0, PROMPT, PROMPT + 1) == 0); /* slot 0's page is its own again */
    step.slot = 0;
    CHECK(tina_model_forward(m, kv, &step, 1, NULL, TINA_LOGITS_NONE, NULL, &err) == TINA_OK);
    CHECK(tina_kv_cache_pages_free(kv) == 13);
    tina_kv_cache_release(kv, 1);
    CHECK(tina_kv_cache_pages_free(kv) == 14); /* its copy; the first page stays slot 0's */
    tina_kv_cache_release(kv, 0);
    CHECK(tina_kv_cache_pages_free(kv) == 16);
    tina_kv_cache_release(kv, 0); /* twice: nothing more */
    CHECK(tina_kv_cache_pages_free(kv) == 16);
    tina_kv_cache_free(kv);
    tina_model_free(m);
}

static void samples_sharing_a_prompt_decode_as_if_each_had_prefilled_it(void) {
    TinaModel *m = load();
    TinaKVCache *kv = NULL;
    TinaError err;
    if (!m) return;
    int V = tina_model_config(m)->vocab;
    CHECK(tina_model_kv_cache(m, 4, MAX_LEN, 0, &kv, &err) == TINA_OK);
    /* slots 0 and 1 share one prefill; slots 2 and 3 prefill the prompt each */
    CHECK(prefill(m, kv, 0) == TINA_OK);
    CHECK(tina_kv_cache_share(kv, 0, 1, PROMPT, &err) == TINA_OK);
    CHECK(prefill(m, kv, 2) == TINA_OK);
    CHECK(prefill(m, kv, 3) == TINA_OK);
    float *logits = malloc((size_t)4 * V * sizeof *logits);
    for (int round = 0; round < 3; round++) { /* the first writes into the shared page; then past it */
        int32_t a = 11 + round, b = 400 + round;
        TinaSequence steps[4] = {{0, PROMPT + round, 1, &a}, {1, PROMPT + round, 1, &b},
                                 {2, PROMPT + round, 1, &b}, {3, PROMPT + round, 1, &a}};
        CHECK(tina_model_forward(m, kv, steps, 4, NULL, TINA_LOGITS_LAST, logits, &err) == TINA_OK);
        CHECK(gap(logits, logits + (size_t)3 * V, V) <= 1e-6);     /* slot 0 as slot 3 */
        CHECK(gap(logits + V, logits + (size_t)2 * V, V) <= 1e-6); /* slot 1 as slot 2 */
        CHECK(gap(logits, logits + V, V) > 1e-3);                  /* and the two tokens do differ */
    }
    free(logits);
    tina_kv_cache_free(kv);
    tina_model_free(m);
}

/* Slots far apart change page-table entries too far apart for one upload to a GPU (more than 64 KB between them):
 * each slot's entries go up on their own, and each sequence reads its own pages. */
static void slots_far_apart_read_their_own_pages(void) {
    TinaModel *m = load();
    TinaKVCache *kv = NULL, *alone = NULL;
    TinaError err;
    if (!m) return;
    enum { FAR = 5000 }; /* 5000 slots x 4 entries x 4 bytes: 80 KB of page table */
    int V = tina_model_config(m)->vocab;
    CHECK(tina_model_kv_cache(m, FAR, MAX_LEN, 2 * MAX_LEN / TINA_KV_PAGE, &kv, &err) == TINA_OK);
    CHECK(tina_model_kv_cache(m, 1, MAX_LEN, 0, &alone, &err) == TINA_OK);
    float *logits = malloc((size_t)2 * V * sizeof *logits), *want = malloc((size_t)V * sizeof *want);
    TinaSequence both[2] = {{0, 0, PROMPT, prompt}, {FAR - 1, 0, PROMPT - 5, prompt + 5}};
    CHECK(tina_model_forward(m, kv, both, 2, NULL, TINA_LOGITS_NONE, NULL, &err) == TINA_OK);
    int32_t token = 9;
    TinaSequence steps[2] = {{0, PROMPT, 1, &token}, {FAR - 1, PROMPT - 5, 1, &token}};
    CHECK(tina_model_forward(m, kv, steps, 2, NULL, TINA_LOGITS_LAST, logits, &err) == TINA_OK);
    for (int i = 0; i < 2; i++) { /* each again in a cache of its own */
        TinaSequence seq = both[i], step = steps[i];
        seq.slot = step.slot = 0;
        tina_kv_cache_release(alone, 0);
        CHECK(tina_model_forward(m, alone, &seq, 1, NULL, TINA_LOGITS_NONE, NULL, &err) == TINA_OK);
        CHECK(tina_model_forward(m, alone, &step, 1, NULL, TINA_LOGITS_LAST, want, &err) == TINA_OK);
        CHECK(gap(logits + (size_t)i * V, want, V) <= (backend->act_bytes == 4 ? 1e-6 : 2e-2));
    }
    CHECK(gap(logits, logits + V, V) > 1e-1); /* the two prompts do lead apart */
    free(logits), free(want);
    tina_kv_cache_free(kv), tina_kv_cache_free(alone);
    tina_model_free(m);
}

static void running_out_and_bad_requests_are_errors(void) {
    TinaModel *m = load();
    TinaKVCache *kv = NULL;
    TinaError err;
    if (!m) return;
    CHECK(tina_model_kv_cache(m, 2, MAX_LEN, MAX_LEN / TINA_KV_PAGE - 1, &kv, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "of 48 positions (3 pages) cannot hold one sequence of 64") != NULL);
    CHECK(tina_model_kv_cache(m, 2, MAX_LEN, 1, &kv, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "of 16 positions (1 page) cannot") != NULL);
    CHECK(tina_model_kv_cache(m, 2, MAX_LEN, MAX_LEN / TINA_KV_PAGE, &kv, &err) == TINA_OK);
    int32_t tokens[MAX_LEN];
    for (int i = 0; i < MAX_LEN; i++) tokens[i] = prompt[i % PROMPT];
    TinaSequence whole = {0, 0, MAX_LEN, tokens}, one = {1, 0, 1, tokens};
    CHECK(tina_model_forward(m, kv, &whole, 1, NULL, TINA_LOGITS_NONE, NULL, &err) == TINA_OK);
    CHECK(tina_kv_cache_pages_free(kv) == 0);
    CHECK(tina_model_forward(m, kv, &one, 1, NULL, TINA_LOGITS_NONE, NULL, &err) == TINA_ERR_RUNTIME);
    CHECK(strstr(err.message, "out of pages") != NULL);
    CHECK(tina_kv_cache_share(kv, 0, 1, MAX_LEN + 1, &err) == TINA_ERR_INPUT); /* more than slot 0 holds */
    CHECK(tina_kv_cache_share(kv, 0, 0, 8, &err) == TINA_ERR_INPUT);
    CHECK(tina_kv_cache_share(kv, 0, 2, 8, &err) == TINA_ERR_INPUT);           /* no slot 2 */
    tina_kv_cache_release(kv, 0);
    TinaSequence gap = {1, 5, 1, tokens}; /* positions before it that slot 1 never held */
    CHECK(tina_model_forward(m, kv, &gap, 1, NULL, TINA_LOGITS_NONE, NULL, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "holds fewer") != NULL);
    tina_kv_cache_free(kv);
    tina_model_free(m);
}

int main(void) {
    static const TestCase tests[] = {
        TEST(pages_are_taken_as_sequences_grow_and_given_back),
        TEST(samples_sharing_a_prompt_decode_as_if_each_had_prefilled_it),
        TEST(slots_far_apart_read_their_own_pages),
        TEST(running_out_and_bad_requests_are_errors),
    };
    return test_main_on_backend("test_kv_cache", tests, sizeof tests / sizeof tests[0], &backend);
}
