#include "model/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "model/model_impl.h"
#include "io/record.h"
#include "base/rng.h"
#include "io/safetensors.h"
#include "io/stream.h"

/* ---- the parameter table: names, shapes and places of every weight ------------------------------------------ */

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    void **slot;
} Param;

static void add_param(Param *params, int *n, void **slot, int64_t rows, int64_t cols, const char *format, int layer) {
    if (params) {
        Param *p = &params[*n];
        snprintf(p->name, sizeof p->name, format, layer);
        p->ndim = cols ? 2 : 1;
        p->shape[0] = rows;
        p->shape[1] = cols;
        p->slot = slot;
    }
    (*n)++;
}

/* Lists the parameters in a fixed order (params NULL: only counts them). */
static int list_params(TinaModel *m, Param *params) {
    const TinaConfig *c = &m->config;
    int64_t C = c->hidden, I = c->intermediate, V = c->vocab;
    int64_t q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    int n = 0;
    add_param(params, &n, &m->embed, V, C, "model.embed_tokens.weight", 0);
    for (int l = 0; l < c->n_layers; l++) {
        LayerWeights *w = &m->layers[l];
        add_param(params, &n, &w->attn_norm, C, 0, "model.layers.%d.input_layernorm.weight", l);
        /* q, k and v side by side (and gate and up): a backend may run the products of one input as one */
        add_param(params, &n, &w->wq, q, C, "model.layers.%d.self_attn.q_proj.weight", l);
        add_param(params, &n, &w->wk, kv, C, "model.layers.%d.self_attn.k_proj.weight", l);
        add_param(params, &n, &w->wv, kv, C, "model.layers.%d.self_attn.v_proj.weight", l);
        if (c->qkv_bias) {
            add_param(params, &n, &w->bq, q, 0, "model.layers.%d.self_attn.q_proj.bias", l);
            add_param(params, &n, &w->bk, kv, 0, "model.layers.%d.self_attn.k_proj.bias", l);
            add_param(params, &n, &w->bv, kv, 0, "model.layers.%d.self_attn.v_proj.bias", l);
        }
        add_param(params, &n, &w->wo, C, q, "model.layers.%d.self_attn.o_proj.weight", l);
        if (c->o_bias) add_param(params, &n, &w->bo, C, 0, "model.layers.%d.self_attn.o_proj.bias", l);
        add_param(params, &n, &w->mlp_norm, C, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        add_param(params, &n, &w->w_gate, I, C, "model.layers.%d.mlp.gate_proj.weight", l);
        add_param(params, &n, &w->w_up, I, C, "model.layers.%d.mlp.up_proj.weight", l);
        add_param(params, &n, &w->w_down, C, I, "model.layers.%d.mlp.down_proj.weight", l);
    }
    add_param(params, &n, &m->final_norm, C, 0, "model.norm.weight", 0);
    if (!c->tie_embeddings) add_param(params, &n, &m->lm_head, V, C, "lm_head.weight", 0);
    return n;
}

static int64_t numel(const Param *p) { return p->ndim == 2 ? p->shape[0] * p->shape[1] : p->shape[0]; }

static TinaStatus load_weights(TinaModel *m, TinaSafetensors *st, Param *params, int n, TinaError *err) {
    TinaBackend *b = m->backend;
    /* every shape checked against the file before the sizes are added: config.json's sizes alone (each up to 1e9)
     * can add up past what a size_t holds, and a total that wrapped allocated too little for the tensors that
     * were in the file; the file's own tensors cannot */
    for (int i = 0; i < n; i++) {
        const TinaTensorInfo *t = tina_safetensors_find(st, params[i].name);
        if (!t) return tina_error(err, TINA_ERR_INPUT, "missing tensor %s (config.json requires it)", params[i].name);
        bool same = t->ndim == params[i].ndim && t->shape[0] == params[i].shape[0] &&
                    (t->ndim == 1 || t->shape[1] == params[i].shape[1]);
        char has[64], implied[64];
        if (!same)
            return tina_error(err, TINA_ERR_INPUT, "tensor %s has shape %s, config.json implies %s", params[i].name,
                              tina_shape_text(has, sizeof has, t->ndim, t->shape),
                              tina_shape_text(implied, sizeof implied, params[i].ndim, params[i].shape));
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)numel(&params[i]);
    m->n_weights = total;
    m->weights = b->alloc(b, total * b->weight_bytes);
    if (!m->weights)
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (%zu weights, %.1f GB)", total,
                          (double)total * (double)b->weight_bytes / 1e9);
    char *at = m->weights;
    for (int i = 0; i < n; i++) {
        *params[i].slot = at;
        at += (size_t)numel(&params[i]) * b->weight_bytes;
        TinaStatus status = b->load(b, *params[i].slot, tina_safetensors_find(st, params[i].name), err);
        if (status) return status;
    }
    if (m->config.tie_embeddings) m->lm_head = m->embed;
    return TINA_OK;
}

