/* score: pass@k against values worked out by hand from C(n - c, k) / C(n, k), and the bootstrap's behaviour. */
#include "verify/score.h"
#include "test.h"

static void pass_at_k_is_one_minus_the_chance_of_all_wrong(void) {
    /* n 4, c 2, k 2: 1 - C(2,2)/C(4,2) = 1 - 1/6 */
    CHECK_NEAR(tina_pass_at_k(4, 2, 2), 5.0 / 6.0, 1e-15);
    /* k 1 is c / n */
    CHECK_NEAR(tina_pass_at_k(16, 5, 1), 5.0 / 16.0, 1e-15);
    /* n 10, c 3, k 4: 1 - C(7,4)/C(10,4) = 1 - 35/210 */
    CHECK_NEAR(tina_pass_at_k(10, 3, 4), 1.0 - 35.0 / 210.0, 1e-15);
    CHECK(tina_pass_at_k(4, 0, 2) == 0);
    CHECK(tina_pass_at_k(4, 3, 2) == 1); /* fewer than k wrong: always a right one */
    CHECK(isnan(tina_pass_at_k(2, 1, 4)));
    /* large n stays finite: n 1024, c 1, k 64 = 64 / 1024 */
    CHECK_NEAR(tina_pass_at_k(1024, 1, 64), 64.0 / 1024.0, 1e-12);
}

static void bootstrap_brackets_the_mean_and_repeats_with_its_seed(void) {
    double values[] = {0, 0.25, 0.5, 1, 1, 0, 0.75, 0.5, 1, 0};
    double low, high, low2, high2;
    tina_bootstrap_mean(values, 10, 1000, 7, &low, &high);
    CHECK(low < 0.5 && 0.5 < high);              /* the mean is 0.5 */
    CHECK(low >= 0 && high <= 1 && high - low > 0.2 && high - low < 0.8);
    tina_bootstrap_mean(values, 10, 1000, 7, &low2, &high2);
    CHECK(low == low2 && high == high2);
    double same[] = {0.5, 0.5, 0.5};
    tina_bootstrap_mean(same, 3, 100, 1, &low, &high);
    CHECK(low == 0.5 && high == 0.5);
}

int main(void) {
    static const TestCase tests[] = {
        {"pass_at_k_is_one_minus_the_chance_of_all_wrong", pass_at_k_is_one_minus_the_chance_of_all_wrong},
        {"bootstrap_brackets_the_mean_and_repeats_with_its_seed", bootstrap_brackets_the_mean_and_repeats_with_its_seed},
    };
    return test_main("score", tests, sizeof tests / sizeof *tests);
}
