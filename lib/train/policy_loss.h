/* policy_loss: the GRPO family's loss for one completion, as TRL's GRPOTrainer computes it, and its gradient with
 * respect to the policy's log-probs (what the model's backward starts from).
 *
 * Per token, with ratio = exp(logp - old_logp) and A the completion's advantage:
 *   per_token = -min(ratio A, clamp(ratio, 1 - eps_low, 1 + eps_high) A) + beta kl,
 *   kl = exp(ref - logp) - (ref - logp) - 1 (k3, against the adapter-free base).
 * Aggregated by loss type over the whole optimizer batch (so micro-batches add up to it):
 *   grpo     mean over completions of each one's token mean        (Tina, TRL 0.15)
 *   bnpo     sum over tokens / tokens in the batch
 *   dr_grpo  sum over tokens / (completions x max completion length)
 *   dapo     sum over tokens / tokens in the batch (one process: bnpo)
 * With old_logp = logp (one update per batch) the ratio is 1 and grpo is exactly Tina's loss. */
#ifndef TINA_POLICY_LOSS_H
#define TINA_POLICY_LOSS_H

#include <stdbool.h>

typedef enum { TINA_LOSS_GRPO, TINA_LOSS_BNPO, TINA_LOSS_DR_GRPO, TINA_LOSS_DAPO } TinaLossType;

typedef struct {
    TinaLossType type;
    double beta, epsilon_low, epsilon_high;
    int max_completion_length; /* dr_grpo's normaliser */
    long long completions;     /* in the whole batch */
    long long tokens;          /* completion tokens (masked in) in the whole batch */
} TinaLossConfig;

typedef struct {
    double loss;        /* this batch's loss so far */
    double kl_sum;      /* sum of kl over tokens (when ref_logp was given) */
    long long clipped;  /* tokens whose clipped term was taken and differs */
    long long tokens;
} TinaLossStats;

/* One completion of n tokens (those the mask keeps): adds its part of the loss and statistics into stats and
 * writes dlogp[i] = d loss / d logp[i]. ref_logp may be NULL when beta is 0. */
void tina_policy_loss(const TinaLossConfig *config, int n, const float *logp, const float *old_logp,
                      const float *ref_logp, double advantage, float *dlogp, TinaLossStats *stats);

/* What the type divides the batch's sum by: completions (grpo, after each completion's own token mean),
 * completions x max_completion_length (dr_grpo), or tokens (bnpo, dapo). A shard of a batch computes with counts of 1
 * (divisor 1: plain sums) and the shards' sum is divided once by the whole batch's divisor. */
double tina_policy_loss_divisor(const TinaLossConfig *config);

/* The loss types' names by TinaLossType, NULL after the last: grpo, bnpo, dr_grpo, dapo. */
extern const char *const tina_loss_type_names[];

/* The loss type named (grpo, bnpo, dr_grpo, dapo); false if none. */
bool tina_loss_type_parse(const char *name, TinaLossType *type);

#endif