static size_t aligned(size_t values) { return (values + 127) / 128 * 128; }

size_t tina_plan_size(const PlanEntry *plan, size_t count) {
    size_t total = 0;
    for (size_t i = 0; i < count; i++) total += aligned(plan[i].n);
    return total;
}

char *tina_plan_place(const PlanEntry *plan, size_t count, char *memory, size_t bytes) {
    for (size_t i = 0; i < count; i++) {
        *plan[i].slot = memory;
        memory += aligned(plan[i].n) * bytes;
    }
    return memory;
}

/* The activations for max_tokens tokens and LoRA rank r, in one allocation (again only if r grows). */
static TinaStatus plan_activations(TinaModel *m, int r, TinaError *err) {
    const TinaConfig *c = &m->config;
    size_t T = (size_t)m->max_tokens, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t q = (size_t)c->n_heads * c->head_dim, kv = (size_t)c->n_kv_heads * c->head_dim;
    const PlanEntry plan[] = {{&m->x, T * C},  {&m->h, T * C},    {&m->q, T * q},  {&m->att, T * q},
                              {&m->k, T * kv}, {&m->v, T * kv},   {&m->gate, T * I}, {&m->up, T * I},
                              {&m->lora_tmp, T * 3 * (size_t)r},  {&m->last, T * C}};
    size_t count = sizeof plan / sizeof *plan;
    TinaBackend *b = m->backend;
    void *memory = b->alloc(b, tina_plan_size(plan, count) * b->act_bytes);
    if (!memory) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (activations for %d tokens)", m->max_tokens);
    if (m->activations) b->release(b, m->activations);
    m->activations = memory;
    tina_plan_place(plan, count, memory, b->act_bytes);
    m->lora_rank = r;
    return TINA_OK;
}

TinaStatus tina_model_load(const char *dir, TinaBackend *backend, int max_tokens, TinaModel **out, TinaError *err) {
    *out = NULL;
    if (max_tokens < 1) return tina_error(err, TINA_ERR_INPUT, "max_tokens must be at least 1");
    TinaModel *m = calloc(1, sizeof *m);
    if (!m) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    m->backend = backend;
    m->max_tokens = max_tokens;
    m->dir = strdup(dir);
    TinaStatus status = m->dir ? tina_config_load(dir, &m->config, err) : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    TinaSafetensors *st = NULL;
    Param *params = NULL;
    if (!status) {
        m->layers = calloc((size_t)m->config.n_layers, sizeof *m->layers);
        size_t T = (size_t)max_tokens;
        m->first = malloc(T * sizeof *m->first);
        m->positions = malloc(T * sizeof *m->positions);
        m->tokens = malloc(T * sizeof *m->tokens);
        m->slots = malloc(T * sizeof *m->slots);
        m->n_past = malloc(T * sizeof *m->n_past);
        m->n_new = malloc(T * sizeof *m->n_new);
        m->rows = malloc(T * sizeof *m->rows);
        params = calloc((size_t)list_params(m, NULL), sizeof *params);
        if (!m->layers || !m->first || !m->positions || !m->tokens || !m->slots || !m->n_past || !m->n_new ||
            !m->rows || !params)
            status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    }
    if (!status) status = tina_safetensors_open(dir, &st, err);
    if (!status) status = load_weights(m, st, params, list_params(m, params), err);
    if (!status) status = plan_activations(m, 0, err);
    tina_safetensors_close(st);
    free(params);
    if (status) tina_model_free(m);
    else *out = m;
    return status;
}

