/* generate: the engine under random workloads on the tiny Qwen2 fixture (CPU): prompts of 1 to 40 tokens, 1 to 4
 * samples each, samples that stop early (a token the test picks as a stop) or at the limit, 1 to 3 times G slots,
 * prompts prefilled one a call or several (up to 64 tokens: rows the CPU sums alike however many there are), and KV
 * caches from one sequence's worth of pages up to every slot at full length.
 * Every sample's tokens and log-probs must be the same whatever the cache (on the CPU a rebuilt cache holds the same
 * values, and a sample's draws are its own): a preempted sequence that resumed with a wrong cache, a draw handed to
 * the wrong sample, a page given back while another sample still reads it, all show as a difference. Each sample
 * must end exactly once. */
#include <stdlib.h>
#include <string.h>

#include "model/generate.h"
#include "backends/kv_cache.h"
#include "model/model.h"
#include "base/rng.h"
#include "test.h"

enum { PROMPTS = 7, MOST_G = 4, MOST_NEW = 24, MOST_PROMPT = 40, ROUNDS = 40 };

typedef struct {
    int32_t tokens[PROMPTS][MOST_PROMPT];
    int lengths[PROMPTS];
    int next, G;
    int32_t drawn[PROMPTS][MOST_G][MOST_NEW];
    double logprobs[PROMPTS][MOST_G][MOST_NEW];
    int counts[PROMPTS][MOST_G], ends[PROMPTS][MOST_G];
    int32_t stop; /* a sample that draws this token ends there */
} Run;

static TinaStatus next(void *ctx, TinaGenPrompt *prompt, bool *more, TinaError *err) {
    (void)err;
    Run *r = ctx;
    *more = r->next < PROMPTS;
    if (*more) {
        int p = r->next++;
        *prompt = (TinaGenPrompt){r->tokens[p], r->lengths[p], (uint64_t)p * 977, (void *)(intptr_t)p};
    }
    return TINA_OK;
}

static bool token(void *ctx, void *user, int sample, int32_t t, double logprob) {
    Run *r = ctx;
    int p = (int)(intptr_t)user, i = r->counts[p][sample]++;
    if (i < MOST_NEW) r->drawn[p][sample][i] = t, r->logprobs[p][sample][i] = logprob;
    return t == r->stop;
}

static TinaStatus done(void *ctx, void *user, int sample, bool by_length, TinaError *err) {
    (void)by_length, (void)err;
    Run *r = ctx;
    r->ends[(int)(intptr_t)user][sample]++;
    return TINA_OK;
}

static void preempted_or_not_every_sample_draws_the_same(void) {
    TinaBackend *backend = NULL;
    TinaModel *m = NULL;
    TinaError err;
    CHECK(tina_backend_new("cpu", 2, &backend, &err) == TINA_OK);
    if (backend && tina_model_load("tests/fixtures/models/qwen2-f32", backend, 256, &m, &err))
        fprintf(stderr, "    %s\n", err.message);
    CHECK(m != NULL);
    if (!m) {
        if (backend) backend->destroy(backend);
        return;
    }
    int V = tina_model_config(m)->vocab, preempting_runs = 0;
    static Run roomy, tight;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t seed = 1000 + (uint64_t)round;
        int G = 1 + (int)(tina_rng_bits(seed, 1, 0) % MOST_G), slots = G * (1 + (int)(tina_rng_bits(seed, 2, 0) % 3));
        int max_new = 1 + (int)(tina_rng_bits(seed, 3, 0) % MOST_NEW), longest = 0;
        memset(&roomy, 0, sizeof roomy);
        for (int p = 0; p < PROMPTS; p++) {
            roomy.lengths[p] = 1 + (int)(tina_rng_bits(seed, 4, (uint64_t)p) % MOST_PROMPT);
            longest = roomy.lengths[p] > longest ? roomy.lengths[p] : longest;
            for (int i = 0; i < roomy.lengths[p]; i++)
                roomy.tokens[p][i] = (int32_t)(tina_rng_bits(seed, 5, (uint64_t)(p * 64 + i)) % (uint64_t)V);
        }
        roomy.G = G, roomy.stop = (int32_t)(tina_rng_bits(seed, 6, 0) % 64); /* often drawn: the model is tiny */
        tight = roomy;
        int one = tina_kv_cache_pages_of(longest + max_new);
        /* a cache of one sequence, or up to a few: between that and room for every slot */
        int pages = one + (int)(tina_rng_bits(seed, 7, 0) % (uint64_t)(2 * one + 1));
        TinaGenStats roomy_stats = {0}, tight_stats = {0};
        TinaGenParams params = {.sampling = {1.0, 1.0, 0, V, false}, .n_samples = G, .max_new_tokens = max_new,
                                .max_prompt_tokens = longest, .slots = slots, .kv_pages = 0,
                                .prefill_tokens = round % 2 ? 64 : 0,
                                .seed = seed, .stats = &roomy_stats};
        TinaGenCallbacks roomy_cb = {next, token, done, &roomy}, tight_cb = {next, token, done, &tight};
        CHECK(tina_generate(m, NULL, &params, &roomy_cb, &err) == TINA_OK);
        params.kv_pages = pages, params.stats = &tight_stats;
        TinaStatus status = tina_generate(m, NULL, &params, &tight_cb, &err);
        if (status) fprintf(stderr, "    round %d: %s\n", round, err.message);
        CHECK(status == TINA_OK);
        CHECK(roomy_stats.preemptions == 0);
        preempting_runs += tight_stats.preemptions > 0;
        for (int p = 0; p < PROMPTS; p++)
            for (int s = 0; s < G; s++) {
                CHECK(roomy.ends[p][s] == 1 && tight.ends[p][s] == 1);
                CHECK(roomy.counts[p][s] >= 1 && roomy.counts[p][s] <= max_new);
                CHECK(tight.counts[p][s] == roomy.counts[p][s]);
            }
        CHECK(memcmp(roomy.drawn, tight.drawn, sizeof roomy.drawn) == 0);
        CHECK(memcmp(roomy.logprobs, tight.logprobs, sizeof roomy.logprobs) == 0);
        if (round < 4)
            printf("note: round %d: G %d, %d slots, %d new, %d pages (%d a sequence): %lld preemptions, %lld "
                   "positions recomputed\n", round, G, slots, max_new, pages, one, tight_stats.preemptions,
                   tight_stats.recomputed_tokens);
    }
    printf("note: %d of %d rounds preempted\n", preempting_runs, ROUNDS);
    CHECK(preempting_runs >= ROUNDS / 3); /* the test does test preemption */
    tina_model_free(m);
    backend->destroy(backend);
}

int main(void) {
    static const TestCase tests[] = {TEST(preempted_or_not_every_sample_draws_the_same)};
    return test_main("test_generate", tests, sizeof tests / sizeof tests[0]);
}
