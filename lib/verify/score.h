/* score: what evaluation tables are made of: the unbiased pass@k estimator, and a seeded bootstrap interval over
 * problems. */
#ifndef TINA_SCORE_H
#define TINA_SCORE_H

#include <stdint.h>

/* 1 - C(n - c, k) / C(n, k): the chance that k of the n samples, drawn without replacement, hold a correct one
 * (Chen et al. 2021). NAN when k > n. */
double tina_pass_at_k(int n, int c, int k);

/* A 95% percentile interval for the mean of values[0..n) by resampling problems with replacement `rounds` times
 * from seed: [*low, *high]. */
void tina_bootstrap_mean(const double *values, int n, int rounds, uint64_t seed, double *low, double *high);

#endif
