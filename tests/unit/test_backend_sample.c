/* The backend's sample op draws what tina_sampler_draw (the reference, test_sampler.c) draws from the same logits:
 * greedy, plain temperature, top-k, top-p, both, ties, the padding mask, log-probs at temperature, and the rows a
 * GPU leaves to the host (more candidates than it gathers, top-k beyond them). The logits are made exact on any
 * backend: h (rows, 8) holds one-hot rows and head (V, 8) a profile of logits per column, all bf16 values, so that
 * h @ head^T is each row's profile whatever the precision. TINA_TEST_BACKEND names the backend (default cpu;
 * tests/gpu/run.sh runs this with cuda). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backend_values.h"
#include "base/rng.h"
#include "backends/sampler.h"
#include "test.h"

enum { V = 151936, PROFILES = 8, UNIFORMS = 6, ROWS = PROFILES * UNIFORMS };

static TinaBackend *backend;
static float logits[PROFILES][V]; /* the profiles, bf16 values in f32 */

/* a standard normal from the counter-based stream */
static double normal(uint64_t stream, uint64_t i) {
    double u1 = tina_rng_uniform(7, stream, 2 * i), u2 = tina_rng_uniform(7, stream, 2 * i + 1);
    return sqrt(-2 * log(1 - u1)) * cos(2 * M_PI * u2);
}

/* Flat (a random model's), peaked (a trained model's: a few dozen tokens far above the rest), exact ties at the top,
 * wide (hundreds within reach at temperature 0.6), a peak in the padding rows beyond V - 936, and three more flat
 * ones of other scales. */
static void make_profiles(void) {
    for (int v = 0; v < V; v++) {
        logits[0][v] = round_bf16((float)normal(0, v));
        logits[1][v] = round_bf16((float)(1.5 * normal(1, v) - 5));
        logits[2][v] = -10.0f;
        logits[3][v] = round_bf16((float)(3 * normal(3, v)));
        logits[4][v] = v >= V - 936 ? 50.0f : logits[1][v];
        logits[5][v] = round_bf16((float)(0.3 * normal(5, v)));
        logits[6][v] = round_bf16((float)(2 * normal(6, v)));
        logits[7][v] = round_bf16((float)(5 * normal(7, v)));
    }
    for (int i = 0; i < 30; i++) { /* the peak: 30 ids spread over the vocabulary, logits 8 to 14.5 */
        int id = (int)(tina_rng_bits(7, 11, (uint64_t)i) % (V - 1000));
        logits[1][id] = logits[4][id] = round_bf16(8.0f + 0.22f * (float)i);
    }
    const int tied[] = {17, 5, 99, 3000, 70000}, near[] = {4, 12, 150000};
    for (int i = 0; i < 5; i++) logits[2][tied[i]] = 5.0f;
    for (int i = 0; i < 3; i++) logits[2][near[i]] = 4.5f;
}

/* Every row's draw through the backend against the reference's from the same logits and uniform. A draw whose
 * uniform lies within 1e-6 (relative) of a boundary between two tokens is left out: there the two sums' rounding
 * may fall either way (the reference's f32 terms are within 1.2e-7 of exp's). Returns how many draws were compared:
 * most of them. */
static int compare(const TinaSamplerParams *params, uint64_t stream) {
    static float head[(size_t)V * PROFILES], h[ROWS * PROFILES];
    for (int v = 0; v < V; v++)
        for (int j = 0; j < PROFILES; j++) head[(size_t)v * PROFILES + j] = logits[j][v];
    memset(h, 0, sizeof h);
    double u[ROWS];
    for (int r = 0; r < ROWS; r++) {
        h[r * PROFILES + r % PROFILES] = 1.0f;
        u[r] = tina_rng_uniform(3, stream, (uint64_t)r);
    }
    void *head_b = upload_values(backend, head, (size_t)V * PROFILES, backend->weight_bytes);
    void *h_b = upload_values(backend, h, ROWS * PROFILES, backend->act_bytes);
    int32_t tokens[ROWS];
    double logprobs[ROWS];
    TinaError err;
    CHECK(head_b && h_b);
    if (head_b && h_b) backend->sample(backend, tokens, logprobs, h_b, head_b, ROWS, PROFILES, V, params, u);
    CHECK(backend->check(backend, &err) == TINA_OK);
    TinaSampler *sampler;
    if (tina_sampler_new(V, &sampler, &err)) return 0;
    int compared = 0;
    for (int r = 0; r < ROWS && head_b && h_b; r++) {
        const float *row = logits[r % PROFILES];
        double want_logprob, ignored, below = u[r] * (1 - 1e-6), above = fmin(u[r] * (1 + 1e-6), 0x1.fffffffffffffp-1);
        int32_t want = tina_sampler_draw(sampler, row, params, u[r], &want_logprob);
        if (tina_sampler_draw(sampler, row, params, below, &ignored) != want ||
            tina_sampler_draw(sampler, row, params, above, &ignored) != want)
            continue;
        compared++;
        if (tokens[r] != want)
            fprintf(stderr, "    row %d (profile %d, u %.17g): token %d, the reference's %d\n", r, r % PROFILES, u[r],
                    tokens[r], want);
        CHECK(tokens[r] == want);
        CHECK_NEAR(logprobs[r], want_logprob, 1e-5);
    }
    tina_sampler_free(sampler);
    backend->release(backend, head_b);
    backend->release(backend, h_b);
    return compared;
}

