#include "train/checkpoint.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/record.h"
#include "io/safetensors.h"
#include "io/stream.h"

TinaStatus tina_trainer_state_read(const char *dir, cJSON **state, TinaError *err) {
    *state = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/trainer_state.json", dir ? dir : "");
    if (!dir || access(path, F_OK) != 0) return TINA_OK; /* an adapter without a run behind it */
    return tina_record_read_json(path, state, err);
}

TinaStatus tina_optimizer_state_load(const char *dir, const cJSON *run, size_t n, TinaOptimizerState *s,
                                     TinaError *err) {
    s->step = 0;
    s->m = calloc(n ? n : 1, sizeof *s->m);
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (!s->m || !s->v) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    if (!run) return TINA_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s/trainer_state.json", dir);
    TinaStatus status = tina_record_integer(run, "step", 0, 1LL << 40, &s->step, err);
    if (status) return tina_error_in(err, path);
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    TinaSafetensors *st;
    status = tina_safetensors_open(path, &st, err);
    if (status) return status;
    const char *names[2] = {"exp_avg", "exp_avg_sq"};
    float *dst[2] = {s->m, s->v};
    for (int i = 0; i < 2 && !status; i++) {
        const TinaTensorInfo *t = tina_safetensors_find(st, names[i]);
        if (!t || t->numel != (int64_t)n)
            status = tina_error(err, TINA_ERR_INPUT, "%s: %s must hold %zu values (the adapter's)", path, names[i], n);
        else status = tina_tensor_to_f32(t, dst[i], err);
    }
    tina_safetensors_close(st);
    return status;
}

void tina_optimizer_state_free(TinaOptimizerState *s) {
    free(s->m), free(s->v);
    s->m = s->v = NULL;
}

/* The TinaStepTotals fields a gradient file carries, and how two shards' values combine. */
#define TOTAL(field, max) {#field, offsetof(TinaStepTotals, field), max}
static const struct {
    const char *name;
    size_t offset;
    bool max;
} TOTALS[] = {
    TOTAL(rollouts, false), TOTAL(skipped, false), TOTAL(truncated, false), TOTAL(groups, false),
    TOTAL(zero_std_groups, false), TOTAL(tokens, false), TOTAL(clipped, false), TOTAL(completion_len, false),
    {"loss_sum", offsetof(TinaStepTotals, loss), false}, TOTAL(kl, false), TOTAL(entropy, false), TOTAL(gap_sum, false),
    TOTAL(gap_max, true), TOTAL(longest, true),
};
#undef TOTAL
enum { N_TOTALS = sizeof TOTALS / sizeof *TOTALS };

static double *total(TinaStepTotals *t, int i) { return (double *)((char *)t + TOTALS[i].offset); }
static double total_of(const TinaStepTotals *t, int i) { return *(const double *)((const char *)t + TOTALS[i].offset); }

/* into += from: sums added, maxima taken, the rewards' statistics merged */
static void step_totals_merge(TinaStepTotals *into, const TinaStepTotals *from) {
    for (int i = 0; i < N_TOTALS; i++)
        *total(into, i) = TOTALS[i].max ? fmax(*total(into, i), total_of(from, i)) : *total(into, i) + total_of(from, i);
    tina_stats_merge(&into->rewards, &from->rewards);
}

TinaStepIdentity tina_step_identity(const TinaLora *lora, long long step, const TinaLossConfig *loss, long long seed) {
    TinaStepIdentity id;
    snprintf(id.step, sizeof id.step, "%lld", step);
    snprintf(id.adapter, sizeof id.adapter, "%016llx", (unsigned long long)tina_lora_hash(lora));
    snprintf(id.loss, sizeof id.loss, "%s beta %.17g epsilon %.17g %.17g max-length %d",
             tina_loss_type_names[loss->type], loss->beta, loss->epsilon_low, loss->epsilon_high,
             loss->max_completion_length);
    snprintf(id.seed, sizeof id.seed, "%lld", seed);
    return id;
}

TinaStatus tina_grads_write(const char *path, const TinaLora *grads, const TinaStepIdentity *id, int shard_index,
                            int shard_count, const TinaStepTotals *t, TinaError *err) {
    enum { FIXED = 16 };
    char values[N_TOTALS + 3][32], shard[16], shards[16];
    snprintf(shard, sizeof shard, "%d", shard_index);
    snprintf(shards, sizeof shards, "%d", shard_count);
    const char *metadata[FIXED + 2 * (N_TOTALS + 3) + 1] = { /* fixed pairs, then totals, rewards, NULL */
        "format", "pt", "tina", "gradients", "step", id->step, "adapter", id->adapter, "loss_settings", id->loss,
        "seed", id->seed, "shard", shard, "shards", shards};
    int n = FIXED;
    for (int i = 0; i < N_TOTALS; i++) {
        snprintf(values[i], sizeof values[i], "%.17g", total_of(t, i));
        metadata[n++] = TOTALS[i].name, metadata[n++] = values[i];
    }
    snprintf(values[N_TOTALS], sizeof values[0], "%lld", t->rewards.count);
    snprintf(values[N_TOTALS + 1], sizeof values[0], "%.17g", t->rewards.mean);
    snprintf(values[N_TOTALS + 2], sizeof values[0], "%.17g", t->rewards.m2);
    metadata[n++] = "rewards_count", metadata[n++] = values[N_TOTALS];
    metadata[n++] = "rewards_mean", metadata[n++] = values[N_TOTALS + 1];
    metadata[n++] = "rewards_m2", metadata[n++] = values[N_TOTALS + 2];
    metadata[n] = NULL;
    return tina_lora_write(grads, path, metadata, err);
}

