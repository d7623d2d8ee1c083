/* rewards: each reward function on cases worked out by hand from the definitions in REFERENCE.md section 1. */
#include <string.h>

#include "rewards.h"
#include "test.h"

#define TEXT(s) (s), strlen(s)

static void format_wants_the_closing_think_tag_exactly_once(void) {
    CHECK(tina_reward_format(TEXT("reasoning\n</think>\nThe answer is 4.")) == 1);
    CHECK(tina_reward_format(TEXT("a\n</think>\nb\n</think>\nc")) == 0);
    CHECK(tina_reward_format(TEXT("no tags at all")) == 0);
    CHECK(tina_reward_format(TEXT("reasoning</think>\nanswer")) == 0); /* the newline before it is part of it */
}

static void boxed_wants_a_complete_box(void) {
    CHECK(tina_reward_boxed(TEXT("So the answer is \\boxed{42}.")) == 1);
    CHECK(tina_reward_boxed(TEXT("\\boxed{\\frac{1}{2}}")) == 1);
    CHECK(tina_reward_boxed(TEXT("\\boxed{\\frac{1}{2} and then it stopped")) == 0); /* cut off mid-box */
    CHECK(tina_reward_boxed(TEXT("\\boxed{7 \\boxed{8}")) == 1);                    /* the second one closes */
    CHECK(tina_reward_boxed(TEXT("the answer is 42")) == 0);
    CHECK(tina_reward_boxed(TEXT("\\boxed")) == 0);
    CHECK(tina_reward_boxed(TEXT("put it in \\boxed{} like \\boxed{}")) == 0); /* empty boxes answer nothing */
}

static void format_r1_wants_think_then_answer_blocks(void) {
    CHECK(tina_reward_format_r1(TEXT("<think>\nsteps\n</think>\n<answer>\n4\n</answer>")) == 1);
    CHECK(tina_reward_format_r1(TEXT("<think>\nsteps\n</think>\n<answer>\n4\n</answer>\n")) == 1); /* $ before \n */
    CHECK(tina_reward_format_r1(TEXT("<think>\na\nb\n</think>\n<answer>\nmulti\nline\n</answer>")) == 1);
    CHECK(tina_reward_format_r1(TEXT(" <think>\nsteps\n</think>\n<answer>\n4\n</answer>")) == 0);
    CHECK(tina_reward_format_r1(TEXT("<think>\nsteps\n</think>\n4")) == 0);
}

static void tag_count_scores_each_tag_seen_once(void) {
    const char *full = "<think>\nsteps\n</think>\n<answer>\n4\n</answer>";
    CHECK(tina_reward_tag_count(TEXT(full), false) == 1.0);
    CHECK(tina_reward_tag_count(TEXT("<think>\nsteps\n</think>\n4"), false) == 0.5);
    CHECK(tina_reward_tag_count(TEXT("<think>\n<think>\nsteps"), false) == 0); /* twice is not once */
    /* Tina: half for each think tag, the answer tags do not count */
    CHECK(tina_reward_tag_count(TEXT("<think>\nsteps\n</think>\n4"), true) == 1.0);
    CHECK(tina_reward_tag_count(TEXT("steps\n</think>\n4"), true) == 0.5);
}

static void reasoning_steps_count_to_three(void) {
    CHECK_NEAR(tina_reward_reasoning_steps(TEXT("Step 1: add. Step 2: divide.")), 2.0 / 3.0, 1e-15);
    /* ^ is the start of the text only: "1." counts, "\n2." does not, "\n-" does */
    CHECK_NEAR(tina_reward_reasoning_steps(TEXT("1. first\n2. second")), 1.0 / 3.0, 1e-15);
    CHECK_NEAR(tina_reward_reasoning_steps(TEXT("1. first\n- second")), 2.0 / 3.0, 1e-15);
    CHECK(tina_reward_reasoning_steps(TEXT("First, a. Second, b. Next, c. Finally, d.")) == 1.0);
    CHECK(tina_reward_reasoning_steps(TEXT("just an answer")) == 0);
}

