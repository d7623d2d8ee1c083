#include "model/generate.h"

#include <stdlib.h>

#include "backends/kv_cache.h"
#include "base/progress.h"
#include "base/rng.h"

typedef enum { IDLE, RUNNING, PREEMPTED } State;

typedef struct {
    State state;
    void *user;
    int sample;
    uint64_t stream;        /* this sample's RNG stream */
    long long order;        /* when its prompt started: the newest is preempted first, the oldest resumed first */
    const int32_t *prompt;  /* (n_prompt,) */
    int n_prompt;
    int n_past;             /* positions in its cache slot */
    int generated;          /* tokens drawn so far, */
    int32_t *drawn;         /* (max_new_tokens,) kept to rebuild its cache after a preemption; the last is fed next */
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
    int32_t *history; /* (slots, max_new_tokens) each slot's drawn tokens */
    TinaSequence *batch;     /* (slots,) */
    int *picked;             /* (slots,) slot numbers, a workspace */
    TinaGenPrompt *waiting;  /* (slots / G,) prompts taken, to be prefilled together */
    TinaGenPrompt pending;   /* a prompt taken from the caller that waits for pages, if has_pending */
    bool has_pending;
    long long started;       /* prompts started */
    TinaGenStats stats;
} Engine;

static int count(const Engine *e, State state) {
    int n = 0;
    for (int s = 0; s < e->params->slots; s++) n += e->seqs[s].state == state;
    return n;
}

/* The uniform of the draw of slot s's sequence at its current step: a token is a pure function of it and the logits */
static double uniform(const Engine *e, int s) {
    const Sequence *q = &e->seqs[s];
    return tina_rng_uniform(e->params->seed, q->stream, (uint64_t)q->generated);
}

/* Hands draw i (token and log-prob), which was slot s's, to the caller; ends the sequence if it stops or reaches the
 * limit, and gives its pages back. */
static TinaStatus advance(Engine *e, int s, int i, TinaError *err) {
    Sequence *q = &e->seqs[s];
    int32_t token = q->drawn[q->generated++] = e->drawn[i];
    bool stop = e->cb->token(e->cb->ctx, q->user, q->sample, token, e->logprobs[i]);
    int cap = e->params->max_model_len;
    bool by_length = !stop && (q->generated >= e->params->max_new_tokens || (cap && q->n_prompt + q->generated > cap));
    if (!stop && !by_length) return TINA_OK;
    q->state = IDLE;
    tina_kv_cache_release(e->cache, s);
    return e->cb->done(e->cb->ctx, q->user, q->sample, by_length, err);
}

/* Prefills n prompts in one call, G idle slots each, shares each one's pages with its G - 1 other samples, and
 * draws every first token. */
static TinaStatus start(Engine *e, const TinaGenPrompt *prompts, int n, TinaError *err) {
    int G = e->params->n_samples, *slots = e->picked, k = 0;
    for (int s = 0; s < e->params->slots && k < n * G; s++)
        if (e->seqs[s].state == IDLE) slots[k++] = s;
    for (int p = 0; p < n; p++) {
        e->batch[p] = (TinaSequence){slots[p * G], 0, prompts[p].n_tokens, prompts[p].tokens};
        for (int i = 0; i < G; i++) {
            int s = slots[p * G + i];
            e->seqs[s] = (Sequence){RUNNING, prompts[p].user, i,
                                    tina_rng_bits(e->params->seed, prompts[p].stream, (uint64_t)i), e->started,
                                    prompts[p].tokens, prompts[p].n_tokens, prompts[p].n_tokens, 0,
                                    e->history + (size_t)s * e->params->max_new_tokens};
            e->uniforms[p * G + i] = uniform(e, s);
        }
        e->started++;
    }
    double t0 = tina_progress_now();
    TinaStatus status = tina_model_sample(e->model, e->cache, e->batch, n, e->lora, &e->params->sampling, G,
                                          e->uniforms, e->drawn, e->logprobs, err);
    for (int p = 0; p < n && !status; p++)
        for (int i = 1; i < G && !status; i++)
            status = tina_kv_cache_share(e->cache, slots[p * G], slots[p * G + i], prompts[p].n_tokens, err);
    e->stats.prefill_seconds += tina_progress_now() - t0;
    e->stats.prefill_calls++;
    for (int i = 0; i < n * G && !status; i++) status = advance(e, slots[i], i, err);
    return status;
}

