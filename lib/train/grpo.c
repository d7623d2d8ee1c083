#include "train/grpo.h"

#include <math.h>

#include "base/stats.h"

TinaGroupStats tina_grpo_group_stats(const double *rewards, const bool *usable, int G) {
    TinaRunningStats running = {0};
    TinaGroupStats stats = {.all_equal = true};
    double first = 0;
    for (int i = 0; i < G; i++) {
        if (!usable[i]) continue;
        if (running.count == 0) first = rewards[i];
        else if (rewards[i] != first) stats.all_equal = false;
        tina_stats_add(&running, rewards[i]);
    }
    stats.usable = (int)running.count;
    stats.mean = running.mean;
    stats.std = tina_stats_std(&running);
    return stats;
}

bool tina_grpo_group_is_flat(const TinaGroupStats *stats) { return stats->usable < 2 || stats->all_equal; }

void tina_grpo_advantages(const double *rewards, const bool *usable, int G, const TinaGroupStats *stats,
                          TinaAdvantageScale scale, double batch_std, double eps, double *advantages) {
    bool flat = tina_grpo_group_is_flat(stats);
    double denominator = scale == TINA_SCALE_GROUP ? stats->std + eps
                       : scale == TINA_SCALE_BATCH ? batch_std + eps
                       : 1.0;
    for (int i = 0; i < G; i++)
        advantages[i] = flat || !usable[i] ? 0.0 : (rewards[i] - stats->mean) / denominator;
}
