/* model_bench: tina's CPU forward on a model folder, timed as bench/model.sh asks: prefill of P sequences of N tokens
 * in one call, then S decode steps for B sequences, each the best of REPEATS; and gemm.c's product of two 1536^3
 * matrices (B unpacked, as a peer's matmul gets it), the best of 5. Prints one JSON object.
 * Usage: model_bench DIR P N B S THREADS */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/cpu/gemm.h"
#include "backends/kv_cache.h"
#include "model/model.h"
#include "base/progress.h"

enum { REPEATS = 3 };

static double gemm_gflops(int threads) {
    int n = 1536;
    float *a = calloc((size_t)n * n, 4), *b = calloc((size_t)n * n, 4), *c = calloc((size_t)n * n, 4);
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    TinaProduct p = {.c = c, .ldc = (size_t)n, .a = tina_matrix(a, (size_t)n, false), .b = tina_matrix(b, (size_t)n, true), .alpha = 1,
                     .M = n, .N = n, .K = n};
    double best = INFINITY;
    tina_gemm(&p, 1, threads); /* warm up */
    for (int r = 0; r < 5; r++) {
        double t0 = tina_progress_now();
        tina_gemm(&p, 1, threads);
        best = fmin(best, tina_progress_now() - t0);
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * n / best / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: model_bench DIR PREFILL_SEQS PREFILL_LEN DECODE_BATCH DECODE_STEPS THREADS\n");
        return 2;
    }
    int P = atoi(argv[2]), N = atoi(argv[3]), B = atoi(argv[4]), S = atoi(argv[5]), threads = atoi(argv[6]);
    TinaError err;
    TinaBackend *backend;
    TinaModel *m;
    int prompt = 16, most = P * N > B * prompt ? P * N : B * prompt; /* tokens of the largest call */
    if (tina_cpu_backend_new(threads, &backend, &err) || tina_model_load(argv[1], backend, most, &m, &err)) {
        fprintf(stderr, "model_bench: %s\n", err.message);
        return 1;
    }
    const TinaConfig *c = tina_model_config(m);
    int slots = P > B ? P : B;
    TinaKVCache *kv;
    if (tina_model_kv_cache(m, slots, N > prompt + S ? N : prompt + S, 0, &kv, &err)) {
        fprintf(stderr, "model_bench: %s\n", err.message);
        return 1;
    }
    int32_t *tokens = malloc((size_t)most * sizeof *tokens);
    for (int i = 0; i < most; i++) tokens[i] = (i * 7919) % c->vocab;
    TinaSequence *seqs = malloc((size_t)slots * sizeof *seqs);
    float *logits = malloc((size_t)slots * c->vocab * sizeof *logits);
    for (int s = 0; s < P; s++) seqs[s] = (TinaSequence){s, 0, N, tokens + (size_t)s * N};
    tina_model_forward(m, kv, seqs, P, NULL, TINA_LOGITS_LAST, logits, &err); /* warm up */
    double prefill = INFINITY, decode = INFINITY; /* the best of REPEATS: a neighbour only ever slows a run down */
    for (int r = 0; r < REPEATS; r++) {
        double t0 = tina_progress_now();
        if (tina_model_forward(m, kv, seqs, P, NULL, TINA_LOGITS_LAST, logits, &err)) goto fail;
        prefill = fmin(prefill, tina_progress_now() - t0);
    }
    int32_t *next = malloc((size_t)B * sizeof *next);
    for (int r = 0; r < REPEATS; r++) {
        for (int s = 0; s < B; s++) seqs[s] = (TinaSequence){s, 0, prompt, tokens + (size_t)s * prompt};
        if (tina_model_forward(m, kv, seqs, B, NULL, TINA_LOGITS_LAST, logits, &err)) goto fail;
        double t0 = tina_progress_now();
        for (int step = 0; step < S; step++) {
            for (int s = 0; s < B; s++) {
                next[s] = (step * 31 + s) % c->vocab;
                seqs[s] = (TinaSequence){s, prompt + step, 1, &next[s]};
            }
            if (tina_model_forward(m, kv, seqs, B, NULL, TINA_LOGITS_LAST, logits, &err)) goto fail;
        }
        decode = fmin(decode, tina_progress_now() - t0);
    }
    printf("{\"prefill_seconds\":%.4f,\"prefill_tokens_per_s\":%.1f,\"decode_seconds\":%.4f,"
           "\"decode_tokens_per_s\":%.1f,\"gemm_gflops\":%.1f,\"kernel\":\"%s\"}\n",
           prefill, P * N / prefill, decode, B * S / decode, gemm_gflops(threads), tina_gemm_kernel_name());
    free(tokens);
    free(seqs);
    free(logits);
    free(next);
    tina_kv_cache_free(kv);
    tina_model_free(m);
    backend->destroy(backend);
    return 0;
fail:
    fprintf(stderr, "model_bench: %s\n", err.message);
    return 1;
}
