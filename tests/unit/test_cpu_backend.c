/* cpu_backend: the elementwise operations with a vectorised e^x (SwiGLU and its gradient) against the same formulas
 * in double precision, over the whole float range the exponent can meet, and each value's result independent of
 * where it sits in the array (the batch invariance the sampler relies on); the small products, through a loaded
 * weight's packed copy and through a matrix without one, against double sums, batch-invariant, and kept in step
 * with the weight when an adapter is merged into it or its memory is released and reused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/simd.h"
#include "backends/sampler.h"
#include "test.h"

enum { T = 7, I = 613 }; /* 4,291 values: 536 full vectors and a tail of 3 */

static TinaBackend *backend;

/* gate values from -100 to 100 (past both ends of e^x's clamp) and seeded up values in [-2, 2] */
static void inputs(float *gate, float *up, float *dact) {
    unsigned state = 12345;
    for (int i = 0; i < T * I; i++) {
        gate[i] = -100.0f + 200.0f * (float)i / (T * I - 1);
        state = state * 1103515245u + 12345u;
        up[i] = (float)((state >> 8) % 4001) / 1000.0f - 2.0f;
        dact[i] = (float)((state >> 4) % 2001) / 1000.0f - 1.0f;
    }
    gate[50] = 0.0f, gate[51] = 1e-30f, gate[52] = -0.5f, gate[53] = 88.5f, gate[54] = -88.5f;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* within a few float ulps of the double value, or absolutely tiny where the value is a subnormal or near it */
static bool close_to(float got, double want) { return fabs(got - want) <= 6e-7 * fabs(want) + 1e-36; }

static void swiglu_matches_double_formula(void) {
    float gate[T * I], up[T * I], dact[T * I], out[T * I];
    inputs(gate, up, dact);
    backend->swiglu(backend, out, gate, up, T, I);
    int bad = 0;
    for (int i = 0; i < T * I; i++)
        if (!close_to(out[i], gate[i] * sigmoid(gate[i]) * up[i])) {
            if (bad++ < 5) fprintf(stderr, "    silu(%g) * %g: got %.9g\n", gate[i], up[i], out[i]);
        }
    CHECK(bad == 0);
}

static void swiglu_backward_matches_double_formula(void) {
    float gate[T * I], up[T * I], dact[T * I], dgate[T * I], dup[T * I];
    inputs(gate, up, dact);
    backend->swiglu_backward(backend, dgate, dup, gate, up, dact, T, I);
    int bad = 0;
    for (int i = 0; i < T * I; i++) {
        double g = gate[i], s = sigmoid(g);
        double want_up = dact[i] * g * s, want_gate = dact[i] * up[i] * s * (1 + g * (1 - s));
        /* 1 - sigmoid(g) in float carries up to half an ulp of 1 (6e-8) absolutely, whatever computes it: the
         * formula itself (PyTorch's too) loses that much, times |g|, for large gates */
        double formula = fabs(dact[i] * up[i] * s * g) * 6e-8;
        if (!close_to(dup[i], want_up) || !(fabs(dgate[i] - want_gate) <= 6e-7 * fabs(want_gate) + formula + 1e-36)) {
            if (bad++ < 5) fprintf(stderr, "    at gate %g: got %.9g %.9g\n", gate[i], dgate[i], dup[i]);
        }
    }
    CHECK(bad == 0);
}

/* value i computed alone (an array of 1) and in the middle of the array round the same */
static void a_value_does_not_depend_on_its_neighbours(void) {
    float gate[T * I], up[T * I], dact[T * I], all[T * I];
    inputs(gate, up, dact);
    memcpy(all, gate, sizeof all);
    backend->swiglu(backend, all, all, up, T, I); /* in place, as the inference forward runs it */
    int differ = 0;
    for (int i = 0; i < T * I; i++) {
        float one = gate[i];
        backend->swiglu(backend, &one, &one, &up[i], 1, 1);
        differ += memcmp(&one, &all[i], sizeof one) != 0;
    }
    CHECK(differ == 0);
}

enum { PN = 40, PK = 24, PT = 9 }; /* a strip of 24 outputs, then two of 8 */

/* out (rows, PN) against sum_k in[t][k] w[n][k] + bias[n] in double: the worst difference relative to the sum of
 * the terms' magnitudes (what f32 rounding scales with: about 1e-7 a term) */
static double product_error(const float *out, const float *in, const float *w, const float *bias, int rows) {
    double worst = 0;
    for (int t = 0; t < rows; t++)
        for (int n = 0; n < PN; n++) {
            double want = bias[n], size = fabs(bias[n]);
            for (int k = 0; k < PK; k++) {
                want += (double)in[t * PK + k] * w[n * PK + k];
                size += fabs((double)in[t * PK + k] * w[n * PK + k]);
            }
            worst = fmax(worst, fabs(out[t * PN + n] - want) / size);
        }
    return worst;
}

/* every row count from 1 to PT gives each row the same bits as all PT rows together */
static bool batch_invariant(const void *w, const float *in, const float *bias) {
    float all[PT * PN], some[PT * PN];
    backend->matmul(backend, all, in, w, bias, PT, PK, PN, false);
    for (int rows = 1; rows < PT; rows++) {
        backend->matmul(backend, some, in, w, bias, rows, PK, PN, false);
        if (memcmp(some, all, (size_t)rows * PN * sizeof *some) != 0) return false;
    }
    return true;
}

static void small_products_match_double_sums_and_the_batch(void) {
    float host[PN * PK], in[PT * PK], bias[PN], delta[PN * PK], out[PT * PN];
    srand(3);
    for (int i = 0; i < PN * PK; i++) host[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < PN * PK; i++) delta[i] = 0.1f * host[(i * 7) % (PN * PK)];
    for (int i = 0; i < PT * PK; i++) in[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < PN; i++) bias[i] = (float)i / PN;
    TinaTensorInfo tensor = {.name = "w", .dtype = TINA_DTYPE_F32, .dtype_name = "F32", .ndim = 2, .shape = {PN, PK},
                             .numel = PN * PK, .data = host, .nbytes = sizeof host};
    TinaError err;
    void *w = backend->alloc(backend, sizeof host);
    CHECK(w && backend->load(backend, w, &tensor, &err) == TINA_OK);
    if (!w) return;
    backend->matmul(backend, out, in, w, bias, PT, PK, PN, false);
    CHECK(product_error(out, in, host, bias, PT) < 2e-6);    /* the packed copy's kernel */
    CHECK(batch_invariant(w, in, bias));
    backend->matmul(backend, out, in, host, bias, PT, PK, PN, false);
    CHECK(product_error(out, in, host, bias, PT) < 2e-6);    /* a matrix without a copy: dot products */
    CHECK(batch_invariant(host, in, bias));
    /* merging: the copy follows the weight */
    backend->weights_add(backend, w, delta, PN * PK);
    for (int i = 0; i < PN * PK; i++) host[i] += delta[i];
    backend->matmul(backend, out, in, w, bias, PT, PK, PN, false);
    CHECK(product_error(out, in, host, bias, PT) < 2e-6);
    /* released, and other values loaded where it was: no copy of the old values is read */
    backend->release(backend, w);
    for (int i = 0; i < PN * PK; i++) host[i] = -host[i];
    void *again = backend->alloc(backend, sizeof host);
    CHECK(again && backend->load(backend, again, &tensor, &err) == TINA_OK);
    backend->matmul(backend, out, in, again, bias, PT, PK, PN, false);
    CHECK(product_error(out, in, host, bias, PT) < 2e-6);
    backend->release(backend, again);
}

/* out (T, Hq, D) = the training attention of two sequences of 37 and 20 tokens (rows that see 1 to 37 keys: every
 * length of a softmax's tail), a NaN key in the second sequence: its later rows' softmax meets a NaN score, whose
 * effect on the maximum depends on the order it is taken in (a one-number reduction over sixteen lanes differed) */
static void attention_rows(TinaBackend *b, float *out) {
    enum { S = 2, Hq = 4, Hkv = 2, D = 16, TT = 57 };
    static float q[TT * Hq * D], k[TT * Hkv * D], v[TT * Hkv * D];
    for (int i = 0; i < TT * Hq * D; i++) q[i] = sinf(0.37f * (float)i);
    for (int i = 0; i < TT * Hkv * D; i++) k[i] = cosf(0.11f * (float)i), v[i] = sinf(0.05f * (float)i);
    k[(37 + 5) * Hkv * D + 3] = NAN;
    int32_t slot[S] = {0, 1}, n_past[S] = {0, 0}, n_new[S] = {37, 20}, first[S] = {0, 37}, tokens[TT], positions[TT];
    for (int t = 0; t < TT; t++) tokens[t] = 0, positions[t] = t < 37 ? t : t - 37;
    TinaBatch batch = {S, slot, n_past, n_new, first, TT, tokens, positions};
    TinaError err;
    CHECK(b->reserve(b, TT, 37, D, 10000.0, &err) == TINA_OK);
    b->self_attention(b, out, q, k, v, &batch, Hq, Hkv, D);
}

/* SwiGLU, its backward, the attention's softmax (through the training attention, a NaN score among them) and the
 * sampler's sum of exponentials (through the drawn token's log-prob), AVX-512 against AVX2, bit for bit, at every
 * length of tail: the byte-stability across CPUs that tina(7) promises rests on it. */
static void every_vector_width_gives_the_same_bits(void) {
    TinaKernel was = tina_gemm_kernel();
    if (!tina_gemm_use(TINA_KERNEL_AVX512)) {
        printf("note: cpu_backend: this processor has no AVX-512: widths not compared\n");
        return;
    }
    enum { N = T * I };
    static float gate[N], up[N], dact[N], out[2][N], dgate[2][N], dup[2][N];
    inputs(gate, up, dact);
    static const int lengths[] = {1, 5, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, N};
    static float attention[2][57 * 4 * 16];
    double logprob[2];
    TinaSampler *sampler = NULL;
    TinaError err;
    CHECK(tina_sampler_new(N, &sampler, &err) == TINA_OK);
    for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
        int n = lengths[l];
        TinaSamplerParams params = {.temperature = 0.7, .top_p = 1.0, .n_valid = n};
        for (int w = 0; w < 2; w++) {
            TinaBackend *b = NULL;
            CHECK(tina_gemm_use(w ? TINA_KERNEL_AVX2 : TINA_KERNEL_AVX512));
            CHECK(tina_cpu_backend_new(2, &b, &err) == TINA_OK);
            b->swiglu(b, out[w], gate + N - n, up, 1, n); /* the gates' far end: e^x clamped both ways */
            b->swiglu_backward(b, dgate[w], dup[w], gate + N - n, up, dact, 1, n);
            CHECK(tina_sampler_draw(sampler, up, &params, 0.5, &logprob[w]) >= 0);
            if (l == 0) attention_rows(b, attention[w]);
            b->destroy(b);
        }
        bool same = memcmp(out[0], out[1], (size_t)n * sizeof(float)) == 0 &&
                    memcmp(dgate[0], dgate[1], (size_t)n * sizeof(float)) == 0 &&
                    memcmp(dup[0], dup[1], (size_t)n * sizeof(float)) == 0 &&
                    memcmp(&logprob[0], &logprob[1], sizeof(double)) == 0;
        if (!same) printf("    length %d: AVX-512 and AVX2 differ\n", n);
        CHECK(same);
    }
    CHECK(memcmp(attention[0], attention[1], sizeof attention[0]) == 0);
    tina_sampler_free(sampler);
    CHECK(tina_gemm_use(was));
}

