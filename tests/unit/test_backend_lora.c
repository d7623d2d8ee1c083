/* The backend's adapter ops (lora: out += scale * (in @ a^T) @ bm^T, z = in @ a^T kept; loras: two or three of them
 * on one input) against the same computed here in f64, for a decode step's few rows and a prefill's many (a GPU takes two kernels for the one, cuBLAS's f32
 * products for the other; 64 rows is where it switches), ranks 4 to 32. TINA_TEST_BACKEND names the backend (default
 * cpu; tests/gpu/run.sh and the emulator run it with cuda), whose activations may be f32 or bf16: the inputs are bf16
 * values either way, and the bound is 1e-5 of a row's scale for f32, 1e-2 for bf16 (its rounding is 2^-9). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "backends/backend.h"
#include "backend_values.h"
#include "base/rng.h"
#include "test.h"

static TinaBackend *backend;

/* One call of T rows, K inputs, rank r, for n adapters of the one input with N[i] outputs each: lora for one (n 0),
 * loras for n, each output then added into a residual stream when `into`; the worst error of the outputs, the
 * residual streams and z */
static double adapters(int n, int T, int K, const int *N, int r, bool into) {
    bool grouped = n > 0;
    n = grouped ? n : 1;
    size_t bytes = backend->act_bytes, in_n = (size_t)T * K, z_n = (size_t)n * T * r;
    float *in = malloc(in_n * sizeof *in), *z = malloc(z_n * sizeof *z);
    double *want_z = malloc(z_n * sizeof *want_z), worst = 0;
    uint64_t stream = (uint64_t)(T * 1000 + r) * 8 + (uint64_t)n;
    uniform_values(in, in_n, 11, 16 * stream, 1.0f, true);
    void *in_b = upload_values(backend, in, in_n, bytes), *z_b = backend->alloc(backend, z_n * bytes), *out_b[3];
    void *residual_b[3];
    float *out[3], *a[3], *bm[3], *a_b[3], *bm_b[3], *residual[3];
    double *want_out[3], *want_residual[3];
    float scale = 2.0f;
    for (int i = 0; i < n; i++) {
        size_t out_n = (size_t)T * N[i];
        out[i] = malloc(out_n * sizeof *out[i]), want_out[i] = malloc(out_n * sizeof *want_out[i]);
        a[i] = malloc((size_t)r * K * sizeof *a[i]), bm[i] = malloc((size_t)N[i] * r * sizeof *bm[i]);
        uniform_values(out[i], out_n, 11, 16 * stream + 3 * i + 1, 1.0f, true);
        uniform_values(a[i], (size_t)r * K, 11, 16 * stream + 3 * i + 2, 0.1f, false);
        uniform_values(bm[i], (size_t)N[i] * r, 11, 16 * stream + 3 * i + 3, 0.1f, false);
        residual[i] = malloc(out_n * sizeof *residual[i]), want_residual[i] = malloc(out_n * sizeof *want_residual[i]);
        uniform_values(residual[i], out_n, 11, 16 * stream + 3 * i + 10, 1.0f, true);
        for (int t = 0; t < T; t++) {
            double *zt = want_z + ((size_t)i * T + t) * r;
            for (int j = 0; j < r; j++) {
                double sum = 0;
                for (int k = 0; k < K; k++) sum += (double)in[(size_t)t * K + k] * a[i][(size_t)j * K + k];
                zt[j] = sum;
            }
            for (int o = 0; o < N[i]; o++) {
                double sum = 0;
                for (int j = 0; j < r; j++) sum += zt[j] * bm[i][(size_t)o * r + j];
                size_t at = (size_t)t * N[i] + o;
                want_out[i][at] = out[i][at] + scale * sum;
                want_residual[i][at] = residual[i][at] + want_out[i][at];
            }
        }
        out_b[i] = upload_values(backend, out[i], out_n, bytes);
        residual_b[i] = upload_values(backend, residual[i], out_n, bytes);
        a_b[i] = upload_values(backend, a[i], (size_t)r * K, 4), bm_b[i] = upload_values(backend, bm[i], (size_t)N[i] * r, 4);
    }
    if (grouped) backend->loras(backend, n, out_b, in_b, (const float *const *)a_b, (const float *const *)bm_b, z_b, T,
                                K, N, r, scale, into ? residual_b : NULL);
    else backend->lora(backend, out_b[0], in_b, a_b[0], bm_b[0], z_b, T, K, N[0], r, scale);
    TinaError err;
    CHECK(backend->check(backend, &err) == TINA_OK);
    download_values(backend, z, z_b, z_n, bytes);
    worst = worst_row_error(z, want_z, n * T, r);
    for (int i = 0; i < n; i++) {
        download_values(backend, out[i], out_b[i], (size_t)T * N[i], bytes);
        worst = fmax(worst, worst_row_error(out[i], want_out[i], T, N[i]));
        download_values(backend, residual[i], residual_b[i], (size_t)T * N[i], bytes);
        if (into) worst = fmax(worst, worst_row_error(residual[i], want_residual[i], T, N[i]));
        backend->release(backend, out_b[i]), backend->release(backend, a_b[i]), backend->release(backend, bm_b[i]);
        backend->release(backend, residual_b[i]);
        free(out[i]), free(want_out[i]), free(a[i]), free(bm[i]), free(residual[i]), free(want_residual[i]);
    }
    printf("note: %s %s%s, %d rows, rank %d: worst error %.2e of a row's scale\n", backend->name,
           grouped ? (n == 1 ? "loras of 1" : n == 3 ? "loras of 3" : "loras of 2") : "lora",
           into ? " into the residual" : "", T, r, worst);
    backend->release(backend, in_b), backend->release(backend, z_b);
    free(in), free(z), free(want_z);
    return worst;
}

