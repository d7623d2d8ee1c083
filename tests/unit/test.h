/* test.h: the unit tests' whole framework. A test is a function; CHECK records a failure and goes on; main runs a
 * table of tests and prints "NAME: N passed, M failed" (tests/run.sh adds those lines up). */
#ifndef TINA_TEST_H
#define TINA_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    void (*run)(void);
} TestCase;

static int test_failures; /* in the running test */

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);  \
            test_failures++;                                                              \
        }                                                                                 \
    } while (0)

#define CHECK_STR(got, want)                                                                         \
    do {                                                                                             \
        const char *got_ = (got), *want_ = (want);                                                   \
        if (!got_ || strcmp(got_, want_) != 0) {                                                     \
            fprintf(stderr, "    %s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,              \
                    got_ ? got_ : "(null)", want_);                                                  \
            test_failures++;                                                                         \
        }                                                                                            \
    } while (0)

#define CHECK_NEAR(got, want, tol)                                                                      \
    do {                                                                                                \
        double got_ = (got), want_ = (want);                                                            \
        if (!(fabs(got_ - want_) <= (tol))) {                                                           \
            fprintf(stderr, "    %s:%d: got %.17g, want %.17g (tolerance %g)\n", __FILE__, __LINE__, got_, \
                    want_, (double)(tol));                                                              \
            test_failures++;                                                                            \
        }                                                                                               \
    } while (0)

static int test_main(const char *suite, const TestCase *tests, size_t n) {
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        test_failures = 0;
        tests[i].run();
        if (test_failures) {
            fprintf(stderr, "FAIL %s: %s\n", suite, tests[i].name);
            failed++;
        } else {
            passed++;
        }
    }
    printf("%s: %d passed, %d failed\n", suite, passed, failed);
    return failed ? 1 : 0;
}

#define RUN_TESTS(suite, ...)                                                            \
    int main(void) {                                                                     \
        static const TestCase tests_[] = {__VA_ARGS__};                                  \
        return test_main(suite, tests_, sizeof tests_ / sizeof tests_[0]);               \
    }
#define TEST(fn) {#fn, fn}

#endif