/* The pages a new prompt of n tokens takes: its own, then for its samples' first step a new page each when the
 * prompt fills its last page, else a copy of that shared page for all but the last sample to write into it. */
static int pages_to_start(const Engine *e, int n) {
    int G = e->params->n_samples;
    return tina_kv_cache_pages_of(n) + (n % TINA_KV_PAGE == 0 ? G : G - 1);
}

/* The pages the running sequences' next decode step takes. */
static int pages_to_step(const Engine *e) {
    int needed = 0;
    for (int s = 0; s < e->params->slots; s++) {
        const Sequence *q = &e->seqs[s];
        if (q->state == RUNNING) needed += tina_kv_cache_pages_to_write(e->cache, s, q->n_past, q->n_past + 1);
    }
    return needed;
}

/* Takes prompts from the caller while G slots are free for each and the cache's free pages hold them and the
 * running sequences' next step, and starts them, several a call while their tokens fit in
 * prefill_tokens. A prompt that has to wait for pages waits as the pending one; with nothing running it starts
 * anyway (the steps then preempt what does not fit). Preempted sequences go first: nothing starts while one
 * waits. */
static TinaStatus admit(Engine *e, bool *more, TinaError *err) {
    if (count(e, PREEMPTED)) return TINA_OK;
    int G = e->params->n_samples, waiting = 0, waiting_tokens = 0;
    int idle = count(e, IDLE), spoken_for = pages_to_step(e), free_pages = tina_kv_cache_pages_free(e->cache);
    TinaStatus status = TINA_OK;
    while (!status && idle >= (waiting + 1) * G) {
        if (!e->has_pending) {
            if (!*more) break;
            status = e->cb->next(e->cb->ctx, &e->pending, more, err);
            if (status || !*more) break;
            e->has_pending = true;
        }
        if (waiting && waiting_tokens + e->pending.n_tokens > e->params->prefill_tokens) {
            status = start(e, e->waiting, waiting, err);
            waiting = waiting_tokens = 0;
            idle = count(e, IDLE), spoken_for = pages_to_step(e), free_pages = tina_kv_cache_pages_free(e->cache);
            continue;
        }
        int needed = pages_to_start(e, e->pending.n_tokens);
        if (spoken_for + needed > free_pages && (count(e, RUNNING) || waiting)) break;
        e->waiting[waiting++] = e->pending;
        e->has_pending = false;
        waiting_tokens += e->pending.n_tokens;
        spoken_for += needed;
    }
    if (!status && waiting) status = start(e, e->waiting, waiting, err);
    return status;
}

/* The slot of the oldest sequence in `state` (its prompt started first, then the lower sample), or with newest the
 * newest; -1 when none is */
static int by_age(const Engine *e, State state, bool newest) {
    int found = -1;
    for (int s = 0; s < e->params->slots; s++) {
        const Sequence *q = &e->seqs[s], *f = found < 0 ? NULL : &e->seqs[found];
        if (q->state != state) continue;
        bool older = f && (q->order < f->order || (q->order == f->order && q->sample < f->sample));
        if (!f || older != newest) found = s;
    }
    return found;
}

/* Makes room for a decode step: while the running sequences' next positions take more pages than are free, the
 * newest is preempted: it gives its pages back, and its cache is rebuilt when it resumes. One sequence alone always
 * fits: the cache holds a sequence of the longest length. */
static void make_room(Engine *e) {
    while (pages_to_step(e) > tina_kv_cache_pages_free(e->cache) && count(e, RUNNING) > 1) {
        int newest = by_age(e, RUNNING, true);
        e->seqs[newest].state = PREEMPTED;
        tina_kv_cache_release(e->cache, newest);
        e->stats.preemptions++;
    }
}

/* Rebuilds slot s's cache: its prompt and its drawn tokens but the last, through the model in calls of at most
 * max_prompt_tokens tokens. */