static void greedy_takes_the_smallest_id_of_the_best(void) {
    TinaSamplerParams p = {.temperature = 0, .top_p = 1};
    CHECK(compare(&p, 1) == ROWS); /* no uniform matters */
}

static void plain_temperature_draws_in_id_order(void) {
    TinaSamplerParams one = {.temperature = 1, .top_p = 1}, cool = {.temperature = 0.6, .top_p = 1};
    CHECK(compare(&one, 2) >= ROWS * 3 / 4);
    CHECK(compare(&cool, 3) >= ROWS * 3 / 4);
}

static void top_k_and_top_p_keep_the_reference_set(void) {
    TinaSamplerParams top_p = {.temperature = 0.6, .top_p = 0.95}, top_k = {.temperature = 0.7, .top_p = 1, .top_k = 20},
                      both = {.temperature = 1, .top_p = 0.9, .top_k = 50},
                      tempered = {.temperature = 0.6, .top_p = 0.95, .logprob_at_temperature = true};
    CHECK(compare(&top_p, 4) >= ROWS * 3 / 4);
    CHECK(compare(&top_k, 5) >= ROWS * 3 / 4);
    CHECK(compare(&both, 6) >= ROWS * 3 / 4);
    CHECK(compare(&tempered, 7) >= ROWS * 3 / 4);
}

static void rows_beyond_the_gathered_candidates_are_drawn_all_the_same(void) {
    /* top-p over a flat row keeps tens of thousands of tokens; top-k 5000 reaches below a peaked row's few */
    TinaSamplerParams wide_p = {.temperature = 1, .top_p = 0.99}, wide_k = {.temperature = 1, .top_p = 1, .top_k = 5000};
    CHECK(compare(&wide_p, 8) >= ROWS * 3 / 4);
    CHECK(compare(&wide_k, 9) >= ROWS * 3 / 4);
}

static void the_padding_rows_are_never_drawn(void) {
    TinaSamplerParams p = {.temperature = 1, .top_p = 0.99, .n_valid = V - 936},
                      greedy = {.temperature = 0, .top_p = 1, .n_valid = V - 936};
    CHECK(compare(&p, 10) >= ROWS * 3 / 4);
    CHECK(compare(&greedy, 11) == ROWS);
}

/* A diverged model's logits hold NaN: a row all NaN (its h) or one id's in every row (a NaN in head) draws no token,
 * -1 (tina_model_sample reports it), greedy or not, while the other rows draw as ever. A GPU read row[INT_MAX] (greedy)
 * or gave the last id (sampled). */
static void logits_holding_nan_draw_no_token(void) {
    enum { N = 4 };
    static float head[(size_t)V * PROFILES];
    for (int v = 0; v < V; v++)
        for (int j = 0; j < PROFILES; j++) head[(size_t)v * PROFILES + j] = logits[j][v];
    float h[N * PROFILES] = {0};
    for (int r = 0; r < N; r++) h[r * PROFILES + r] = 1.0f;
    for (int j = 0; j < PROFILES; j++) h[2 * PROFILES + j] = NAN; /* row 2: every logit NaN */
    const TinaSamplerParams params[] = {{.temperature = 0, .top_p = 1}, {.temperature = 0.6, .top_p = 1},
                                        {.temperature = 0.6, .top_p = 0.95}};
    double u[N] = {0.1, 0.5, 0.7, 0.9}, logprobs[N];
    int32_t tokens[N];
    TinaError err;
    for (int poisoned = 0; poisoned < 2; poisoned++) {
        if (poisoned) head[(size_t)1234 * PROFILES + 5] = NAN; /* id 1234's logit NaN in every row */
        void *head_b = upload_values(backend, head, (size_t)V * PROFILES, backend->weight_bytes);
        void *h_b = upload_values(backend, h, N * PROFILES, backend->act_bytes);
        CHECK(head_b && h_b);
        for (size_t k = 0; k < sizeof params / sizeof *params && head_b && h_b; k++) {
            backend->sample(backend, tokens, logprobs, h_b, head_b, N, PROFILES, V, &params[k], u);
            CHECK(backend->check(backend, &err) == TINA_OK);
            for (int r = 0; r < N; r++) {
                if (poisoned || r == 2) CHECK(tokens[r] == -1);
                else CHECK(tokens[r] >= 0 && tokens[r] < V);
            }
        }
        backend->release(backend, head_b);
        backend->release(backend, h_b);
    }
}

int main(void) {
    static const TestCase tests[] = {
        TEST(greedy_takes_the_smallest_id_of_the_best),
        TEST(plain_temperature_draws_in_id_order),
        TEST(top_k_and_top_p_keep_the_reference_set),
        TEST(rows_beyond_the_gathered_candidates_are_drawn_all_the_same),
        TEST(the_padding_rows_are_never_drawn),
        TEST(logits_holding_nan_draw_no_token),
    };
    make_profiles();
    return test_main_on_backend("test_backend_sample", tests, sizeof tests / sizeof tests[0], &backend);
}
