/* rewards: each reward function on cases worked out by hand from the definitions in docs/facts.md section 1. */
#include <stdlib.h>
#include <string.h>

#include "verify/answer_extract.h"
#include "verify/latex_math.h"

#include "verify/rewards.h"
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

/* Only a number in the last box counts: a placeholder copied from the prompt, words or LaTeX earn nothing. */
static void boxed_number_wants_a_number_in_the_last_box(void) {
    CHECK(tina_reward_boxed_number(TEXT("So the answer is \\boxed{42}.")) == 1);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{ -3.5 }")) == 1);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{1,234,567}")) == 1);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{+7}")) == 1);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{N}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{number}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{12 apples}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{\\frac{1}{2}}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{12,34}")) == 0);   /* commas group thousands only */
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{1234,567}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{3.}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{-}")) == 0);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{12} then \\boxed{N}")) == 0); /* the last box answers */
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{N} then \\boxed{12}")) == 1);
    CHECK(tina_reward_boxed_number(TEXT("\\boxed{12")) == 0);        /* cut off by the length limit */
    CHECK(tina_reward_boxed_number(TEXT("the answer is 12")) == 0);
}

/* A box is closed by the "}" that ends its own group, whatever came before it or is nested in it. */
static void boxed_matches_braces_as_groups(void) {
    CHECK(tina_reward_boxed(TEXT("\\boxed{\\boxed{}}")) == 1);   /* the outer box holds an empty one */
    CHECK(tina_reward_boxed(TEXT("}}\\boxed{1")) == 0);          /* closings before a box close nothing of it */
    CHECK(tina_reward_boxed(TEXT("{\\boxed{1}")) == 1);          /* an open group around it does not matter */
    CHECK(tina_reward_boxed(TEXT("\\boxed{}}{x}")) == 0);        /* "}" with nothing open, then a plain group */
    CHECK(tina_reward_boxed(TEXT("\\boxed{{}")) == 0);           /* its group never ends */
}

/* Texts of many boxes take linear time (each was once scanned to the text's end or start per box: a 200k-box
 * text took minutes), and their answers stay those of the definitions. */
static void many_boxes_take_one_pass(void) {
    enum { N = 200000 };
    static char text[N * 9 + 16];
    size_t len = 0;
    for (int i = 0; i < N; i++) memcpy(text + len, "\\boxed{{", 8), len += 7; /* unclosed, nested */
    CHECK(tina_reward_boxed(text, len) == 0);
    memcpy(text + len, "1}", 2);
    CHECK(tina_reward_boxed(text, len + 2) == 1); /* the innermost one closes */
    len = 0;
    for (int i = 0; i < N; i++) memcpy(text + len, "\\boxed{1}", 9), len += 9;
    TinaBuf out = {0};
    TinaError err;
    CHECK(tina_boxed_content(text, len, false, &out, &err) == TINA_OK);
    CHECK(out.len == 1 && out.data[0] == '1'); /* the same content, kept once */
    CHECK(tina_boxed_content(text, len, true, &out, &err) == TINA_OK);
    CHECK(out.len == 1 && out.data[0] == '1');
    tina_buf_free(&out);
}

/* Nesting beyond TINA_MATH_MAX_DEPTH does not parse, whichever construct nests: 12,000 nested braces (a set of a
 * set of ...) once overflowed the stack. */
static void deep_nesting_does_not_parse(void) {
    enum { N = 20000 };
    static MathArena arena;
    static char text[16 * N + 8];
    const char *const wraps[][2] = {{"{", "}"}, {"(", ")"}, {"\\frac{1}{", "}"}, {"\\sqrt{", "}"}, {"-(", ")"}};
    for (size_t w = 0; w < sizeof wraps / sizeof *wraps; w++) {
        size_t len = 0, open = strlen(wraps[w][0]), close = strlen(wraps[w][1]);
        for (int i = 0; i < N; i++) memcpy(text + len, wraps[w][0], open), len += open;
        text[len++] = '1';
        for (int i = 0; i < N; i++) memcpy(text + len, wraps[w][1], close), len += close;
        arena.n_nodes = arena.n_slots = 0;
        CHECK(tina_math_parse(text, len, false, &arena) == NULL);
    }
    arena.n_nodes = arena.n_slots = 0;
    CHECK(tina_math_parse(TEXT("{{1}}"), false, &arena) != NULL); /* a little nesting still reads */
    char *blank = malloc(1); /* a text of spaces, not NUL-terminated: the reader once looked one byte beyond it */
    *blank = ' ';
    arena.n_nodes = arena.n_slots = 0;
    CHECK(tina_math_parse(blank, 1, false, &arena) == NULL);
    free(blank);
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

/* Tina's cosine as its trainer built it: grpo.py passes get_cosine_scaled_reward its ModelPTConfig's values
 * (tina/config.py: cosine_min_value_wrong 0.0, cosine_max_value_wrong -0.5, cosine_min_value_correct 0.5,
 * cosine_max_value_correct 1.0), not the function's own defaults (-1.0 for min_value_wrong), which no Tina run used.
 * A wrong answer: min -0.5, max 0.0, so 0.0 at 0 characters down to -0.5 at the maximum. */
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
        {"boxed_number_wants_a_number_in_the_last_box", boxed_number_wants_a_number_in_the_last_box},
        {"boxed_matches_braces_as_groups", boxed_matches_braces_as_groups},
        {"many_boxes_take_one_pass", many_boxes_take_one_pass},
        {"deep_nesting_does_not_parse", deep_nesting_does_not_parse},
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