static TinaStatus rebuild(Engine *e, int s, TinaError *err) {
    Sequence *q = &e->seqs[s];
    const int32_t *parts[2] = {q->prompt, q->drawn};
    int lengths[2] = {q->n_prompt, q->generated - 1}, done = 0, most = e->params->max_prompt_tokens;
    TinaStatus status = TINA_OK;
    for (int part = 0; part < 2 && !status; part++)
        for (int i = 0; i < lengths[part] && !status; i += most) {
            int n = lengths[part] - i < most ? lengths[part] - i : most;
            TinaSequence seq = {s, done, n, parts[part] + i};
            status = tina_model_forward(e->model, e->cache, &seq, 1, e->lora, TINA_LOGITS_NONE, NULL, err);
            done += n;
        }
    e->stats.recomputed_tokens += done;
    return status;
}

/* Resumes preempted sequences, oldest first, while their caches and their next step fit beside the running
 * sequences' next step (with nothing running, the oldest resumes whatever it takes). */
static TinaStatus resume(Engine *e, TinaError *err) {
    TinaStatus status = TINA_OK;
    while (!status) {
        int oldest = by_age(e, PREEMPTED, false);
        if (oldest < 0) break;
        int needed = tina_kv_cache_pages_of(e->seqs[oldest].n_past + 1);
        if (count(e, RUNNING) && pages_to_step(e) + needed > tina_kv_cache_pages_free(e->cache)) break;
        double t0 = tina_progress_now();
        status = rebuild(e, oldest, err);
        e->stats.prefill_seconds += tina_progress_now() - t0;
        e->seqs[oldest].state = RUNNING;
    }
    return status;
}

/* One decode step for every running sequence. */
static TinaStatus step(Engine *e, TinaError *err) {
    make_room(e);
    int n = 0, *which = e->picked;
    for (int s = 0; s < e->params->slots; s++) {
        Sequence *q = &e->seqs[s];
        if (q->state != RUNNING) continue;
        e->batch[n] = (TinaSequence){s, q->n_past, 1, &q->drawn[q->generated - 1]};
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
    if (p->n_samples < 1 || p->slots < p->n_samples || p->max_new_tokens < 1 || p->max_prompt_tokens < 1)
        return tina_error(err, TINA_ERR_INPUT, "generation needs at least one new token and as many slots (%d) as "
                          "samples per prompt (%d)", p->slots, p->n_samples);
    Engine e = {.model = model, .lora = lora, .params = p, .cb = cb};
    TinaStatus status = tina_model_kv_cache(model, p->slots, p->max_prompt_tokens + p->max_new_tokens, p->kv_pages,
                                          &e.cache, err);
    if (!status) {
        e.uniforms = malloc((size_t)p->slots * sizeof *e.uniforms);
        e.drawn = malloc((size_t)p->slots * sizeof *e.drawn);
        e.logprobs = malloc((size_t)p->slots * sizeof *e.logprobs);
        e.seqs = calloc((size_t)p->slots, sizeof *e.seqs);
        e.history = malloc((size_t)p->slots * p->max_new_tokens * sizeof *e.history);
        e.batch = malloc((size_t)p->slots * sizeof *e.batch);
        e.picked = malloc((size_t)p->slots * sizeof *e.picked);
        e.waiting = malloc((size_t)(p->slots / p->n_samples) * sizeof *e.waiting);
        if (!e.seqs || !e.history || !e.uniforms || !e.batch || !e.picked || !e.drawn || !e.logprobs || !e.waiting)
            status = tina_error(err, TINA_ERR_RUNTIME, "out of memory (engine)");
    }
    bool more = true;
    while (!status) {
        status = resume(&e, err);
        if (!status) status = admit(&e, &more, err);
        if (status || (!count(&e, RUNNING) && !count(&e, PREEMPTED) && !e.has_pending && !more)) break;
        status = step(&e, err);
    }
    if (p->stats) *p->stats = e.stats;
    tina_kv_cache_free(e.cache);
    free(e.uniforms);
    free(e.drawn);
    free(e.logprobs);
    free(e.seqs);
    free(e.history);
    free(e.batch);
    free(e.picked);
    free(e.waiting);
    return status;
}
