#include "train/adamw.h"

#include <math.h>

double tina_lr_at(double base_lr, long long step, long long warmup, long long total, double min_rate) {
    if (step < warmup) return base_lr * (double)step / (double)(warmup > 1 ? warmup : 1);
    long long span = total - warmup > 1 ? total - warmup : 1;
    double progress = (double)(step - warmup) / (double)span;
    double factor = 0.5 * (1.0 + cos(M_PI * progress)) * (1.0 - min_rate) + min_rate;
    return base_lr * (factor > 0 ? factor : 0);
}

double tina_grad_norm(const float *g, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)g[i] * g[i];
    return sqrt(sum);
}

double tina_clip_grad_norm(float *g, size_t n, double norm, double max_norm) {
    double coefficient = max_norm / (norm + 1e-6);
    if (coefficient >= 1) return 1;
    for (size_t i = 0; i < n; i++) g[i] = (float)(g[i] * coefficient);
    return coefficient;
}

/* torch's order of operations, in f32 state with the scalars in double */
void tina_adamw_step(const TinaAdamW *o, long long step, size_t n, float *p, const float *g, float *m, float *v) {
    double correction1 = 1 - pow(o->beta1, (double)step), correction2 = 1 - pow(o->beta2, (double)step);
    double step_size = o->lr / correction1, root2 = sqrt(correction2);
    float decay = (float)(1 - o->lr * o->weight_decay);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        p[i] *= decay;
        m[i] += (float)(1 - o->beta1) * (g[i] - m[i]);
        v[i] = (float)o->beta2 * v[i] + (float)(1 - o->beta2) * g[i] * g[i];
        float denom = (float)(sqrtf(v[i]) / root2 + o->eps);
        p[i] -= (float)(step_size * m[i] / denom);
    }
}
