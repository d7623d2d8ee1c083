#include "generate.h"

#include <omp.h>
#include <stdlib.h>

#include "progress.h"
#include "rng.h"

typedef struct {
    bool active;
    void *user;
    int sample;
    uint64_t stream;  /* this sample's RNG stream */
    int n_past;       /* positions in its cache slot */
    int generated;    /* tokens drawn so far */
    int32_t last;     /* the token to feed next */
} Sequence;

typedef struct {
    TinaModel *model;
    const TinaLora *lora;
    const TinaGenParams *params;
    const TinaGenCallbacks *cb;
    TinaKVCache *cache;
    TinaSampler **samplers; /* one per thread: the draws of a step run in parallel */
    int n_samplers;
    int32_t *drawn;   /* (slots,) the step's tokens */
    double *logprobs; /* (slots,) and their log-probs */
    Sequence *seqs;   /* (slots,) */
    float *logits;    /* (slots, V) */
    TinaSequence *batch;
    int *picked;      /* (slots,) slot numbers, a workspace */
    int V;
    TinaGenStats stats;
} Engine;

/* The token of the sequence in slot s at its current step, from its row of logits: a pure function of both. */
static void draw(Engine *e, TinaSampler *sampler, int s, const float *row) {
    Sequence *q = &e->seqs[s];
    double u = tina_rng_uniform(e->params->seed, q->stream, (uint64_t)q->generated);
    e->drawn[s] = tina_sampler_draw(sampler, row, &e->params->sampling, u, &e->logprobs[s]);
}

/* Hands the drawn token of slot s to the caller; ends the sequence if it stops or reaches the limit. */
static TinaStatus advance(Engine *e, int s, TinaError *err) {
    Sequence *q = &e->seqs[s];
    q->generated++;
    q->last = e->drawn[s];
    bool stop = e->cb->token(e->cb->ctx, q->user, q->sample, q->last, e->logprobs[s]);
    bool by_length = !stop && q->generated >= e->params->max_new_tokens;
    if (!stop && !by_length) return TINA_OK;
    q->active = false;
    return e->cb->done(e->cb->ctx, q->user, q->sample, by_length, err);
}

/* Prefills the prompt in the first free slot, shares its cache with G - 1 more, and draws every first token. */
static TinaStatus start(Engine *e, const TinaGenPrompt *prompt, TinaError *err) {
    int G = e->params->n_samples, *slots = e->picked, n = 0;
    for (int s = 0; s < e->params->slots && n < G; s++)
        if (!e->seqs[s].active) slots[n++] = s;
    TinaSequence seq = {slots[0], 0, prompt->n_tokens, prompt->tokens};
    double t0 = tina_progress_now();
    TinaStatus status = tina_model_forward(e->model, e->cache, &seq, 1, e->lora, TINA_LOGITS_LAST, e->logits, err);
    for (int i = 1; i < G && !status; i++) status = tina_kv_cache_copy(e->cache, slots[0], slots[i], prompt->n_tokens, err);
    e->stats.prefill_seconds += tina_progress_now() - t0;
    for (int i = 0; i < G && !status; i++) {
        e->seqs[slots[i]] = (Sequence){true, prompt->user, i, tina_rng_bits(e->params->seed, prompt->stream, (uint64_t)i),
                                       prompt->n_tokens, 0, 0};
        draw(e, e->samplers[0], slots[i], e->logits);
        status = advance(e, slots[i], err);
    }
    return status;
}

/* One decode step for every active sequence. */
static TinaStatus step(Engine *e, TinaError *err) {
    int n = 0, *which = e->picked;
    for (int s = 0; s < e->params->slots; s++) {
        Sequence *q = &e->seqs[s];
        if (!q->active) continue;
        e->batch[n] = (TinaSequence){s, q->n_past, 1, &q->last};
        which[n++] = s;
    }
    if (n == 0) return TINA_OK;
    double t0 = tina_progress_now();
    TinaStatus status = tina_model_forward(e->model, e->cache, e->batch, n, e->lora, TINA_LOGITS_LAST, e->logits, err);
    if (status) return status;
    double t1 = tina_progress_now();
#pragma omp parallel for schedule(dynamic) num_threads(e->n_samplers)
    for (int i = 0; i < n; i++) draw(e, e->samplers[omp_get_thread_num()], which[i], e->logits + (size_t)i * e->V);
    e->stats.decode_seconds += t1 - t0;
    e->stats.draw_seconds += tina_progress_now() - t1;
    e->stats.steps++;
    for (int i = 0; i < n && !status; i++) { /* the caller sees the tokens one at a time, in slot order */
        e->seqs[which[i]].n_past++;
        status = advance(e, which[i], err);
    }
    return status;
}

TinaStatus tina_generate(TinaModel *model, const TinaLora *lora, const TinaGenParams *p, const TinaGenCallbacks *cb,
                         TinaError *err) {
    if (p->n_samples < 1 || p->slots < p->n_samples || p->max_new_tokens < 1)
        return tina_error(err, TINA_ERR_INPUT, "generation needs at least one new token and as many slots (%d) as "
                          "samples per prompt (%d)", p->slots, p->n_samples);
    Engine e = {.model = model, .lora = lora, .params = p, .cb = cb, .V = tina_model_config(model)->vocab};
    TinaStatus status = tina_kv_cache_new(model, p->slots, p->max_prompt_tokens + p->max_new_tokens, &e.cache, err);
    e.n_samplers = omp_get_max_threads();
    e.samplers = calloc((size_t)e.n_samplers, sizeof *e.samplers);
    if (!e.samplers) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory (samplers)");
    for (int i = 0; i < e.n_samplers && !status; i++) status = tina_sampler_new(e.V, &e.samplers[i], err);
    if (!status) {
        e.drawn = malloc((size_t)p->slots * sizeof *e.drawn);
        e.logprobs = malloc((size_t)p->slots * sizeof *e.logprobs);
        e.seqs = calloc((size_t)p->slots, sizeof *e.seqs);
        e.logits = tina_model_host_floats(model, (size_t)p->slots * e.V);
        e.batch = malloc((size_t)p->slots * sizeof *e.batch);
        e.picked = malloc((size_t)p->slots * sizeof *e.picked);
        if (!e.seqs || !e.logits || !e.batch || !e.picked || !e.drawn || !e.logprobs) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory (engine)");
    }
    bool more = true;
    while (!status) {
        int free_slots = 0, active = 0;
        for (int s = 0; s < p->slots; s++) free_slots += !e.seqs[s].active;
        while (!status && more && free_slots >= p->n_samples) {
            TinaGenPrompt prompt;
            status = cb->next(cb->ctx, &prompt, &more, err);
            if (status || !more) break;
            status = start(&e, &prompt, err);
            free_slots = 0;
            for (int s = 0; s < p->slots; s++) free_slots += !e.seqs[s].active;
        }
        for (int s = 0; s < p->slots; s++) active += e.seqs[s].active;
        if (status || (!active && !more)) break;
        status = step(&e, err);
    }
    if (p->stats) *p->stats = e.stats;
    tina_kv_cache_free(e.cache);
    for (int i = 0; e.samplers && i < e.n_samplers; i++) tina_sampler_free(e.samplers[i]);
    free(e.samplers);
    free(e.drawn);
    free(e.logprobs);
    free(e.seqs);
    tina_model_host_free(model, e.logits);
    free(e.batch);
    free(e.picked);
    return status;
}
