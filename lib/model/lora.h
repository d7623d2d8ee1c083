/* lora: LoRA adapters in PEFT's layout: load, create (PEFT's initialisation), save, and the delta for merging.
 *
 * For target module m of layer l with input size K and output size N: A (r, K), B (N, r), and the module computes
 * y = W x + scale * B (A x) with scale = alpha / r (alpha / sqrt(r) with use_rslora). PEFT's files: adapter_config.json
 * and adapter_model.safetensors with keys base_model.model.model.layers.{l}.{self_attn|mlp}.{m}.lora_{A|B}.weight.
 * The matrices are f32 (master weights), in one allocation. */
#ifndef TINA_LORA_H
#define TINA_LORA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/config.h"
#include "base/error.h"

enum { TINA_LORA_Q, TINA_LORA_K, TINA_LORA_V, TINA_LORA_O, TINA_LORA_GATE, TINA_LORA_UP, TINA_LORA_DOWN,
       TINA_LORA_TARGETS };

typedef struct {
    int r;
    double alpha;
    float scale;
    double dropout;
    bool rslora;
    bool targets[TINA_LORA_TARGETS];
    int n_layers;
    int in[TINA_LORA_TARGETS], out[TINA_LORA_TARGETS]; /* K and N of each target module */
    float **a, **b;       /* (n_layers * TINA_LORA_TARGETS,): A (r, K) and B (N, r) of each, NULL when not a target */
    float *memory;        /* the one allocation they point into */
    size_t n_params;
    char *base_model;     /* base_model_name_or_path, as given */
    uint64_t id;          /* names these values, never reused: a backend that keeps a copy recopies on a new id */
} TinaLora;

/* Parses a target list: comma-separated module names, or "all" / "all-linear" for the seven. */
TinaStatus tina_lora_parse_targets(const char *list, bool targets[TINA_LORA_TARGETS], TinaError *err);

/* Loads a PEFT adapter folder for a base model of this config; refuses what does not fit it or PEFT features tina
 * does not implement (DoRA, bias, modules_to_save, per-layer patterns). */
TinaStatus tina_lora_load(const char *dir, const TinaConfig *config, TinaLora **lora, TinaError *err);

/* Reads the A and B matrices of a PEFT-layout safetensors file (adapter_model.safetensors, or gradients saved the
 * same way) into l, whose shape they must have. */
TinaStatus tina_lora_read(const char *path, TinaLora *l, const TinaConfig *config, TinaError *err);

/* A fresh adapter as PEFT initialises one: A ~ U(-1/sqrt(K), 1/sqrt(K)) from seed, B = 0. */
TinaStatus tina_lora_init(const TinaConfig *config, int r, double alpha, double dropout, bool rslora,
                          const bool targets[TINA_LORA_TARGETS], uint64_t seed, const char *base_model,
                          TinaLora **lora, TinaError *err);

/* Writes dir/adapter_config.json and dir/adapter_model.safetensors (f32), creating dir; each file atomically. The
 * same adapter always gives the same bytes. */
TinaStatus tina_lora_save(const TinaLora *lora, const char *dir, TinaError *err);

/* Writes the A and B matrices alone to path in PEFT's layout (f32, atomically) with metadata {key: value} pairs
 * (NULL-terminated, alternating; may be NULL): adapter_model.safetensors, or gradients saved the same way. */
TinaStatus tina_lora_write(const TinaLora *lora, const char *path, const char *const *metadata, TinaError *err);

/* A hash of the adapter's shape and values, to tell adapters apart (gradient files name the one they came from). */
uint64_t tina_lora_hash(const TinaLora *lora);

/* delta (N, K) = scale * B @ A of one module, what merging adds to its weight; false when out of memory. */
bool tina_lora_delta(const TinaLora *lora, int layer, int target, float *delta);

/* An adapter of the same shape, every value 0 (gradients, optimizer moments). */
TinaStatus tina_lora_zeros_like(const TinaLora *like, TinaLora **out, TinaError *err);

/* Gives the adapter a new id: call it after changing its values in place (an optimizer step). */
void tina_lora_changed(TinaLora *lora);

void tina_lora_free(TinaLora *lora);

#endif
