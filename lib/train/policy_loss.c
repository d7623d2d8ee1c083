#include "train/policy_loss.h"

#include <math.h>
#include <string.h>

const char *const tina_loss_type_names[] = {"grpo", "bnpo", "dr_grpo", "dapo", NULL};

bool tina_loss_type_parse(const char *name, TinaLossType *type) {
    for (int i = 0; tina_loss_type_names[i]; i++)
        if (strcmp(name, tina_loss_type_names[i]) == 0) {
            *type = (TinaLossType)i;
            return true;
        }
    return false;
}

double tina_policy_loss_divisor(const TinaLossConfig *c) {
    switch (c->type) {
    case TINA_LOSS_GRPO: return (double)c->completions;
    case TINA_LOSS_DR_GRPO: return (double)c->completions * (double)c->max_completion_length;
    default: return (double)c->tokens;
    }
}

void tina_policy_loss(const TinaLossConfig *c, int n, const float *logp, const float *old_logp,
                      const float *ref_logp, double advantage, float *dlogp, TinaLossStats *stats) {
    if (n <= 0) return;
    double w = (c->type == TINA_LOSS_GRPO ? 1.0 / (double)n : 1.0) / tina_policy_loss_divisor(c); /* a token's weight */
    double A = advantage;
    for (int i = 0; i < n; i++) {
        double ratio = exp((double)logp[i] - (double)old_logp[i]);
        double clamped = fmin(fmax(ratio, 1.0 - c->epsilon_low), 1.0 + c->epsilon_high);
        /* min(ratio A, clamped A): the clamped term carries no gradient where the clamp is active */
        double term, dterm;
        if (ratio * A <= clamped * A) term = ratio * A, dterm = ratio * A;
        else term = clamped * A, dterm = clamped == ratio ? ratio * A : 0;
        double per = -term, dper = -dterm;
        if (ref_logp) {
            double delta = (double)ref_logp[i] - (double)logp[i];
            double kl = exp(delta) - delta - 1;
            stats->kl_sum += kl;
            if (c->beta != 0) per += c->beta * kl, dper += c->beta * (1 - exp(delta));
        }
        bool clipped = (ratio < 1.0 - c->epsilon_low && A < 0) || (ratio > 1.0 + c->epsilon_high && A > 0);
        stats->clipped += clipped;
        stats->loss += w * per;
        dlogp[i] = (float)(w * dper);
    }
    stats->tokens += n;
}
