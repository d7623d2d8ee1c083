#include "generate.h"

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
    double *uniforms; /* (slots,) the step's draws' uniforms, */
    int32_t *drawn;   /* (slots,) their tokens */
    double *logprobs; /* (slots,) and their log-probs, in the order of picked */
    Sequence *seqs;   /* (slots,) */
    TinaSequence *batch;     /* (slots,) */
    int *picked;             /* (slots,) slot numbers, a workspace */
    TinaGenPrompt *waiting;  /* (slots / G,) prompts taken, to be prefilled together */
    TinaGenStats stats;
} Engine;

/* The uniform of the draw of slot s's sequence at its current step: a token is a pure function of it and the logits */
static double uniform(const Engine *e, int s) {
    const Sequence *q = &e->seqs[s];
    return tina_rng_uniform(e->params->seed, q->stream, (uint64_t)q->generated);
}

/* Hands draw i (token and log-prob), which was slot s's, to the caller; ends the sequence if it stops or reaches the
 * limit. */
static TinaStatus advance(Engine *e, int s, int i, TinaError *err) {
    Sequence *q = &e->seqs[s];
    q->generated++;
    q->last = e->drawn[i];
    bool stop = e->cb->token(e->cb->ctx, q->user, q->sample, q->last, e->logprobs[i]);
    bool by_length = !stop && q->generated >= e->params->max_new_tokens;
    if (!stop && !by_length) return TINA_OK;
    q->active = false;
    return e->cb->done(e->cb->ctx, q->user, q->sample, by_length, err);
}

/* Prefills n prompts in one call, G free slots each, shares each one's cache with its G - 1 other samples, and draws
 * every first token. */
static TinaStatus start(Engine *e, const TinaGenPrompt *prompts, int n, TinaError *err) {
    int G = e->params->n_samples, *slots = e->picked, k = 0;
    for (int s = 0; s < e->params->slots && k < n * G; s++)
        if (!e->seqs[s].active) slots[k++] = s;
    for (int p = 0; p < n; p++) {
        e->batch[p] = (TinaSequence){slots[p * G], 0, prompts[p].n_tokens, prompts[p].tokens};
        for (int i = 0; i < G; i++) {
            int s = slots[p * G + i];
            e->seqs[s] = (Sequence){true, prompts[p].user, i,
                                    tina_rng_bits(e->params->seed, prompts[p].stream, (uint64_t)i),
                                    prompts[p].n_tokens, 0, 0};
            e->uniforms[p * G + i] = uniform(e, s);
        }
    }
    double t0 = tina_progress_now();
    TinaStatus status = tina_model_sample(e->model, e->cache, e->batch, n, e->lora, &e->params->sampling, G,
                                          e->uniforms, e->drawn, e->logprobs, err);
    for (int p = 0; p < n && !status; p++)
        for (int i = 1; i < G && !status; i++)
            status = tina_kv_cache_copy(e->cache, slots[p * G], slots[p * G + i], prompts[p].n_tokens, err);
    e->stats.prefill_seconds += tina_progress_now() - t0;
    e->stats.prefill_calls++;
    for (int i = 0; i < n * G && !status; i++) status = advance(e, slots[i], i, err);
    return status;
}

static int free_slots(const Engine *e) {
    int n = 0;
    for (int s = 0; s < e->params->slots; s++) n += !e->seqs[s].active;
    return n;
}

/* Takes prompts from the caller while G slots are free for each, and starts them, several a call while their
 * tokens fit in prefill_tokens. */
static TinaStatus admit(Engine *e, bool *more, TinaError *err) {
    int G = e->params->n_samples, waiting = 0, waiting_tokens = 0, free = free_slots(e);
    TinaStatus status = TINA_OK;
    while (!status && *more && free >= (waiting + 1) * G) {
        TinaGenPrompt prompt;
        status = e->cb->next(e->cb->ctx, &prompt, more, err);
        if (status || !*more) break;
        if (waiting && waiting_tokens + prompt.n_tokens > e->params->prefill_tokens) {
            status = start(e, e->waiting, waiting, err);
            waiting = waiting_tokens = 0;
            free = free_slots(e);
        }
        e->waiting[waiting++] = prompt;
        waiting_tokens += prompt.n_tokens;
    }
    if (!status && waiting) status = start(e, e->waiting, waiting, err);
    return status;
}

/* One decode step for every active sequence. */
static TinaStatus step(Engine *e, TinaError *err) {
    int n = 0, *which = e->picked;
    for (int s = 0; s < e->params->slots; s++) {
        Sequence *q = &e->seqs[s];
        if (!q->active) continue;
        e->batch[n] = (TinaSequence){s, q->n_past, 1, &q->last};
        e->uniforms[n] = uniform(e, s);
        which[n++] = s;
    }
    if (n == 0) return TINA_OK;
    double t0 = tina_progress_now();
    TinaStatus status = tina_model_sample(e->model, e->cache, e->batch, n, e->lora, &e->params->sampling, 1,
                                          e->uniforms, e->drawn, e->logprobs, err);
    if (status) return status;
    e->stats.decode_seconds += tina_progress_now() - t0;
    e->stats.steps++;
    for (int i = 0; i < n && !status; i++) { /* the caller sees the tokens one at a time, in slot order */
        e->seqs[which[i]].n_past++;
        status = advance(e, which[i], i, err);
    }
    return status;
}

TinaStatus tina_generate(TinaModel *model, const TinaLora *lora, const TinaGenParams *p, const TinaGenCallbacks *cb,
                         TinaError *err) {
    if (p->n_samples < 1 || p->slots < p->n_samples || p->max_new_tokens < 1)
        return tina_error(err, TINA_ERR_INPUT, "generation needs at least one new token and as many slots (%d) as "
                          "samples per prompt (%d)", p->slots, p->n_samples);
    Engine e = {.model = model, .lora = lora, .params = p, .cb = cb};
    TinaStatus status = tina_kv_cache_new(model, p->slots, p->max_prompt_tokens + p->max_new_tokens, &e.cache, err);
    if (!status) {
        e.uniforms = malloc((size_t)p->slots * sizeof *e.uniforms);
        e.drawn = malloc((size_t)p->slots * sizeof *e.drawn);
        e.logprobs = malloc((size_t)p->slots * sizeof *e.logprobs);
        e.seqs = calloc((size_t)p->slots, sizeof *e.seqs);
        e.batch = malloc((size_t)p->slots * sizeof *e.batch);
        e.picked = malloc((size_t)p->slots * sizeof *e.picked);
        e.waiting = malloc((size_t)(p->slots / p->n_samples) * sizeof *e.waiting);
        if (!e.seqs || !e.uniforms || !e.batch || !e.picked || !e.drawn || !e.logprobs || !e.waiting)
            status = tina_error(err, TINA_ERR_RUNTIME, "out of memory (engine)");
    }
    bool more = true;
    while (!status) {
        status = admit(&e, &more, err);
        if (status || (free_slots(&e) == p->slots && !more)) break;
        status = step(&e, err);
    }
    if (p->stats) *p->stats = e.stats;
    tina_kv_cache_free(e.cache);
    free(e.uniforms);
    free(e.drawn);
    free(e.logprobs);
    free(e.seqs);
    free(e.batch);
    free(e.picked);
    free(e.waiting);
    return status;
}
