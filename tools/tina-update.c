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
#include "train/checkpoint.h"
#include "base/buf.h"
#include "cli.h"
#include "io/fields.h"
#include "base/ids.h"
#include "base/progress.h"
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
    "                            present, continue the run: its settings below are this step's; another value\n"
    "                            given here is an error unless --override-settings)\n"
    "      --override-settings   change the run's settings deliberately (the next step continues the new ones)\n"
    "      --init-adapter        start from a fresh adapter (PEFT's initialisation) instead\n"
    "      --rank R, --alpha A, --dropout P, --targets LIST, --init-seed S\n"
    "                            the fresh adapter's shape and seed (default 32, 128, 0.05, all, 42: as\n"
    "                            tina-adapter init makes it)\n"
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
    "      --progress            the step's progress on stderr (rollouts through the backward) even when it is\n"
    "                            not a terminal; on a terminal it shows unless -q\n"
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
    int max_completion_length;
    double lr, warmup_ratio, min_lr_rate, weight_decay, max_grad_norm;
    bool constant_lr;
    long long total_steps;
    int micro_batch_tokens, threads;
    const char *device;
    double activation_memory;
    bool mask_truncated, quiet, progress;
    int shard, shards;  /* --shard K/N; shards 0: not sharded */
    bool apply_grads;
    unsigned given;     /* the run's settings given on the command line (GIVEN_*) */
    bool override_settings; /* they may differ from those of the run the adapter continues */
} Options;

/* The settings of a run, which trainer_state.json records and the next step continues unless told otherwise */
enum {
    GIVEN_LOSS = 1 << 0, GIVEN_BETA = 1 << 1, GIVEN_EPSILON = 1 << 2, GIVEN_EPSILON_HIGH = 1 << 3, GIVEN_LR = 1 << 4,
    GIVEN_SCHEDULE = 1 << 5, GIVEN_WARMUP = 1 << 6, GIVEN_MIN_LR = 1 << 7, GIVEN_TOTAL = 1 << 8, GIVEN_DECAY = 1 << 9,
    GIVEN_GRAD_NORM = 1 << 10, GIVEN_ALL = (1 << 11) - 1
};

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
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(FINISH_REASON));
    bool truncated = cJSON_IsString(finish) && strcmp(finish->valuestring, "length") == 0;
    TinaStatus status = tina_record_ids(record, TINA_FIELD(PROMPT_TOKENS), r->vocab, &b->tokens, err);
    int n_prompt = (int)(b->tokens.len - first);
    if (!status) status = tina_record_ids(record, TINA_FIELD(COMPLETION_TOKENS), r->vocab, &r->completion, err);
    if (!status && cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(ADVANTAGE)))
        status = tina_record_number_or_null(record, TINA_FIELD(ADVANTAGE), &advantage, &null_advantage, err);
    else if (!status) b->unadvantaged++;
    tina_buf_clear(&r->id);
    if (!status && cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(ID)))
        status = tina_record_key(record, TINA_FIELD(ID), &r->id, err);
    else if (!status) status = tina_buf_append_str(&r->id, "", err);
    /* a whole number, as tina-advantage reads it: -1 or 1e300 has no uint64_t value to key the dropout by */
    const cJSON *sample = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(SAMPLE));
    long long sample_index = 0;
    if (!status && cJSON_IsNumber(sample))
        status = tina_record_integer(record, TINA_FIELD(SAMPLE), 0, 1LL << 40, &sample_index, err);
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
        status = push_values(cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(LOGPROBS)), b->old, b->n_values, n,
                             "logprobs", err);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(REF_LOGPROBS));
    if (!status && ref) status = push_values(ref, b->ref, b->n_values, n, "ref_logprobs", err);
    if (!status) {
        b->have_ref &= ref != NULL;
        double reward = 0;
        bool null_reward = true;
        if (cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(REWARD)))
            tina_record_number_or_null(record, TINA_FIELD(REWARD), &reward, &null_reward, err);
        bool new_group = !r->previous.data || strcmp(r->previous.data, r->id.data) != 0;
        if (new_group) {
            b->groups++;
            tina_buf_clear(&r->previous);
            status = tina_buf_append(&r->previous, r->id.data, r->id.len, err);
        }
        /* the same rollout drops the same values in any shard or micro-batch (train.h) */
        uint64_t key = r->id.len ? tina_rng_bits(tina_rng_name(r->id.data, r->id.len), (uint64_t)sample_index, 1)
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

