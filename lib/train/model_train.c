/* model_train: the training forward and backward (train.h) over the model of model.c, through the backend seam. */
#include "train/train.h"

#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "base/rng.h"

/* What a layer computes between its input and its output, and the backward reads. */
typedef struct {
    void *h, *mid, *h2;         /* (T, C) normed input, residual after attention, normed again */
    void *q, *att;              /* (T, Hq*D) after rope, attention output */
    void *k, *v;                /* (T, Hkv*D) after rope */
    void *gate, *up, *act;      /* (T, I) before the activation, and silu(gate) * up */
    void *z[TINA_LORA_TARGETS]; /* (T, r) each module's LoRA inner activation, its (dropped) input @ a^T */
} Insides;

struct TinaTrainer {
    TinaModel *model;
    int max_tokens, max_len, max_rank;
    void *memory;               /* the one allocation of everything below that is not host */
    void *inputs;               /* (L + 1, T, C) each layer's input, then the final hidden state before the norm */
    Insides in;                 /* the layer being run: the shared buffers below, or the layer's kept copy */
    Insides shared;             /* one layer's insides, recomputed in the backward */
    Insides *kept;              /* (L,) every layer's insides when keep_insides: no recompute */
    void *kept_memory;          /* their one allocation */
    double *lse;                /* (T,) f64: the forward's log-sum-exp of each row's logits, for the backward */
    void *final_h;              /* (T, C) the last hidden state after the final norm */
    void *out;                  /* (T, C) a recomputed layer's output (discarded) */
    void *dx, *dh;              /* (T, C) gradients: the residual stream's, a normed input's */
    void *dq, *datt;            /* (T, Hq*D) */
    void *dk, *dv;              /* (T, Hkv*D) */
    void *dgate, *dup, *dact;   /* (T, I) */
    void *dz;                   /* (T, r) the gradient of a LoRA inner activation */
    void *dropped, *ddropped;   /* (T, max(C, I)) a module's input after LoRA dropout, and its gradient */
    uint64_t dropout_seed;      /* LoRA dropout: masks from (seed, sequence key, layer, module) */
    /* the LoRA gradients where the backend adds into them: the caller's own on a host backend, else grad_copy, a
     * copy of the caller's made for each backward and read back after it */
    float *const *grad_a, *const *grad_b;  /* (L * TINA_LORA_TARGETS,) */
    DeviceLora grad_copy;
    TinaBatch batch;            /* the last forward's layout (host) */
    int *slots, *n_past, *n_new, *first;
    uint64_t *keys;             /* (sequences,) of the last forward */
    int32_t *tokens, *positions, *targets;
    bool ready;                 /* a forward has run */
};

enum { N_INSIDES = 10 + TINA_LORA_TARGETS };

/* One layer's insides for T tokens at LoRA rank r as a memory plan (model_impl.h: each buffer aligned). */
static void insides_plan(Insides *to, const TinaConfig *c, size_t T, size_t r, PlanEntry plan[N_INSIDES]) {
    size_t C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t q = (size_t)c->n_heads * c->head_dim, kv = (size_t)c->n_kv_heads * c->head_dim;
    const PlanEntry layer[10] = {{&to->h, T * C},    {&to->mid, T * C}, {&to->h2, T * C},   {&to->q, T * q},
                                 {&to->att, T * q},  {&to->k, T * kv},  {&to->v, T * kv},   {&to->gate, T * I},
                                 {&to->up, T * I},   {&to->act, T * I}};
    for (int i = 0; i < N_INSIDES; i++) plan[i] = i < 10 ? layer[i] : (PlanEntry){&to->z[i - 10], T * r};
}

static size_t insides_size(const TinaConfig *c, size_t T, size_t r) {
    Insides unplaced;
    PlanEntry plan[N_INSIDES];
    insides_plan(&unplaced, c, T, r, plan);
    return tina_plan_size(plan, N_INSIDES);
}

/* Points in's buffers into memory from `at` (insides_size values of `bytes` each); returns where they end. */
static char *lay_out_insides(Insides *in, char *at, const TinaConfig *c, size_t T, size_t r, size_t bytes) {
    PlanEntry plan[N_INSIDES];
    insides_plan(in, c, T, r, plan);
    return tina_plan_place(plan, N_INSIDES, at, bytes);
}

