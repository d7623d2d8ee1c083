#include "backends/sampler.h"

#include <math.h>
#include <stdlib.h>

#include "backends/cpu/gemm.h"
#include "backends/cpu/simd.h"

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

/* sum + eight floats in f64, the two halves of the eight added first */
__attribute__((target("avx2,fma"))) static __m256d add_eight(__m256d sum, __m256 e) {
    return _mm256_add_pd(sum, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)),
                                            _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1))));
}

/* the four lanes of a sum, in a fixed order */
__attribute__((target("avx2,fma"))) static double total_of(__m256d sum) {
    double lanes[4];
    _mm256_storeu_pd(lanes, sum);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

/* weights[i] = exp((logits[i] - max) / temperature) for i < n (weights NULL: not kept); returns their sum. Eight at a
 * time in f32 where the CPU has AVX2 (each value within 6e-7 of exp's, the sum in f64): a draw over a 151,936-token
 * vocabulary costs two such passes, which in f64 took longer than a GPU's whole forward step of the batch. */
__attribute__((target("avx2,fma"))) static double sum_exp_avx2(float *weights, const float *logits, int n, float max,
                                                                float temperature) {
    __m256d sum = _mm256_setzero_pd();
    __m256 shift = _mm256_set1_ps(max), t = _mm256_set1_ps(temperature);
    for (int i = 0; i < n; i += 8) {
        __m256 e = exp8(_mm256_div_ps(_mm256_sub_ps(load8(logits, i, (size_t)n), shift), t));
        if (i + 8 > n) /* the tail's padding would add e^((0 - max) / t) */
            e = _mm256_and_ps(e, _mm256_castsi256_ps(tail_mask8(n - i)));
        if (weights) store8(weights, (size_t)i, (size_t)n, e);
        sum = add_eight(sum, e);
    }
    return total_of(sum);
}

/* sum_exp_avx2 sixteen at a time, the sum in the same order: each eight's halves, then the next eight's */
__attribute__((target("avx512f,avx2,fma"))) static double sum_exp_avx512(float *weights, const float *logits, int n,
                                                                         float max, float temperature) {
    __m256d sum = _mm256_setzero_pd();
    __m512 shift = _mm512_set1_ps(max), t = _mm512_set1_ps(temperature);
    for (int i = 0; i < n; i += 16) {
        __mmask16 valid = tail_mask16((size_t)i, (size_t)n); /* the tail's padding would add e^((0 - max) / t) */
        __m512 x = _mm512_div_ps(_mm512_sub_ps(load16(logits, (size_t)i, (size_t)n), shift), t);
        __m512 e = _mm512_maskz_mov_ps(valid, exp16(x));
        if (weights) store16(weights, (size_t)i, (size_t)n, e);
        sum = add_eight(sum, _mm512_castps512_ps256(e));
        if (n - i > 8) sum = add_eight(sum, upper8(e));
    }
    return total_of(sum);
}

static double sum_exp(float *weights, const float *logits, int n, double max, double temperature) {
    if (tina_gemm_kernel() == TINA_KERNEL_AVX512)
        return sum_exp_avx512(weights, logits, n, (float)max, (float)temperature);
    if (tina_gemm_kernel() != TINA_KERNEL_GENERIC) /* the CPU's kernels: AVX2 and FMA at least */
        return sum_exp_avx2(weights, logits, n, (float)max, (float)temperature);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double e = exp((logits[i] - max) / temperature);
        if (weights) weights[i] = (float)e;
        sum += e;
    }
    return sum;
}

/* Sorts the candidates whose logit exceeds cut, by decreasing logit then id, into s->order; returns how many. */
static int sort_above(TinaSampler *s, const float *logits, int n, double cut) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (logits[i] > cut) s->order[m++] = (Candidate){logits[i], i};
    qsort(s->order, (size_t)m, sizeof *s->order, by_logit);
    return m;
}

/* The kept tokens for top-k and top-p, as a prefix of s->order with weights exp((logit - max) / t) in s->weights:
 * returns its length and sets *total to its weight. Sorting all 151,936 logits for every token would cost more than
 * the forward pass, so the tokens within 8 temperature-units of the best (weight above e^-8) are sorted first, then
 * within 40, then all: every token left out ranks below every token sorted, so whenever the kept prefix ends among
 * the sorted ones it is exactly the prefix a full sort gives. */
static int keep(TinaSampler *s, const float *logits, int n, double max, const TinaSamplerParams *p, double *total) {
    double t = p->temperature, all = 0; /* all: the mass top-p takes its share of */
    int k = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    if (k == n) all = sum_exp(NULL, logits, n, max, t);
    const double widths[3] = {8, 40, INFINITY}; /* how far below the best, in temperature units, each pass looks */
    for (int pass = 0; pass < 3; pass++) {
        int m = sort_above(s, logits, n, max - widths[pass] * t), limit = k < m ? k : m;
        if (k < n && k > m) continue; /* top-k reaches below the candidates */
        double mass = 0;
        for (int i = 0; i < limit; i++) mass += s->weights[i] = (float)exp((s->order[i].logit - max) / t);
        if (k < n) all = mass;        /* top-p applies to what top-k kept */
        mass = 0;
        for (int i = 0; i < limit; i++) {
            mass += s->weights[i];
            if (i + 1 == k || (p->top_p < 1 && mass >= p->top_p * all)) {
                *total = mass;
                return i + 1;
            }
        }
    }
    *total = all; /* only when rounding keeps the sorted sum of every token under top_p of their sum: keep all */
    return n;
}

int32_t tina_sampler_draw(TinaSampler *s, const float *logits, const TinaSamplerParams *p, double u, double *logprob) {
    int n = p->n_valid > 0 && p->n_valid < s->V ? p->n_valid : s->V;
    int32_t best = 0;
    bool nan = false;
    for (int i = 0; i < n; i++) best = logits[i] > logits[best] ? i : best, nan |= logits[i] != logits[i];
    if (nan) return *logprob = 0, -1;
    double max = logits[best];
    int32_t token = best;
    if (p->temperature > 0) {
        bool ordered = (p->top_k > 0 && p->top_k < n) || p->top_p < 1;
        double total = 0;
        int kept = n;
        if (ordered) kept = keep(s, logits, n, max, p, &total);
        else total = sum_exp(s->weights, logits, n, max, p->temperature);
        double target = u * total, cumulative = 0;
        int i = 0;
        for (; i < kept - 1; i++)
            if ((cumulative += s->weights[i]) > target) break;
        token = ordered ? s->order[i].id : i;
    }
    double t = p->logprob_at_temperature && p->temperature > 0 ? p->temperature : 1.0;
    *logprob = (logits[token] - max) / t - log(sum_exp(NULL, logits, n, max, t));
    return token;
}
