/* model_impl: the model's insides, shared by model.c (loading, inference), layer.c (the decoder layer both run) and
 * model_train.c (training forward and backward); private to the model part and train/, not libtina's interface. */
#ifndef TINA_MODEL_IMPL_H
#define TINA_MODEL_IMPL_H

#include "backends/kv_cache.h"
#include "model/lora.h"
#include "model/model.h"

/* An adapter-shaped set of f32 matrices (an adapter, or its gradients) copied into backend memory, offset for
 * offset: memory holds the values, a and b point at each module's A and B in it (NULL where the adapter has none). */
typedef struct {
    float *memory;
    size_t capacity;        /* floats */
    float **a, **b;         /* (L * TINA_LORA_TARGETS,) each, in one allocation */
} DeviceLora;

/* Copies values into d, growing it when they do not fit, and points d->a and d->b at the copy's matrices. */
TinaStatus tina_device_lora_copy(TinaBackend *backend, DeviceLora *d, const TinaLora *values, TinaError *err);
void tina_device_lora_free(TinaBackend *backend, DeviceLora *d);

typedef struct {
    void *attn_norm;        /* (C) */
    void *wq, *bq;          /* (Hq*D, C), (Hq*D) */
    void *wk, *bk;          /* (Hkv*D, C), (Hkv*D) */
    void *wv, *bv;          /* (Hkv*D, C), (Hkv*D) */
    void *wo, *bo;          /* (C, Hq*D), (C) */
    void *mlp_norm;         /* (C) */
    void *w_gate, *w_up;    /* (I, C) */
    void *w_down;           /* (C, I) */
} LayerWeights;

struct TinaModel {
    TinaConfig config;
    TinaBackend *backend;
    char *dir;
    void *weights;          /* the one allocation of every weight */
    size_t n_weights;       /* elements in it */
    void *embed;            /* (V, C) */
    void *final_norm;       /* (C) */
    void *lm_head;          /* (V, C), the embedding when tied */
    LayerWeights *layers;   /* (L,) */
    int max_tokens;         /* T at most, per call */
    int lora_rank;          /* the largest LoRA rank the activations hold */
    void *activations;      /* the one allocation of every activation */
    void *x, *h;            /* (T, C) residual stream, normed */
    void *q, *att;          /* (T, Hq*D) */
    void *k, *v;            /* (T, Hkv*D) */
    void *gate, *up;        /* (T, I) */
    void *lora_tmp;         /* (3, T, r): the adapters of q, k and v at once */
    void *last;             /* (T, C) rows gathered for logits */
    int *first;             /* host (T,) workspaces: sequence starts, */
    int32_t *positions;     /* token positions, */
    int32_t *tokens;        /* the tokens of the call */
    int *slots, *n_past, *n_new, *rows;
    /* the adapter of the call where the backend reads it: its own matrices on a host backend, else lora_copy, a
     * copy of adapter lora_id made when that adapter is first used */
    float *const *lora_a, *const *lora_b;  /* (L * TINA_LORA_TARGETS,) */
    uint64_t lora_id;
    DeviceLora lora_copy;
};

/* One layer's activations, each (T, width). Inference runs a layer in place over the residual stream (mid and out
 * are x, h2 is h, act is gate); training keeps them apart, for its backward. tmp (T, C): where a module with an
 * adapter is made whole before it is added into the residual stream (PEFT's order) when that is done in place (out is
 * the residual); NULL otherwise. */
typedef struct {
    const void *x;          /* (T, C) the layer's input */
    void *out;              /* (T, C) its output: mid + the MLP's */
    void *h, *mid, *h2;     /* (T, C) normed input; x + the attention's output; mid normed */
    void *q, *k, *v;        /* (T, Hq*D), (T, Hkv*D), (T, Hkv*D): q and k after rope */
    void *att;              /* (T, Hq*D) the attention's output */
    void *gate, *up, *act;  /* (T, I) the MLP's projections, and silu(gate) * up */
    void *tmp;              /* (T, C) */
} LayerActivations;

/* What inference and training do differently in a layer: how a layer attends (over the KV cache, or within each
 * sequence), and how the adapters' terms are added (all modules of one input at once, or each with its dropout). */
typedef struct LayerRun LayerRun;
struct LayerRun {
    const TinaBatch *batch;
    /* att (T, Hq*D) from this layer's q (after rope), k (after rope), v */
    void (*attend)(const LayerRun *run, int layer, void *att, void *q, void *k, void *v);
    /* whether module target of the layer has an adapter */
    bool (*adapted)(const LayerRun *run, int layer, int target);
    /* for i < n (modules of one input, at most 3) that have an adapter: out[i] (T, N_i) += its term from in (T, K);
     * then, unless residual is NULL, residual[i] += out[i] */
    void (*adapt)(const LayerRun *run, int layer, int n, const int *targets, void *const *out, const void *in,
                  void *const *residual);
};

/* One decoder layer of the model, the same for inference and training (layer.c) */
void tina_layer_forward(TinaModel *m, int layer, const LayerRun *run, const LayerActivations *a);

/* A memory plan: buffers of n values each in one allocation, each starting on a 128-value boundary (256 bytes in
 * bf16): the CUDA kernels read 16-byte vectors and cuBLAS's fastest kernels want aligned operands, and a buffer of
 * T x 8 bytes or T x r values leaves the next one unaligned when T or r is odd. */
typedef struct {
    void **slot;
    size_t n;
} PlanEntry;
/* The values the plan's buffers take, each rounded up to its boundary. */
size_t tina_plan_size(const PlanEntry *plan, size_t count);
/* Points each entry's slot into memory (values of `bytes` each); returns where the plan ends. */
char *tina_plan_place(const PlanEntry *plan, size_t count, char *memory, size_t bytes);

/* Points m->lora_a and lora_b at the adapter's matrices in backend memory (NULL: no adapter): on a GPU, uploads the
 * adapter once per id (a copy per call would move the whole adapter for every decoded token). */
TinaStatus tina_model_place_lora(TinaModel *m, const TinaLora *lora, TinaError *err);

#endif
