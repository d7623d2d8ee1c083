#include "model/lora.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "backends/cpu/gemm.h"
#include "io/record.h"
#include "base/rng.h"
#include "io/safetensors.h"
#include "io/stream.h"

static const char *const target_names[TINA_LORA_TARGETS] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                             "gate_proj", "up_proj", "down_proj"};

static int target_index(const char *name) {
    for (int t = 0; t < TINA_LORA_TARGETS; t++)
        if (strcmp(name, target_names[t]) == 0) return t;
    return -1;
}

TinaStatus tina_lora_parse_targets(const char *list, bool targets[TINA_LORA_TARGETS], TinaError *err) {
    memset(targets, 0, TINA_LORA_TARGETS * sizeof *targets);
    if (strcmp(list, "all") == 0 || strcmp(list, "all-linear") == 0) {
        for (int t = 0; t < TINA_LORA_TARGETS; t++) targets[t] = true;
        return TINA_OK;
    }
    char name[64];
    if (!*list) return tina_error(err, TINA_ERR_INPUT, "no LoRA target named (an empty list)");
    for (const char *p = list;; p++) { /* every item, the empty ones of "a,,b" and "a," too */
        size_t n = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), p);
        int t = target_index(name);
        if (t < 0)
            return tina_error(err, TINA_ERR_INPUT, "unknown LoRA target \"%s\" (known: q_proj, k_proj, v_proj, o_proj, "
                              "gate_proj, up_proj, down_proj; or all, also named all-linear, alone)", name);
        targets[t] = true;
        p += n;
        if (!*p) return TINA_OK;
    }
}

void tina_lora_changed(TinaLora *l) {
    static _Atomic uint64_t last_id;
    l->id = ++last_id;
}

/* Lays out the matrices of l's targets (for its r, in, out and n_layers) in one allocation: the layout is a function
 * of the shape alone, so two adapters of one shape have their matrices at the same offsets. */
static TinaStatus lay_out(TinaLora *l, TinaError *err) {
    size_t total = 0;
    double values = 0; /* the same sum in double: config.json's sizes alone (no weights read) can make it wrap */
    for (int t = 0; t < TINA_LORA_TARGETS; t++)
        if (l->targets[t]) {
            total += (size_t)l->r * ((size_t)l->in[t] + (size_t)l->out[t]) * (size_t)l->n_layers;
            values += (double)l->r * ((double)l->in[t] + l->out[t]) * l->n_layers;
        }
    l->n_params = total;
    tina_lora_changed(l);
    size_t slots = (size_t)l->n_layers * TINA_LORA_TARGETS;
    l->a = calloc(slots, sizeof *l->a);
    l->b = calloc(slots, sizeof *l->b);
    l->memory = values <= (double)(SIZE_MAX / sizeof *l->memory) ? calloc(total ? total : 1, sizeof *l->memory) : NULL;
    if (!l->a || !l->b || !l->memory)
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (LoRA of %.0f values)", values);
    float *p = l->memory;
    for (int layer = 0; layer < l->n_layers; layer++)
        for (int t = 0; t < TINA_LORA_TARGETS; t++) {
            if (!l->targets[t]) continue;
            l->a[layer * TINA_LORA_TARGETS + t] = p;
            p += (size_t)l->r * l->in[t];
            l->b[layer * TINA_LORA_TARGETS + t] = p;
            p += (size_t)l->out[t] * l->r;
        }
    return TINA_OK;
}

/* Sizes the targets' modules for config, and lays out their matrices. */
static TinaStatus allocate(TinaLora *l, const TinaConfig *c, TinaError *err) {
    int q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    const int ins[TINA_LORA_TARGETS] = {c->hidden, c->hidden, c->hidden, q, c->hidden, c->hidden, c->intermediate};
    const int outs[TINA_LORA_TARGETS] = {q, kv, kv, c->hidden, c->intermediate, c->intermediate, c->hidden};
    memcpy(l->in, ins, sizeof l->in);
    memcpy(l->out, outs, sizeof l->out);
    l->n_layers = c->n_layers;
    return lay_out(l, err);
}

static void set_scale(TinaLora *l) { l->scale = (float)(l->rslora ? l->alpha / sqrt((double)l->r) : l->alpha / l->r); }