/* The metadata value key of path's file, which must be there. */
static TinaStatus metadata(const TinaSafetensors *st, const char *path, const char *key, const char **value,
                           TinaError *err) {
    *value = tina_safetensors_metadata(st, key);
    return *value ? TINA_OK : tina_error(err, TINA_ERR_INPUT, "%s: not a gradient file of tina-update --shard (no "
                                         "\"%s\" in its metadata)", path, key);
}

/* The totals a gradient file's metadata carries. */
static TinaStatus read_totals(const TinaSafetensors *st, const char *path, TinaStepTotals *t, TinaError *err) {
    const char *value;
    TinaStatus status = TINA_OK;
    for (int i = 0; !status && i < N_TOTALS; i++) {
        status = metadata(st, path, TOTALS[i].name, &value, err);
        if (!status) *total(t, i) = strtod(value, NULL);
    }
    if (!status) status = metadata(st, path, "rewards_count", &value, err);
    if (!status) t->rewards.count = atoll(value);
    if (!status) status = metadata(st, path, "rewards_mean", &value, err);
    if (!status) t->rewards.mean = strtod(value, NULL);
    if (!status) status = metadata(st, path, "rewards_m2", &value, err);
    if (!status) t->rewards.m2 = strtod(value, NULL);
    return status;
}

TinaStatus tina_grads_read(const char *const *paths, int n, const TinaStepIdentity *id, const TinaConfig *config,
                           TinaLora *grads, TinaStepTotals *t, TinaError *err) {
    TinaLora *shard = NULL;
    int *order = calloc((size_t)(n ? n : 1), sizeof *order);
    TinaStepTotals *parts = calloc((size_t)(n ? n : 1), sizeof *parts); /* by shard index */
    TinaStatus status = order && parts ? tina_lora_zeros_like(grads, &shard, err)
                                       : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < n && order; i++) order[i] = -1;
    for (int i = 0; !status && i < n; i++) { /* each file's metadata: the identity checks, its shard, its totals */
        TinaSafetensors *st = NULL;
        const char *value;
        status = tina_safetensors_open(paths[i], &st, err);
        static const char *const keys[] = {"step", "adapter", "loss_settings", "seed"};
        const char *want[] = {id->step, id->adapter, id->loss, id->seed};
        static const char *const what[] = {"optimizer step", "adapter", "loss settings", "dropout seed"};
        for (int k = 0; !status && k < 4; k++) {
            status = metadata(st, paths[i], keys[k], &value, err);
            if (!status && strcmp(value, want[k]) != 0)
                status = tina_error(err, TINA_ERR_INPUT, "%s: computed for another %s (%s; this step: %s)", paths[i],
                                    what[k], value, want[k]);
        }
        int k = -1, of = -1;
        if (!status) status = metadata(st, paths[i], "shard", &value, err);
        if (!status) k = atoi(value);
        if (!status) status = metadata(st, paths[i], "shards", &value, err);
        if (!status) of = atoi(value);
        if (!status && of != n)
            status = tina_error(err, TINA_ERR_INPUT, "%s: shard %d of %d, but %d gradient files are given", paths[i], k,
                                of, n);
        if (!status && (k < 0 || k >= n || order[k] >= 0))
            status = tina_error(err, TINA_ERR_INPUT, "%s: shard %d is given twice (or is out of range)", paths[i], k);
        if (!status) status = read_totals(st, paths[i], &parts[k], err);
        if (!status) order[k] = i;
        tina_safetensors_close(st);
    }
    for (int k = 0; !status && k < n; k++) { /* in shard order, so that the sums are the same bytes every time */
        status = tina_lora_read(paths[order[k]], shard, config, err);
        for (size_t j = 0; !status && j < grads->n_params; j++) grads->memory[j] += shard->memory[j];
        if (!status) step_totals_merge(t, &parts[k]);
    }
    tina_lora_free(shard);
    free(order);
    free(parts);
    return status;
}

TinaStatus tina_checkpoint_write(const TinaFolder *folder, const TinaLora *lora, const TinaOptimizerState *state,
                                 const char *state_json, TinaError *err) {
    const char *tmp = tina_folder_path(folder);
    char path[4200];
    TinaStatus status = tina_lora_save(lora, tmp, err);
    if (!status) {
        TinaTensorOut tensors[2] = {{"exp_avg", TINA_DTYPE_F32, 1, {(int64_t)lora->n_params}, state->m},
                                    {"exp_avg_sq", TINA_DTYPE_F32, 1, {(int64_t)lora->n_params}, state->v}};
        static const char *const metadata[] = {"format", "pt", NULL};
        snprintf(path, sizeof path, "%s/optimizer.safetensors", tmp);
        status = tina_safetensors_write(path, tensors, 2, metadata, err);
    }
    if (!status) {
        snprintf(path, sizeof path, "%s/trainer_state.json", tmp);
        TinaWriter *w = NULL;
        status = tina_writer_open(&w, path, err);
        if (!status) status = tina_writer_line(w, state_json, strlen(state_json), err);
        if (!status) status = tina_writer_commit(w, err);
        else tina_writer_abort(w);
    }
    return status;
}
