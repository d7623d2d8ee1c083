#include "sampler.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    float logit;
    int32_t id;
} Candidate;

struct TinaSampler {
    int V;
    float *weights;    /* (V,) unnormalised probabilities of the kept tokens */
    Candidate *order;  /* (V,) by decreasing logit, then increasing id, when a filter needs the order */
};

TinaStatus tina_sampler_new(int V, TinaSampler **sampler, TinaError *err) {
    TinaSampler *s = calloc(1, sizeof *s);
    if (s) {
        s->V = V;
        s->weights = malloc((size_t)V * sizeof *s->weights);
        s->order = malloc((size_t)V * sizeof *s->order);
    }
    if (!s || !s->weights || !s->order) {
        tina_sampler_free(s);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (sampler for %d tokens)", V);
    }
    *sampler = s;
    return TINA_OK;
}

void tina_sampler_free(TinaSampler *s) {
    if (!s) return;
    free(s->weights);
    free(s->order);
    free(s);
}

static int by_logit(const void *a, const void *b) {
    const Candidate *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* log of the sum of exp((logits - max) / temperature) over the valid ids */
static double log_sum_exp(const float *logits, int n, double max, double temperature) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((logits[i] - max) / temperature);
    return log(sum);
}

int32_t tina_sampler_draw(TinaSampler *s, const float *logits, const TinaSamplerParams *p, double u, double *logprob) {
    int n = p->n_valid > 0 && p->n_valid < s->V ? p->n_valid : s->V;
    int32_t best = 0;
    for (int i = 1; i < n; i++) best = logits[i] > logits[best] ? i : best;
    double max = logits[best];
    int32_t token = best;
    if (p->temperature > 0) {
        double t = p->temperature;
        int kept = n;
        bool ordered = (p->top_k > 0 && p->top_k < n) || p->top_p < 1;
        if (ordered) {
            for (int i = 0; i < n; i++) s->order[i] = (Candidate){logits[i], i};
            qsort(s->order, (size_t)n, sizeof *s->order, by_logit);
            if (p->top_k > 0 && p->top_k < kept) kept = p->top_k;
        }
        double total = 0;
        for (int i = 0; i < kept; i++) {
            int32_t id = ordered ? s->order[i].id : i;
            total += s->weights[i] = (float)exp((logits[id] - max) / t);
        }
        if (p->top_p < 1) { /* the shortest prefix whose mass reaches top_p */
            double mass = 0;
            int i = 0;
            while (i < kept - 1 && (mass += s->weights[i]) < p->top_p * total) i++;
            kept = i + 1;
            total = 0;
            for (i = 0; i < kept; i++) total += s->weights[i];
        }
        double target = u * total, cumulative = 0;
        int i = 0;
        for (; i < kept - 1; i++)
            if ((cumulative += s->weights[i]) > target) break;
        token = ordered ? s->order[i].id : i;
    }
    double t = p->logprob_at_temperature && p->temperature > 0 ? p->temperature : 1.0;
    *logprob = (logits[token] - max) / t - log_sum_exp(logits, n, max, t);
    return token;
}
