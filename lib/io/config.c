#include "io/config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "io/record.h"

static bool get_int(const cJSON *root, const char *key, int *value) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsNumber(item) || item->valuedouble < 1 || item->valuedouble > 1e9 ||
        item->valuedouble != (int)item->valuedouble)
        return false;
    *value = (int)item->valuedouble;
    return true;
}

static bool truthy(const cJSON *root, const char *key) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, key)); }

/* rope_theta lives at the top (transformers 4) or in rope_parameters (transformers 5); only the default rope. */
static TinaStatus read_rope(const cJSON *root, double *theta, TinaError *err) {
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    const cJSON *kinds[] = {params, scaling};
    for (int i = 0; i < 2; i++) {
        if (!kinds[i] || cJSON_IsNull(kinds[i])) continue;
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(kinds[i], "rope_type");
        if (!type) type = cJSON_GetObjectItemCaseSensitive(kinds[i], "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "default") != 0)
            return tina_error(err, TINA_ERR_INPUT, "unsupported rope scaling \"%s\" (only the default rope is "
                              "implemented)", cJSON_IsString(type) ? type->valuestring : "?");
    }
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(params, "rope_theta");
    if (!value) value = cJSON_GetObjectItemCaseSensitive(root, "rope_theta");
    if (!value) {
        *theta = 10000.0; /* transformers' default for both architectures */
        return TINA_OK;
    }
    if (!cJSON_IsNumber(value) || value->valuedouble <= 0)
        return tina_error(err, TINA_ERR_INPUT, "rope_theta is not a positive number");
    *theta = value->valuedouble;
    return TINA_OK;
}

static TinaStatus refuse_unsupported(const cJSON *root, TinaArch arch, TinaError *err) {
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu") != 0))
        return tina_error(err, TINA_ERR_INPUT, "unsupported hidden_act \"%s\" (only silu)",
                          cJSON_IsString(act) ? act->valuestring : "?");
    const char *moe[] = {"num_experts", "num_local_experts", "n_routed_experts"};
    for (int i = 0; i < 3; i++) {
        const cJSON *experts = cJSON_GetObjectItemCaseSensitive(root, moe[i]);
        if (cJSON_IsNumber(experts) && experts->valuedouble > 0)
            return tina_error(err, TINA_ERR_INPUT, "unsupported: a mixture of experts (%s)", moe[i]);
    }
    if (arch == TINA_ARCH_QWEN2 && truthy(root, "use_sliding_window"))
        return tina_error(err, TINA_ERR_INPUT, "unsupported: use_sliding_window is true (sliding-window attention)");
    const cJSON *layer;
    cJSON_ArrayForEach(layer, cJSON_GetObjectItemCaseSensitive(root, "layer_types")) {
        if (!cJSON_IsString(layer) || strcmp(layer->valuestring, "full_attention") != 0)
            return tina_error(err, TINA_ERR_INPUT, "unsupported layer type \"%s\" (only full_attention)",
                              cJSON_IsString(layer) ? layer->valuestring : "?");
    }
    if (truthy(root, "mlp_bias")) return tina_error(err, TINA_ERR_INPUT, "unsupported: mlp_bias is true");
    return TINA_OK;
}

static TinaStatus parse(const cJSON *root, TinaConfig *c, TinaError *err) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(type)) return tina_error(err, TINA_ERR_INPUT, "no \"model_type\"");
    if (strcmp(type->valuestring, "qwen2") == 0) c->arch = TINA_ARCH_QWEN2;
    else if (strcmp(type->valuestring, "llama") == 0) c->arch = TINA_ARCH_LLAMA;
    else return tina_error(err, TINA_ERR_INPUT, "unsupported model_type \"%s\" (supported: qwen2, llama)",
                           type->valuestring);
    TinaStatus status = refuse_unsupported(root, c->arch, err);
    if (status) return status;
    const char *keys[] = {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                          "vocab_size"};
    int *fields[] = {&c->hidden, &c->n_layers, &c->n_heads, &c->intermediate, &c->vocab};
    for (int i = 0; i < 5; i++)
        if (!get_int(root, keys[i], fields[i]))
            return tina_error(err, TINA_ERR_INPUT, "\"%s\" is missing or not a positive integer", keys[i]);
    if (!cJSON_GetObjectItemCaseSensitive(root, "num_key_value_heads")) c->n_kv_heads = c->n_heads;
    else if (!get_int(root, "num_key_value_heads", &c->n_kv_heads))
        return tina_error(err, TINA_ERR_INPUT, "\"num_key_value_heads\" is not a positive integer");
    const cJSON *head_dim = cJSON_GetObjectItemCaseSensitive(root, "head_dim");
    if (head_dim && !cJSON_IsNull(head_dim)) {
        if (!get_int(root, "head_dim", &c->head_dim))
            return tina_error(err, TINA_ERR_INPUT, "\"head_dim\" is not a positive integer");
    } else {
        if (c->hidden % c->n_heads) return tina_error(err, TINA_ERR_INPUT, "hidden_size is not a multiple of the heads");
        c->head_dim = c->hidden / c->n_heads;
    }
    if (c->n_heads % c->n_kv_heads)
        return tina_error(err, TINA_ERR_INPUT, "num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)",
                          c->n_heads, c->n_kv_heads);
    if (c->n_heads / c->n_kv_heads > TINA_MAX_HEAD_GROUP)
        return tina_error(err, TINA_ERR_INPUT, "%d query heads share a key-value head (tina takes up to %d)",
                          c->n_heads / c->n_kv_heads, TINA_MAX_HEAD_GROUP);
    if (c->head_dim % 2) return tina_error(err, TINA_ERR_INPUT, "head_dim %d is odd (rope rotates pairs)", c->head_dim);
    /* a query's width is an int wherever it is used (the LoRA of q_proj sized from this file alone, say) */
    if ((long long)c->n_heads * c->head_dim > 1000000000)
        return tina_error(err, TINA_ERR_INPUT, "num_attention_heads x head_dim is %lld (at most 1e9)",
                          (long long)c->n_heads * c->head_dim);
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "rms_norm_eps");
    c->rms_eps = cJSON_IsNumber(eps) ? eps->valuedouble : 1e-6;
    if (!(c->rms_eps > 0 && c->rms_eps < 1))
        return tina_error(err, TINA_ERR_INPUT, "rms_norm_eps is %g (expected above 0 and below 1)", c->rms_eps);
    c->tie_embeddings = truthy(root, "tie_word_embeddings");
    bool attention_bias = truthy(root, "attention_bias");
    c->qkv_bias = c->arch == TINA_ARCH_QWEN2 || attention_bias; /* Qwen2Attention always has q/k/v bias */
    c->o_bias = c->arch == TINA_ARCH_LLAMA && attention_bias;
    return read_rope(root, &c->rope_theta, err);
}

