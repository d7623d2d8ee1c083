/* grpo: group-relative advantages, checked against values worked out by hand. */
#include "train/grpo.h"
#include "base/stats.h"
#include "test.h"

enum { G_MAX = 8 };

static void advantages(const double *rewards, const bool *usable, int G, TinaAdvantageScale scale,
                       double batch_std, double eps, double *out) {
    TinaGroupStats stats = tina_grpo_group_stats(rewards, usable, G);
    tina_grpo_advantages(rewards, usable, G, &stats, scale, batch_std, eps, out);
}

/* rewards 0, 2, 4: mean 2, Bessel variance (4 + 0 + 4) / 2 = 4, std 2 */
static void group_scale_divides_by_the_bessel_std_plus_eps(void) {
    const double r[] = {0, 2, 4};
    const bool u[] = {1, 1, 1};
    double a[3];
    advantages(r, u, 3, TINA_SCALE_GROUP, 0, 0, a);
    CHECK(a[0] == -1 && a[1] == 0 && a[2] == 1);
    advantages(r, u, 3, TINA_SCALE_GROUP, 0, 1e-4, a);
    CHECK_NEAR(a[0], -2 / 2.0001, 1e-15);
    CHECK_NEAR(a[2], 2 / 2.0001, 1e-15);
}

/* rewards 1, 0, 0, 1: mean 1/2, variance (4 * 1/4) / 3 = 1/3 */
static void binary_rewards_give_plus_minus_half_over_std(void) {
    const double r[] = {1, 0, 0, 1};
    const bool u[] = {1, 1, 1, 1};
    double a[4];
    advantages(r, u, 4, TINA_SCALE_GROUP, 0, 1e-4, a);
    double want = 0.5 / (sqrt(1.0 / 3.0) + 1e-4);
    CHECK_NEAR(a[0], want, 1e-15);
    CHECK_NEAR(a[1], -want, 1e-15);
}

/* 1, null, 0: statistics over {1, 0}: mean 1/2, std sqrt(1/2); the null gets 0 */
static void null_rewards_get_zero_and_stay_out_of_the_statistics(void) {
    const double r[] = {1, 0, 0};
    const bool u[] = {1, 0, 1};
    double a[3];
    advantages(r, u, 3, TINA_SCALE_GROUP, 0, 0, a);
    CHECK_NEAR(a[0], 0.5 / sqrt(0.5), 1e-15);
    CHECK(a[1] == 0);
    CHECK_NEAR(a[2], -0.5 / sqrt(0.5), 1e-15);
}

static void flat_groups_give_exact_zeros(void) {
    const double r[] = {0.1, 0.1, 0.1}; /* their float mean is 0.10000000000000002: zeros must not depend on it */
    const bool all[] = {1, 1, 1}, one[] = {0, 1, 0};
    double a[3] = {9, 9, 9};
    advantages(r, all, 3, TINA_SCALE_GROUP, 0, 1e-4, a);
    CHECK(a[0] == 0 && a[1] == 0 && a[2] == 0);
    const double r2[] = {5, 1, 7};
    TinaGroupStats stats = tina_grpo_group_stats(r2, one, 3);
    CHECK(stats.usable == 1 && tina_grpo_group_is_flat(&stats));
    advantages(r2, one, 3, TINA_SCALE_GROUP, 0, 1e-4, a);
    CHECK(a[0] == 0 && a[1] == 0 && a[2] == 0);
}

static void batch_scale_uses_the_batch_std_and_none_only_centres(void) {
    const double r[] = {0, 2, 4};
    const bool u[] = {1, 1, 1};
    double a[3];
    advantages(r, u, 3, TINA_SCALE_BATCH, 4, 0, a);
    CHECK(a[0] == -0.5 && a[1] == 0 && a[2] == 0.5);
    advantages(r, u, 3, TINA_SCALE_NONE, 123, 1e-4, a);
    CHECK(a[0] == -2 && a[1] == 0 && a[2] == 2);
}

static void running_stats_match_the_two_pass_formula(void) {
    TinaRunningStats s = {0};
    for (int i = 1; i <= 10; i++) tina_stats_add(&s, i);
    CHECK_NEAR(s.mean, 5.5, 1e-15);
    CHECK_NEAR(tina_stats_std(&s), sqrt(82.5 / 9.0), 1e-14); /* sum of squared deviations of 1..10 is 82.5 */
    TinaRunningStats one = {0};
    tina_stats_add(&one, 3);
    CHECK(tina_stats_std(&one) == 0);
}

RUN_TESTS("test_grpo", TEST(group_scale_divides_by_the_bessel_std_plus_eps),
          TEST(binary_rewards_give_plus_minus_half_over_std),
          TEST(null_rewards_get_zero_and_stay_out_of_the_statistics), TEST(flat_groups_give_exact_zeros),
          TEST(batch_scale_uses_the_batch_std_and_none_only_centres),
          TEST(running_stats_match_the_two_pass_formula))