/* simd.h's e^x in double (the log-sum-exps' and log-probs'): four lanes and the plain C twin the same bits for every
 * input, within 4 ulp of the C library's e^x over the range it keeps ([-708, 708]), clamped past it, NaN kept; and
 * the log-probs and their backward the same bits through the generic kernel (plain C) and AVX2 */
__attribute__((target("avx2,fma"))) static void exp4d_of(double lanes[4], double a, double b, double c, double d) {
    _mm256_storeu_pd(lanes, exp4d(_mm256_setr_pd(a, b, c, d)));
}

static void double_exp_is_one_function_everywhere(void) {
    if (tina_gemm_kernel() == TINA_KERNEL_GENERIC) {
        printf("note: cpu_backend: this processor has no AVX2: exp4d not compared\n");
        return;
    }
    enum { N = 400000 };
    double worst = 0;
    bool same = true;
    for (int i = 0; i <= N; i++) { /* every 0.0036 over [-720, 720], then densely over [-40, 1] */
        double x = i < N / 2 ? -720.0 + 1440.0 * i / (N / 2) : -40.0 + 41.0 * (i - N / 2) / (N / 2);
        double lanes[4];
        exp4d_of(lanes, x, -x, x * 0.5, x); /* each lane its own value's bits */
        same = same && memcmp(&lanes[0], &(double){exp1d(x)}, sizeof(double)) == 0 &&
               memcmp(&lanes[1], &(double){exp1d(-x)}, sizeof(double)) == 0 &&
               memcmp(&lanes[2], &(double){exp1d(x * 0.5)}, sizeof(double)) == 0 &&
               memcmp(&lanes[3], &lanes[0], sizeof(double)) == 0;
        double want = exp(x < -708 ? -708 : x > 708 ? 708 : x);
        worst = fmax(worst, fabs(lanes[0] - want) / want / 0x1p-52);
    }
    printf("note: cpu_backend: exp4d within %.2f ulp of the C library's e^x\n", worst);
    CHECK(same && worst <= 4);
    CHECK(exp1d(0) == 1 && isnan(exp1d(NAN)) && exp1d(-INFINITY) == exp1d(-708) && exp1d(-708) > 0);

    enum { LT = 32, LC = 16, LV = 1003 }; /* a vocabulary of 250 fours and a tail of 3 */
    float *h = malloc(LT * LC * sizeof *h), *head = malloc((size_t)LV * LC * sizeof *head), out[2][LT], dlogp[LT];
    float *dh = malloc(2 * LT * LC * sizeof *dh);
    double lse[2][LT];
    int32_t targets[LT];
    for (int t = 0; t < LT; t++) targets[t] = t * 31 % LV, dlogp[t] = (float)(t % 7) - 3.0f;
    for (int i = 0; i < LT * LC; i++) h[i] = (float)((i * 37 % 101) - 50) / 300.0f; /* logits within 1 */
    for (int i = 0; i < LV * LC; i++) head[i] = (float)((i * 53 % 97) - 48) / 150.0f;
    TinaKernel was = tina_gemm_kernel();
    TinaError err;
    for (int w = 0; w < 2; w++) {
        TinaBackend *b = NULL;
        CHECK(tina_gemm_use(w ? TINA_KERNEL_AVX2 : TINA_KERNEL_GENERIC));
        CHECK(tina_cpu_backend_new(1, &b, &err) == TINA_OK && b->reserve(b, LT, LT, 16, 1e4, &err) == TINA_OK);
        memset(dh + w * LT * LC, 0, LT * LC * sizeof *dh);
        b->logprobs(b, out[w], h, head, targets, LT, LC, LV, lse[w]);
        b->logprobs_backward(b, dh + w * LT * LC, h, head, targets, dlogp, LT, LC, LV, lse[w]);
        b->destroy(b);
    }
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0 && memcmp(lse[0], lse[1], sizeof lse[0]) == 0);
    CHECK(memcmp(dh, dh + LT * LC, LT * LC * sizeof *dh) == 0);
    CHECK(tina_gemm_use(was));
    free(h), free(head), free(dh);
}

int main(void) {
    TinaError err;
    if (tina_cpu_backend_new(2, &backend, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    static const TestCase tests[] = {
        TEST(swiglu_matches_double_formula),
        TEST(swiglu_backward_matches_double_formula),
        TEST(a_value_does_not_depend_on_its_neighbours),
        TEST(small_products_match_double_sums_and_the_batch),
        TEST(every_vector_width_gives_the_same_bits),
        TEST(double_exp_is_one_function_everywhere),
    };
    int status = test_main("cpu_backend", tests, sizeof tests / sizeof *tests);
    backend->destroy(backend);
    return status;
}
