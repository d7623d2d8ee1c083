/* A layer's element-wise and row-wise operations and products, forward and backward, against the same computed here
 * in f64: rmsnorm, matmul (with a bias, and into the residual), swiglu, and their gradients. Where a model-level
 * parity check fails on a GPU, this says which operation. TINA_TEST_BACKEND names the backend (default cpu;
 * tests/gpu/run.sh and the emulator run it with cuda), whose activations and weights may be f32 or bf16: the inputs
 * are bf16 values either way, and the bound is 1e-5 of a row's scale for f32 activations, 1e-2 for bf16. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backend_values.h"
#include "base/rng.h"
#include "test.h"

enum { T = 5, C = 96, N = 80 };

static TinaBackend *backend;

/* n new bf16 values in [-range, range) from the stream */
static float *values(size_t n, uint64_t stream, float range) {
    float *x = malloc(n * sizeof *x);
    uniform_values(x, n, 13, stream, range, true);
    return x;
}

/* the backend's (rows, cols) activations at p against want, the worst error over each row's largest |want|;
 * p released */
static double error_of(const char *what, void *p, const double *want, int rows, int cols) {
    float *got = malloc((size_t)rows * cols * sizeof *got);
    download_values(backend, got, p, (size_t)rows * cols, backend->act_bytes);
    double worst = worst_row_error(got, want, rows, cols);
    printf("note: %s %s: worst error %.2e of a row's scale\n", backend->name, what, worst);
    free(got);
    backend->release(backend, p);
    return worst;
}

static void *activations(const float *x, size_t n) { return upload_values(backend, x, n, backend->act_bytes); }
static void *weights(const float *x, size_t n) { return upload_values(backend, x, n, backend->weight_bytes); }

static void forward_operations_match_f64(void) {
    double bound = backend->act_bytes == 4 ? 1e-5 : 1e-2, want[T * C > T * N ? T * C : T * N];
    float *x = values(T * C, 1, 2.0f), *w = values(C, 2, 1.0f), *mat = values((size_t)N * C, 3, 0.1f);
    float *bias = values(N, 4, 0.5f), *residual = values(T * N, 5, 1.0f), *up = values(T * C, 6, 1.0f);
    TinaError err;
    CHECK(backend->reserve(backend, T, 16, 16, 10000.0, &err) == TINA_OK);
    void *x_b = activations(x, T * C), *w_b = weights(w, C), *mat_b = weights(mat, (size_t)N * C);
    void *bias_b = weights(bias, N), *up_b = activations(up, T * C);

    void *out = backend->alloc(backend, (size_t)T * C * backend->act_bytes);
    backend->rmsnorm(backend, out, x_b, w_b, T, C, 1e-6f);
    for (int t = 0; t < T; t++) {
        double squares = 0;
        for (int c = 0; c < C; c++) squares += (double)x[t * C + c] * x[t * C + c];
        double rstd = 1 / sqrt(squares / C + 1e-6);
        for (int c = 0; c < C; c++) want[t * C + c] = x[t * C + c] * rstd * w[c];
    }
    CHECK(error_of("rmsnorm", out, want, T, C) < bound);

    out = backend->alloc(backend, (size_t)T * N * backend->act_bytes);
    backend->matmul(backend, out, x_b, mat_b, bias_b, T, C, N, false);
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double sum = bias[n];
            for (int c = 0; c < C; c++) sum += (double)x[t * C + c] * mat[(size_t)n * C + c];
            want[t * N + n] = sum;
        }
    CHECK(error_of("matmul with a bias", out, want, T, N) < bound);

    out = activations(residual, T * N);
    backend->matmul(backend, out, x_b, mat_b, NULL, T, C, N, true);
    for (int i = 0; i < T * N; i++) want[i] += residual[i] - bias[i % N];
    CHECK(error_of("matmul into the residual", out, want, T, N) < bound);

    out = backend->alloc(backend, (size_t)T * C * backend->act_bytes);
    backend->swiglu(backend, out, x_b, up_b, T, C);
    for (int i = 0; i < T * C; i++) want[i] = x[i] / (1 + exp(-(double)x[i])) * up[i];
    CHECK(error_of("swiglu", out, want, T, C) < bound);

    backend->release(backend, x_b), backend->release(backend, w_b), backend->release(backend, mat_b);
    backend->release(backend, bias_b), backend->release(backend, up_b);
    free(x), free(w), free(mat), free(bias), free(residual), free(up);
}

