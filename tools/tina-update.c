/* tina-update: one LoRA policy-gradient step. Advantaged rollouts in; the next adapter out (a complete PEFT
 * adapter with its optimizer state, written atomically), one line of metrics on stdout.
 *
 * All input records make one optimizer batch, run in micro-batches of at most --micro-batch-tokens tokens whose
 * gradients add up (the loss is normalised over the whole batch first: lib/train/policy_loss.h). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/adamw.h"
#include "base/buf.h"
#include "cli.h"
#include "base/ids.h"
#include "train/policy_loss.h"
#include "io/record.h"
#include "base/rng.h"
#include "base/stats.h"
#include "io/stream.h"
#include "train/train.h"

static const char usage[] =
    "Usage: tina-update -m MODEL (-a ADAPTER | --init-adapter) -o OUT [OPTION]... [INPUT]...\n"
    "       tina-update ... --shard K/N -o SHARD.grads.safetensors [INPUT]...\n"
    "       tina-update ... --apply-grads -o OUT SHARD.grads.safetensors...\n"
    "Take one LoRA policy-gradient step (GRPO and its variants) on advantaged rollouts (JSON lines with\n"
    "\"prompt_tokens\", \"completion_tokens\", \"logprobs\", \"advantage\"; optional \"ref_logprobs\") and write the\n"
    "next adapter to OUT (a new folder: adapter, optimizer state, trainer_state.json). One JSON line of metrics\n"
    "goes to stdout.\n"
    "\n"
    "  -m, --model DIR           the base model (config.json, model.safetensors)\n"
    "  -a, --adapter DIR         the adapter to update (its optimizer.safetensors and trainer_state.json, when\n"
    "                            present, continue the run)\n"
    "      --init-adapter        start from a fresh adapter (PEFT's initialisation) instead\n"
    "      --rank R, --alpha A, --dropout P, --targets LIST, --init-seed S\n"
    "                            the fresh adapter's shape (default 32, 128, 0.05, all, 0)\n"
    "  -o, --output DIR          where the next adapter goes (must not exist)\n"
    "  -p, --preset NAME         tina: grpo, beta 0.04, lr 1e-6, cosine-min-lr, warmup 0.1, min-lr-rate 0.1,\n"
    "                            max-grad-norm 1 (the defaults), r 32 alpha 128 dropout 0.05 for --init-adapter\n"
    "      --loss TYPE           grpo (default), bnpo, dr_grpo, dapo\n"
    "      --beta B              KL coefficient against the base model (default 0.04; 0 skips the reference)\n"
    "      --epsilon E           lower clip of the importance ratio (default 0.2)\n"
    "      --epsilon-high E      upper clip (default: --epsilon; DAPO uses 0.28)\n"
    "      --max-completion-length N  dr_grpo's normaliser (default: the longest completion)\n"
    "      --lr LR               peak learning rate (default 1e-6)\n"
    "      --schedule S          cosine-min-lr (default) or constant\n"
    "      --warmup-ratio R      warmup steps as a fraction of --total-steps (default 0.1)\n"
    "      --min-lr-rate R       the cosine's floor as a fraction of --lr (default 0.1)\n"
    "      --total-steps N       the schedule's length (default 1500)\n"
    "      --weight-decay W      AdamW's decoupled weight decay (default 0)\n"
    "      --max-grad-norm N     clip the global gradient norm (default 1; 0: no clipping)\n"
    "      --micro-batch-tokens N  tokens per forward/backward (default 4096)\n"
    "      --activation-memory MB  keep every layer's activations for the backward when they fit in MB (default\n"
    "                            2048); else recompute them layer by layer (a third more arithmetic)\n"
    "      --mask-truncated      leave out completions that hit the length limit (finish_reason \"length\")\n"
    "      --seed S              LoRA dropout's masks come from S and the step (default 0)\n"
    "      --threads N           CPU threads (default: all)\n"
    "      --device NAME         cpu (default), or cuda (bf16 on the first GPU; a build with CUDA=1)\n"
    "      --shard K/N           data parallelism: the inputs are shard K (0 to N-1) of the step's rollouts; write\n"
    "                            their gradient sums and counts to OUT (a .safetensors file) instead of stepping\n"
    "      --apply-grads         the inputs are the N shards' gradient files: add them up, normalise with the whole\n"
    "                            batch's counts, clip by the global norm and take the step, as one process would\n"
    "  -q, --quiet               no summary on stderr\n"
    "  -h, --help                show this help and exit\n"
    "  -V, --version             show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure (a non-finite loss or gradient included: nothing is written),\n"
    "2 bad usage or input. See tina-update(1) and tina(7).\n";

typedef struct {
    const char *model, *adapter, *output;
    bool init_adapter;
    int rank;
    double alpha, dropout;
    long long seed;
    const char *targets;
    long long init_seed;
    TinaLossType loss;
    double beta, epsilon, epsilon_high;
    bool epsilon_high_set;
    int max_completion_length;
    double lr, warmup_ratio, min_lr_rate, weight_decay, max_grad_norm;
    bool constant_lr;
    long long total_steps;
    int micro_batch_tokens, threads;
    const char *device;
    double activation_memory;
    bool mask_truncated, quiet;
    int shard, shards;  /* --shard K/N; shards 0: not sharded */
    bool apply_grads;
} Options;