void tina_model_free(TinaModel *m) {
    if (!m) return;
    if (m->weights) m->backend->release(m->backend, m->weights);
    if (m->activations) m->backend->release(m->backend, m->activations);
    tina_device_lora_free(m->backend, &m->lora_copy);
    free(m->layers);
    free(m->first);
    free(m->positions);
    free(m->tokens);
    free(m->slots);
    free(m->n_past);
    free(m->n_new);
    free(m->rows);
    free(m->dir);
    free(m);
}

const TinaConfig *tina_model_config(const TinaModel *m) { return &m->config; }

static TinaKVShape kv_shape(const TinaModel *m) {
    return (TinaKVShape){m->config.n_layers, m->config.n_kv_heads, m->config.head_dim};
}

size_t tina_model_kv_page_bytes(const TinaModel *m) { return tina_kv_cache_page_bytes(m->backend, kv_shape(m)); }

TinaStatus tina_model_kv_cache(TinaModel *m, int n_slots, int max_len, int n_pages, TinaKVCache **cache,
                               TinaError *err) {
    TinaStatus status = tina_kv_cache_new(m->backend, kv_shape(m), n_slots, max_len, n_pages, cache, err);
    if (!status) status = m->backend->reserve(m->backend, m->max_tokens, max_len, m->config.head_dim,
                                              m->config.rope_theta, err);
    if (status) tina_kv_cache_free(*cache), *cache = NULL;
    return status;
}

/* ---- forward -------------------------------------------------------------------------------------------------- */

/* Checks the call (and targets (T,), if not NULL), lays it out as a TinaBatch over the model's host workspaces, and
 * places the adapter. */
static TinaStatus setup(TinaModel *m, TinaKVCache *kv, const TinaSequence *seqs, int n_seqs, const TinaLora *lora,
                        const int32_t *targets, TinaBatch *batch, TinaError *err) {
    TinaKVShape shape = kv_shape(m);
    if (kv->backend != m->backend || memcmp(&kv->shape, &shape, sizeof shape) != 0)
        return tina_error(err, TINA_ERR_RUNTIME, "the KV cache was made for another backend or model shape");
    if (lora && lora->n_layers != m->config.n_layers)
        return tina_error(err, TINA_ERR_INPUT, "the adapter has %d layers, the model %d", lora->n_layers,
                          m->config.n_layers);
    int T = 0;
    for (int s = 0; s < n_seqs; s++) {
        const TinaSequence *q = &seqs[s];
        if (q->slot < 0 || q->slot >= kv->n_slots)
            return tina_error(err, TINA_ERR_INPUT, "sequence %d: slot %d outside the cache's %d", s, q->slot, kv->n_slots);
        if (q->n_new < 1 || q->n_past < 0 || q->n_past + q->n_new > kv->max_len)
            return tina_error(err, TINA_ERR_INPUT, "sequence %d: %d + %d positions do not fit the cache's %d", s,
                              q->n_past, q->n_new, kv->max_len);
        if (q->n_past > kv->mapped[q->slot] * TINA_KV_PAGE)
            return tina_error(err, TINA_ERR_INPUT, "sequence %d: slot %d holds fewer than its %d past positions", s,
                              q->slot, q->n_past);
        if (T + q->n_new > m->max_tokens)
            return tina_error(err, TINA_ERR_INPUT, "more than %d tokens in one call", m->max_tokens);
        m->slots[s] = q->slot;
        m->n_past[s] = q->n_past;
        m->n_new[s] = q->n_new;
        m->first[s] = T;
        for (int i = 0; i < q->n_new; i++, T++) {
            if (q->tokens[i] < 0 || q->tokens[i] >= m->config.vocab)
                return tina_error(err, TINA_ERR_INPUT, "token %d is outside the vocabulary (0 to %d)", q->tokens[i],
                                  m->config.vocab - 1);
            m->tokens[T] = q->tokens[i];
            m->positions[T] = q->n_past + i;
        }
    }
    if (T == 0) return tina_error(err, TINA_ERR_INPUT, "no tokens to run");
    for (int s = 0; s < n_seqs; s++) {
        TinaStatus status = tina_kv_cache_take(kv, seqs[s].slot, seqs[s].n_past, seqs[s].n_past + seqs[s].n_new, err);
        if (status) return status;
    }
    tina_kv_cache_sync(kv);
    *batch = (TinaBatch){n_seqs, m->slots, m->n_past, m->n_new, m->first, T, m->tokens, m->positions};
    TinaStatus status = lora && lora->r > m->lora_rank ? plan_activations(m, lora->r, err) : TINA_OK;
    for (int t = 0; targets && !status && t < T; t++)
        if (targets[t] < 0 || targets[t] >= m->config.vocab)
            status = tina_error(err, TINA_ERR_INPUT, "target token %d is outside the vocabulary", targets[t]);
    return status ? status : tina_model_place_lora(m, lora, err);
}

