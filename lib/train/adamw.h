/* adamw: the optimizer step of LoRA training, as torch.optim.AdamW and transformers' schedule compute it: global
 * gradient-norm clipping (torch.nn.utils.clip_grad_norm_), AdamW with bias correction and decoupled weight decay,
 * and the cosine-with-minimum learning rate after a linear warmup (get_cosine_with_min_lr_schedule_with_warmup). */
#ifndef TINA_ADAMW_H
#define TINA_ADAMW_H

#include <stddef.h>

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
} TinaAdamW;

/* The learning rate of optimizer step `step` (0 for the first): base_lr x step / warmup during the warmup, then
 * min_rate + (1 - min_rate) x (1 + cos(pi x progress)) / 2 with progress = (step - warmup) / (total - warmup). */
double tina_lr_at(double base_lr, long long step, long long warmup, long long total, double min_rate);

/* The L2 norm of g (n values), accumulated in double. */
double tina_grad_norm(const float *g, size_t n);

/* Scales g so that its norm is at most max_norm (torch's coefficient max_norm / (norm + 1e-6), capped at 1);
 * returns the coefficient applied. */
double tina_clip_grad_norm(float *g, size_t n, double norm, double max_norm);

/* One AdamW step, step counting from 1: p, m, v (n values each) updated in place from g. */
void tina_adamw_step(const TinaAdamW *o, long long step, size_t n, float *p, const float *g, float *m, float *v);

#endif
