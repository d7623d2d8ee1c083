/* answer: is a completion's final answer equivalent to the gold answer? Math-Verify's verdict (open-r1's accuracy
 * reward) computed in C: extraction and normalisation in answer_extract, reading in latex_math, and here the
 * comparison: the normalised strings, then the values (exact for rationals, 6-digit rounding when a decimal is
 * involved, evaluation at fixed points for expressions in variables), with Math-Verify's rules for equations,
 * inequalities, sets, tuples, intervals, percentages, matrices and names.
 *
 * It is asymmetric like Math-Verify: gold "x=3" accepts "3", gold "3" accepts "x=3". Bounded time and memory per
 * pair; no timeouts needed. */
#ifndef TINA_ANSWER_H
#define TINA_ANSWER_H

#include <stdbool.h>

#include "verify/answer_extract.h"
#include "verify/latex_math.h"

typedef struct {
    TinaExtracted extracted;
    TinaBuf text;      /* the extracted answer as Math-Verify prints it (parts joined by " and ") */
    MathArena arena;
    MathNode *tree;    /* NULL when nothing was found or it does not parse */
} TinaAnswer;

/* Both reuse `answer` (allocate it once: the arena is about 100 KB). */
TinaStatus tina_answer_gold(TinaAnswer *answer, const char *text, size_t len, TinaError *err);
TinaStatus tina_answer_prediction(TinaAnswer *answer, const char *text, size_t len, TinaError *err);
/* A gold found in text by tina_extract_first_match (Tina's reading of its `solution` column). */
TinaStatus tina_answer_first_match(TinaAnswer *answer, const char *text, size_t len, bool numbers, TinaError *err);
/* lighteval's extractive match (ed084813) as Tina's evaluation ran it: tree is the value of the first match that
 * parses (any_match) and text the string of the first match (first_match fallback); a gold from which nothing is
 * extracted keeps its text whole. Compare with tina_answer_lighteval_equivalent. */
TinaStatus tina_answer_lighteval(TinaAnswer *answer, const char *text, size_t len, TinaLightevalTarget target,
                                 TinaError *err);
/* Whether anything was extracted; a gold without it makes the accuracy reward null. */
bool tina_answer_found(const TinaAnswer *answer);
bool tina_answer_equivalent(const TinaAnswer *gold, const TinaAnswer *prediction);
/* lighteval's comparison (ed084813) as Tina configured it: decimals to 5 places, a percentage always its value / 100. */
bool tina_answer_lighteval_equivalent(const TinaAnswer *gold, const TinaAnswer *prediction);
/* For a multiple-choice question with n_choices options: the letter the completion chose (0 for A), from its
 * extracted answer (prediction, as tina_answer_prediction left it) or Math-Verify's letter patterns; -1 if none. */
int tina_answer_choice(const TinaAnswer *prediction, const char *completion, size_t len, int n_choices);
void tina_answer_free(TinaAnswer *answer);

#endif
