/* gemm: every kernel the processor has against gemm.h's definition, written out here as plain C (output (i, j) one
 * fmaf chain over k in order, from 0 or from C, the bias after), compared bit for bit: transposed and plain
 * operands, weights packed, unpacked and in strips the caller lays out, edges of every tile size, accumulation,
 * alpha, biases, several products in one call, 1 to 3 threads; and the values against a double-precision product. */
#include <fcntl.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/cpu/gemm.h"
#include "test.h"

/* floats from a fixed stream in [-1, 1), a few exact zeros and large values among them */
static float *values(size_t n, uint64_t seed) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        float u = (float)(seed >> 40) / (float)(1 << 24) * 2.0f - 1.0f;
        x[i] = i % 97 == 5 ? 0.0f : i % 89 == 7 ? u * 1e4f : u;
    }
    return x;
}

static float at(const TinaMatrix *m, int i, int k) {
    return m->trans ? m->p[(size_t)k * m->ld + i] : m->p[(size_t)i * m->ld + k];
}

/* gemm.h's definition, output by output */
static void defined(const TinaProduct *g) {
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < g->N; j++) {
            float *c = g->c + (size_t)i * g->ldc + j, acc = g->accumulate ? *c : 0.0f;
            for (int k = 0; k < g->K; k++) acc = fmaf(g->alpha * at(&g->a, i, k), at(&g->b, k, j), acc);
            *c = g->bias ? acc + g->bias[j] : acc;
        }
}

typedef struct {
    int M, N, K;
    bool a_trans, b_trans, packed, accumulate, bias;
    float alpha;
    bool listed; /* B as a list of strips the caller laid out (TinaProduct.strips) */
} Shape;

static const Shape shapes[] = {
    {1, 1, 1, false, true, false, false, false, 1.0f, false},
    {1, 1536, 512, false, true, true, false, true, 1.0f, false},
    {7, 40, 300, false, true, true, true, false, 1.0f, false},
    {9, 17, 777, true, false, false, true, false, 0.125f, false},
    {33, 100, 65, false, false, false, false, true, 1.0f, false},
    {130, 49, 257, true, true, false, true, true, 2.0f, false},
    {300, 96, 40, false, true, true, false, false, 1.0f, false},
    {5, 200, 0, false, true, false, true, true, 1.0f, false},
    {64, 33, 513, true, false, false, false, false, -0.5f, false},
    {257, 200, 31, false, true, true, true, true, 1.0f, false},
    {14, 24, 70, false, true, true, false, false, 1.0f, false}, /* tiles of 6, 6 and 2 rows (AVX2); 8 and 6 */
    {4, 37, 64, false, true, false, false, false, 0.125f, true},
    {70, 160, 300, false, false, false, true, true, 1.0f, true},
};

/* product of one shape by the kernel in use with `threads`: bit-equal to the definition, and within the bound of
 * f32 rounding of the f64 product (worst: the largest error over bound seen) */
