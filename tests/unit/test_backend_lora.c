/* The backend's adapter op (lora: out += scale * (in @ a^T) @ bm^T, z = in @ a^T kept) against the same computed
 * here in f64, for a decode step's few rows and a prefill's many (a GPU takes two kernels for the one, cuBLAS's f32
 * products for the other; 64 rows is where it switches), ranks 4 to 32. TINA_TEST_BACKEND names the backend (default
 * cpu; tests/gpu/run.sh and the emulator run it with cuda), whose activations may be f32 or bf16: the inputs are bf16
 * values either way, and the bound is 1e-5 of a row's scale for f32, 1e-2 for bf16 (its rounding is 2^-9). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "backend.h"
#include "backend_values.h"
#include "rng.h"
#include "test.h"

static TinaBackend *backend;

/* One call of T rows, K inputs, N outputs, rank r: the worst error of out and of z */
static double adapter(int T, int K, int N, int r) {
    size_t bytes = backend->act_bytes, in_n = (size_t)T * K, out_n = (size_t)T * N, z_n = (size_t)T * r;
    float *in = malloc(in_n * sizeof *in), *a = malloc((size_t)r * K * sizeof *a);
    float *bm = malloc((size_t)N * r * sizeof *bm), *out = malloc(out_n * sizeof *out), *z = malloc(z_n * sizeof *z);
    double *want_out = malloc(out_n * sizeof *want_out), *want_z = malloc(z_n * sizeof *want_z);
    uint64_t stream = (uint64_t)(T * 1000 + r);
    uniform_values(in, in_n, 11, 4 * stream, 1.0f, true), uniform_values(out, out_n, 11, 4 * stream + 1, 1.0f, true);
    uniform_values(a, (size_t)r * K, 11, 4 * stream + 2, 0.1f, false);
    uniform_values(bm, (size_t)N * r, 11, 4 * stream + 3, 0.1f, false);
    float scale = 2.0f;
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < r; j++) {
            double sum = 0;
            for (int k = 0; k < K; k++) sum += (double)in[(size_t)t * K + k] * a[(size_t)j * K + k];
            want_z[(size_t)t * r + j] = sum;
        }
        for (int n = 0; n < N; n++) {
            double sum = 0;
            for (int j = 0; j < r; j++) sum += want_z[(size_t)t * r + j] * bm[(size_t)n * r + j];
            want_out[(size_t)t * N + n] = out[(size_t)t * N + n] + scale * sum;
        }
    }
    void *in_b = upload_values(backend, in, in_n, bytes), *out_b = upload_values(backend, out, out_n, bytes);
    void *z_b = backend->alloc(backend, z_n * bytes);
    float *a_b = upload_values(backend, a, (size_t)r * K, 4), *bm_b = upload_values(backend, bm, (size_t)N * r, 4);
    backend->lora(backend, out_b, in_b, a_b, bm_b, z_b, T, K, N, r, scale);
    TinaError err;
    CHECK(backend->check(backend, &err) == TINA_OK);
    download_values(backend, out, out_b, out_n, bytes);
    download_values(backend, z, z_b, z_n, bytes);
    double worst = fmax(worst_row_error(out, want_out, T, N), worst_row_error(z, want_z, T, r));
    printf("note: %s lora, %d rows, rank %d: worst error %.2e of a row's scale\n", backend->name, T, r, worst);
    backend->release(backend, in_b), backend->release(backend, out_b), backend->release(backend, z_b);
    backend->release(backend, a_b), backend->release(backend, bm_b);
    free(in), free(a), free(bm), free(out), free(z), free(want_out), free(want_z);
    return worst;
}

static void the_adapter_matches_f64_for_few_rows_and_many(void) {
    double bound = backend->act_bytes == 4 ? 1e-5 : 1e-2;
    CHECK(adapter(1, 96, 80, 8) < bound);    /* a decode step of one sequence */
    CHECK(adapter(7, 96, 80, 4) < bound);
    CHECK(adapter(64, 160, 48, 32) < bound); /* the most rows of the GPU's two kernels */
    CHECK(adapter(65, 160, 48, 32) < bound); /* the fewest of its cuBLAS products */
    CHECK(adapter(150, 96, 80, 16) < bound); /* a prefill */
}

int main(void) {
    static const TestCase tests[] = {TEST(the_adapter_matches_f64_for_few_rows_and_many)};
    return test_main_on_backend("test_backend_lora", tests, sizeof tests / sizeof tests[0], &backend);
}
