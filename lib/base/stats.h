/* stats: running mean and standard deviation in one pass (Welford), stable for millions of values. */
#ifndef TINA_STATS_H
#define TINA_STATS_H

typedef struct {
    long long count;
    double mean;
    double m2; /* sum of squared deviations from the mean */
} TinaRunningStats;

void tina_stats_add(TinaRunningStats *stats, double value);
/* into += from: the statistics of both sets of values together (Chan et al.'s pairwise update). */
void tina_stats_merge(TinaRunningStats *into, const TinaRunningStats *from);
/* Standard deviation with Bessel's correction (torch.std's default); 0 for fewer than two values. */
double tina_stats_std(const TinaRunningStats *stats);

#endif
