/* model: a Qwen2 or Llama decoder from a Hugging Face folder, run through a backend (backend.h): forward over a
 * batch of sequences of different lengths with a KV cache (prefill and decode alike), logits of the last or of every
 * position, log-probs of given next tokens (the vocabulary in chunks), a LoRA adapter applied unmerged or not at all,
 * and merging an adapter into the weights for export.
 *
 * Numerics follow transformers (docs/facts.md section 2): pre-norm blocks, RMSNorm reduced in f32 then scaled,
 * rotate-half RoPE, GQA, f32 softmax, SwiGLU MLP. Weights live in one allocation, activations in another, sized at
 * load for calls of up to max_tokens tokens. */
#ifndef TINA_MODEL_H
#define TINA_MODEL_H

#include <stdint.h>

#include "backends/backend.h"
#include "io/config.h"
#include "base/error.h"
#include "backends/kv_cache.h"
#include "model/lora.h"
#include "backends/sampler.h"

typedef struct TinaModel TinaModel;

/* One sequence of a forward call: n_new tokens appended to KV slot `slot`, which holds n_past tokens already (a KV
 * cache: kv_cache.h). */
typedef struct {
    int slot;
    int n_past;
    int n_new;
    const int32_t *tokens; /* (n_new,) */
} TinaSequence;

typedef enum { TINA_LOGITS_NONE, TINA_LOGITS_LAST, TINA_LOGITS_ALL } TinaLogitsWanted;

/* dir: config.json and model.safetensors (or a sharded index). The backend is borrowed, not owned. */
TinaStatus tina_model_load(const char *dir, TinaBackend *backend, int max_tokens, TinaModel **model, TinaError *err);
void tina_model_free(TinaModel *model);
const TinaConfig *tina_model_config(const TinaModel *model);

/* A KV cache for the model's calls (kv_cache.h): n_slots sequences of up to max_len positions each, in n_pages pages
 * (0: as many as every slot at max_len needs); the backend readied for calls that reach max_len positions. */
TinaStatus tina_model_kv_cache(TinaModel *model, int n_slots, int max_len, int n_pages, TinaKVCache **cache,
                               TinaError *err);
/* The bytes of one page of the model's cache. */
size_t tina_model_kv_page_bytes(const TinaModel *model);

/* Runs the sequences through the model, appending them to their cache slots. lora NULL: the base model. logits:
 * (n_seqs, V) for TINA_LOGITS_LAST, (T, V) rows in sequence order for TINA_LOGITS_ALL, f32 on the host. */
TinaStatus tina_model_forward(TinaModel *model, TinaKVCache *cache, const TinaSequence *seqs, int n_seqs,
                              const TinaLora *lora, TinaLogitsWanted want, float *logits, TinaError *err);

/* The same forward, then `repeats` draws of the token after each sequence's last one (the G samples of a prompt
 * from its prefill; 1 in a decode step), draw j of sequence s with the uniform u[s * repeats + j] in [0, 1) as
 * tina_sampler_draw draws (sampler.h): tokens and logprobs (n_seqs x repeats,) on the host. The logits stay in the
 * backend's memory; n_seqs x repeats is at most the model's max_tokens. */
TinaStatus tina_model_sample(TinaModel *model, TinaKVCache *cache, const TinaSequence *seqs, int n_seqs,
                             const TinaLora *lora, const TinaSamplerParams *params, int repeats, const double *u,
                             int32_t *tokens, double *logprobs, TinaError *err);

/* The same forward, giving for every new token t the log-probability of targets[t] (T,) as its successor:
 * logprobs (T,) f32 on the host. Never more than a chunk of the vocabulary at a time. */
TinaStatus tina_model_logprobs(TinaModel *model, TinaKVCache *cache, const TinaSequence *seqs, int n_seqs,
                               const TinaLora *lora, const int32_t *targets, float *logprobs, TinaError *err);

/* Adds the adapter's deltas into the model's weights (W + scale B A), for export. */
TinaStatus tina_model_merge_lora(TinaModel *model, const TinaLora *lora, TinaError *err);

/* Writes the weights as dir/model.safetensors (dtype F32 or BF16) and the source folder's config.json, its "dtype"
 * (and an older file's "torch_dtype") set to the weights' ("bfloat16" or "float32"), every other byte as it was. */
TinaStatus tina_model_save(const TinaModel *model, const char *dir, TinaDtype dtype, TinaError *err);

#endif