TinaStatus tina_config_load(const char *path, TinaConfig *config, TinaError *err) {
    char file[4096];
    struct stat st;
    bool is_file = stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
    snprintf(file, sizeof file, is_file ? "%s" : "%s/config.json", path); /* a folder, or what should be one */
    cJSON *root;
    TinaStatus status = tina_record_read_json(file, &root, err);
    if (status) return status;
    *config = (TinaConfig){0};
    status = parse(root, config, err);
    cJSON_Delete(root);
    return status ? tina_error_in(err, file) : TINA_OK;
}

TinaStatus tina_generation_config_load(const char *folder, TinaGenerationConfig *g, TinaError *err) {
    *g = (TinaGenerationConfig){.temperature = 1, .top_p = 1};
    char file[4096];
    snprintf(file, sizeof file, "%s/generation_config.json", folder);
    struct stat st;
    if (stat(file, &st) != 0) return TINA_OK;
    cJSON *root;
    TinaStatus status = tina_record_read_json(file, &root, err);
    if (status) return status;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "top_p");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(root, "top_k");
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    if (cJSON_IsNumber(t)) g->temperature = t->valuedouble;
    if (cJSON_IsNumber(p)) g->top_p = p->valuedouble;
    if (cJSON_IsNumber(k)) g->top_k = k->valueint;
    if (cJSON_IsNumber(eos)) g->eos[g->n_eos++] = eos->valueint;
    const cJSON *id;
    if (cJSON_IsArray(eos))
        cJSON_ArrayForEach(id, eos) if (cJSON_IsNumber(id) && g->n_eos < TINA_MAX_EOS) g->eos[g->n_eos++] = id->valueint;
    cJSON_Delete(root);
    if (!(g->temperature >= 0 && g->temperature <= 100) || !(g->top_p > 0 && g->top_p <= 1) || g->top_k < 0)
        return tina_error(err, TINA_ERR_INPUT,
                          "%s: temperature %g, top_p %g, top_k %d (expected temperature 0 to 100, top_p above 0 up "
                          "to 1, top_k 0 or more)", file, g->temperature, g->top_p, g->top_k);
    return TINA_OK;
}
