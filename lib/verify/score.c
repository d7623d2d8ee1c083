#include "verify/score.h"

#include <math.h>
#include <stdlib.h>

#include "base/rng.h"

double tina_pass_at_k(int n, int c, int k) {
    if (k > n || k < 1) return NAN;
    if (n - c < k) return 1.0;
    /* C(n - c, k) / C(n, k) = prod_{i = n - c + 1}^{n} (1 - k / i), stable for large n */
    double fail = 1.0;
    for (int i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / (double)i;
    return 1.0 - fail;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void tina_bootstrap_mean(const double *values, int n, int rounds, uint64_t seed, double *low, double *high) {
    *low = *high = NAN;
    if (n < 1 || rounds < 1) return;
    double *means = malloc((size_t)rounds * sizeof *means);
    if (!means) return;
    for (int r = 0; r < rounds; r++) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += values[tina_rng_bits(seed, (uint64_t)r, (uint64_t)i) % (uint64_t)n];
        means[r] = sum / n;
    }
    qsort(means, (size_t)rounds, sizeof *means, by_value);
    *low = means[(int)floor(0.025 * (rounds - 1))];
    *high = means[(int)ceil(0.975 * (rounds - 1))];
    free(means);
}
