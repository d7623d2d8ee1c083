#include "stats.h"

#include <math.h>

void tina_stats_add(TinaRunningStats *s, double value) {
    s->count++;
    double delta = value - s->mean;
    s->mean += delta / (double)s->count;
    s->m2 += delta * (value - s->mean);
}

double tina_stats_std(const TinaRunningStats *s) {
    return s->count < 2 ? 0.0 : sqrt(s->m2 / (double)(s->count - 1));
}
