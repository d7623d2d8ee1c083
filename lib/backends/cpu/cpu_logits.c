/* cpu_logits: the head: logits, sampling the next token, log-probs of given tokens over the vocabulary in chunks,
 * and the log-probs' backward. */
#include "backends/cpu/cpu.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/simd.h"

void cpu_logits(TinaBackend *b, float *out, const void *h, const void *head, int rows, int C, int V) {
    cpu_matmul(b, out, h, head, NULL, rows, C, V, false); /* the same rows whatever the batch, as every product */
}

void cpu_free_samplers(Cpu *c) {
    for (int i = 0; c->samplers && i < c->threads; i++) tina_sampler_free(c->samplers[i]);
    free(c->samplers);
    c->samplers = NULL;
}

/* room for the logits of rows x V and a sampler per thread; false (and out_of_memory) when there is none */
static bool draw_workspace(Cpu *c, int rows, int V) {
    if (c->out_of_memory) return false;
    if (V != c->draw_vocab) {
        cpu_free_samplers(c);
        c->samplers = calloc((size_t)c->threads, sizeof *c->samplers);
        TinaError ignored;
        for (int i = 0; c->samplers && i < c->threads; i++)
            if (tina_sampler_new(V, &c->samplers[i], &ignored)) {
                cpu_free_samplers(c);
                break;
            }
        c->draw_vocab = V;
        c->draw_rows = 0;
    }
    if (c->samplers && rows > c->draw_rows) {
        free(c->draw_logits);
        c->draw_logits = malloc((size_t)rows * (size_t)V * sizeof *c->draw_logits);
        c->draw_rows = c->draw_logits ? rows : 0;
    }
    c->out_of_memory = !c->samplers || !c->draw_logits;
    return !c->out_of_memory;
}

void cpu_sample(TinaBackend *b, int32_t *tokens, double *logprobs, const void *h, const void *head, int rows,
                int C, int V, const TinaSamplerParams *params, const double *u) {
    Cpu *c = (Cpu *)b;
    if (!draw_workspace(c, rows, V)) return;
    cpu_logits(b, c->draw_logits, h, head, rows, C, V);
#pragma omp parallel for schedule(dynamic) num_threads(c->threads)
    for (int i = 0; i < rows; i++)
        tokens[i] = tina_sampler_draw(c->samplers[omp_get_thread_num()], c->draw_logits + (size_t)i * V, params,
                                      u[i], &logprobs[i]);
}

/* lane[l] += e^(z[j] - m) for the j < n (a multiple of 4) with j % 4 == l, four at a time */
__attribute__((target("avx2,fma"))) static void exp_lanes_avx2(double lane[4], const float *z, int n, double m) {
    __m256d sums = _mm256_loadu_pd(lane), shift = _mm256_set1_pd(m);
    for (int j = 0; j < n; j += 4)
        sums = _mm256_add_pd(sums, exp4d(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(z + j)), shift)));
    _mm256_storeu_pd(lane, sums);
}

/* The sum of e^(z[j] - m) over z[0..n), in one order whatever the processor: four running sums (j mod 4) over the
 * first n - n % 4, added as (0 + 1) + (2 + 3), then the rest in order. e^x by simd.h's exp4d or its twin exp1d. */
static double exp_sum(const Cpu *c, const float *z, int n, double m) {
    double lane[4] = {0, 0, 0, 0};
    int fours = n - n % 4;
    if (c->avx2) exp_lanes_avx2(lane, z, fours, m);
    else
        for (int j = 0; j < fours; j++) lane[j % 4] += exp1d((double)z[j] - m);
    double s = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    for (int j = fours; j < n; j++) s += exp1d((double)z[j] - m);
    return s;
}

/* z[j] = (float)(scale e^(z[j] - shift)) for j < n (a multiple of 4), four at a time */
__attribute__((target("avx2,fma"))) static void scaled_exp_avx2(float *z, int n, double shift, double scale) {
    for (int j = 0; j < n; j += 4) {
        __m256d e = exp4d(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(z + j)), _mm256_set1_pd(shift)));
        _mm_storeu_ps(z + j, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_set1_pd(scale), e)));
    }
}

