/* checkpoint: the files of a training step besides the adapter itself, and the gradient files of a sharded step.
 *
 * A step's folder (tina-update -o), written whole or not at all: the adapter in PEFT's layout (lora.h),
 * optimizer.safetensors (AdamW's moments as torch names them, exp_avg and exp_avg_sq: f32, the adapter's values in
 * its order) and trainer_state.json (the optimizer steps taken, the step's settings and metrics; tina(7) FILES).
 * A gradient file (tina-update --shard K/N): the shard's gradient sums as an adapter-shaped safetensors whose metadata
 * names the step it belongs to (TinaStepIdentity), its shard, and its TinaStepTotals, so that the N shards add up to
 * the step of one process (--apply-grads). */
#ifndef TINA_CHECKPOINT_H
#define TINA_CHECKPOINT_H

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/stats.h"
#include "io/config.h"
#include "io/stream.h"
#include "model/lora.h"
#include "train/policy_loss.h"

typedef struct {
    long long step; /* optimizer steps taken before this one */
    float *m, *v;   /* (n_params,) AdamW moments */
} TinaOptimizerState;

/* *state = dir/trainer_state.json parsed (the caller deletes it), or NULL when dir is NULL or has no such file (an
 * adapter without a run behind it). */
TinaStatus tina_trainer_state_read(const char *dir, cJSON **state, TinaError *err);

/* The optimizer state the run of folder dir left (the step in its trainer_state.json, run, as read above, and
 * dir/optimizer.safetensors), for an adapter of n values; a fresh one (step 0, zero moments) when run is NULL. */
TinaStatus tina_optimizer_state_load(const char *dir, const cJSON *run, size_t n, TinaOptimizerState *state,
                                     TinaError *err);
void tina_optimizer_state_free(TinaOptimizerState *state);

/* Writes into the opened folder (stream.h; the caller commits or aborts it): the adapter, the optimizer state and
 * trainer_state.json holding state_json (one line). */
TinaStatus tina_checkpoint_write(const TinaFolder *folder, const TinaLora *lora, const TinaOptimizerState *state,
                                 const char *state_json, TinaError *err);

/* What a step adds up over its rollouts: all that the loss's divisor and the metrics need, so that the shards of a
 * batch add up to the one-process step. The loss and gradients are sums with divisor 1 (tina_policy_loss_divisor);
 * one division by the whole batch's divisor ends the step. */
typedef struct {
    double rollouts, skipped, truncated, groups, zero_std_groups; /* groups whose advantages are all equal */
    double tokens, clipped;     /* completion tokens the loss saw, and those whose clipped term was taken */
    double completion_len;      /* sum of completion lengths */
    double loss, kl, entropy, gap_sum;
    double gap_max, longest;    /* maxima: |logp - old_logp|, the longest completion */
    TinaRunningStats rewards;
} TinaStepTotals;

/* What a gradient file must agree on with the step that applies it: the adapter, the step, the loss settings
 * (loss's type, beta, epsilons and max_completion_length) and the dropout seed. */
typedef struct {
    char step[32], adapter[32], loss[160], seed[32];
} TinaStepIdentity;

TinaStepIdentity tina_step_identity(const TinaLora *lora, long long step, const TinaLossConfig *loss, long long seed);

/* Writes shard `shard` of `shards`' gradient sums and totals to path. */
TinaStatus tina_grads_write(const char *path, const TinaLora *grads, const TinaStepIdentity *id, int shard,
                            int shards, const TinaStepTotals *totals, TinaError *err);

/* Adds the n files' gradients into grads and their totals into totals, in shard order (the same bytes every time),
 * after checking that they are the n shards of one step of this identity. */
TinaStatus tina_grads_read(const char *const *paths, int n, const TinaStepIdentity *id, const TinaConfig *config,
                           TinaLora *grads, TinaStepTotals *totals, TinaError *err);

#endif