TinaStatus tina_trainer_new(TinaModel *m, int max_tokens, int max_len, int max_rank, TinaTrainer **out,
                            TinaError *err) {
    *out = NULL;
    if (max_tokens < 1 || max_len < 1 || max_rank < 1)
        return tina_error(err, TINA_ERR_INPUT, "a trainer needs room for tokens, positions and a LoRA rank");
    const TinaConfig *c = &m->config;
    TinaBackend *b = m->backend;
    if (!b->matmul_backward)
        return tina_error(err, TINA_ERR_INPUT, "this build's %s backend has no backward pass: training needs another "
                          "--device", b->name);
    TinaStatus status = b->reserve(b, max_tokens, max_len, c->head_dim, c->rope_theta, err);
    if (status) return status;
    TinaTrainer *tr = calloc(1, sizeof *tr);
    if (!tr) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    tr->model = m, tr->max_tokens = max_tokens, tr->max_len = max_len, tr->max_rank = max_rank;
    size_t T = (size_t)max_tokens, C = (size_t)c->hidden, I = (size_t)c->intermediate, r = (size_t)max_rank;
    size_t q = (size_t)c->n_heads * c->head_dim, kv = (size_t)c->n_kv_heads * c->head_dim;
    void *shared = NULL, *lse = NULL;
    const PlanEntry plan[] = {
        {&lse, T * sizeof(double) / b->act_bytes}, /* first: aligned for doubles */
        {&tr->inputs, ((size_t)c->n_layers + 1) * T * C}, {&shared, insides_size(c, T, r)},
        {&tr->out, T * C}, {&tr->final_h, T * C},
        {&tr->dx, T * C}, {&tr->dh, T * C}, {&tr->dq, T * q}, {&tr->datt, T * q}, {&tr->dk, T * kv}, {&tr->dv, T * kv},
        {&tr->dgate, T * I}, {&tr->dup, T * I}, {&tr->dact, T * I}, {&tr->dz, T * r},
        {&tr->dropped, T * (C > I ? C : I)}, {&tr->ddropped, T * (C > I ? C : I)},
    };
    size_t total = tina_plan_size(plan, sizeof plan / sizeof *plan);
    tr->memory = b->alloc(b, total * b->act_bytes);
    tr->slots = calloc(T, sizeof *tr->slots);
    tr->n_past = calloc(T, sizeof *tr->n_past);
    tr->n_new = calloc(T, sizeof *tr->n_new);
    tr->first = calloc(T, sizeof *tr->first);
    tr->keys = calloc(T, sizeof *tr->keys);
    tr->tokens = calloc(T, sizeof *tr->tokens);
    tr->positions = calloc(T, sizeof *tr->positions);
    tr->targets = calloc(T, sizeof *tr->targets);
    if (!tr->memory || !tr->slots || !tr->n_past || !tr->n_new || !tr->first || !tr->keys || !tr->tokens ||
        !tr->positions || !tr->targets) {
        tina_trainer_free(tr);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (training activations for %d tokens, %.1f MB)",
                          max_tokens, (double)total * (double)b->act_bytes / 1e6);
    }
    tina_plan_place(plan, sizeof plan / sizeof *plan, tr->memory, b->act_bytes);
    lay_out_insides(&tr->shared, shared, c, T, r, b->act_bytes);
    tr->lse = lse;
    tr->in = tr->shared;
    *out = tr;
    return TINA_OK;
}

size_t tina_trainer_insides_bytes(const TinaTrainer *tr) {
    const TinaConfig *c = &tr->model->config;
    return (size_t)c->n_layers * insides_size(c, (size_t)tr->max_tokens, (size_t)tr->max_rank) *
           tr->model->backend->act_bytes;
}

TinaStatus tina_trainer_keep_insides(TinaTrainer *tr, TinaError *err) {
    if (tr->kept) return TINA_OK;
    const TinaConfig *c = &tr->model->config;
    TinaBackend *b = tr->model->backend;
    tr->kept = calloc((size_t)c->n_layers, sizeof *tr->kept);
    tr->kept_memory = b->alloc(b, tina_trainer_insides_bytes(tr));
    if (!tr->kept || !tr->kept_memory) {
        free(tr->kept);
        tr->kept = NULL;
        if (tr->kept_memory) b->release(b, tr->kept_memory);
        tr->kept_memory = NULL;
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (every layer's activations, %.1f MB)",
                          (double)tina_trainer_insides_bytes(tr) / 1e6);
    }
    char *at = tr->kept_memory;
    for (int l = 0; l < c->n_layers; l++)
        at = lay_out_insides(&tr->kept[l], at, c, (size_t)tr->max_tokens, (size_t)tr->max_rank, b->act_bytes);
    return TINA_OK;
}

