/* sampler: the next token from a row of logits: temperature, top-k, top-p, the padding rows of the head masked,
 * and the token's log-probability. A draw is a pure function of the logits, the parameters and one uniform number,
 * which the caller takes from the (seed, sequence, step) stream of rng.h: same seed, same tokens, whatever the
 * batching.
 *
 * Order of the filters, as transformers' and vLLM's samplers: logits / temperature, then top-k (the k largest), then
 * top-p (the most probable tokens whose probabilities, in decreasing order, first reach p; the one that crosses p is
 * kept). Ties are broken by the smaller id, so the kept set is exact. Temperature 0 is greedy (the smallest id of
 * the largest logit). */
#ifndef TINA_SAMPLER_H
#define TINA_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

typedef struct {
    double temperature;      /* 0: greedy */
    double top_p;            /* 1: no top-p */
    int top_k;               /* 0: no top-k */
    int n_valid;             /* ids from n_valid on (the head's padding rows) are never drawn */
    bool logprob_at_temperature; /* log-probs of the tempered distribution (later TRL) instead of temperature 1 (Tina) */
} TinaSamplerParams;

typedef struct TinaSampler TinaSampler;

/* A sampler for rows of V logits (its workspace: V floats and V ints). */
TinaStatus tina_sampler_new(int V, TinaSampler **sampler, TinaError *err);
void tina_sampler_free(TinaSampler *sampler);

/* Draws from logits (V,) with uniform u in [0, 1); *logprob is the drawn token's log-probability (see the params),
 * over the valid ids and before top-k and top-p, as the trainer computes it. -1 when a valid logit is NaN (a model or
 * adapter that has diverged): there is no distribution to draw from. */
int32_t tina_sampler_draw(TinaSampler *sampler, const float *logits, const TinaSamplerParams *params, double u,
                          double *logprob);

#endif
