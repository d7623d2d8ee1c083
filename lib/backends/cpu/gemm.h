/* gemm: every matrix product of the CPU backend, each output the same chain of fused multiply-adds whatever the
 * processor, its vector width, the thread count and the shape of the call.
 *
 * Output (i, j) of C (M, N) = A (M, K) B (K, N) starts at 0, or at C's own value when accumulating, and adds
 * a(i, k) * b(k, j) for k = 0, 1, ..., K - 1 in that order, one fused multiply-add (one rounding) each, where a(i, k)
 * is A's element times alpha rounded to f32 (A's element itself when alpha is 1); a bias, if any, is added last.
 * So a product's row depends on that row's inputs alone (not on M, the thread count or the blocking), accumulating
 * a product over K = K1 + K2 in two calls gives the bits of one call, and the AVX-512, AVX2 and scalar kernels all
 * give the same bits: the order is fixed here, not left to a BLAS kernel chosen by processor detection. */
#ifndef TINA_GEMM_H
#define TINA_GEMM_H

#include <stdbool.h>
#include <stddef.h>

/* A matrix operand: element (i, k) at p[i * ld + k], or at p[k * ld + i] when trans (stored transposed); or, for B
 * only, with rows not NULL: at rows[i][k] (rows[k][i] when trans), rows anywhere (a KV cache's pages) */
typedef struct {
    const float *p;
    size_t ld;
    bool trans;
    const float *const *rows;
} TinaMatrix;

static inline TinaMatrix tina_matrix(const float *p, size_t ld, bool trans) {
    return (TinaMatrix){.p = p, .ld = ld, .trans = trans, .rows = NULL};
}

typedef struct {
    float *c;              /* (M, N), rows ldc apart */
    size_t ldc;
    TinaMatrix a;          /* (M, K) */
    TinaMatrix b;          /* (K, N) */
    const float *packed;   /* B as tina_gemm_pack laid it out (b is then unused), or NULL */
    const float *const *strips; /* or B as strips of TINA_GEMM_STRIP columns anywhere: columns 16 s .. 16 s + 15 at
                                 * strips[s], k-major (row k at strips[s] + 16 k), or NULL */
    const float *bias;     /* (N) or NULL */
    float alpha;
    int M, N, K;
    bool accumulate;
} TinaProduct;

enum { TINA_GEMM_STRIP = 16 }; /* the columns of a strip a caller lays out itself (TinaProduct.strips) */

typedef enum { TINA_KERNEL_GENERIC, TINA_KERNEL_AVX2, TINA_KERNEL_AVX512 } TinaKernel;

/* The kernel this process runs: the widest the processor has, or a narrower one named by TINA_CPU (generic, avx2,
 * avx512), read once. */
TinaKernel tina_gemm_kernel(void);
const char *tina_gemm_kernel_name(void);

/* Runs kernel from now on, if the processor has it (else false): for tests, before anything is packed. */
bool tina_gemm_use(TinaKernel kernel);

/* Runs the generic kernel with another kernel's blocking (its strips, panels and vector width) from now on: for tests,
 * so that the blocking of a kernel this processor lacks is checked here too; tina_gemm_use ends it. */
void tina_gemm_use_blocking(TinaKernel blocking);

/* A weight w (N, K) as the B = w^T of products, laid out for this process's kernel: p needs
 * tina_gemm_packed_floats(N, K) floats. add: p += w's layout (a merged adapter's delta). */
size_t tina_gemm_packed_floats(int N, int K);
void tina_gemm_pack(float *p, const float *w, int N, int K, bool add);

/* The products p[0..n), split across the OpenMP threads of a parallel region of their own (threads 0: as many as
 * OpenMP runs), or run by the calling thread alone when threads is 1 (inside a parallel region of the caller's).
 * False when a thread's workspace (under 1 MB, kept for its later products) or the room for a B its threads lay out
 * together (an unpacked B of a product split by rows: kept too, as large as the largest such B) could not be
 * allocated: nothing or part of C was written. */
bool tina_gemm(const TinaProduct *p, int n, int threads);

#endif