void tina_trainer_free(TinaTrainer *tr) {
    if (!tr) return;
    if (tr->memory) tr->model->backend->release(tr->model->backend, tr->memory);
    if (tr->kept_memory) tr->model->backend->release(tr->model->backend, tr->kept_memory);
    tina_device_lora_free(tr->model->backend, &tr->grad_copy);
    free(tr->kept);
    free(tr->slots), free(tr->n_past), free(tr->n_new), free(tr->first), free(tr->keys);
    free(tr->tokens), free(tr->positions), free(tr->targets);
    free(tr);
}

/* Row t of a (rows, width) activation. */
static void *row(const TinaTrainer *tr, void *base, size_t t, size_t width) {
    return (char *)base + t * width * tr->model->backend->act_bytes;
}

void tina_trainer_set_dropout_seed(TinaTrainer *tr, uint64_t seed) { tr->dropout_seed = seed; }

/* the mask stream of sequence s in this layer's module */
static uint64_t dropout_stream(const TinaTrainer *tr, int s, int layer, int target) {
    return tina_rng_bits(tr->keys[s], (uint64_t)layer * TINA_LORA_TARGETS + (uint64_t)target, 0);
}

/* The module's input as its LoRA sees it: after dropout (PEFT's lora_dropout, in training only), else as is. Each
 * sequence's rows draw from its own stream; backward: into dst (+=) through the same masks. */
static const void *lora_input(TinaTrainer *tr, const TinaLora *lora, int layer, int target, const void *in) {
    if (lora->dropout <= 0) return in;
    TinaBackend *b = tr->model->backend;
    size_t K = (size_t)lora->in[target];
    for (int s = 0; s < tr->batch.n_seqs; s++) {
        size_t first = (size_t)tr->first[s];
        const char *rows_in = (const char *)in + first * K * b->act_bytes;
        b->dropout(b, row(tr, tr->dropped, first, K), rows_in, tr->n_new[s], (int)K,
                   (float)lora->dropout, tr->dropout_seed, dropout_stream(tr, s, layer, target));
    }
    return tr->dropped;
}

/* din (T, K) += the adapter's part of the gradient through a module; its A and B gradients into grad_a, grad_b */
static void lora_backward(TinaTrainer *tr, const TinaLora *lora, int layer, int target, void *din, const void *in,
                          const void *dout) {
    int i = layer * TINA_LORA_TARGETS + target;
    if (!lora->a[i]) return;
    TinaModel *m = tr->model;
    TinaBackend *b = m->backend;
    int T = tr->batch.n_tokens, K = lora->in[target];
    bool dropout = lora->dropout > 0; /* then through the dropout: the dropped input's gradient, masked into din */
    b->lora_backward(b, dropout ? tr->ddropped : din, tr->grad_a[i], tr->grad_b[i],
                     lora_input(tr, lora, layer, target, in), dout, m->lora_a[i], m->lora_b[i], tr->in.z[target],
                     tr->dz, T, K, lora->out[target], lora->r, lora->scale, !dropout);
    for (int s = 0; dropout && s < tr->batch.n_seqs; s++) {
        size_t first = (size_t)tr->first[s];
        b->dropout_backward(b, row(tr, din, first, (size_t)K), row(tr, tr->ddropped, first, (size_t)K), tr->n_new[s],
                            K, (float)lora->dropout, tr->dropout_seed, dropout_stream(tr, s, layer, target));
    }
}

/* Training's layer: attention within each sequence, each adapter on its own (with its dropout) */
typedef struct {
    LayerRun run;
    TinaTrainer *tr;
    const TinaLora *lora;
} Training;

static void attend_within(const LayerRun *run, int layer, void *att, void *q, void *k, void *v) {
    (void)layer;
    const TinaModel *m = ((const Training *)run)->tr->model;
    const TinaConfig *c = &m->config;
    m->backend->self_attention(m->backend, att, q, k, v, run->batch, c->n_heads, c->n_kv_heads, c->head_dim);
}

static bool adapted(const LayerRun *run, int layer, int target) {
    const TinaLora *lora = ((const Training *)run)->lora;
    return lora && lora->a[layer * TINA_LORA_TARGETS + target];
}

/* out[i] (T, N) += the adapter's part of each module that has one, from its input after dropout; then, unless
 * residual is NULL, residual[i] += out[i] */