/* z[j] = (float)(scale e^(z[j] - shift)) for j < n: a row of the log-probs' backward */
static void scaled_exp(const Cpu *c, float *z, int n, double shift, double scale) {
    int done = c->avx2 ? n - n % 4 : 0;
    if (done) scaled_exp_avx2(z, done, shift, scale);
    for (int j = done; j < n; j++) z[j] = (float)(scale * exp1d((double)z[j] - shift));
}

/* The log-sum-exp of every row of h @ head^T, a running one over vocabulary chunks; out[t] (if not NULL) gets the
 * logit of targets[t]. lse (T,) doubles follow the chunk in the scratch. */
static double *log_sum_exp(Cpu *c, float *out, const void *h, const void *head, const int32_t *targets, int T, int C,
                           int V) {
    float *chunk = c->scratch;
    double *max = (double *)(c->scratch + (size_t)T * VOCAB_CHUNK), *sum = max + T; /* 8-aligned: T * 4096 floats */
    for (int t = 0; t < T; t++) max[t] = -INFINITY, sum[t] = 0;
    for (int v0 = 0; v0 < V; v0 += VOCAB_CHUNK) {
        int n = V - v0 < VOCAB_CHUNK ? V - v0 : VOCAB_CHUNK;
        /* as every product: a row the same whatever rows come with it */
        cpu_product(c, chunk, h, (const float *)head + (size_t)v0 * C, NULL, T, C, n, 1.0f, false);
#pragma omp parallel for schedule(static)
        for (int t = 0; t < T; t++) {
            const float *z = chunk + (size_t)t * n;
            double m = max[t];
            for (int j = 0; j < n; j++) m = z[j] > m ? z[j] : m;
            sum[t] = sum[t] * exp1d(max[t] - m) + exp_sum(c, z, n, m);
            max[t] = m;
            if (out && targets[t] >= v0 && targets[t] < v0 + n) out[t] = z[targets[t] - v0];
        }
    }
    for (int t = 0; t < T; t++) max[t] += log(sum[t]);
    return max;
}

void cpu_logprobs(TinaBackend *b, float *out, const void *h, const void *head, const int32_t *targets, int T,
                  int C, int V, double *lse) {
    const double *sums = log_sum_exp((Cpu *)b, out, h, head, targets, T, C, V);
    for (int t = 0; t < T; t++) out[t] = (float)(out[t] - sums[t]);
    if (lse) memcpy(lse, sums, (size_t)T * sizeof *lse);
}

/* d logits[t, v] = dlogp[t] * ([v == target] - softmax[t, v]); dh = d logits @ head, one vocabulary chunk at a time */
void cpu_logprobs_backward(TinaBackend *b, void *dh, const void *h, const void *head, const int32_t *targets,
                           const float *dlogp, int T, int C, int V, const double *lse) {
    Cpu *c = (Cpu *)b;
    float *chunk = c->scratch;
    for (int v0 = 0; v0 < V; v0 += VOCAB_CHUNK) {
        int n = V - v0 < VOCAB_CHUNK ? V - v0 : VOCAB_CHUNK;
        const float *rows = (const float *)head + (size_t)v0 * C;
        cpu_product(c, chunk, h, rows, NULL, T, C, n, 1.0f, false);
#pragma omp parallel for schedule(static)
        for (int t = 0; t < T; t++) {
            float *z = chunk + (size_t)t * n;
            scaled_exp(c, z, n, lse[t], -(double)dlogp[t]);
            if (targets[t] >= v0 && targets[t] < v0 + n) z[targets[t] - v0] += dlogp[t];
        }
        cpu_general(c, c->threads, dh, (size_t)C, tina_matrix(chunk, (size_t)n, false),
                    tina_matrix(rows, (size_t)C, false), T, C, n, v0 > 0); /* one chain over the whole vocabulary */
    }
}