TinaStatus tina_lora_init(const TinaConfig *c, int r, double alpha, double dropout, bool rslora,
                          const bool targets[TINA_LORA_TARGETS], uint64_t seed, const char *base_model,
                          TinaLora **out, TinaError *err) {
    *out = NULL;
    if (r < 1) return tina_error(err, TINA_ERR_INPUT, "LoRA rank must be at least 1");
    TinaLora *l = calloc(1, sizeof *l);
    if (!l) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    *l = (TinaLora){.r = r, .alpha = alpha, .dropout = dropout, .rslora = rslora};
    memcpy(l->targets, targets, sizeof l->targets);
    set_scale(l);
    l->base_model = strdup(base_model ? base_model : "");
    TinaStatus status = l->base_model ? allocate(l, c, err) : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    for (int layer = 0; !status && layer < c->n_layers; layer++)
        for (int t = 0; t < TINA_LORA_TARGETS; t++) {
            float *a = l->a[layer * TINA_LORA_TARGETS + t];
            if (!a) continue;
            double bound = 1.0 / sqrt((double)l->in[t]); /* kaiming_uniform_(a=sqrt(5)) on (r, K) */
            uint64_t stream = (uint64_t)layer * TINA_LORA_TARGETS + (uint64_t)t;
            for (size_t i = 0; i < (size_t)r * l->in[t]; i++)
                a[i] = (float)((2.0 * tina_rng_uniform(seed, stream, i) - 1.0) * bound);
        }
    if (status) tina_lora_free(l);
    else *out = l;
    return status;
}

static void key_of(char *key, size_t size, int layer, int target, char which) {
    snprintf(key, size, "base_model.model.model.layers.%d.%s.%s.lora_%c.weight", layer,
             target <= TINA_LORA_O ? "self_attn" : "mlp", target_names[target], which);
}

static TinaStatus read_config(const char *dir, TinaLora *l, TinaError *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    cJSON *root;
    TinaStatus status = tina_record_read_json(path, &root, err);
    if (status) return status;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "peft_type");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "r");
    const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(root, "lora_alpha");
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(root, "lora_dropout");
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(root, "target_modules");
    const cJSON *bias = cJSON_GetObjectItemCaseSensitive(root, "bias");
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "base_model_name_or_path");
    if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "LORA") != 0))
        status = tina_error(err, TINA_ERR_INPUT, "peft_type is not LORA");
    else if (!cJSON_IsNumber(r) || r->valuedouble < 1 || r->valuedouble > 65536 ||
             r->valuedouble != (int)r->valuedouble)
        status = tina_error(err, TINA_ERR_INPUT, "\"r\" is missing or not an integer from 1 to 65536");
    else if (!cJSON_IsNumber(alpha)) status = tina_error(err, TINA_ERR_INPUT, "\"lora_alpha\" is missing");
    else if (!(alpha->valuedouble > 0 && alpha->valuedouble <= 1e6))
        status = tina_error(err, TINA_ERR_INPUT, "\"lora_alpha\" is %g (expected from above 0 to 1e6)",
                            alpha->valuedouble);
    else if (dropout && !cJSON_IsNull(dropout) &&
             !(cJSON_IsNumber(dropout) && dropout->valuedouble >= 0 && dropout->valuedouble < 1))
        status = tina_error(err, TINA_ERR_INPUT, "\"lora_dropout\" is not a number from 0 to below 1");
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "use_dora")))
        status = tina_error(err, TINA_ERR_INPUT, "unsupported: use_dora (DoRA)");
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "fan_in_fan_out")))
        status = tina_error(err, TINA_ERR_INPUT, "unsupported: fan_in_fan_out");
    else if (bias && !(cJSON_IsString(bias) && strcmp(bias->valuestring, "none") == 0))
        status = tina_error(err, TINA_ERR_INPUT, "unsupported: bias other than \"none\"");
    const char *absent[] = {"modules_to_save", "layers_to_transform", "rank_pattern", "alpha_pattern",
                            "trainable_token_indices", "layer_replication", "target_parameters"};
    for (int i = 0; i < 7 && !status; i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, absent[i]);
        if (item && !cJSON_IsNull(item) && !(cJSON_IsObject(item) && !item->child))
            status = tina_error(err, TINA_ERR_INPUT, "unsupported: %s is set", absent[i]);
    }
    if (!status && cJSON_IsString(targets)) status = tina_lora_parse_targets(targets->valuestring, l->targets, err);
    else if (!status && cJSON_IsArray(targets)) {
        const cJSON *name;
        cJSON_ArrayForEach(name, targets) {
            int t = cJSON_IsString(name) ? target_index(name->valuestring) : -1;
            if (t < 0) {
                status = tina_error(err, TINA_ERR_INPUT, "unknown target module \"%s\"",
                                    cJSON_IsString(name) ? name->valuestring : "?");
                break;
            }
            l->targets[t] = true;
        }
    } else if (!status) status = tina_error(err, TINA_ERR_INPUT, "\"target_modules\" is missing");
    if (!status) {
        l->r = (int)r->valuedouble;
        l->alpha = alpha->valuedouble;
        l->dropout = cJSON_IsNumber(dropout) ? dropout->valuedouble : 0;
        l->rslora = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "use_rslora"));
        l->base_model = strdup(cJSON_IsString(base) ? base->valuestring : "");
        if (!l->base_model) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
        set_scale(l);
    }
    cJSON_Delete(root);
    return status;
}