static void adapt_each(const LayerRun *run, int layer, int n, const int *targets, void *const *out, const void *in,
                       void *const *residual) {
    const Training *t = (const Training *)run;
    const TinaModel *m = t->tr->model;
    const TinaLora *lora = t->lora;
    TinaBackend *b = m->backend;
    int T = run->batch->n_tokens;
    for (int i = 0; i < n; i++) {
        int target = targets[i], at = layer * TINA_LORA_TARGETS + target;
        if (!adapted(run, layer, target)) continue;
        b->lora(b, out[i], lora_input(t->tr, lora, layer, target, in), m->lora_a[at], m->lora_b[at],
                t->tr->in.z[target], T, lora->in[target], lora->out[target], lora->r, lora->scale);
        if (residual) b->add(b, residual[i], out[i], (size_t)T * lora->out[target]);
    }
}

/* One layer from its input x (T, C) to out (T, C), keeping every intermediate the backward reads. */
static void layer_forward(TinaTrainer *tr, const TinaLora *lora, int l, const void *x, void *out) {
    Training t = {{&tr->batch, attend_within, adapted, adapt_each}, tr, lora};
    const Insides *in = &tr->in;
    LayerActivations a = {.x = x, .out = out, .h = in->h, .mid = in->mid, .h2 = in->h2, .q = in->q, .k = in->k,
                          .v = in->v, .att = in->att, .gate = in->gate, .up = in->up, .act = in->act, .tmp = NULL};
    tina_layer_forward(tr->model, l, &t.run, &a);
}

TinaStatus tina_trainer_forward(TinaTrainer *tr, const TinaSequence *seqs, int n_seqs, const uint64_t *keys,
                                const TinaLora *lora, const int32_t *targets, float *logprobs, TinaError *err) {
    TinaModel *m = tr->model;
    const TinaConfig *c = &m->config;
    tr->ready = false;
    if (lora && (lora->n_layers != c->n_layers || lora->r > tr->max_rank))
        return tina_error(err, TINA_ERR_INPUT, "the adapter (%d layers, rank %d) does not fit the trainer (%d, %d)",
                          lora->n_layers, lora->r, c->n_layers, tr->max_rank);
    int T = 0;
    for (int s = 0; s < n_seqs; s++) {
        const TinaSequence *q = &seqs[s];
        if (q->n_past != 0 || q->n_new < 1 || q->n_new > tr->max_len)
            return tina_error(err, TINA_ERR_INPUT, "sequence %d: %d tokens from position %d (training takes 1 to %d "
                              "from position 0)", s, q->n_new, q->n_past, tr->max_len);
        if (T + q->n_new > tr->max_tokens)
            return tina_error(err, TINA_ERR_INPUT, "more than %d tokens in one training call", tr->max_tokens);
        tr->slots[s] = s, tr->n_past[s] = 0, tr->n_new[s] = q->n_new, tr->first[s] = T;
        tr->keys[s] = keys ? keys[s] : (uint64_t)s;
        for (int i = 0; i < q->n_new; i++, T++) {
            if (q->tokens[i] < 0 || q->tokens[i] >= c->vocab || targets[T] < 0 || targets[T] >= c->vocab)
                return tina_error(err, TINA_ERR_INPUT, "a token or target of sequence %d is outside the vocabulary", s);
            tr->tokens[T] = q->tokens[i], tr->positions[T] = i, tr->targets[T] = targets[T];
        }
    }
    if (!T) return tina_error(err, TINA_ERR_INPUT, "no tokens to train on");
    tr->batch = (TinaBatch){n_seqs, tr->slots, tr->n_past, tr->n_new, tr->first, T, tr->tokens, tr->positions};
    TinaBackend *b = m->backend;
    TinaStatus status = tina_model_place_lora(m, lora, err);
    if (status) return status;
    size_t layer_size = (size_t)tr->max_tokens * c->hidden;
    b->embed(b, tr->inputs, m->embed, tr->tokens, T, c->hidden);
    for (int l = 0; l < c->n_layers; l++) {
        tr->in = tr->kept ? tr->kept[l] : tr->shared;
        layer_forward(tr, lora, l, row(tr, tr->inputs, (size_t)l, layer_size),
                      row(tr, tr->inputs, (size_t)l + 1, layer_size));
    }
    b->rmsnorm(b, tr->final_h, row(tr, tr->inputs, (size_t)c->n_layers, layer_size), m->final_norm, T, c->hidden,
               (float)c->rms_eps);
    b->logprobs(b, logprobs, tr->final_h, m->lm_head, tr->targets, T, c->hidden, c->vocab, tr->lse);
    status = b->check(b, err);
    tr->ready = status == TINA_OK;
    return status;
}