/* ---- the batch ---- */

typedef struct {
    size_t tokens;      /* offset of prompt + completion in Batch.tokens */
    int n_prompt, n_completion;
    size_t values;      /* offset of its completion's old (and ref) log-probs in Batch.old, Batch.ref */
    double advantage, reward;
    bool has_reward, truncated;
    size_t group;       /* index of its group (same id) */
    uint64_t key;       /* names it for LoRA dropout: from its id and sample, else its place in the input */
} Rollout;

typedef struct {
    Rollout *rollouts;
    size_t n, cap;
    TinaIds tokens;
    float *old, *ref;   /* (completion tokens,) */
    size_t n_values, cap_values;
    bool have_ref;      /* every rollout has ref_logprobs */
    long long skipped, truncated;
    long long unadvantaged; /* records without an "advantage" field at all: tina-advantage never saw them */
    size_t groups;
} Batch;

/* The n numbers of a per-token field into dst[at..at + n). */
static TinaStatus push_values(const cJSON *array, float *dst, size_t at, int n, const char *field, TinaError *err) {
    if (!cJSON_IsArray(array) || cJSON_GetArraySize(array) != n)
        return tina_error(err, TINA_ERR_INPUT, "\"%s\" must be an array of one number per completion token (%d)", field,
                          n);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, array) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return tina_error(err, TINA_ERR_INPUT, "\"%s\"[%d] is not a finite number", field, i);
        dst[at + (size_t)i++] = (float)v->valuedouble;
    }
    return TINA_OK;
}

/* read_batch's state between records: the batch, and the previous record's id, which starts a new group when it
 * changes */
typedef struct {
    Batch *batch;
    const Options *o;
    int vocab;
    TinaBuf id, previous;
    TinaIds completion;
} Reading;

/* One advantaged rollout into the batch, or counted as skipped (no completion, no advantage, masked). */
static TinaStatus add_rollout(const cJSON *record, void *context, TinaError *err) {
    Reading *r = context;
    Batch *b = r->batch;
    double advantage;
    bool null_advantage = true;
    size_t first = b->tokens.len;
    tina_ids_free(&r->completion);
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(record, "finish_reason");
    bool truncated = cJSON_IsString(finish) && strcmp(finish->valuestring, "length") == 0;
    TinaStatus status = tina_record_ids(record, "prompt_tokens", r->vocab, &b->tokens, err);
    int n_prompt = (int)(b->tokens.len - first);
    if (!status) status = tina_record_ids(record, "completion_tokens", r->vocab, &r->completion, err);
    if (!status && cJSON_GetObjectItemCaseSensitive(record, "advantage"))
        status = tina_record_number_or_null(record, "advantage", &advantage, &null_advantage, err);
    else if (!status) b->unadvantaged++;
    tina_buf_clear(&r->id);
    if (!status)
        status = cJSON_GetObjectItemCaseSensitive(record, "id") ? tina_record_key(record, "id", &r->id, err)
                                                                : tina_buf_append_str(&r->id, "", err);
    int n = (int)r->completion.len;
    bool skip = !status && (n == 0 || null_advantage || n_prompt == 0 || (r->o->mask_truncated && truncated));
    if (!status && skip) {
        b->tokens.len = first;
        b->skipped++;
        return TINA_OK;
    }
    if (!status && b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        Rollout *more = realloc(b->rollouts, cap * sizeof *more);
        if (!more) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
        else b->rollouts = more, b->cap = cap;
    }
    if (!status && b->n_values + (size_t)n > b->cap_values) {
        size_t cap = b->cap_values ? 2 * b->cap_values : 4096;
        while (cap < b->n_values + (size_t)n) cap *= 2;
        float *old = realloc(b->old, cap * sizeof *old);
        if (old) b->old = old;
        float *ref = old ? realloc(b->ref, cap * sizeof *ref) : NULL;
        if (ref) b->ref = ref;
        if (!old || !ref) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
        else b->cap_values = cap;
    }
    if (!status) status = tina_ids_append(&b->tokens, r->completion.data, r->completion.len, err);
    if (!status)
        status = push_values(cJSON_GetObjectItemCaseSensitive(record, "logprobs"), b->old, b->n_values, n,
                             "logprobs", err);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(record, "ref_logprobs");
    if (!status && ref) status = push_values(ref, b->ref, b->n_values, n, "ref_logprobs", err);
    if (!status) {
        b->have_ref &= ref != NULL;
        double reward = 0;
        bool null_reward = true;
        if (cJSON_GetObjectItemCaseSensitive(record, "reward"))
            tina_record_number_or_null(record, "reward", &reward, &null_reward, err);
        bool new_group = !r->previous.data || strcmp(r->previous.data, r->id.data) != 0;
        if (new_group) {
            b->groups++;
            tina_buf_clear(&r->previous);
            status = tina_buf_append(&r->previous, r->id.data, r->id.len, err);
        }
        /* the same rollout drops the same values in any shard or micro-batch (train.h) */
        const cJSON *sample = cJSON_GetObjectItemCaseSensitive(record, "sample");
        uint64_t key = r->id.len ? tina_rng_bits(tina_rng_name(r->id.data, r->id.len),
                                                 cJSON_IsNumber(sample) ? (uint64_t)sample->valuedouble : 0, 1)
                                 : (uint64_t)(b->n + (size_t)b->skipped);
        b->rollouts[b->n++] = (Rollout){first, n_prompt, n, b->n_values, advantage, reward, !null_reward,
                                        truncated, b->groups - 1, key};
        b->n_values += (size_t)n;
        b->truncated += truncated;
    }
    return status;
}

