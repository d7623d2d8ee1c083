/* sampler: draws follow the target distribution (chi-square over 200,000 draws), top-k and top-p keep exactly the
 * tokens they should, greedy and the padding mask hold, and log-probs are those of the trainer's softmax. */
#include <stdlib.h>

#include "base/rng.h"
#include "backends/sampler.h"
#include "test.h"

enum { V = 8, DRAWS = 200000 };
static const float LOGITS[V] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, 3.0f, 0.2f, -0.5f};

/* The documented target, computed independently: softmax(logits / t), then top-k, then top-p, renormalised. */
static void target(const float *logits, double t, int top_k, double top_p, double p[V]) {
    int order[V];
    for (int i = 0; i < V; i++) order[i] = i;
    for (int i = 0; i < V; i++) /* selection sort: decreasing logit, then increasing id */
        for (int j = i + 1; j < V; j++)
            if (logits[order[j]] > logits[order[i]] || (logits[order[j]] == logits[order[i]] && order[j] < order[i])) {
                int x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
    double w[V], total = 0;
    for (int i = 0; i < V; i++) total += w[i] = exp(logits[order[i]] / t);
    int kept = top_k > 0 && top_k < V ? top_k : V;
    total = 0;
    for (int i = 0; i < kept; i++) total += w[i];
    double mass = 0;
    int n = 0;
    while (n < kept) {
        mass += w[n++];
        if (mass >= top_p * total) break;
    }
    double kept_total = 0;
    for (int i = 0; i < n; i++) kept_total += w[i];
    for (int i = 0; i < V; i++) p[i] = 0;
    for (int i = 0; i < n; i++) p[order[i]] = w[i] / kept_total;
}

/* Pearson's chi-square of DRAWS draws against p (tokens with p = 0 must never be drawn). */
static double chi_square(const float *logits, const TinaSamplerParams *params, const double p[V], bool *outside) {
    TinaSampler *s;
    TinaError err;
    CHECK(tina_sampler_new(V, &s, &err) == TINA_OK);
    long counts[V] = {0};
    for (int i = 0; i < DRAWS; i++) {
        double logprob;
        counts[tina_sampler_draw(s, logits, params, tina_rng_uniform(42, 7, (uint64_t)i), &logprob)]++;
    }
    double chi = 0;
    *outside = false;
    for (int i = 0; i < V; i++) {
        if (p[i] == 0) {
            *outside |= counts[i] > 0;
            continue;
        }
        double e = p[i] * DRAWS;
        chi += (counts[i] - e) * (counts[i] - e) / e;
    }
    tina_sampler_free(s);
    return chi;
}

static void draws_follow_the_tempered_filtered_distribution(void) {
    struct {
        double temperature, top_p;
        int top_k;
    } cases[] = {{0.7, 1.0, 0}, {1.0, 1.0, 0}, {0.6, 0.95, 0}, {1.3, 0.8, 0}, {1.0, 1.0, 4}, {0.7, 0.9, 3}};
    /* 99.9% quantiles of chi-square by degrees of freedom (tokens kept - 1) */
    const double critical[V] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        TinaSamplerParams params = {cases[c].temperature, cases[c].top_p, cases[c].top_k, V, false};
        double p[V];
        target(LOGITS, cases[c].temperature, cases[c].top_k, cases[c].top_p, p);
        int support = 0;
        for (int i = 0; i < V; i++) support += p[i] > 0;
        bool outside;
        double chi = chi_square(LOGITS, &params, p, &outside);
        printf("note: sampler: t=%.1f top_p=%.2f top_k=%d: chi-square %.2f over %d tokens (99.9%% bound %.2f)\n",
               cases[c].temperature, cases[c].top_p, cases[c].top_k, chi, support, critical[support - 1]);
        CHECK(!outside);
        CHECK(support > 1 && chi < critical[support - 1]);
    }
}

/* probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.79 keeps two tokens, 0.81 three, 0.5 exactly one */
static void top_p_keeps_exactly_the_tokens_that_first_reach_p(void) {
    float logits[V];
    const double probs[4] = {0.5, 0.3, 0.15, 0.05};
    for (int i = 0; i < V; i++) logits[i] = i < 4 ? (float)log(probs[i]) : -1e30f;
    struct {
        double top_p;
        int kept;
    } cases[] = {{0.79, 2}, {0.81, 3}, {0.49, 1}, {0.99, 4}};
    TinaSampler *s;
    TinaError err;
    CHECK(tina_sampler_new(V, &s, &err) == TINA_OK);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        TinaSamplerParams params = {1.0, cases[c].top_p, 0, V, false};
        bool seen[V] = {0};
        for (int i = 0; i < 20000; i++) {
            double logprob;
            seen[tina_sampler_draw(s, logits, &params, tina_rng_uniform(1, 2, (uint64_t)i), &logprob)] = true;
        }
        for (int i = 0; i < V; i++) CHECK(seen[i] == (i < cases[c].kept));
    }
    tina_sampler_free(s);
}

