/* generate: the batched generation engine.
 *
 * Prompts go through a fixed number of sequence slots over a paged KV cache (kv_cache.h): each prompt is prefilled
 * once (several in one call, up to a token budget) and its G samples map its pages together; decode steps advance
 * every running sequence at once (the weights are read once per step for the whole batch); a finished sequence
 * frees its slot and its pages, and waiting prompts start as soon as G slots are free and the free pages hold them
 * with a page to spare for every running sequence (continuous batching). A cache smaller than every slot at its
 * longest holds more sequences than a cache of whole slots would, as long as they are shorter than the longest;
 * when the running sequences outgrow it, the newest is preempted: its pages are given back, and when pages are free
 * again (before any new prompt starts) its cache is rebuilt by running its prompt and tokens through the model, and
 * it goes on with the same draws. A rebuilt cache is a prefill's rounding, not the decode steps': on a bf16 GPU a
 * preempted sample's later tokens may part from an unpreempted run's at near-ties.
 *
 * Sample i of a prompt draws its token at step j with u = uniform(seed, stream_i, j), stream_i = bits(seed,
 * prompt stream, i): the draws of a sample do not depend on what runs beside it. What a prompt is, and what happens
 * to each token, is the caller's, through callbacks. */
#ifndef TINA_GENERATE_H
#define TINA_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "model/lora.h"
#include "model/model.h"
#include "backends/sampler.h"

typedef struct {
    const int32_t *tokens; /* the prompt, valid until its last sample is done */
    int n_tokens;
    uint64_t stream;       /* the prompt's RNG stream, e.g. a hash of its id */
    void *user;            /* the caller's handle, given back in the callbacks */
} TinaGenPrompt;

typedef struct {
    /* The next prompt, or *more = false when there is none; called whenever G slots are free. */
    TinaStatus (*next)(void *ctx, TinaGenPrompt *prompt, bool *more, TinaError *err);
    /* Sample `sample` of the prompt drew `token`: return true to end the sample here (EOS, a stop string). */
    bool (*token)(void *ctx, void *user, int sample, int32_t token, double logprob);
    /* The sample ended: by its own stop (token returned true) or, when by_length, at max_new_tokens (or
     * max_model_len). */
    TinaStatus (*done)(void *ctx, void *user, int sample, bool by_length, TinaError *err);
    void *ctx;
} TinaGenCallbacks;

/* Where the time went, for the caller's summary: wall-clock seconds, the model's calls waited for. */
typedef struct {
    double prefill_seconds; /* prompts through the model, their first tokens drawn, their pages shared; caches rebuilt */
    double decode_seconds;  /* decode steps through the model, their tokens drawn by the backend */
    long long prefill_calls; /* the model's prefill calls (several prompts each, when prefill_tokens allows) */
    long long steps;        /* decode steps */
    long long preemptions;  /* sequences preempted for want of pages, */
    long long recomputed_tokens; /* and the positions their rebuilt caches took */
} TinaGenStats;

typedef struct {
    TinaSamplerParams sampling;
    int n_samples;         /* G */
    int max_new_tokens;
    int max_prompt_tokens; /* no prompt is longer (the caller checks) */
    int max_model_len;     /* 0, or a sample also ends by length once its prompt and tokens hold more than this many
                            * (vLLM's V0 engine, 0.7.2 as Tina ran it, checks get_len() > max_model_len after each
                            * token, so its longest sequence is max_model_len + 1 tokens) */
    int slots;             /* sequences decoded together, at least G */
    int kv_pages;          /* pages of TINA_KV_PAGE positions in the cache, at least those of one sequence of
                            * max_prompt_tokens + max_new_tokens (0: every slot that many, never preempting) */
    int prefill_tokens;    /* prompts are prefilled together, in one call, while their tokens add up to no more
                            * than this (0: one prompt a call). A GPU does more in one call; the CPU gives a prompt
                            * the same logits whatever else is prefilled with it only when nothing is. */
    uint64_t seed;
    TinaGenStats *stats;   /* filled in when not NULL */
} TinaGenParams;

/* Runs every prompt the callbacks give to the end. The model must take calls of max(slots, max_prompt_tokens,
 * prefill_tokens) tokens. lora NULL: the base model. */
TinaStatus tina_generate(TinaModel *model, const TinaLora *lora, const TinaGenParams *params,
                         const TinaGenCallbacks *callbacks, TinaError *err);

#endif