static void the_adapter_matches_f64_for_few_rows_and_many(void) {
    double bound = backend->act_bytes == 4 ? 1e-5 : 1e-2;
    CHECK(adapters(0, 1, 96, (const int[]){80}, 8, false) < bound);    /* a decode step of one sequence */
    CHECK(adapters(0, 7, 96, (const int[]){80}, 4, false) < bound);
    CHECK(adapters(0, 64, 160, (const int[]){48}, 32, false) < bound); /* the most rows of the GPU's two kernels */
    CHECK(adapters(0, 65, 160, (const int[]){48}, 32, false) < bound); /* the fewest of its cuBLAS products */
    CHECK(adapters(0, 150, 96, (const int[]){80}, 16, false) < bound); /* a prefill */
}

/* q, k and v's adapters (outputs of different widths), and gate and up's, at once: one pair of kernels on a GPU for
 * few rows, each through cuBLAS for many */
static void the_adapters_of_one_input_match_f64_together(void) {
    double bound = backend->act_bytes == 4 ? 1e-5 : 1e-2;
    CHECK(adapters(3, 1, 96, (const int[]){96, 32, 32}, 8, false) < bound);
    CHECK(adapters(3, 64, 96, (const int[]){96, 32, 32}, 32, false) < bound);
    CHECK(adapters(2, 5, 64, (const int[]){160, 160}, 16, false) < bound);
    CHECK(adapters(3, 65, 96, (const int[]){96, 32, 32}, 8, false) < bound);
}

/* o's or down's adapter, its module's output then added into the residual stream: in the up kernel on a GPU for few
 * rows, an add after cuBLAS for many */
static void an_adapters_output_goes_into_the_residual_stream(void) {
    double bound = backend->act_bytes == 4 ? 1e-5 : 1e-2;
    CHECK(adapters(1, 1, 96, (const int[]){80}, 8, true) < bound);
    CHECK(adapters(1, 64, 160, (const int[]){48}, 32, true) < bound);
    CHECK(adapters(1, 65, 160, (const int[]){48}, 32, true) < bound);
    CHECK(adapters(2, 3, 64, (const int[]){96, 32}, 16, true) < bound);
}

int main(void) {
    static const TestCase tests[] = {TEST(the_adapter_matches_f64_for_few_rows_and_many),
                                     TEST(the_adapters_of_one_input_match_f64_together),
                                     TEST(an_adapters_output_goes_into_the_residual_stream)};
    return test_main_on_backend("test_backend_lora", tests, sizeof tests / sizeof tests[0], &backend);
}
