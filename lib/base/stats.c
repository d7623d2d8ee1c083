#include "base/stats.h"

#include <math.h>

void tina_stats_add(TinaRunningStats *s, double value) {
    s->count++;
    double delta = value - s->mean;
    s->mean += delta / (double)s->count;
    s->m2 += delta * (value - s->mean);
}

void tina_stats_merge(TinaRunningStats *a, const TinaRunningStats *b) {
    if (b->count == 0) return;
    long long n = a->count + b->count;
    double delta = b->mean - a->mean;
    a->m2 += b->m2 + delta * delta * (double)a->count * (double)b->count / (double)n;
    a->mean += delta * (double)b->count / (double)n;
    a->count = n;
}

double tina_stats_std(const TinaRunningStats *s) {
    return s->count < 2 ? 0.0 : sqrt(s->m2 / (double)(s->count - 1));
}
