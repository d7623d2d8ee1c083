/* libFuzzer target for answer checking: the input up to its first newline is the gold answer, the rest the
 * completion (the gold also searched as a worked solution, and both read as lighteval's graders read them). Any bytes must extract, parse and compare without a crash, a sanitizer report or a hang (libFuzzer's
 * -timeout catches the last); the verdict must not depend on the answers having been used before (checked by
 * comparing twice with fresh and reused answers), and the reward functions must return finite values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify/answer.h"
#include "verify/rewards.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static TinaAnswer reused_gold, reused_pred;
    const char *text = (const char *)data;
    const char *newline = memchr(text, '\n', size);
    size_t gold_len = newline ? (size_t)(newline - text) : size;
    const char *completion = newline ? newline + 1 : text + size;
    size_t completion_len = size - (size_t)(completion - text);
    TinaError err;
    TinaAnswer *gold = calloc(1, sizeof *gold), *pred = calloc(1, sizeof *pred);
    if (!gold || !pred) abort();
    if (tina_answer_gold(gold, text, gold_len, &err) || tina_answer_prediction(pred, completion, completion_len, &err))
        abort();
    bool verdict = tina_answer_equivalent(gold, pred);
    if (tina_answer_gold(&reused_gold, text, gold_len, &err) ||
        tina_answer_prediction(&reused_pred, completion, completion_len, &err))
        abort();
    if (tina_answer_equivalent(&reused_gold, &reused_pred) != verdict) abort();
    /* the gold searched as Tina reads a worked solution, both ways of comparing */
    for (int numbers = 0; numbers < 2; numbers++) {
        if (tina_answer_first_match(gold, text, gold_len, numbers, &err)) abort();
        (void)tina_answer_equivalent(gold, pred);
        (void)tina_answer_equivalent(pred, gold);
    }
    /* lighteval's extractive match (tina-reward --grader lighteval-*): every candidate tried, both gold readings */
    if (tina_answer_lighteval(pred, completion, completion_len, TINA_LIGHTEVAL_PRED, &err)) abort();
    for (TinaLightevalTarget target = TINA_LIGHTEVAL_GOLD_LATEX; target <= TINA_LIGHTEVAL_GOLD_EXPR; target++) {
        if (tina_answer_lighteval(gold, text, gold_len, target, &err)) abort();
        (void)tina_answer_lighteval_equivalent(gold, pred);
    }
    int letter = tina_extract_indices(completion, completion_len, 4);
    if (letter < -1 || letter > 3) abort();
    tina_answer_free(gold);
    tina_answer_free(pred);
    free(gold);
    free(pred);
    double values[] = {tina_reward_format(completion, completion_len), tina_reward_format_r1(completion, completion_len),
                       tina_reward_tag_count(completion, completion_len, false),
                       tina_reward_reasoning_steps(completion, completion_len),
                       tina_reward_repetition(completion, completion_len, 3, -1)};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        if (!isfinite(values[i])) abort();
    return 0;
}
