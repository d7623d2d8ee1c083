/* grpo: group-relative advantages (and, later, the GRPO loss variants), shared by tina-advantage and tina-update.
 *
 * Advantage of sample i in a group of G samples of one prompt, over the group's usable (non-null) rewards:
 *   group (Tina, TRL 0.15):  A_i = (r_i - mean) / (std + eps), std with Bessel's correction over the group
 *   batch (later TRL):       A_i = (r_i - mean) / (std_batch + eps), std over every usable reward of the batch
 *   none (Dr. GRPO):         A_i = r_i - mean
 * A null reward gets 0 and is left out of the statistics; a group with fewer than 2 usable rewards, or whose
 * usable rewards are all equal, gets 0 everywhere (it carries no signal; equality is exact, so rounding in the
 * mean cannot turn equal rewards into tiny nonzero advantages). */
#ifndef TINA_GRPO_H
#define TINA_GRPO_H

#include <stdbool.h>

typedef enum { TINA_SCALE_GROUP, TINA_SCALE_BATCH, TINA_SCALE_NONE } TinaAdvantageScale;

typedef struct {
    int usable;      /* rewards that are not null */
    double mean;     /* of the usable rewards */
    double std;      /* Bessel-corrected, of the usable rewards */
    bool all_equal;  /* every usable reward is the same value */
} TinaGroupStats;

/* rewards, usable: (G,) the group's rewards and which are not null. */
TinaGroupStats tina_grpo_group_stats(const double *rewards, const bool *usable, int G);

/* True when the group yields only zero advantages (fewer than 2 usable rewards, or all equal). */
bool tina_grpo_group_is_flat(const TinaGroupStats *stats);

/* advantages: (G,) out. batch_std is used by TINA_SCALE_BATCH only. */
void tina_grpo_advantages(const double *rewards, const bool *usable, int G, const TinaGroupStats *stats,
                          TinaAdvantageScale scale, double batch_std, double eps, double *advantages);

#endif
