/* cpu_matmul: the products of activations with weights and with LoRA matrices, forward and backward, through
 * gemm.c in its fixed order (a weight's packed copy for the forward, the matrix as loaded for the backward). */
#include "backends/cpu/cpu.h"

#include <stdlib.h>

/* w's packed copy, when it has one of that shape */
static const Packed *packed_of(const Cpu *c, const float *w, int N, int K) {
    for (int i = 0; i < c->n_packed; i++)
        if (c->packed[i].w == w) return c->packed[i].N == N && c->packed[i].K == K ? &c->packed[i] : NULL;
    return NULL;
}

/* out (T, N) = alpha in (T, K) @ w (N, K)^T (+ bias (N) unless NULL), or out + that when accumulating, through w's
 * packed copy when it has one: gemm.h's order, so each row the same whatever rows come with it. */
static TinaProduct weight_product(const Cpu *c, float *out, const float *in, const float *w, const float *bias, int T,
                                  int K, int N, float alpha, bool accumulate) {
    const Packed *p = packed_of(c, w, N, K);
    return (TinaProduct){.c = out, .ldc = (size_t)N, .a = tina_matrix(in, (size_t)K, false),
                         .b = tina_matrix(w, (size_t)K, true),
                         .packed = p ? p->p : NULL, .bias = bias, .alpha = alpha, .M = T, .N = N, .K = K,
                         .accumulate = accumulate};
}

/* the products by threads (1: the calling thread alone, inside a parallel region); a workspace that could not be
 * had is reported by check */
void cpu_products(Cpu *c, const TinaProduct *p, int n, int threads) {
    if (!tina_gemm(p, n, threads)) {
#pragma omp atomic write
        c->out_of_memory = true;
    }
}

void cpu_product(Cpu *c, float *out, const float *in, const float *w, const float *bias, int T, int K, int N,
                 float alpha, bool accumulate) {
    TinaProduct p = weight_product(c, out, in, w, bias, T, K, N, alpha, accumulate);
    cpu_products(c, &p, 1, c->threads);
}

/* out (M, N), rows ldc apart, (+)= A (M, K) B (K, N) */
void cpu_general(Cpu *c, int threads, float *out, size_t ldc, TinaMatrix a, TinaMatrix b, int M, int N, int K,
                 bool accumulate) {
    TinaProduct p = {.c = out, .ldc = ldc, .a = a, .b = b, .alpha = 1.0f, .M = M, .N = N, .K = K,
                     .accumulate = accumulate};
    cpu_products(c, &p, 1, threads);
}

void cpu_matmul(TinaBackend *b, void *out, const void *in, const void *w, const void *bias, int T, int K, int N,
                bool accumulate) {
    cpu_product((Cpu *)b, out, in, w, bias, T, K, N, 1.0f, accumulate);
}

enum { MAX_PRODUCTS = 4 };

/* several products of one input in one parallel region: one barrier for all */
void cpu_matmuls(TinaBackend *b, int n, void *const *out, const void *in, const void *const *w,
                 const void *const *bias, int T, int K, const int *N) {
    Cpu *c = (Cpu *)b;
    TinaProduct p[MAX_PRODUCTS];
    for (int done = 0; done < n; done += MAX_PRODUCTS) {
        int now = n - done < MAX_PRODUCTS ? n - done : MAX_PRODUCTS;
        for (int i = 0; i < now; i++)
            p[i] = weight_product(c, out[done + i], in, w[done + i], bias[done + i], T, K, N[done + i], 1.0f, false);
        cpu_products(c, p, now, c->threads);
    }
}

void cpu_lora(TinaBackend *b, void *out, const void *in, const float *a, const float *bm, void *z, int T,
              int K, int N, int r, float scale) {
    cpu_product((Cpu *)b, z, in, a, NULL, T, K, r, 1.0f, false);
    cpu_product((Cpu *)b, out, z, bm, NULL, T, r, N, scale, true);
}

void cpu_loras(TinaBackend *b, int n, void *const *out, const void *in, const float *const *a,
               const float *const *bm, void *z, int T, int K, const int *N, int r, float scale,
               void *const *residual) {
    for (int i = 0; i < n; i++) {
        cpu_lora(b, out[i], in, a[i], bm[i], (float *)z + (size_t)i * T * r, T, K, N[i], r, scale);
        if (residual) cpu_add(b, residual[i], out[i], (size_t)T * N[i]);
    }
}

void cpu_matmul_backward(TinaBackend *b, void *din, const void *dout, const void *w, int T, int K, int N,
                         bool accumulate) {
    Cpu *c = (Cpu *)b;
    cpu_general(c, c->threads, din, (size_t)K, tina_matrix(dout, (size_t)N, false), tina_matrix(w, (size_t)K, false), T,
                K, N, accumulate);
}

/* (cols, rows) <- (rows, cols) */
static void transpose(float *to, const float *from, size_t rows, size_t cols) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) to[j * rows + i] = from[i * cols + j];
}

/* db += dout^T (scale z); dz = dout @ (scale bm); da += dz^T in; din (+)= dz @ a. The scale goes into copies of the
 * small operands (T x r, N x r), so the products read dout, the large one, in place. The adapter's gradients
 * continue their chains over the tokens (gemm.h): micro-batches of any size add up to the bits of one. */
void cpu_lora_backward(TinaBackend *b, void *din, float *da, float *db, const void *in, const void *dout,
                       const float *a, const float *bm, const void *z, void *dscratch, int T, int K, int N,
                       int r, float scale, bool accumulate) {
    Cpu *c = (Cpu *)b;
    float *dz = dscratch;
    size_t n = (size_t)N, k = (size_t)K, rank = (size_t)r, scaled = ((size_t)T + 2 * n) * rank;
    if (scaled > c->scaled_len) {
        float *bigger = realloc(c->scaled, scaled * sizeof *bigger);
        if (!bigger) {
            c->out_of_memory = true;
            return;
        }
        c->scaled = bigger, c->scaled_len = scaled;
    }
    float *z_scaled = c->scaled, *bm_scaled = c->scaled + (size_t)T * rank, *db_t = bm_scaled + n * rank;
    for (size_t i = 0; i < (size_t)T * rank; i++) z_scaled[i] = scale * ((const float *)z)[i];
    for (size_t i = 0; i < n * rank; i++) bm_scaled[i] = scale * bm[i];
    /* db as its transpose, db^T += (scale z)^T dout: the same multiply-adds in the same order, each with its two
     * factors swapped (the same bits), but dout is read along its rows. Read down its columns, eight at a time and
     * N floats apart, it came from memory a line a row: on an Intel Xeon (2 threads) the update step's products of a
     * transposed A (db's and da's) took 0.87-1.03 s that way and 0.60-0.70 s this way (three interleaved runs each). */
    transpose(db_t, db, n, rank);
    cpu_general(c, c->threads, db_t, n, tina_matrix(z_scaled, rank, true), tina_matrix(dout, n, false), r, N, T, true);
    transpose(db, db_t, rank, n);
    cpu_general(c, c->threads, dz, rank, tina_matrix(dout, n, false), tina_matrix(bm_scaled, rank, false), T, r, N,
                false);
    cpu_general(c, c->threads, da, k, tina_matrix(dz, rank, true), tina_matrix(in, k, false), r, K, T, true);
    cpu_general(c, c->threads, din, k, tina_matrix(dz, rank, false), tina_matrix(a, k, false), T, K, r, accumulate);
}