TinaStatus tina_trainer_backward(TinaTrainer *tr, const TinaLora *lora, const float *dlogp, TinaLora *grads,
                                 TinaError *err) {
    if (!tr->ready) return tina_error(err, TINA_ERR_RUNTIME, "backward without a forward");
    if (!lora || !grads || grads->n_params != lora->n_params || grads->r != lora->r)
        return tina_error(err, TINA_ERR_INPUT, "the gradients must have the adapter's shape");
    TinaModel *m = tr->model;
    TinaBackend *b = m->backend;
    const TinaConfig *c = &m->config;
    int T = tr->batch.n_tokens, C = c->hidden, I = c->intermediate, D = c->head_dim;
    int q = c->n_heads * D, kv = c->n_kv_heads * D;
    float eps = (float)c->rms_eps;
    size_t layer_size = (size_t)tr->max_tokens * C;
    const void *last = row(tr, tr->inputs, (size_t)c->n_layers, layer_size);
    TinaStatus status = tina_model_place_lora(m, lora, err);
    if (!status && !b->host_memory) status = tina_device_lora_copy(b, &tr->grad_copy, grads, err); /* read back below */
    if (status) return status;
    tr->grad_a = b->host_memory ? grads->a : tr->grad_copy.a; /* where the backend adds the gradients */
    tr->grad_b = b->host_memory ? grads->b : tr->grad_copy.b;
    /* final_h and lse are the forward's */
    b->logprobs_backward(b, tr->dh, tr->final_h, m->lm_head, tr->targets, dlogp, T, C, c->vocab, tr->lse);
    b->rmsnorm_backward(b, tr->dx, last, m->final_norm, tr->dh, T, C, eps, false);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const LayerWeights *w = &m->layers[l];
        const void *x = row(tr, tr->inputs, (size_t)l, layer_size);
        if (tr->kept) tr->in = tr->kept[l]; /* kept from the forward; dx is d out */
        else layer_forward(tr, lora, l, x, tr->out); /* recompute this layer's insides; dx is d out */
        /* out = mid + act @ w_down^T + lora */
        b->matmul_backward(b, tr->dact, tr->dx, w->w_down, T, I, C, false);
        lora_backward(tr, lora, l, TINA_LORA_DOWN, tr->dact, tr->in.act, tr->dx);
        b->swiglu_backward(b, tr->dgate, tr->dup, tr->in.gate, tr->in.up, tr->dact, T, I);
        b->matmul_backward(b, tr->dh, tr->dgate, w->w_gate, T, C, I, false);
        lora_backward(tr, lora, l, TINA_LORA_GATE, tr->dh, tr->in.h2, tr->dgate);
        b->matmul_backward(b, tr->dh, tr->dup, w->w_up, T, C, I, true);
        lora_backward(tr, lora, l, TINA_LORA_UP, tr->dh, tr->in.h2, tr->dup);
        b->rmsnorm_backward(b, tr->dx, tr->in.mid, w->mlp_norm, tr->dh, T, C, eps, true); /* dx is now d mid */
        /* mid = x + att @ w_o^T + lora */
        b->matmul_backward(b, tr->datt, tr->dx, w->wo, T, q, C, false);
        lora_backward(tr, lora, l, TINA_LORA_O, tr->datt, tr->in.att, tr->dx);
        b->attention_backward(b, tr->dq, tr->dk, tr->dv, tr->in.q, tr->in.k, tr->in.v, tr->datt, &tr->batch, c->n_heads,
                              c->n_kv_heads, D);
        b->rope_backward(b, tr->dq, tr->dk, &tr->batch, c->n_heads, c->n_kv_heads, D);
        b->matmul_backward(b, tr->dh, tr->dq, w->wq, T, C, q, false);
        lora_backward(tr, lora, l, TINA_LORA_Q, tr->dh, tr->in.h, tr->dq);
        b->matmul_backward(b, tr->dh, tr->dk, w->wk, T, C, kv, true);
        lora_backward(tr, lora, l, TINA_LORA_K, tr->dh, tr->in.h, tr->dk);
        b->matmul_backward(b, tr->dh, tr->dv, w->wv, T, C, kv, true);
        lora_backward(tr, lora, l, TINA_LORA_V, tr->dh, tr->in.h, tr->dv);
        b->rmsnorm_backward(b, tr->dx, x, w->attn_norm, tr->dh, T, C, eps, true); /* dx is now d x */
    }
    if (!b->host_memory) b->download(b, grads->memory, tr->grad_copy.memory, grads->n_params * sizeof(float));
    return b->check(b, err);
}