TinaStatus tina_lora_read(const char *path, TinaLora *l, const TinaConfig *c, TinaError *err) {
    TinaSafetensors *st;
    TinaStatus status = tina_safetensors_open(path, &st, err);
    if (status) return status;
    int used = 0;
    for (int layer = 0; layer < c->n_layers && !status; layer++)
        for (int t = 0; t < TINA_LORA_TARGETS && !status; t++) {
            if (!l->targets[t]) continue;
            for (int m = 0; m < 2 && !status; m++) {
                char key[256];
                key_of(key, sizeof key, layer, t, m ? 'B' : 'A');
                const TinaTensorInfo *info = tina_safetensors_find(st, key);
                int64_t needs[2] = {m ? l->out[t] : l->r, m ? l->r : l->in[t]};
                char has[64], needed[64];
                if (!info) status = tina_error(err, TINA_ERR_INPUT, "%s: missing tensor %s", path, key);
                else if (info->ndim != 2 || info->shape[0] != needs[0] || info->shape[1] != needs[1])
                    status = tina_error(err, TINA_ERR_INPUT, "%s: %s has shape %s, the base model needs %s (an adapter "
                                        "for another model?)", path, key,
                                        tina_shape_text(has, sizeof has, info->ndim, info->shape),
                                        tina_shape_text(needed, sizeof needed, 2, needs));
                else status = tina_tensor_to_f32(info, m ? l->b[layer * TINA_LORA_TARGETS + t]
                                                          : l->a[layer * TINA_LORA_TARGETS + t], err);
                used++;
            }
        }
    if (!status && used != tina_safetensors_count(st)) { /* name what is left over: another model's layers, say */
        for (int i = 0; i < tina_safetensors_count(st) && !status; i++) {
            const char *name = tina_safetensors_at(st, i)->name;
            int layer, n = 0;
            char module[64], which;
            bool known = sscanf(name, "base_model.model.model.layers.%d.%*[a-z_].%63[a-z_].lora_%c.weight%n", &layer,
                                module, &which, &n) == 3 && name[n] == '\0' && layer < c->n_layers &&
                         target_index(module) >= 0 && l->targets[target_index(module)];
            if (!known)
                status = tina_error(err, TINA_ERR_INPUT, "%s: tensor %s does not belong to this base model and "
                                    "target list", path, name);
        }
    }
    tina_safetensors_close(st);
    tina_lora_changed(l);
    return status;
}

TinaStatus tina_lora_load(const char *dir, const TinaConfig *c, TinaLora **out, TinaError *err) {
    *out = NULL;
    TinaLora *l = calloc(1, sizeof *l);
    if (!l) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    TinaStatus status = read_config(dir, l, err);
    if (!status) status = allocate(l, c, err);
    if (!status) status = tina_lora_read(path, l, c, err);
    if (status) tina_lora_free(l);
    else *out = l;
    return status;
}