TinaStatus tina_device_lora_copy(TinaBackend *backend, DeviceLora *d, const TinaLora *values, TinaError *err) {
    size_t slots = (size_t)values->n_layers * TINA_LORA_TARGETS;
    if (values->n_params > d->capacity || !d->a) {
        tina_device_lora_free(backend, d);
        d->memory = backend->alloc(backend, values->n_params * sizeof(float));
        d->a = calloc(2 * slots, sizeof *d->a);
        if (!d->memory || !d->a) {
            tina_device_lora_free(backend, d);
            return tina_error(err, TINA_ERR_RUNTIME, "out of memory (a %s copy of %zu adapter values)", backend->name,
                              values->n_params);
        }
        d->b = d->a + slots;
        d->capacity = values->n_params;
    }
    backend->upload(backend, d->memory, values->memory, values->n_params * sizeof(float));
    for (size_t i = 0; i < slots; i++) {
        d->a[i] = values->a[i] ? d->memory + (values->a[i] - values->memory) : NULL;
        d->b[i] = values->b[i] ? d->memory + (values->b[i] - values->memory) : NULL;
    }
    return backend->check(backend, err);
}

void tina_device_lora_free(TinaBackend *backend, DeviceLora *d) {
    if (d->memory) backend->release(backend, d->memory);
    free(d->a);
    *d = (DeviceLora){0};
}

TinaStatus tina_model_place_lora(TinaModel *m, const TinaLora *lora, TinaError *err) {
    TinaBackend *b = m->backend;
    if (!lora || b->host_memory) {
        m->lora_a = lora ? lora->a : NULL;
        m->lora_b = lora ? lora->b : NULL;
        return TINA_OK;
    }
    if (!m->lora_copy.memory || m->lora_id != lora->id) {
        TinaStatus status = tina_device_lora_copy(b, &m->lora_copy, lora, err);
        if (status) return status;
        m->lora_id = lora->id;
    }
    /* (again after a call without the adapter, which left them NULL) */
    m->lora_a = m->lora_copy.a;
    m->lora_b = m->lora_copy.b;
    return b->check(b, err);
}

/* Inference's layer: over the KV cache, in place over the residual stream x, the adapters of one input at once */
typedef struct {
    LayerRun run;
    TinaModel *m;
    const TinaLora *lora;
    TinaKVCache *kv;
    TinaKVPages pages;
} Inference;