/* ---- the step ---- */

/* The counts of the batch itself: rollouts, groups, rewards, lengths. */
static void batch_totals(const Batch *b, TinaStepTotals *t) {
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
static TinaLossConfig batch_loss(const Options *o, const TinaStepTotals *t) {
    int longest = o->max_completion_length ? o->max_completion_length : (int)t->longest;
    return (TinaLossConfig){o->loss, o->beta, o->epsilon, o->epsilon_high, longest, (long long)t->rollouts,
                            (long long)t->tokens};
}

/* Forward and backward over the batch in micro-batches: grads += the gradient of the loss sum (divisor 1), and the
 * loss's totals into t. */
static TinaStatus run_step(TinaModel *model, TinaLora *lora, const Batch *b, const Options *o, long long step,
                           TinaLora *grads, TinaStepTotals *t, TinaError *err) {
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
    TinaProgress progress; /* rollouts through the backward, on a terminal (or --progress) */
    tina_progress_start(&progress, cli_program(), "rollouts", (long long)b->n, o->progress);
    progress.enabled &= o->progress || !o->quiet;
    progress.also = "tokens";
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
        progress.also_done += T;
        tina_progress_update(&progress, (long long)next);
    }
    tina_progress_finish(&progress, (long long)b->n);
    free(seqs), free(keys), free(targets), free(logp), free(ref), free(dlogp);
    tina_trainer_free(trainer);
    t->loss += stats.loss, t->kl += stats.kl_sum, t->tokens += (double)stats.tokens, t->clipped += (double)stats.clipped;
    return status;
}

/* the defaults are Tina's recipe (docs/facts.md section 1), so --preset tina only names them */
static Options parse_defaults(void) {
    return (Options){.rank = 32, .alpha = 128, .dropout = 0.05, .targets = "all", .loss = TINA_LOSS_GRPO, .beta = 0.04,
                     .epsilon = 0.2, .epsilon_high = 0.2, .lr = 1e-6, .warmup_ratio = 0.1, .min_lr_rate = 0.1,
                     .total_steps = 1500, .max_grad_norm = 1.0, .micro_batch_tokens = 4096, .activation_memory = 2048,
                     .init_seed = 42, .device = "cpu"};
}

