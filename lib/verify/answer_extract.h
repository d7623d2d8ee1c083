/* answer_extract: find the final answer in a completion or a gold string and normalise its LaTeX, the way
 * Math-Verify (0.9.0, with latex2sympy2_extended 1.11.0) does for open-r1's accuracy reward, so that our verdicts
 * agree with the reference the field uses.
 *
 * Prediction: the answer-bearing spans are searched in Math-Verify's priority order (a \boxed{} inside a math
 * environment or anywhere; then "final answer is $..$"; then "answer: $..$"), the rightmost match of the first
 * priority that matches is taken, and only that one (its "first_match" mode). Gold: the answer string read as if it
 * were written \boxed{answer}. Both are then normalised (\left/\right, \dfrac, units, text wrappers, ...).
 *
 * Every pattern runs under PCRE2 match limits, so no input can make extraction hang. */
#ifndef TINA_ANSWER_EXTRACT_H
#define TINA_ANSWER_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

#define TINA_ANSWER_MAX_PARTS 6 /* Math-Verify joins at most six environments ("$a$, $b$ and $c$") */

typedef struct {
    int n_parts;                               /* 0: nothing found */
    TinaBuf parts[TINA_ANSWER_MAX_PARTS];      /* normalised LaTeX of each environment, in text order */
    bool percent[TINA_ANSWER_MAX_PARTS];       /* followed by %, "percent", ... */
    bool verbatim[TINA_ANSWER_MAX_PARTS];      /* compared as text only: what Math-Verify could not parse */
    bool expression;                           /* a plain number or expression (ExprExtractionConfig's match) */
    TinaBuf raw;                               /* an expression as written, which lighteval keeps as its string */
} TinaExtracted;

/* The answer of a completion (open-r1's prediction configuration). */
TinaStatus tina_extract_prediction(const char *text, size_t len, TinaExtracted *out, TinaError *err);
/* A gold answer string, read as \boxed{text} with Math-Verify's default configuration. */
TinaStatus tina_extract_gold(const char *text, size_t len, TinaExtracted *out, TinaError *err);
/* Math-Verify's parse(text, extraction_mode="first_match") with its default LaTeX configuration, and with numbers
 * its default expression configuration too: a "final answer is", a \boxed{}, an "answer:", and failing those the
 * last LaTeX environment or (numbers) the last plain number or expression. How Tina's rewards read a worked
 * solution (accuracy: numbers; cosine, length and L1: LaTeX only). A span that does not parse still counts, as
 * Math-Verify's string fallback does. */
TinaStatus tina_extract_first_match(const char *text, size_t len, bool numbers, TinaExtracted *out, TinaError *err);
void tina_extracted_free(TinaExtracted *out);

/* lighteval's extractive match (ed084813) as Tina's evaluation configured it: what is searched for in a text. */
typedef enum {
    TINA_LIGHTEVAL_PRED,       /* a completion: ExprExtractionConfig and LatexExtractionConfig(boxed_match_priority=0) */
    TINA_LIGHTEVAL_GOLD_LATEX, /* a gold read with LatexExtractionConfig() (latex_gold_metric) */
    TINA_LIGHTEVAL_GOLD_EXPR,  /* a gold read with ExprExtractionConfig() (expr_gold_metric) */
} TinaLightevalTarget;
/* Called with each match lighteval would try, in its order (the match in `candidate`); sets *stop when it parsed. */
typedef TinaStatus (*TinaCandidateFn)(void *ctx, const TinaExtracted *candidate, bool *stop, TinaError *err);
/* lighteval's extract_target_from_pred in its "any_match" mode: the patterns of both configurations grouped by
 * priority (LaTeX's before the expression's within a group), and in each group every match, the one ending last
 * first (then the one starting first, then the pattern listed first), until one parses. `candidate` is the
 * extraction `take` is handed; a failure of `take` ends the search with its status. */
TinaStatus tina_extract_candidates(const char *text, size_t len, TinaLightevalTarget target, TinaCandidateFn take,
                                   void *ctx, TinaExtracted *candidate, TinaError *err);
/* The letter (0 for A) lighteval's IndicesExtractionConfig("NativeLetters") finds among n_choices, or -1: "final
 * answer is C. I hope", "final answer ... is C", "Answer: C", "answer ... C", a text starting "C", a letter standing
 * alone, any letter; in each the last match. */
int tina_extract_indices(const char *text, size_t len, int n_choices);

/* Helpers shared with the parser; exposed for tests. */
/* Content of the last \boxed{}/\fbox{} (mode_all false: with Math-Verify's rule for keeping close neighbours,
 * joined by ","), or of all of them (mode_all true). Text without a box is copied unchanged. */
TinaStatus tina_boxed_content(const char *text, size_t len, bool mode_all, TinaBuf *out, TinaError *err);

/* The multiple-choice letter (0 for A) a completion gives among n_choices, by Math-Verify's string patterns ("final
 * answer is C", "Answer: (C)", "**C**", a line starting "C."), or -1. */
int tina_extract_choice(const char *text, size_t len, int n_choices);

/* Math-Verify's should_treat_as_complex: an "i" standing alone, \mathbb{C}, \Re, \det, ... */
bool tina_latex_looks_complex(const char *text, size_t len);

#endif