static void attend_cached(const LayerRun *run, int l, void *att, void *q, void *k, void *v) {
    const Inference *in = (const Inference *)run;
    const TinaConfig *c = &in->m->config;
    TinaBackend *b = in->m->backend;
    char *k_layer = (char *)in->kv->k + (size_t)l * in->kv->layer_stride * b->act_bytes;
    char *v_layer = (char *)in->kv->v + (size_t)l * in->kv->layer_stride * b->act_bytes;
    b->attention(b, att, q, k, v, k_layer, v_layer, &in->pages, run->batch, c->n_heads, c->n_kv_heads, c->head_dim);
}

static bool adapted(const LayerRun *run, int l, int target) {
    const Inference *in = (const Inference *)run;
    return in->lora && in->m->lora_a[l * TINA_LORA_TARGETS + target];
}

/* out[i] (T, N) += the adapter's contribution for module targets[i], i < n (modules of one input, at most 3), for
 * those the adapter has, in one call; then, unless residual is NULL, residual[i] += out[i]. */
static void adapt_together(const LayerRun *run, int l, int n, const int *targets, void *const *out, const void *x,
                           void *const *residual) {
    const Inference *in = (const Inference *)run;
    TinaModel *m = in->m;
    const TinaLora *lora = in->lora;
    void *outs[3], *residuals[3];
    const float *a[3], *bm[3];
    int N[3], present = 0;
    for (int i = 0; i < n; i++) {
        if (!adapted(run, l, targets[i])) continue;
        int at = l * TINA_LORA_TARGETS + targets[i];
        outs[present] = out[i], a[present] = m->lora_a[at], bm[present] = m->lora_b[at];
        residuals[present] = residual ? residual[i] : NULL;
        N[present++] = lora->out[targets[i]];
    }
    if (!present) return;
    TinaBackend *b = m->backend;
    b->loras(b, present, outs, x, a, bm, m->lora_tmp, run->batch->n_tokens, lora->in[targets[0]], N, lora->r,
             lora->scale, residual ? residuals : NULL);
}

/* Every layer, then the final norm: m->h (T, C) holds the last hidden states. */
static void run_layers(TinaModel *m, TinaKVCache *kv, const TinaBatch *batch, const TinaLora *lora) {
    const TinaConfig *c = &m->config;
    TinaBackend *b = m->backend;
    Inference in = {{batch, attend_cached, adapted, adapt_together}, m, lora, kv,
                    {kv->backend_table, kv->per_slot, TINA_KV_PAGE}};
    /* in place: h is free once q, k, v (and gate, up) are made, so it holds a module's output until it is added */
    LayerActivations a = {.x = m->x, .out = m->x, .h = m->h, .mid = m->x, .h2 = m->h, .q = m->q, .k = m->k, .v = m->v,
                          .att = m->att, .gate = m->gate, .up = m->up, .act = m->gate, .tmp = m->h};
    b->embed(b, m->x, m->embed, batch->tokens, batch->n_tokens, c->hidden);
    for (int l = 0; l < c->n_layers; l++) tina_layer_forward(m, l, &in.run, &a);
    b->rmsnorm(b, m->h, m->x, m->final_norm, batch->n_tokens, c->hidden, (float)c->rms_eps);
}

/* What a decode step's operations' pointers and sizes depend on: the weights, the activations, the cache (its pages and
 * page table), the adapter's device copy (and which adapter: its scale is an operation's
 * argument), the number of sequences. */
static uint64_t step_key(const TinaModel *m, const TinaKVCache *kv, const TinaLora *lora, int n_seqs) {
    uint64_t parts[] = {(uintptr_t)m->weights, (uintptr_t)m->activations, (uintptr_t)kv->k, (uintptr_t)kv->v,
                        (uintptr_t)kv->backend_table, (uint64_t)kv->per_slot, (uint64_t)n_seqs, lora ? lora->id : 0,
                        lora ? (uintptr_t)m->lora_copy.memory : 0};
    uint64_t key = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) key = tina_rng_mix(key ^ parts[i]) + i;
    return key;
}