static void one_shape(const Shape *s, int threads, double *worst) {
    size_t lda = (size_t)(s->a_trans ? s->M : s->K) + 3, ldb = (size_t)(s->b_trans ? s->K : s->N) + 1;
    size_t ldc = (size_t)s->N + 2, rows_a = s->a_trans ? (size_t)s->K : (size_t)s->M;
    size_t rows_b = s->b_trans ? (size_t)s->N : (size_t)s->K;
    float *a = values(rows_a * lda, 1 + (uint64_t)s->M), *b = values(rows_b * ldb, 2 + (uint64_t)s->N);
    float *c = values((size_t)s->M * ldc, 3), *want = malloc((size_t)s->M * ldc * sizeof *want);
    float *bias = s->bias ? values((size_t)s->N, 4) : NULL, *packed = NULL;
    memcpy(want, c, (size_t)s->M * ldc * sizeof *want);
    TinaProduct g = {.c = want, .ldc = ldc, .a = tina_matrix(a, lda, s->a_trans), .b = tina_matrix(b, ldb, s->b_trans),
                     .bias = bias,
                     .alpha = s->alpha, .M = s->M, .N = s->N, .K = s->K, .accumulate = s->accumulate};
    defined(&g);
    if (s->packed) { /* a weight w (N, K): B = w^T */
        float *w = malloc((size_t)s->N * s->K * sizeof *w + 1);
        for (int n = 0; n < s->N; n++)
            for (int k = 0; k < s->K; k++) w[(size_t)n * s->K + k] = at(&g.b, k, n);
        packed = aligned_alloc(64, (tina_gemm_packed_floats(s->N, s->K) * sizeof *packed + 127) / 64 * 64);
        tina_gemm_pack(packed, w, s->N, s->K, false);
        free(w);
    }
    int n_strips = (s->N + TINA_GEMM_STRIP - 1) / TINA_GEMM_STRIP;
    float **strips = s->listed ? calloc((size_t)n_strips, sizeof *strips) : NULL;
    for (int t = 0; strips && t < n_strips; t++) { /* strip t: columns 16 t .. 16 t + 15, k-major, 0 past N */
        strips[t] = calloc((size_t)s->K * TINA_GEMM_STRIP + 1, sizeof **strips);
        for (int k = 0; k < s->K; k++)
            for (int j = 0; j < TINA_GEMM_STRIP && t * TINA_GEMM_STRIP + j < s->N; j++)
                strips[t][(size_t)k * TINA_GEMM_STRIP + j] = at(&g.b, k, t * TINA_GEMM_STRIP + j);
    }
    g.c = c, g.packed = packed, g.strips = (const float *const *)strips;
    CHECK(tina_gemm(&g, 1, threads));
    for (int t = 0; strips && t < n_strips; t++) free(strips[t]);
    free(strips);
    bool same = true;
    for (int i = 0; i < s->M; i++) same &= memcmp(c + (size_t)i * ldc, want + (size_t)i * ldc, (size_t)s->N * 4) == 0;
    if (!same)
        fprintf(stderr, "    %s, %d threads: %d x %d x %d (trans %d %d, packed %d) differs from the definition\n",
                tina_gemm_kernel_name(), threads, s->M, s->N, s->K, s->a_trans, s->b_trans, s->packed + 2 * s->listed);
    CHECK(same);
    float *start = values((size_t)s->M * ldc, 3);
    for (int i = 0; i < s->M; i++)
        for (int j = 0; j < s->N; j++) {
            double exact = s->accumulate ? start[(size_t)i * ldc + j] : 0, scale = fabs(exact);
            for (int k = 0; k < s->K; k++) {
                double term = (double)(s->alpha * at(&g.a, i, k)) * at(&g.b, k, j);
                exact += term, scale += fabs(term);
            }
            if (bias) exact += bias[j], scale += fabs(bias[j]);
            /* a chain of K + 2 roundings is within (K + 2) 2^-24 of the terms' magnitude (Higham's gamma) */
            double bound = (s->K + 2) * ldexp(1.0, -24) * scale;
            if (scale > 0) *worst = fmax(*worst, fabs(c[(size_t)i * ldc + j] - exact) / bound);
        }
    free(start), free(a), free(b), free(c), free(want), free(bias), free(packed);
}

static void every_kernel_computes_the_defined_chain(void) {
    const char *names[] = {"generic", "avx2", "avx512"};
    TinaKernel was = tina_gemm_kernel();
    int kernels = 0;
    for (int kernel = TINA_KERNEL_GENERIC; kernel <= TINA_KERNEL_AVX512; kernel++) {
        if (!tina_gemm_use((TinaKernel)kernel)) continue;
        kernels++;
        double worst = 0;
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
            for (int threads = 1; threads <= 3; threads++) one_shape(&shapes[i], threads, &worst);
        CHECK(worst < 1);
        printf("note: gemm %s: every shape the defined bits; worst error %.2g of the rounding bound\n",
               names[kernel], worst);
    }
    CHECK(kernels >= 1);
    /* AVX-512's blocking (strips of 48, panels of 8, vectors of 16) on any processor: the generic kernel laid out so */
    tina_gemm_use_blocking(TINA_KERNEL_AVX512);
    double worst = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int threads = 1; threads <= 3; threads++) one_shape(&shapes[i], threads, &worst);
    CHECK(worst < 1);
    printf("note: gemm generic in avx512's blocking: every shape the defined bits\n");
    CHECK(tina_gemm_use(was));
}

/* Two products in one call (each by its own kernel path), and a product over K split into two accumulating calls:
 * the bits of one call over all of K. */
static void products_together_and_split_over_k(void) {
    int M = 37, N = 70, K = 600, K1 = 257;
    float *a = values((size_t)M * K, 9), *b = values((size_t)K * N, 10), *b2 = values((size_t)K * N, 11);
    float *whole = calloc((size_t)M * N, 4), *split = calloc((size_t)M * N, 4), *second = calloc((size_t)M * N, 4);
    float *alone = calloc((size_t)M * N, 4);
    TinaProduct g = {.c = whole, .ldc = (size_t)N, .a = tina_matrix(a, (size_t)K, false),
                     .b = tina_matrix(b, (size_t)N, false),
                     .alpha = 1, .M = M, .N = N, .K = K};
    TinaProduct pair[2] = {g, g};
    pair[1].c = second, pair[1].b.p = b2;
    CHECK(tina_gemm(pair, 2, 2));
    TinaProduct one = pair[1];
    one.c = alone;
    CHECK(tina_gemm(&one, 1, 3));
    CHECK(memcmp(second, alone, (size_t)M * N * 4) == 0);
    TinaProduct first_part = g, second_part = g;
    first_part.c = second_part.c = split;
    first_part.K = K1;
    second_part.K = K - K1, second_part.accumulate = true;
    second_part.a.p = a + K1, second_part.b.p = b + (size_t)K1 * N;
    CHECK(tina_gemm(&first_part, 1, 2) && tina_gemm(&second_part, 1, 1));
    CHECK(memcmp(split, whole, (size_t)M * N * 4) == 0);
    free(a), free(b), free(b2), free(whole), free(split), free(second), free(alone);
}