static Options parse_options(int argc, char **argv) {
    enum { OPT_INIT = 256, OPT_RANK, OPT_ALPHA, OPT_TARGETS, OPT_INIT_SEED, OPT_LOSS, OPT_BETA, OPT_EPSILON,
           OPT_EPSILON_HIGH, OPT_MAX_COMPLETION, OPT_LR, OPT_SCHEDULE, OPT_WARMUP, OPT_MIN_LR, OPT_TOTAL, OPT_DECAY,
           OPT_GRAD_NORM, OPT_MICRO, OPT_MASK_TRUNCATED, OPT_THREADS, OPT_DROPOUT, OPT_SEED, OPT_ACTIVATIONS,
           OPT_SHARD, OPT_APPLY, OPT_DEVICE, OPT_OVERRIDE, OPT_PROGRESS };
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
        {"device", required_argument, NULL, OPT_DEVICE}, {"override-settings", no_argument, NULL, OPT_OVERRIDE},
        {"quiet", no_argument, NULL, 'q'},                 {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},               {NULL, 0, NULL, 0},
    };
    static const char *const presets[] = {"tina", NULL}, *const schedules[] = {"cosine-min-lr", "constant", NULL};
    static const char *const devices[] = {"cpu", "cuda", NULL};
    Options o = parse_defaults();
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":m:a:o:p:qhV", long_options, NULL)) != -1;) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'a': o.adapter = optarg; break;
        case 'o': o.output = optarg; break;
        case 'p': cli_choice("--preset", optarg, presets), o.given = GIVEN_ALL; break;
        case OPT_INIT: o.init_adapter = true; break;
        case OPT_RANK: o.rank = (int)cli_integer("--rank", optarg, 1, 4096); break;
        case OPT_ALPHA: o.alpha = cli_double("--alpha", optarg, 1e-9, 1e6); break;
        case OPT_TARGETS: o.targets = optarg; break;
        case OPT_INIT_SEED: o.init_seed = cli_integer("--init-seed", optarg, 0, (1LL << 62)); break;
        case OPT_LOSS: o.loss = (TinaLossType)cli_choice("--loss", optarg, tina_loss_type_names), o.given |= GIVEN_LOSS; break;
        case OPT_BETA: o.beta = cli_double("--beta", optarg, 0, 1e6), o.given |= GIVEN_BETA; break;
        case OPT_EPSILON: o.epsilon = cli_double("--epsilon", optarg, 0, 1), o.given |= GIVEN_EPSILON; break;
        case OPT_EPSILON_HIGH: o.epsilon_high = cli_double("--epsilon-high", optarg, 0, 1e6), o.given |= GIVEN_EPSILON_HIGH; break;
        case OPT_MAX_COMPLETION: o.max_completion_length = (int)cli_integer("--max-completion-length", optarg, 1, 1 << 24); break;
        case OPT_LR: o.lr = cli_double("--lr", optarg, 0, 1), o.given |= GIVEN_LR; break;
        case OPT_SCHEDULE: o.constant_lr = cli_choice("--schedule", optarg, schedules) == 1, o.given |= GIVEN_SCHEDULE; break;
        case OPT_WARMUP: o.warmup_ratio = cli_double("--warmup-ratio", optarg, 0, 1), o.given |= GIVEN_WARMUP; break;
        case OPT_MIN_LR: o.min_lr_rate = cli_double("--min-lr-rate", optarg, 0, 1), o.given |= GIVEN_MIN_LR; break;
        case OPT_TOTAL: o.total_steps = cli_integer("--total-steps", optarg, 1, 1LL << 40), o.given |= GIVEN_TOTAL; break;
        case OPT_DECAY: o.weight_decay = cli_double("--weight-decay", optarg, 0, 1), o.given |= GIVEN_DECAY; break;
        case OPT_GRAD_NORM: o.max_grad_norm = cli_double("--max-grad-norm", optarg, 0, 1e12), o.given |= GIVEN_GRAD_NORM; break;
        case OPT_MICRO: o.micro_batch_tokens = (int)cli_integer("--micro-batch-tokens", optarg, 16, 1 << 24); break;
        case OPT_MASK_TRUNCATED: o.mask_truncated = true; break;
        case OPT_THREADS: o.threads = (int)cli_integer("--threads", optarg, 1, 1024); break;
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
        case OPT_OVERRIDE: o.override_settings = true; break;
        case 'q': o.quiet = true; break;
        case OPT_PROGRESS: o.progress = true; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    if (!o.model) cli_usage_error("--model is required");
    if (!o.output) cli_usage_error("--output is required");
    if (!o.adapter == !o.init_adapter) cli_usage_error("give exactly one of --adapter and --init-adapter");
    if (!(o.given & GIVEN_EPSILON_HIGH)) o.epsilon_high = o.epsilon; /* unless the run's own continues (below) */
    if (o.shards && o.apply_grads) cli_usage_error("--shard computes a shard's gradients, --apply-grads adds them up: one");
    return o;
}