/* m->last (n_seqs x repeats, C) = the hidden state of each sequence's last token, repeated */
static void gather_last(TinaModel *m, const TinaBatch *batch, int repeats) {
    for (int s = 0; s < batch->n_seqs; s++)
        for (int j = 0; j < repeats; j++) m->rows[s * repeats + j] = batch->first[s] + batch->n_new[s] - 1;
    m->backend->gather_rows(m->backend, m->last, m->h, m->rows, batch->n_seqs * repeats, m->config.hidden);
}

TinaStatus tina_model_forward(TinaModel *m, TinaKVCache *kv, const TinaSequence *seqs, int n_seqs, const TinaLora *lora,
                              TinaLogitsWanted want, float *logits, TinaError *err) {
    TinaBatch batch;
    TinaStatus status = setup(m, kv, seqs, n_seqs, lora, NULL, &batch, err);
    if (status) return status;
    run_layers(m, kv, &batch, lora);
    TinaBackend *b = m->backend;
    const TinaConfig *c = &m->config;
    if (want == TINA_LOGITS_ALL) b->logits(b, logits, m->h, m->lm_head, batch.n_tokens, c->hidden, c->vocab);
    if (want == TINA_LOGITS_LAST) {
        gather_last(m, &batch, 1);
        b->logits(b, logits, m->last, m->lm_head, n_seqs, c->hidden, c->vocab);
    }
    return b->check(b, err);
}

TinaStatus tina_model_sample(TinaModel *m, TinaKVCache *kv, const TinaSequence *seqs, int n_seqs, const TinaLora *lora,
                             const TinaSamplerParams *params, int repeats, const double *u, int32_t *tokens,
                             double *logprobs, TinaError *err) {
    if (repeats < 1 || (long)n_seqs * repeats > m->max_tokens)
        return tina_error(err, TINA_ERR_INPUT, "%d draws of %d sequences: more than the model's %d rows", repeats,
                          n_seqs, m->max_tokens);
    TinaBatch batch;
    TinaStatus status = setup(m, kv, seqs, n_seqs, lora, NULL, &batch, err);
    if (status) return status;
    TinaBackend *b = m->backend;
    /* A decode step (a token a sequence, a draw each) runs the same operations on the same memory every time but
     * for its tokens and positions: the backend may record it once and replay it (a CUDA graph), the draw left out. */
    bool record = b->graph_begin && repeats == 1 && batch.n_tokens == n_seqs;
    if (record) b->graph_begin(b, step_key(m, kv, lora, n_seqs));
    run_layers(m, kv, &batch, lora);
    gather_last(m, &batch, repeats);
    if (record && !b->graph_end(b)) { /* the recording failed, and the step did not run: once more, plainly */
        run_layers(m, kv, &batch, lora);
        gather_last(m, &batch, repeats);
    }
    b->sample(b, tokens, logprobs, m->last, m->lm_head, n_seqs * repeats, m->config.hidden, m->config.vocab, params,
              u);
    status = b->check(b, err);
    for (int i = 0; !status && i < n_seqs * repeats; i++)
        if (tokens[i] < 0)
            status = tina_error(err, TINA_ERR_RUNTIME, "sequence %d's next-token logits hold NaN: the model or its "
                                "adapter has diverged (an adapter from a run whose loss went to NaN?)", i / repeats);
    return status;
}

TinaStatus tina_model_logprobs(TinaModel *m, TinaKVCache *kv, const TinaSequence *seqs, int n_seqs,
                               const TinaLora *lora, const int32_t *targets, float *logprobs, TinaError *err) {
    TinaBatch batch;
    TinaStatus status = setup(m, kv, seqs, n_seqs, lora, targets, &batch, err);
    if (status) return status;
    run_layers(m, kv, &batch, lora);
    m->backend->logprobs(m->backend, logprobs, m->h, m->lm_head, targets, batch.n_tokens, m->config.hidden,
                         m->config.vocab, NULL);
    return m->backend->check(m->backend, err);
}