static void greedy_top_k_one_and_the_padding_mask(void) {
    float logits[V];
    for (int i = 0; i < V; i++) logits[i] = LOGITS[i];
    logits[7] = 100; /* a padding row of the head: must never come out */
    TinaSampler *s;
    TinaError err;
    CHECK(tina_sampler_new(V, &s, &err) == TINA_OK);
    double logprob;
    TinaSamplerParams greedy = {0, 1, 0, 7, false};
    CHECK(tina_sampler_draw(s, logits, &greedy, 0.999, &logprob) == 5);
    TinaSamplerParams top1 = {1.0, 1, 1, 7, false};
    TinaSamplerParams hot = {5.0, 1, 0, 7, false};
    for (int i = 0; i < 1000; i++) {
        CHECK(tina_sampler_draw(s, logits, &top1, tina_rng_uniform(3, 0, (uint64_t)i), &logprob) == 5);
        CHECK(tina_sampler_draw(s, logits, &hot, tina_rng_uniform(3, 1, (uint64_t)i), &logprob) != 7);
    }
    float ties[V] = {1, 3, 3, 0, 0, 0, 0, 0};
    CHECK(tina_sampler_draw(s, ties, &greedy, 0.5, &logprob) == 1); /* the smaller id of the largest logit */
    tina_sampler_free(s);
}

/* log-probs: of the softmax over the valid ids at temperature 1 (or at the sampling temperature when asked), before
 * top-k and top-p, whatever was drawn; a draw depends only on u. The exponentials are f32 (within 6e-7 relative
 * each, summed in f64): the log-probs agree with an all-f64 computation to 1e-7. */
/* A NaN among the valid logits (a diverged model) leaves nothing to draw from: -1, whatever the params; a NaN in the
 * padding mask's rows does not count. */
static void a_nan_logit_draws_no_token(void) {
    TinaSampler *s;
    TinaError err;
    CHECK(tina_sampler_new(V, &s, &err) == TINA_OK);
    const TinaSamplerParams params[] = {{0, 1, 0, 0, false}, {1.0, 1, 0, 0, false}, {0.6, 0.9, 3, 0, false}};
    float first[V], middle[V], all[V], padding[V];
    for (int i = 0; i < V; i++) first[i] = middle[i] = padding[i] = LOGITS[i], all[i] = NAN;
    first[0] = middle[4] = padding[7] = NAN;
    double logprob;
    for (size_t k = 0; k < sizeof params / sizeof *params; k++) {
        CHECK(tina_sampler_draw(s, first, &params[k], 0.5, &logprob) == -1);
        CHECK(tina_sampler_draw(s, middle, &params[k], 0.5, &logprob) == -1);
        CHECK(tina_sampler_draw(s, all, &params[k], 0.5, &logprob) == -1);
        TinaSamplerParams masked = params[k];
        masked.n_valid = 7;
        CHECK(tina_sampler_draw(s, padding, &masked, 0.5, &logprob) >= 0);
    }
    tina_sampler_free(s);
}

static void logprobs_are_the_trainers_and_draws_depend_only_on_u(void) {
    TinaSampler *s;
    TinaError err;
    CHECK(tina_sampler_new(V, &s, &err) == TINA_OK);
    double sum1 = 0, sum07 = 0, max = 3.0;
    for (int i = 0; i < V - 1; i++) sum1 += exp(LOGITS[i] - max), sum07 += exp((LOGITS[i] - max) / 0.7);
    TinaSamplerParams tina = {0.7, 0.9, 0, V - 1, false}, later = {0.7, 0.9, 0, V - 1, true};
    for (int i = 0; i < 100; i++) {
        double u = tina_rng_uniform(9, 9, (uint64_t)i), a, b;
        int32_t x = tina_sampler_draw(s, LOGITS, &tina, u, &a), y = tina_sampler_draw(s, LOGITS, &later, u, &b);
        CHECK(x == y);
        CHECK_NEAR(a, LOGITS[x] - max - log(sum1), 1e-7);
        CHECK_NEAR(b, (LOGITS[x] - max) / 0.7 - log(sum07), 1e-7);
    }
    tina_sampler_free(s);
}

RUN_TESTS("test_sampler", TEST(draws_follow_the_tempered_filtered_distribution),
          TEST(top_p_keeps_exactly_the_tokens_that_first_reach_p), TEST(greedy_top_k_one_and_the_padding_mask),
          TEST(logprobs_are_the_trainers_and_draws_depend_only_on_u), TEST(a_nan_logit_draws_no_token))
