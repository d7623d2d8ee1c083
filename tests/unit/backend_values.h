/* backend_values: what the backend-generic tests (TINA_TEST_BACKEND) share: values rounded to bf16, host f32
 * values to and from a backend's storage of 4 (f32) or 2 (bf16) bytes a value (the tests' values are bf16 already,
 * so that either storage holds them exactly), and their main. */
#ifndef TINA_TEST_BACKEND_VALUES_H
#define TINA_TEST_BACKEND_VALUES_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "base/rng.h"
#include "test.h"

/* x rounded to bf16 (nearest, ties to even), as f32 */
static inline float round_bf16(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000u;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* x (n) = values in [-range, range) from the counter-based stream (seed, stream), rounded to bf16 when bf16 */
static inline void uniform_values(float *x, size_t n, uint64_t seed, uint64_t stream, float range, bool bf16) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(range * (2 * tina_rng_uniform(seed, stream, i) - 1));
        if (bf16) x[i] = round_bf16(x[i]);
    }
}

/* n values copied into new backend memory of `bytes` a value (NULL when out of memory) */
static inline void *upload_values(TinaBackend *b, const float *x, size_t n, size_t bytes) {
    void *p = b->alloc(b, n * bytes);
    char *host = malloc(n * bytes);
    if (p && host) {
        for (size_t i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, &x[i], sizeof bits);
            if (bytes == 4) memcpy(host + 4 * i, &bits, 4);
            else ((uint16_t *)host)[i] = (uint16_t)(bits >> 16);
        }
        b->upload(b, p, host, n * bytes);
    }
    free(host);
    return p;
}

/* x (n) = the backend's values at src, `bytes` each */
static inline void download_values(TinaBackend *b, float *x, const void *src, size_t n, size_t bytes) {
    char *host = malloc(n * bytes);
    if (!host) return;
    b->download(b, host, src, n * bytes);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = 0;
        if (bytes == 4) memcpy(&bits, host + 4 * i, 4);
        else bits = (uint32_t)((uint16_t *)host)[i] << 16;
        memcpy(&x[i], &bits, sizeof bits);
    }
    free(host);
}

/* the worst |got - want| of (rows, cols) values over each row's largest |want| (at least 1e-3) */
static inline double worst_row_error(const float *got, const double *want, int rows, int cols) {
    double worst = 0;
    for (int t = 0; t < rows; t++) {
        double scale = 1e-3, error = 0;
        for (int i = 0; i < cols; i++) {
            scale = fmax(scale, fabs(want[(size_t)t * cols + i]));
            error = fmax(error, fabs(got[(size_t)t * cols + i] - want[(size_t)t * cols + i]));
        }
        worst = fmax(worst, error / scale);
    }
    return worst;
}

/* The suite's tests on the backend TINA_TEST_BACKEND names (cpu when unset, 2 threads), held in *backend while they
 * run: test_main's status, or 1 (and why) when there is no such backend */
static inline int test_main_on_backend(const char *suite, const TestCase *tests, size_t n, TinaBackend **backend) {
    const char *name = getenv("TINA_TEST_BACKEND");
    TinaError err;
    if (tina_backend_new(name && *name ? name : "cpu", 2, backend, &err)) {
        fprintf(stderr, "%s: %s\n", suite, err.message);
        return 1;
    }
    int status = test_main(suite, tests, n);
    (*backend)->destroy(*backend);
    return status;
}

#endif