/* ---- export --------------------------------------------------------------------------------------------------- */

TinaStatus tina_model_merge_lora(TinaModel *m, const TinaLora *lora, TinaError *err) {
    if (lora->n_layers != m->config.n_layers)
        return tina_error(err, TINA_ERR_INPUT, "the adapter has %d layers, the model %d", lora->n_layers,
                          m->config.n_layers);
    TinaBackend *b = m->backend;
    for (int l = 0; l < m->config.n_layers; l++) {
        LayerWeights *w = &m->layers[l];
        void *weight[TINA_LORA_TARGETS] = {w->wq, w->wk, w->wv, w->wo, w->w_gate, w->w_up, w->w_down};
        for (int t = 0; t < TINA_LORA_TARGETS; t++) {
            if (!lora->a[l * TINA_LORA_TARGETS + t]) continue;
            size_t n = (size_t)lora->out[t] * lora->in[t];
            float *delta = malloc(n * sizeof *delta);
            if (!delta || !tina_lora_delta(lora, l, t, delta)) {
                free(delta);
                return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
            }
            b->weights_add(b, weight[t], delta, n);
            free(delta);
        }
    }
    return b->check(b, err);
}

TinaStatus tina_model_save(const TinaModel *model, const char *dir, TinaDtype dtype, TinaError *err) {
    TinaModel *m = (TinaModel *)model; /* list_params records the slots' addresses; nothing is written through them */
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot create", dir);
    int n = list_params(m, NULL);
    Param *params = calloc((size_t)n, sizeof *params);
    TinaTensorOut *tensors = calloc((size_t)n, sizeof *tensors);
    float *host = malloc(m->n_weights * sizeof *host);
    TinaStatus status = params && tensors && host ? TINA_OK : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    if (!status) {
        list_params(m, params);
        m->backend->weights_to_host(m->backend, host, m->weights, m->n_weights);
        float *at = host;
        for (int i = 0; i < n; i++) {
            tensors[i] = (TinaTensorOut){params[i].name, dtype, params[i].ndim, {params[i].shape[0], params[i].shape[1]},
                                         at};
            at += numel(&params[i]);
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        static const char *const metadata[] = {"format", "pt", NULL};
        status = tina_safetensors_write(path, tensors, n, metadata, err);
    }
    /* config.json as the base model's, but for the weights' dtype ("torch_dtype" too where an older file has it) */
    TinaBuf config = {0}, saved = {0};
    char source[4096], target[4096];
    snprintf(source, sizeof source, "%s/config.json", m->dir);
    snprintf(target, sizeof target, "%s/config.json", dir);
    TinaWriter *w = NULL;
    cJSON *parsed = NULL;
    if (!status) status = tina_read_file(source, &config, err);
    if (!status && !(parsed = cJSON_ParseWithLength(config.data, config.len)))
        status = tina_error(err, TINA_ERR_INPUT, "%s: not valid JSON", source);
    const char *name = dtype == TINA_DTYPE_BF16 ? "\"bfloat16\"" : "\"float32\"";
    TinaField fields[] = {{"dtype", name}, {"torch_dtype", name}};
    int n_fields = cJSON_GetObjectItemCaseSensitive(parsed, "torch_dtype") ? 2 : 1;
    cJSON_Delete(parsed);
    if (!status) status = tina_record_splice(&saved, config.data, config.len, fields, n_fields, err);
    if (!status) status = tina_writer_open(&w, target, err);
    if (!status) status = tina_writer_write(w, saved.data, saved.len, err);
    if (!status) status = tina_writer_commit(w, err);
    else tina_writer_abort(w);
    tina_buf_free(&config);
    tina_buf_free(&saved);
    free(params);
    free(tensors);
    free(host);
    return status;
}