static void repetition_penalises_repeated_word_trigrams(void) {
    /* a b c a b c: trigrams abc bca cab abc, 3 distinct of 4: -(1 - 3/4) */
    CHECK_NEAR(tina_reward_repetition(TEXT("a b c a b c"), 3, -1), -0.25, 1e-15);
    CHECK_NEAR(tina_reward_repetition(TEXT("A b  C\na B c"), 3, -1), -0.25, 1e-15); /* lower-cased, any spaces */
    CHECK(tina_reward_repetition(TEXT("all words differ here"), 3, -1) == 0);
    CHECK(tina_reward_repetition(TEXT("two words"), 3, -1) == 0);
    CHECK(tina_reward_repetition(TEXT(""), 3, -1) == 0);
    /* x x x x x: trigram xxx three times, 1 distinct: -(1 - 1/3) times the penalty 0.5 */
    CHECK_NEAR(tina_reward_repetition(TEXT("x x x x x"), 3, -0.5), -0.5 * 2.0 / 3.0, 1e-15);
}

static void cosine_runs_from_one_to_half_when_right_and_zero_to_minus_half_when_wrong(void) {
    CHECK_NEAR(tina_reward_cosine(0, 100, true, false), 1.0, 1e-15);
    CHECK_NEAR(tina_reward_cosine(50, 100, true, false), 0.75, 1e-15);
    CHECK_NEAR(tina_reward_cosine(100, 100, true, false), 0.5, 1e-15);
    CHECK_NEAR(tina_reward_cosine(0, 100, false, false), 0.0, 1e-15);
    CHECK_NEAR(tina_reward_cosine(50, 100, false, false), -0.25, 1e-15);
    CHECK_NEAR(tina_reward_cosine(100, 100, false, false), -0.5, 1e-15);
    /* Tina's quirk: past the maximum the cosine comes back up; --cosine-clamp stops at the maximum */
    CHECK_NEAR(tina_reward_cosine(200, 100, true, false), 1.0, 1e-15);
    CHECK_NEAR(tina_reward_cosine(200, 100, true, true), 0.5, 1e-15);
}

static void length_reward_is_relative_to_the_group(void) {
    /* lengths 10 20 30: lambda 0.5, 0, -0.5; the wrong one in the middle gets min(0, 0) */
    const double lengths[] = {10, 20, 30};
    const bool correct[] = {true, false, true};
    double r[3];
    tina_reward_length(lengths, correct, 3, r);
    CHECK(r[0] == 0.5 && r[1] == 0 && r[2] == -0.5);
    /* a short wrong answer gets no bonus: min(0, 0.5) */
    const bool wrong[] = {false, false, false};
    tina_reward_length(lengths, wrong, 3, r);
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == -0.5);
    const double same[] = {7, 7};
    tina_reward_length(same, correct, 2, r);
    CHECK(r[0] == 0 && r[1] == 0);
}

static void lengths_are_counted_in_characters(void) {
    CHECK(tina_utf8_length(TEXT("π = 3.14")) == 8);
    CHECK(tina_utf8_length(TEXT("")) == 0);
}

int main(void) {
    static const TestCase tests[] = {
        {"format_wants_the_closing_think_tag_exactly_once", format_wants_the_closing_think_tag_exactly_once},
        {"boxed_wants_a_complete_box", boxed_wants_a_complete_box},
        {"format_r1_wants_think_then_answer_blocks", format_r1_wants_think_then_answer_blocks},
        {"tag_count_scores_each_tag_seen_once", tag_count_scores_each_tag_seen_once},
        {"reasoning_steps_count_to_three", reasoning_steps_count_to_three},
        {"repetition_penalises_repeated_word_trigrams", repetition_penalises_repeated_word_trigrams},
        {"cosine_runs_from_one_to_half_when_right_and_zero_to_minus_half_when_wrong",
         cosine_runs_from_one_to_half_when_right_and_zero_to_minus_half_when_wrong},
        {"length_reward_is_relative_to_the_group", length_reward_is_relative_to_the_group},
        {"lengths_are_counted_in_characters", lengths_are_counted_in_characters},
    };
    return test_main("rewards", tests, sizeof tests / sizeof *tests);
}