static TinaStatus write_config(const TinaLora *l, const char *path, TinaError *err) {
    TinaBuf json = {0}, base = {0};
    char alpha[32], dropout[32], r[16], targets[160] = ""; /* at most 7 of ",\n    \"gate_proj\"" */
    tina_record_format_number(l->alpha, alpha);
    tina_record_format_number(l->dropout, dropout);
    snprintf(r, sizeof r, "%d", l->r);
    for (int t = 0; t < TINA_LORA_TARGETS; t++)
        if (l->targets[t])
            snprintf(targets + strlen(targets), sizeof targets - strlen(targets), "%s\n    \"%s\"", *targets ? "," : "",
                     target_names[t]);
    TinaStatus status = tina_record_format_string(&base, l->base_model, strlen(l->base_model), err);
    const char *parts[] = {
        "{\n  \"alpha_pattern\": {},\n  \"base_model_name_or_path\": ", base.data,
        ",\n  \"bias\": \"none\",\n  \"fan_in_fan_out\": false,\n  \"inference_mode\": true,\n",
        "  \"init_lora_weights\": true,\n  \"layers_pattern\": null,\n  \"layers_to_transform\": null,\n",
        "  \"lora_alpha\": ", alpha, ",\n  \"lora_dropout\": ", dropout,
        ",\n  \"modules_to_save\": null,\n  \"peft_type\": \"LORA\",\n  \"r\": ", r,
        ",\n  \"rank_pattern\": {},\n  \"revision\": null,\n  \"target_modules\": [", targets,
        "\n  ],\n  \"task_type\": \"CAUSAL_LM\",\n  \"use_dora\": false,\n  \"use_rslora\": ",
        l->rslora ? "true\n}\n" : "false\n}\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts && !status; i++)
        status = tina_buf_append_str(&json, parts[i], err);
    TinaWriter *w = NULL;
    if (!status) status = tina_writer_open(&w, path, err);
    if (!status) status = tina_writer_write(w, json.data, json.len, err);
    if (!status) status = tina_writer_commit(w, err);
    else tina_writer_abort(w);
    tina_buf_free(&json);
    tina_buf_free(&base);
    return status;
}

TinaStatus tina_lora_write(const TinaLora *l, const char *path, const char *const *metadata, TinaError *err) {
    size_t slots = (size_t)l->n_layers * TINA_LORA_TARGETS;
    TinaTensorOut *tensors = calloc(2 * slots, sizeof *tensors);
    char (*names)[160] = calloc(2 * slots, sizeof *names);
    TinaStatus status = tensors && names ? TINA_OK : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    int n = 0;
    for (int layer = 0; !status && layer < l->n_layers; layer++)
        for (int t = 0; t < TINA_LORA_TARGETS; t++) {
            int slot = layer * TINA_LORA_TARGETS + t;
            if (!l->a[slot]) continue;
            key_of(names[n], sizeof names[n], layer, t, 'A');
            tensors[n] = (TinaTensorOut){names[n], TINA_DTYPE_F32, 2, {l->r, l->in[t]}, l->a[slot]};
            n++;
            key_of(names[n], sizeof names[n], layer, t, 'B');
            tensors[n] = (TinaTensorOut){names[n], TINA_DTYPE_F32, 2, {l->out[t], l->r}, l->b[slot]};
            n++;
        }
    if (!status) status = tina_safetensors_write(path, tensors, n, metadata, err);
    free(tensors);
    free(names);
    return status;
}

TinaStatus tina_lora_save(const TinaLora *l, const char *dir, TinaError *err) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot create", dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    static const char *const metadata[] = {"format", "pt", NULL};
    TinaStatus status = tina_lora_write(l, path, metadata, err);
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    return status ? status : write_config(l, path, err);
}

uint64_t tina_lora_hash(const TinaLora *l) {
    uint64_t h = tina_rng_name((const char *)l->memory, l->n_params * sizeof *l->memory);
    return tina_rng_bits(h, (uint64_t)l->r, (uint64_t)l->n_params);
}

bool tina_lora_delta(const TinaLora *l, int layer, int target, float *delta) {
    int in = l->in[target], out = l->out[target];
    const float *a = l->a[layer * TINA_LORA_TARGETS + target], *b = l->b[layer * TINA_LORA_TARGETS + target];
    TinaProduct p = {.c = delta, .ldc = (size_t)in, .a = tina_matrix(b, (size_t)l->r, false), .b = tina_matrix(a, (size_t)in, false),
                     .alpha = l->scale, .M = out, .N = in, .K = l->r};
    return tina_gemm(&p, 1, 0);
}

TinaStatus tina_lora_zeros_like(const TinaLora *like, TinaLora **out, TinaError *err) {
    *out = NULL;
    TinaLora *l = calloc(1, sizeof *l);
    if (!l) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    *l = *like; /* its shape: lay_out gives l its own a, b and memory (before it can fail), laid out as like's */
    l->base_model = strdup(like->base_model ? like->base_model : "");
    TinaStatus status = lay_out(l, err);
    if (!status && !l->base_model)
        status = tina_error(err, TINA_ERR_RUNTIME, "out of memory (LoRA of %zu values)", like->n_params);
    if (status) tina_lora_free(l);
    else *out = l;
    return status;
}

void tina_lora_free(TinaLora *l) {
    if (!l) return;
    free(l->a);
    free(l->b);
    free(l->memory);
    free(l->base_model);
    free(l);
}