static void backward_operations_match_f64(void) {
    double bound = backend->act_bytes == 4 ? 1e-5 : 1e-2, want[T * C], want_up[T * C];
    float *x = values(T * C, 11, 2.0f), *w = values(C, 12, 1.0f), *dout = values(T * C, 13, 1.0f);
    float *mat = values((size_t)N * C, 14, 0.1f), *dn = values(T * N, 15, 1.0f), *prior = values(T * C, 16, 1.0f);
    float *up = values(T * C, 17, 1.0f);
    void *x_b = activations(x, T * C), *w_b = weights(w, C), *dout_b = activations(dout, T * C);
    void *mat_b = weights(mat, (size_t)N * C), *dn_b = activations(dn, T * N), *up_b = activations(up, T * C);

    void *dx = activations(prior, T * C);
    backend->rmsnorm_backward(backend, dx, x_b, w_b, dout_b, T, C, 1e-6f, true);
    for (int t = 0; t < T; t++) {
        double squares = 0, gx = 0;
        for (int c = 0; c < C; c++) {
            squares += (double)x[t * C + c] * x[t * C + c];
            gx += (double)dout[t * C + c] * w[c] * x[t * C + c];
        }
        double rstd = 1 / sqrt(squares / C + 1e-6);
        for (int c = 0; c < C; c++)
            want[t * C + c] = prior[t * C + c] + rstd * dout[t * C + c] * w[c] -
                              x[t * C + c] * rstd * rstd * rstd * gx / C;
    }
    CHECK(error_of("rmsnorm backward, accumulated", dx, want, T, C) < bound);

    void *din = activations(prior, T * C);
    backend->matmul_backward(backend, din, dn_b, mat_b, T, C, N, true);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            double sum = prior[t * C + c];
            for (int n = 0; n < N; n++) sum += (double)dn[t * N + n] * mat[(size_t)n * C + c];
            want[t * C + c] = sum;
        }
    CHECK(error_of("matmul backward, accumulated", din, want, T, C) < bound);

    void *dgate = backend->alloc(backend, (size_t)T * C * backend->act_bytes);
    void *dup = backend->alloc(backend, (size_t)T * C * backend->act_bytes);
    backend->swiglu_backward(backend, dgate, dup, x_b, up_b, dout_b, T, C);
    for (int i = 0; i < T * C; i++) {
        double g = x[i], sig = 1 / (1 + exp(-g));
        want[i] = dout[i] * up[i] * sig * (1 + g * (1 - sig));
        want_up[i] = dout[i] * g * sig;
    }
    CHECK(error_of("swiglu backward, gate", dgate, want, T, C) < bound);
    CHECK(error_of("swiglu backward, up", dup, want_up, T, C) < bound);

    backend->release(backend, x_b), backend->release(backend, w_b), backend->release(backend, dout_b);
    backend->release(backend, mat_b), backend->release(backend, dn_b), backend->release(backend, up_b);
    free(x), free(w), free(dout), free(mat), free(dn), free(prior), free(up);
}

/* Every operation of the seam, from alloc up to the optional recorded steps, is implemented: an operation added to
 * backend.h and not to a backend fails here rather than as a NULL call inside a model. */
static void every_operation_is_implemented(void) {
    typedef void (*Operation)(void);
    size_t first = offsetof(TinaBackend, alloc), optional = offsetof(TinaBackend, graph_begin), missing = 0;
    for (size_t at = first; at < optional; at += sizeof(Operation)) {
        Operation op;
        memcpy(&op, (const char *)backend + at, sizeof op);
        if (!op) printf("note: %s: operation %zu of the seam is NULL\n", backend->name, (at - first) / sizeof op);
        missing += !op;
    }
    CHECK(missing == 0);
    CHECK(backend->destroy != NULL);
}

int main(void) {
    static const TestCase tests[] = {TEST(every_operation_is_implemented), TEST(forward_operations_match_f64),
                                     TEST(backward_operations_match_f64)};
    return test_main_on_backend("test_backend_ops", tests, sizeof tests / sizeof tests[0], &backend);
}
