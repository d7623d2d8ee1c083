/* cpu_backend: the elementwise operations with a vectorised e^x (SwiGLU and its gradient) against the same formulas
 * in double precision, over the whole float range the exponent can meet, and each value's result independent of
 * where it sits in the array (the batch invariance the sampler relies on). */
#include <stdlib.h>

#include "backend.h"
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
    };
    int status = test_main("cpu_backend", tests, sizeof tests / sizeof *tests);
    backend->destroy(backend);
    return status;
}