static TinaStatus read_batch(const char *const *inputs, int n_inputs, const Options *o, int vocab, Batch *b,
                             TinaError *err) {
    Reading r = {.batch = b, .o = o, .vocab = vocab};
    b->have_ref = true;
    TinaStatus status = cli_read_records(inputs, n_inputs, add_rollout, &r, err);
    tina_buf_free(&r.id);
    tina_buf_free(&r.previous);
    tina_ids_free(&r.completion);
    return status;
}

/* ---- optimizer state ---- */

typedef struct {
    long long step;     /* optimizer steps taken before this one */
    float *m, *v;       /* (n_params,) AdamW moments */
} OptimizerState;

static TinaStatus load_state(const char *dir, size_t n, OptimizerState *s, TinaError *err) {
    s->step = 0;
    s->m = calloc(n ? n : 1, sizeof *s->m);
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (!s->m || !s->v) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    if (!dir) return TINA_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s/trainer_state.json", dir);
    if (access(path, F_OK) != 0) return TINA_OK; /* an adapter without a run behind it */
    cJSON *state;
    TinaStatus status = tina_record_read_json(path, &state, err);
    if (status) return status;
    status = tina_record_integer(state, "step", 0, 1LL << 40, &s->step, err);
    cJSON_Delete(state);
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

/* ---- the step ---- */

/* What a step adds up over its rollouts: all that the loss's divisor and the metrics need, so that the shards of a
 * batch (--shard) add up to the one-process step (--apply-grads). The loss and gradients are sums with divisor 1
 * (tina_policy_loss_divisor); one division by the whole batch's divisor ends the step. */
typedef struct {
    double rollouts, skipped, truncated, groups, zero_std_groups; /* groups whose advantages are all equal */
    double tokens, clipped;     /* completion tokens the loss saw, and those whose clipped term was taken */
    double completion_len;      /* sum of completion lengths */
    double loss, kl, entropy, gap_sum;
    double gap_max, longest;    /* maxima: |logp - old_logp|, the longest completion */
    TinaRunningStats rewards;
} Totals;

/* The Totals fields a gradient file carries, and how two shards' values combine. */
static const struct {
    const char *name;
    size_t offset;
    bool max;
} TOTALS[] = {
    {"rollouts", offsetof(Totals, rollouts), false}, {"skipped", offsetof(Totals, skipped), false},
    {"truncated", offsetof(Totals, truncated), false}, {"groups", offsetof(Totals, groups), false},
    {"zero_std_groups", offsetof(Totals, zero_std_groups), false}, {"tokens", offsetof(Totals, tokens), false},
    {"clipped", offsetof(Totals, clipped), false}, {"completion_len", offsetof(Totals, completion_len), false},
    {"loss_sum", offsetof(Totals, loss), false}, {"kl", offsetof(Totals, kl), false},
    {"entropy", offsetof(Totals, entropy), false}, {"gap_sum", offsetof(Totals, gap_sum), false},
    {"gap_max", offsetof(Totals, gap_max), true}, {"longest", offsetof(Totals, longest), true},
};
enum { N_TOTALS = sizeof TOTALS / sizeof *TOTALS };

static double *total(Totals *t, int i) { return (double *)((char *)t + TOTALS[i].offset); }

static void merge_totals(Totals *into, Totals *from) {
    for (int i = 0; i < N_TOTALS; i++)
        *total(into, i) = TOTALS[i].max ? fmax(*total(into, i), *total(from, i)) : *total(into, i) + *total(from, i);
    tina_stats_merge(&into->rewards, &from->rewards);
}

/* The counts of the batch itself: rollouts, groups, rewards, lengths. */
static void batch_totals(const Batch *b, Totals *t) {
    t->rollouts = (double)b->n, t->skipped = (double)b->skipped, t->truncated = (double)b->truncated;
    t->groups = (double)b->groups;
    for (size_t i = 0; i < b->n; i++) {
        const Rollout *r = &b->rollouts[i];
        if (r->has_reward) tina_stats_add(&t->rewards, r->reward);
        t->completion_len += r->n_completion;
        t->longest = fmax(t->longest, r->n_completion);
        if (i > 0 && r->group == b->rollouts[i - 1].group) continue;
        bool flat = true;
        for (size_t j = i + 1; j < b->n && b->rollouts[j].group == r->group; j++)
            flat &= b->rollouts[j].advantage == r->advantage;
        t->zero_std_groups += flat;
    }
}

/* The loss config of the whole batch the totals describe (for its divisor). */
static TinaLossConfig batch_loss(const Options *o, const Totals *t) {
    int longest = o->max_completion_length ? o->max_completion_length : (int)t->longest;
    return (TinaLossConfig){o->loss, o->beta, o->epsilon, o->epsilon_high, longest, (long long)t->rollouts,
                            (long long)t->tokens};
}

/* Forward and backward over the batch in micro-batches: grads += the gradient of the loss sum (divisor 1), and the
 * loss's totals into t. */
static TinaStatus run_step(TinaModel *model, TinaLora *lora, const Batch *b, const Options *o, long long step,
                           TinaLora *grads, Totals *t, TinaError *err) {
    int longest = 0, budget = o->micro_batch_tokens;
    for (size_t i = 0; i < b->n; i++) {
        int n = b->rollouts[i].n_prompt + b->rollouts[i].n_completion - 1;
        longest = n > longest ? n : longest;
    }
    if (longest > budget) budget = longest; /* a sequence longer than the budget runs alone */
    TinaLossConfig loss = {o->loss, o->beta, o->epsilon, o->epsilon_high, 1, 1, 1};
    bool need_ref = o->beta != 0 && !b->have_ref;
    TinaTrainer *trainer = NULL;
    TinaStatus status = tina_trainer_new(model, budget, longest, lora->r, &trainer, err);
    if (!status) tina_trainer_set_dropout_seed(trainer, tina_rng_bits((uint64_t)o->seed, (uint64_t)step, 0));
    if (!status && (double)tina_trainer_insides_bytes(trainer) <= o->activation_memory * 1e6)
        status = tina_trainer_keep_insides(trainer, err);
    size_t cap = (size_t)budget;
    TinaSequence *seqs = calloc(cap, sizeof *seqs);
    uint64_t *keys = calloc(cap, sizeof *keys);
    int32_t *targets = calloc(cap, sizeof *targets);
    float *logp = calloc(cap, sizeof *logp), *ref = calloc(cap, sizeof *ref), *dlogp = calloc(cap, sizeof *dlogp);
    if (!status && (!seqs || !keys || !targets || !logp || !ref || !dlogp))
        status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    TinaLossStats stats = {0};
    for (size_t next = 0; !status && next < b->n;) {
        /* a micro-batch: rollouts while their tokens fit the budget */
        size_t first = next;
        int T = 0, n_seqs = 0;
        while (next < b->n) {
            const Rollout *r = &b->rollouts[next];
            int n = r->n_prompt + r->n_completion - 1;
            if (n_seqs && T + n > budget) break;
            keys[n_seqs] = r->key;
            seqs[n_seqs++] = (TinaSequence){.slot = 0, .n_past = 0, .n_new = n, .tokens = b->tokens.data + r->tokens};
            memcpy(targets + T, b->tokens.data + r->tokens + 1, (size_t)n * sizeof *targets);
            T += n, next++;
        }
        if (need_ref) status = tina_trainer_forward(trainer, seqs, n_seqs, keys, NULL, targets, ref, err);
        if (!status) status = tina_trainer_forward(trainer, seqs, n_seqs, keys, lora, targets, logp, err);
        if (status) break;
        memset(dlogp, 0, (size_t)T * sizeof *dlogp);
        int at = 0;
        for (size_t i = first; i < next; i++) {
            const Rollout *r = &b->rollouts[i];
            int start = at + r->n_prompt - 1; /* the row predicting the first completion token */
            const float *old = b->old + r->values;
            const float *reference = need_ref ? ref + start : b->have_ref ? b->ref + r->values : NULL;
            tina_policy_loss(&loss, r->n_completion, logp + start, old, reference, r->advantage, dlogp + start, &stats);
            for (int j = 0; j < r->n_completion; j++) {
                double gap = fabs((double)logp[start + j] - old[j]);
                t->gap_max = fmax(t->gap_max, gap);
                t->gap_sum += gap;
                t->entropy -= logp[start + j];
            }
            at += r->n_prompt + r->n_completion - 1;
        }
        status = tina_trainer_backward(trainer, lora, dlogp, grads, err);
    }
    free(seqs), free(keys), free(targets), free(logp), free(ref), free(dlogp);
    tina_trainer_free(trainer);
    t->loss += stats.loss, t->kl += stats.kl_sum, t->tokens += (double)stats.tokens, t->clipped += (double)stats.clipped;
    return status;
}

/* ---- gradient files (--shard, --apply-grads) ---- */

/* What a gradient file must agree on with the step that applies it: the adapter, the step and the loss settings. */
typedef struct {
    char step[32], adapter[32], loss[160], seed[32];
} Identity;

static Identity identity_of(const Options *o, const TinaLora *lora, long long step) {
    Identity id;
    snprintf(id.step, sizeof id.step, "%lld", step);
    snprintf(id.adapter, sizeof id.adapter, "%016llx", (unsigned long long)tina_lora_hash(lora));
    snprintf(id.loss, sizeof id.loss, "%s beta %.17g epsilon %.17g %.17g max-length %d",
             tina_loss_type_names[o->loss], o->beta, o->epsilon, o->epsilon_high,
             o->max_completion_length);
    snprintf(id.seed, sizeof id.seed, "%lld", o->seed);
    return id;
}

static TinaStatus write_grads(const char *path, const TinaLora *grads, const Identity *id, const Options *o, Totals *t,
                              TinaError *err) {
    enum { FIXED = 14 };
    char values[N_TOTALS + 3][32], shard[16], shards[16];
    const char *metadata[FIXED + 2 * (1 + N_TOTALS + 3) + 1]; /* fixed pairs, shards, totals, rewards, NULL */
    snprintf(shard, sizeof shard, "%d", o->shard);
    snprintf(shards, sizeof shards, "%d", o->shards);
    const char *fixed[FIXED] = {"format", "pt", "tina", "gradients", "step", id->step, "adapter", id->adapter,
                                "loss_settings", id->loss, "seed", id->seed, "shard", shard};
    int n = 0;
    for (int i = 0; i < FIXED; i++) metadata[n++] = fixed[i];
    metadata[n++] = "shards", metadata[n++] = shards;
    for (int i = 0; i < N_TOTALS; i++) {
        snprintf(values[i], sizeof values[i], "%.17g", *total(t, i));
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
static TinaStatus read_totals(const TinaSafetensors *st, const char *path, Totals *t, TinaError *err) {
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

/* Adds the shards' gradients into grads and their totals into t, in shard order, after checking that they are the
 * N shards of one step of this adapter with these settings. */
static TinaStatus read_grads(const char *const *paths, int n, const Identity *id, const TinaConfig *config,
                             TinaLora *grads, Totals *t, TinaError *err) {
    TinaLora *shard = NULL;
    int *order = calloc((size_t)(n ? n : 1), sizeof *order);
    Totals *parts = calloc((size_t)(n ? n : 1), sizeof *parts); /* by shard index */
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
        if (!status) merge_totals(t, &parts[k]);
    }
    tina_lora_free(shard);
    free(order);
    free(parts);
    return status;
}

/* ---- writing the next adapter ---- */

static TinaStatus write_output(const char *dir, const TinaLora *lora, const OptimizerState *state,
                               const char *state_json, TinaError *err) {
    TinaFolder folder; /* the folder appears whole or not at all */
    TinaStatus status = tina_folder_open(&folder, dir, err);
    if (status) return status;
    const char *tmp = tina_folder_path(&folder);
    char path[4200];
    status = tina_lora_save(lora, tmp, err);
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
    if (status) {
        tina_folder_abort(&folder);
        return status;
    }
    return tina_folder_commit(&folder, err);
}

static Options parse_options(int argc, char **argv) {
    enum { OPT_INIT = 256, OPT_RANK, OPT_ALPHA, OPT_TARGETS, OPT_INIT_SEED, OPT_LOSS, OPT_BETA, OPT_EPSILON,
           OPT_EPSILON_HIGH, OPT_MAX_COMPLETION, OPT_LR, OPT_SCHEDULE, OPT_WARMUP, OPT_MIN_LR, OPT_TOTAL, OPT_DECAY,
           OPT_GRAD_NORM, OPT_MICRO, OPT_MASK_TRUNCATED, OPT_THREADS, OPT_DROPOUT, OPT_SEED, OPT_ACTIVATIONS,
           OPT_SHARD, OPT_APPLY, OPT_DEVICE };
    static const struct option long_options[] = {
        {"model", required_argument, NULL, 'm'},           {"adapter", required_argument, NULL, 'a'},
        {"init-adapter", no_argument, NULL, OPT_INIT},     {"rank", required_argument, NULL, OPT_RANK},
        {"alpha", required_argument, NULL, OPT_ALPHA},     {"targets", required_argument, NULL, OPT_TARGETS},
        {"init-seed", required_argument, NULL, OPT_INIT_SEED}, {"output", required_argument, NULL, 'o'},
        {"preset", required_argument, NULL, 'p'},          {"loss", required_argument, NULL, OPT_LOSS},
        {"beta", required_argument, NULL, OPT_BETA},       {"epsilon", required_argument, NULL, OPT_EPSILON},
        {"epsilon-high", required_argument, NULL, OPT_EPSILON_HIGH},
        {"max-completion-length", required_argument, NULL, OPT_MAX_COMPLETION},
        {"lr", required_argument, NULL, OPT_LR},           {"schedule", required_argument, NULL, OPT_SCHEDULE},
        {"warmup-ratio", required_argument, NULL, OPT_WARMUP}, {"min-lr-rate", required_argument, NULL, OPT_MIN_LR},
        {"total-steps", required_argument, NULL, OPT_TOTAL}, {"weight-decay", required_argument, NULL, OPT_DECAY},
        {"max-grad-norm", required_argument, NULL, OPT_GRAD_NORM},
        {"micro-batch-tokens", required_argument, NULL, OPT_MICRO},
        {"mask-truncated", no_argument, NULL, OPT_MASK_TRUNCATED}, {"threads", required_argument, NULL, OPT_THREADS},
        {"dropout", required_argument, NULL, OPT_DROPOUT},  {"seed", required_argument, NULL, OPT_SEED},
        {"activation-memory", required_argument, NULL, OPT_ACTIVATIONS},
        {"shard", required_argument, NULL, OPT_SHARD},     {"apply-grads", no_argument, NULL, OPT_APPLY},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"quiet", no_argument, NULL, 'q'},                 {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},               {NULL, 0, NULL, 0},
    };
    static const char *const presets[] = {"tina", NULL}, *const schedules[] = {"cosine-min-lr", "constant", NULL};
    static const char *const devices[] = {"cpu", "cuda", NULL};
    /* the defaults are Tina's recipe (docs/facts.md section 1), so --preset tina only names them */
    Options o = {.rank = 32, .alpha = 128, .dropout = 0.05, .targets = "all", .loss = TINA_LOSS_GRPO, .beta = 0.04, .epsilon = 0.2,
                 .lr = 1e-6, .warmup_ratio = 0.1, .min_lr_rate = 0.1, .total_steps = 1500, .max_grad_norm = 1.0,
                 .micro_batch_tokens = 4096, .activation_memory = 2048, .device = "cpu"};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":m:a:o:p:qhV", long_options, NULL)) != -1;) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'a': o.adapter = optarg; break;
        case 'o': o.output = optarg; break;
        case 'p': cli_choice("--preset", optarg, presets); break;
        case OPT_INIT: o.init_adapter = true; break;
        case OPT_RANK: o.rank = (int)cli_integer("--rank", optarg, 1, 4096); break;
        case OPT_ALPHA: o.alpha = cli_double("--alpha", optarg, 1e-9, 1e9); break;
        case OPT_TARGETS: o.targets = optarg; break;
        case OPT_INIT_SEED: o.init_seed = cli_integer("--init-seed", optarg, 0, (1LL << 62)); break;
        case OPT_LOSS: o.loss = (TinaLossType)cli_choice("--loss", optarg, tina_loss_type_names); break;
        case OPT_BETA: o.beta = cli_double("--beta", optarg, 0, 1e6); break;
        case OPT_EPSILON: o.epsilon = cli_double("--epsilon", optarg, 0, 1); break;
        case OPT_EPSILON_HIGH: o.epsilon_high = cli_double("--epsilon-high", optarg, 0, 1e6), o.epsilon_high_set = true; break;
        case OPT_MAX_COMPLETION: o.max_completion_length = (int)cli_integer("--max-completion-length", optarg, 1, 1 << 24); break;
        case OPT_LR: o.lr = cli_double("--lr", optarg, 0, 1); break;
        case OPT_SCHEDULE: o.constant_lr = cli_choice("--schedule", optarg, schedules) == 1; break;
        case OPT_WARMUP: o.warmup_ratio = cli_double("--warmup-ratio", optarg, 0, 1); break;
        case OPT_MIN_LR: o.min_lr_rate = cli_double("--min-lr-rate", optarg, 0, 1); break;
        case OPT_TOTAL: o.total_steps = cli_integer("--total-steps", optarg, 1, 1LL << 40); break;
        case OPT_DECAY: o.weight_decay = cli_double("--weight-decay", optarg, 0, 1); break;
        case OPT_GRAD_NORM: o.max_grad_norm = cli_double("--max-grad-norm", optarg, 0, 1e12); break;
        case OPT_MICRO: o.micro_batch_tokens = (int)cli_integer("--micro-batch-tokens", optarg, 16, 1 << 24); break;
        case OPT_MASK_TRUNCATED: o.mask_truncated = true; break;
        case OPT_THREADS: o.threads = (int)cli_integer("--threads", optarg, 0, 4096); break;
        case OPT_DROPOUT: o.dropout = cli_double("--dropout", optarg, 0, 0.99); break;
        case OPT_SEED: o.seed = cli_integer("--seed", optarg, 0, (1LL << 62)); break;
        case OPT_ACTIVATIONS: o.activation_memory = cli_double("--activation-memory", optarg, 0, 1e9); break;
        case OPT_SHARD: {
            int used = 0;
            if (sscanf(optarg, "%d/%d%n", &o.shard, &o.shards, &used) != 2 || optarg[used] || o.shards < 1 ||
                o.shard < 0 || o.shard >= o.shards)
                cli_usage_error("--shard: '%s' is not K/N with 0 <= K < N", optarg);
            break;
        }
        case OPT_APPLY: o.apply_grads = true; break;
        case OPT_DEVICE: o.device = devices[cli_choice("--device", optarg, devices)]; break;
        case 'q': o.quiet = true; break;
        default: cli_standard_option(c, argv, usage);
        }
    }
    if (!o.model) cli_usage_error("--model is required");
    if (!o.output) cli_usage_error("--output is required");
    if (!o.adapter == !o.init_adapter) cli_usage_error("give exactly one of --adapter and --init-adapter");
    if (!o.epsilon_high_set) o.epsilon_high = o.epsilon;
    if (o.shards && o.apply_grads) cli_usage_error("--shard computes a shard's gradients, --apply-grads adds them up: one");
    return o;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    cli_init("tina-update");
    Options o = parse_options(argc, argv);
    double start = now();
    TinaError err = {0};
    TinaBackend *backend = NULL;
    TinaModel *model = NULL;
    TinaLora *lora = NULL, *grads = NULL;
    Batch batch = {0};
    OptimizerState state = {0};
    Totals totals = {0};
    TinaStatus status = TINA_OK;
    struct stat exists;
    if (stat(o.output, &exists) == 0)
        status = tina_error(&err, TINA_ERR_INPUT, "%s already exists (each step writes a new %s)", o.output,
                            o.shards ? "file" : "folder");
    /* adding up shards' gradients needs the model's shapes alone: config.json, not gigabytes of weights */
    TinaConfig shapes;
    if (!status && o.apply_grads) status = tina_config_load(o.model, &shapes, &err);
    if (!status && !o.apply_grads) status = tina_backend_new(o.device, o.threads, &backend, &err);
    if (!status && !o.apply_grads) status = tina_model_load(o.model, backend, 16, &model, &err);
    const TinaConfig *config = o.apply_grads ? &shapes : model ? tina_model_config(model) : NULL;
    if (!status && o.adapter) status = tina_lora_load(o.adapter, config, &lora, &err);
    if (!status && o.init_adapter) {
        bool targets[TINA_LORA_TARGETS];
        status = tina_lora_parse_targets(o.targets, targets, &err);
        if (!status)
            status = tina_lora_init(config, o.rank, o.alpha, o.dropout, false, targets, (uint64_t)o.init_seed, o.model,
                                    &lora, &err);
    }
    if (!status) status = tina_lora_zeros_like(lora, &grads, &err);
    double loaded = now(); /* the model and the adapter: what a run pays before its step */
    if (!status) status = load_state(o.adapter, lora->n_params, &state, &err);
    Identity id = {0};
    if (!status) id = identity_of(&o, lora, state.step);
    if (!status && o.apply_grads) {
        if (optind == argc) status = tina_error(&err, TINA_ERR_INPUT, "--apply-grads: no gradient files given");
        else status = read_grads((const char *const *)argv + optind, argc - optind, &id, config, grads, &totals, &err);
    } else if (!status) {
        status = read_batch((const char *const *)argv + optind, argc - optind, &o, config->vocab, &batch, &err);
        if (!status && batch.n == 0 && !o.shards && batch.unadvantaged && batch.unadvantaged == batch.skipped)
            status = tina_error(&err, TINA_ERR_INPUT, "no rollout has an \"advantage\" (%lld read): run tina-advantage "
                                "on the rewarded rollouts first", batch.skipped);
        else if (!status && batch.n == 0 && !o.shards) /* a shard may be empty; the whole batch may not */
            status = tina_error(&err, TINA_ERR_INPUT, "no usable rollouts (%lld skipped: no completion tokens or no "
                                "advantage%s)", batch.skipped, o.mask_truncated ? ", or truncated" : "");
        if (!status) batch_totals(&batch, &totals);
        if (!status && batch.n) status = run_step(model, lora, &batch, &o, state.step, grads, &totals, &err);
    }
    if (!status && o.shards) { /* a shard ends here: its sums and counts, for --apply-grads */
        status = write_grads(o.output, grads, &id, &o, &totals, &err);
        if (!status) {
            printf("{\"shard\":%d,\"shards\":%d,\"step\":%lld,\"rollouts\":%.0f,\"tokens\":%.0f,\"seconds\":%.3f}\n",
                   o.shard, o.shards, state.step + 1, totals.rollouts, totals.tokens, now() - start);
            if (!o.quiet)
                fprintf(stderr, "%s: step %lld, shard %d of %d: %.0f rollouts, %.0f tokens, %.1f s -> %s\n", cli_program(),
                        state.step + 1, o.shard, o.shards, totals.rollouts, totals.tokens, now() - start, o.output);
        }
    } else if (!status) {
        if (totals.rollouts == 0)
            status = tina_error(&err, TINA_ERR_INPUT, "the shards hold no usable rollouts");
        TinaLossConfig whole = batch_loss(&o, &totals);
        double divisor = tina_policy_loss_divisor(&whole);
        for (size_t j = 0; !status && j < grads->n_params; j++) grads->memory[j] = (float)(grads->memory[j] / divisor);
        double loss = totals.loss / divisor, tokens = totals.tokens > 0 ? totals.tokens : 1;
        double grad_norm = status ? 0 : tina_grad_norm(grads->memory, grads->n_params), lr = 0;
        if (!status && (!isfinite(loss) || !isfinite(grad_norm)))
            status = tina_error(&err, TINA_ERR_RUNTIME, "the loss (%g) or the gradient norm (%g) is not finite: "
                                "nothing written, the input adapter stands", loss, grad_norm);
        if (!status) {
            if (o.max_grad_norm > 0) tina_clip_grad_norm(grads->memory, grads->n_params, grad_norm, o.max_grad_norm);
            long long warmup = (long long)ceil(o.warmup_ratio * (double)o.total_steps);
            lr = o.constant_lr ? o.lr : tina_lr_at(o.lr, state.step, warmup, o.total_steps, o.min_lr_rate);
            TinaAdamW adamw = {lr, 0.9, 0.999, 1e-8, o.weight_decay};
            tina_adamw_step(&adamw, state.step + 1, lora->n_params, lora->memory, grads->memory, state.m, state.v);
            tina_lora_changed(lora);
            state.step++;
        }
        double seconds = now() - start;
        char json[2048] = "";
        if (!status) {
            char loss_s[32], kl[32], norm[32], lr_s[32], mean[32], std[32], ent[32], gap_max[32], gap_mean[32];
            tina_record_format_number(loss, loss_s);
            tina_record_format_number(totals.kl / tokens, kl);
            tina_record_format_number(grad_norm, norm);
            tina_record_format_number(lr, lr_s);
            tina_record_format_number(totals.rewards.count ? totals.rewards.mean : NAN, mean);
            tina_record_format_number(totals.rewards.count > 1 ? tina_stats_std(&totals.rewards) : NAN, std);
            tina_record_format_number(totals.entropy / tokens, ent);
            tina_record_format_number(totals.gap_max, gap_max);
            tina_record_format_number(totals.gap_sum / tokens, gap_mean);
            snprintf(json, sizeof json,
                     "{\"step\":%lld,\"loss\":%s,\"kl\":%s,\"grad_norm\":%s,\"lr\":%s,\"tokens\":%.0f,\"rollouts\":%.0f,"
                     "\"skipped\":%.0f,\"reward_mean\":%s,\"reward_std\":%s,\"frac_zero_std_groups\":%.6g,"
                     "\"frac_truncated\":%.6g,\"completion_len_mean\":%.6g,\"entropy\":%s,\"clip_fraction\":%.6g,"
                     "\"logprob_gap_max\":%s,\"logprob_gap_mean\":%s,\"seconds\":%.3f,\"load_seconds\":%.3f}",
                     state.step, loss_s, kl, norm, lr_s, totals.tokens, totals.rollouts, totals.skipped, mean, std,
                     totals.groups ? totals.zero_std_groups / totals.groups : 0,
                     totals.truncated / (totals.rollouts + totals.skipped), totals.completion_len / totals.rollouts,
                     ent, totals.clipped / tokens, gap_max, gap_mean, seconds, loaded - start);
            char state_json[4096];
            snprintf(state_json, sizeof state_json,
                     "{\"step\":%lld,\"lr\":%s,\"loss_type\":\"%s\",\"beta\":%.17g,\"epsilon\":%.17g,"
                     "\"epsilon_high\":%.17g,\"base_lr\":%.17g,\"schedule\":\"%s\",\"warmup_ratio\":%.17g,"
                     "\"min_lr_rate\":%.17g,\"total_steps\":%lld,\"weight_decay\":%.17g,\"max_grad_norm\":%.17g,"
                     "\"metrics\":%s}",
                     state.step, lr_s, tina_loss_type_names[o.loss], o.beta, o.epsilon,
                     o.epsilon_high, o.lr, o.constant_lr ? "constant" : "cosine-min-lr", o.warmup_ratio, o.min_lr_rate,
                     o.total_steps, o.weight_decay, o.max_grad_norm, json);
            status = write_output(o.output, lora, &state, state_json, &err);
        }
        if (!status) {
            printf("%s\n", json);
            if (!o.quiet) {
                fprintf(stderr, "%s: step %lld: %.0f rollouts (%.0f skipped), %.0f tokens, loss %.4g, kl %.4g, grad norm "
                        "%.4g, lr %.3g, %.1f s -> %s\n", cli_program(), state.step, totals.rollouts, totals.skipped,
                        totals.tokens, loss, totals.kl / tokens, grad_norm, lr, seconds, o.output);
                bool all_zero = !o.apply_grads;
                for (size_t i = 0; i < batch.n; i++) all_zero &= batch.rollouts[i].advantage == 0;
                if (all_zero)
                    fprintf(stderr, "%s: every advantage is 0: only the KL term moved the adapter\n", cli_program());
            }
        }
    }
    if (status) cli_report(&err);
    free(state.m), free(state.v);
    free(batch.rollouts), free(batch.old), free(batch.ref);
    tina_ids_free(&batch.tokens);
    tina_lora_free(grads);
    tina_lora_free(lora);
    tina_model_free(model);
    if (backend) backend->destroy(backend);
    return (int)status;
}
