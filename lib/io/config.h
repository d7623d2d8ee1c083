/* config: a Hugging Face config.json for the decoder architectures tina runs: qwen2 (DeepSeek-R1-Distill-Qwen,
 * Qwen2.5) and llama (SmolLM2, Llama). What tina does not implement (rope scaling, a sliding window in use, mixtures
 * of experts, activations other than SiLU, MLP bias) is refused with a message that names it. */
#ifndef TINA_CONFIG_H
#define TINA_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

enum { TINA_MAX_HEAD_GROUP = 64 }; /* query heads a key-value head may serve: a CPU attention task's rows */

typedef enum { TINA_ARCH_QWEN2, TINA_ARCH_LLAMA } TinaArch;

typedef struct {
    TinaArch arch;
    int hidden;         /* C */
    int n_layers;       /* L */
    int n_heads;        /* Hq, query heads */
    int n_kv_heads;     /* Hkv, key/value heads (GQA group Hq / Hkv) */
    int head_dim;       /* D */
    int intermediate;   /* I, the MLP width */
    int vocab;          /* V, rows of the embedding and of the head */
    double rope_theta;
    double rms_eps;
    bool tie_embeddings; /* lm_head is the embedding */
    bool qkv_bias;       /* qwen2 always; llama with attention_bias */
    bool o_bias;         /* llama with attention_bias */
} TinaConfig;

/* Reads path/config.json (or path itself when it is a file). */
TinaStatus tina_config_load(const char *path, TinaConfig *config, TinaError *err);

/* generation_config.json: the sampling defaults a model ships with. */
enum { TINA_MAX_EOS = 8 };
typedef struct {
    double temperature;   /* 1 when not given */
    double top_p;         /* 1 when not given */
    int top_k;            /* 0 (off) when not given */
    int32_t eos[TINA_MAX_EOS];
    int n_eos;
} TinaGenerationConfig;

/* Reads folder/generation_config.json; a missing file gives the defaults. */
TinaStatus tina_generation_config_load(const char *folder, TinaGenerationConfig *config, TinaError *err);

#endif
