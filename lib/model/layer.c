/* layer: one decoder layer, written once for inference (model.c) and training (model_train.c): pre-norm attention
 * with GQA and rotate-half RoPE, then a pre-norm SwiGLU MLP, each added into the residual stream, with a LoRA term on
 * any of the seven projections. The caller passes the buffers (LayerActivations) and what differs (LayerRun). */
#include "model/model_impl.h"

/* out (T, C) = residual (T, C) + in (T, K) @ w^T + bias + the adapter's term for the module; out may be residual.
 * With an adapter the module's output is made whole in tmp first and then added, in PEFT's order, which a bf16
 * backend's rounding can tell apart. */
static void add_module(TinaModel *m, int layer, const LayerRun *run, int target, void *out, const void *residual,
                       const void *in, const void *w, const void *bias, int K, void *tmp) {
    TinaBackend *b = m->backend;
    int T = run->batch->n_tokens, C = m->config.hidden;
    bool adapted = run->adapted(run, layer, target);
    if (adapted && out != residual) { /* made whole in out itself, then the residual added (x + y is y + x) */
        b->matmul(b, out, in, w, bias, T, K, C, false);
        run->adapt(run, layer, 1, &target, &out, in, NULL);
        b->add(b, out, residual, (size_t)T * C);
        return;
    }
    if (out != residual) b->copy(b, out, residual, (size_t)T * C);
    if (!adapted) {
        b->matmul(b, out, in, w, bias, T, K, C, true);
        return;
    }
    b->matmul(b, tmp, in, w, bias, T, K, C, false);
    run->adapt(run, layer, 1, &target, &tmp, in, &out);
}

void tina_layer_forward(TinaModel *m, int l, const LayerRun *run, const LayerActivations *a) {
    const TinaConfig *c = &m->config;
    TinaBackend *b = m->backend;
    const LayerWeights *w = &m->layers[l];
    int T = run->batch->n_tokens, C = c->hidden, I = c->intermediate, D = c->head_dim;
    int q = c->n_heads * D, kv = c->n_kv_heads * D;
    float eps = (float)c->rms_eps;
    b->rmsnorm(b, a->h, a->x, w->attn_norm, T, C, eps);
    b->matmuls(b, 3, (void *[]){a->q, a->k, a->v}, a->h, (const void *[]){w->wq, w->wk, w->wv},
               (const void *[]){w->bq, w->bk, w->bv}, T, C, (const int[]){q, kv, kv});
    run->adapt(run, l, 3, (const int[]){TINA_LORA_Q, TINA_LORA_K, TINA_LORA_V}, (void *[]){a->q, a->k, a->v}, a->h,
               NULL);
    b->rope(b, a->q, a->k, run->batch, c->n_heads, c->n_kv_heads, D);
    run->attend(run, l, a->att, a->q, a->k, a->v);
    add_module(m, l, run, TINA_LORA_O, a->mid, a->x, a->att, w->wo, w->bo, q, a->tmp);
    b->rmsnorm(b, a->h2, a->mid, w->mlp_norm, T, C, eps);
    b->matmuls(b, 2, (void *[]){a->gate, a->up}, a->h2, (const void *[]){w->w_gate, w->w_up},
               (const void *[]){NULL, NULL}, T, C, (const int[]){I, I});
    run->adapt(run, l, 2, (const int[]){TINA_LORA_GATE, TINA_LORA_UP}, (void *[]){a->gate, a->up}, a->h2, NULL);
    b->swiglu(b, a->act, a->gate, a->up, T, I);
    add_module(m, l, run, TINA_LORA_DOWN, a->out, a->mid, a->act, w->w_down, NULL, I, a->tmp);
}