/* An adapter a run wrote (its trainer_state.json) continues that run: each of the run's settings not given here takes
 * the value its last step used, so that steps taken one by one go on as the run began; those that differ from
 * tina-update's defaults are said on stderr. A setting given here with another value is an error naming both,
 * unless --override-settings says the change is deliberate (the next step then continues the new value). A value
 * in the file outside the option's range is an error, as it would be on the command line. */
static TinaStatus continue_run(Options *o, const cJSON *state, TinaError *err) {
    if (!state) return TINA_OK;
    TinaStatus status = TINA_OK;
    static const char *const schedules[] = {"cosine-min-lr", "constant", NULL};
    double loss = o->loss, schedule = o->constant_lr, total = (double)o->total_steps;
    Options defaults = parse_defaults();
    /* epsilon_high follows --epsilon when only that is given: it is given then too */
    unsigned epsilon_high = (o->given & GIVEN_EPSILON) ? GIVEN_EPSILON : GIVEN_EPSILON_HIGH;
    const struct {
        unsigned bit;
        const char *key, *option;
        double *value, fallback, min, max;
        const char *const *names; /* a named setting: the value is the name's index */
    } settings[] = {
        {GIVEN_LOSS, "loss_type", "--loss", &loss, defaults.loss, 0, 3, tina_loss_type_names},
        {GIVEN_BETA, "beta", "--beta", &o->beta, defaults.beta, 0, 1e6, NULL},
        {GIVEN_EPSILON, "epsilon", "--epsilon", &o->epsilon, defaults.epsilon, 0, 1, NULL},
        {epsilon_high, "epsilon_high", "--epsilon-high", &o->epsilon_high, defaults.epsilon_high, 0, 1e6, NULL},
        {GIVEN_LR, "base_lr", "--lr", &o->lr, defaults.lr, 0, 1, NULL},
        {GIVEN_SCHEDULE, "schedule", "--schedule", &schedule, defaults.constant_lr, 0, 1, schedules},
        {GIVEN_WARMUP, "warmup_ratio", "--warmup-ratio", &o->warmup_ratio, defaults.warmup_ratio, 0, 1, NULL},
        {GIVEN_MIN_LR, "min_lr_rate", "--min-lr-rate", &o->min_lr_rate, defaults.min_lr_rate, 0, 1, NULL},
        {GIVEN_TOTAL, "total_steps", "--total-steps", &total, (double)defaults.total_steps, 1, 0x1p40, NULL},
        {GIVEN_DECAY, "weight_decay", "--weight-decay", &o->weight_decay, defaults.weight_decay, 0, 1, NULL},
        {GIVEN_GRAD_NORM, "max_grad_norm", "--max-grad-norm", &o->max_grad_norm, defaults.max_grad_norm, 0, 1e12,
         NULL},
    };
    char continued[1024] = "", conflicts[1024] = "";
    size_t said = 0, clashes = 0;
    for (size_t i = 0; !status && i < sizeof settings / sizeof *settings; i++) {
        if (!cJSON_GetObjectItem(state, settings[i].key)) continue; /* an older file */
        double value = -1;
        const char *name = NULL;
        if (settings[i].names) {
            status = tina_record_string(state, settings[i].key, &name, err);
            for (int k = 0; !status && settings[i].names[k]; k++)
                if (strcmp(name, settings[i].names[k]) == 0) value = k;
            if (!status && value < 0)
                status = tina_error(err, TINA_ERR_INPUT, "\"%s\": '%s' is not one of tina-update's", settings[i].key,
                                    name);
        } else {
            status = tina_record_number(state, settings[i].key, &value, err);
            if (!status && (value < settings[i].min || value > settings[i].max))
                status = tina_error(err, TINA_ERR_INPUT, "\"%s\": %g is outside [%g, %g]", settings[i].key, value,
                                    settings[i].min, settings[i].max);
        }
        if (status) break;
        char was[64], now[64];
        if (name) {
            snprintf(was, sizeof was, "%s", name);
            snprintf(now, sizeof now, "%s", settings[i].names[(int)*settings[i].value]);
        } else {
            snprintf(was, sizeof was, "%.6g", value);
            snprintf(now, sizeof now, "%.6g", *settings[i].value);
        }
        if (!(o->given & settings[i].bit)) {
            *settings[i].value = value;
            if (value != settings[i].fallback && said < sizeof continued)
                said += (size_t)snprintf(continued + said, sizeof continued - said, ", %s %s", settings[i].key, was);
        } else if (value != *settings[i].value && clashes < sizeof conflicts) {
            clashes += (size_t)snprintf(conflicts + clashes, sizeof conflicts - clashes, ", %s %s (the run's %s)",
                                        settings[i].option, now, was);
        }
    }
    if (status) {
        char path[4096];
        snprintf(path, sizeof path, "%s/trainer_state.json", o->adapter);
        return tina_error_in(err, path);
    }
    o->loss = (TinaLossType)loss, o->constant_lr = schedule != 0, o->total_steps = (long long)total;
    if (*conflicts && !o->override_settings)
        return tina_error(err, TINA_ERR_INPUT, "%s continues a run with other settings: %s; give --override-settings "
                          "to change them deliberately (pipelines/grpo.mk: EXTRA_UPDATE=--override-settings)",
                          o->adapter, conflicts + 2);
    if (*continued && !o->quiet)
        fprintf(stderr, "%s: continuing the run of %s: %s\n", cli_program(), o->adapter, continued + 2);
    if (*conflicts && !o->quiet)
        fprintf(stderr, "%s: overriding the run's settings: %s\n", cli_program(), conflicts + 2);
    return TINA_OK;
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
    TinaOptimizerState state = {0};
    TinaStepTotals totals = {0};
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
    cJSON *run = NULL; /* the adapter's trainer_state.json */
    if (!status) status = tina_trainer_state_read(o.adapter, &run, &err);
    if (!status) status = continue_run(&o, run, &err);
    if (!status) status = tina_optimizer_state_load(o.adapter, run, lora->n_params, &state, &err);
    cJSON_Delete(run);
    TinaStepIdentity id = {0};
    TinaLossConfig settings = {o.loss, o.beta, o.epsilon, o.epsilon_high, o.max_completion_length, 0, 0};
    if (!status) id = tina_step_identity(lora, state.step, &settings, o.seed);
    if (!status && o.apply_grads) {
        if (optind == argc) status = tina_error(&err, TINA_ERR_INPUT, "--apply-grads: no gradient files given");
        else status = tina_grads_read((const char *const *)argv + optind, argc - optind, &id, config, grads, &totals,
                                     &err);
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
        status = tina_grads_write(o.output, grads, &id, o.shard, o.shards, &totals, &err);
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
            /* the folder takes its name once the metrics line has reached stdout: a failed write there (a full
             * disk) fails the step, and leaves no step behind that a run again would refuse to overwrite */
            TinaFolder folder;
            status = tina_folder_open(&folder, o.output, &err);
            if (!status) status = tina_checkpoint_write(&folder, lora, &state, state_json, &err);
            if (!status) printf("%s\n", json);
            if (!status) status = cli_flush_stdout(&err);
            if (!status) status = tina_folder_commit(&folder, &err);
            else tina_folder_abort(&folder); /* (a folder that did not open is empty: nothing to remove) */
        }
        if (!status) {
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
    tina_optimizer_state_free(&state);
    free(batch.rollouts), free(batch.old), free(batch.ref);
    tina_ids_free(&batch.tokens);
    tina_lora_free(grads);
    tina_lora_free(lora);
    tina_model_free(model);
    if (backend) backend->destroy(backend);
    return (int)status;
}