/* Products of unequal work in one call (threads share the work, not the count of units: a share's edge falls inside
 * a product, between products, or past a product without work; a call of over 2e8 multiply-adds ends in pieces the
 * threads take as they finish; a product split by rows with B unpacked has its B laid out by the threads together):
 * every output written once, with the bits of the product run alone. */
static void unequal_products_once(void) {
    enum { P = 6 };
    const int M[P] = {300, 300, 0, 300, 7, 1030}, N[P] = {512, 128, 64, 128, 900, 200};
    const int K[P] = {64, 64, 64, 0, 33, 1000};
    const bool b_trans[P] = {false, false, false, false, false, true};
    TinaProduct g[P];
    float *a[P], *b[P], *together[P], *alone[P];
    for (int i = 0; i < P; i++) {
        a[i] = values((size_t)M[i] * K[i] + 1, 20 + i), b[i] = values((size_t)K[i] * N[i] + 1, 30 + i);
        together[i] = malloc((size_t)M[i] * N[i] * 4 + 4), alone[i] = malloc((size_t)M[i] * N[i] * 4 + 4);
        g[i] = (TinaProduct){.c = together[i], .ldc = (size_t)N[i], .a = tina_matrix(a[i], (size_t)K[i], false),
                             .b = tina_matrix(b[i], (size_t)(b_trans[i] ? K[i] : N[i]), b_trans[i]), .alpha = 1,
                             .M = M[i], .N = N[i], .K = K[i]};
        TinaProduct one = g[i];
        one.c = alone[i];
        CHECK(tina_gemm(&one, 1, 1));
    }
    for (int threads = 1; threads <= 3; threads++) {
        for (int i = 0; i < P; i++)
            for (size_t j = 0; j < (size_t)M[i] * N[i]; j++) together[i][j] = NAN; /* unwritten shows */
        CHECK(tina_gemm(g, P, threads));
        for (int i = 0; i < P; i++) {
            size_t n = (size_t)M[i] * N[i];
            bool written = true;
            for (size_t j = 0; j < n; j++) written = written && !isnan(together[i][j]);
            CHECK(written);
            CHECK(memcmp(together[i], alone[i], n * 4) == 0);
        }
    }
    for (int i = 0; i < P; i++) free(a[i]), free(b[i]), free(together[i]), free(alone[i]);
}

/* by the kernel in use, then by the generic kernel in AVX-512's blocking */
static void unequal_products_together(void) {
    TinaKernel was = tina_gemm_kernel();
    unequal_products_once();
    tina_gemm_use_blocking(TINA_KERNEL_AVX512);
    unequal_products_once();
    CHECK(tina_gemm_use(was));
}

#ifdef __SANITIZE_ADDRESS__
/* Whether a product (12 x 16, K 64, B as one strip) whose operand `shorter` lacks its last float (a, b, c, or the bias
 * d; n: none) ends its process, run in a child with stderr silenced. One thread: no OpenMP in the child. */
static bool dies(char shorter) {
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        enum { M = 12, N = TINA_GEMM_STRIP, K = 64 };
        float *a = calloc(M * K - (shorter == 'a'), sizeof *a), *strip = calloc(N * K - (shorter == 'b'), sizeof *a);
        float *c = calloc(M * N - (shorter == 'c'), sizeof *c), *bias = calloc(N - (shorter == 'd'), sizeof *c);
        const float *strips[1] = {strip};
        TinaProduct g = {.c = c, .ldc = N, .a = tina_matrix(a, K, false), .strips = strips, .bias = bias,
                         .alpha = 1.0f, .M = M, .N = N, .K = K};
        tina_gemm(&g, 1, 1);
        _exit(0);
    }
    int status = 0;
    return pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}
#endif

/* Under AddressSanitizer the tiles run unchecked and gemm checks what each will touch before it runs: a product one
 * float short in any operand is still reported, with every kernel (the plain build has nothing to check). */
static void under_asan_an_operand_one_float_short_is_reported(void) {
#ifdef __SANITIZE_ADDRESS__
    TinaKernel was = tina_gemm_kernel();
    for (int kernel = TINA_KERNEL_GENERIC; kernel <= TINA_KERNEL_AVX512; kernel++) {
        if (!tina_gemm_use((TinaKernel)kernel)) continue;
        CHECK(!dies('n'));
        CHECK(dies('a') && dies('b') && dies('c') && dies('d'));
    }
    CHECK(tina_gemm_use(was));
#endif
}

RUN_TESTS("gemm", TEST(every_kernel_computes_the_defined_chain), TEST(products_together_and_split_over_k),
          TEST(unequal_products_together), TEST(under_asan_an_operand_one_float_short_is_reported))
