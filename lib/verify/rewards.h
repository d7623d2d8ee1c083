/* rewards: the reward functions of Tina and open-r1, as docs/facts.md section 1 defines them.
 *
 * Each scores one completion (text as UTF-8; lengths in characters, like Python's len). The accuracy reward lives
 * in answer.h; `length` needs the whole group and `cosine` the accuracy, so they take those as arguments. */
#ifndef TINA_REWARDS_H
#define TINA_REWARDS_H

#include <stdbool.h>
#include <stddef.h>

/* Tina's format reward: 1 if "\n</think>\n" occurs exactly once, else 0. */
double tina_reward_format(const char *text, size_t len);
/* For instruct models asked to box their answer (an answer-format reward where there are no think tags): 1 if the
 * text holds a complete, non-empty \boxed{...} (its braces balanced), else 0. */
double tina_reward_boxed(const char *text, size_t len);
/* The same, where the box must hold an answer of its own: 1 if the last \boxed{...} is complete and holds a plain
 * decimal number (sign, digits, thousands commas, fraction part), else 0. A box with a placeholder or words copied
 * from the prompt ("\boxed{N}", "\boxed{number}") earns nothing. */
double tina_reward_boxed_number(const char *text, size_t len);
/* open-r1's format reward: 1 if the text matches ^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$ (dot-all,
 * multi-line, anchored at the start), else 0. */
double tina_reward_format_r1(const char *text, size_t len);
/* open-r1's tag count: 0.25 for each of "<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>" occurring
 * exactly once. tina: Tina's variant, 0.5 for each of the first two only. */
double tina_reward_tag_count(const char *text, size_t len, bool tina);
/* min(1, n/3) for n matches of Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally, (^ at the start only). */
double tina_reward_reasoning_steps(const char *text, size_t len);
/* -(1 - distinct/total) * |max_penalty| over the lower-cased whitespace-separated word n-grams; 0 for a text of
 * fewer than n words. */
double tina_reward_repetition(const char *text, size_t len, int ngram, double max_penalty);
/* open-r1's cosine-scaled reward with Tina's values: c = cos(pi * length / max_length); correct 0.5 + 0.25 (1 + c)
 * (1.0 short .. 0.5 long), wrong -0.5 + 0.25 (1 + c) (0.0 .. -0.5). Like Tina it does not clamp: past max_length
 * the cosine rises again; clamp fixes that. */
double tina_reward_cosine(double length, double max_length, bool correct, bool clamp);
/* Kimi 1.5's length reward within a group of n: lambda = 0.5 - (len - min) / (max - min); a correct completion
 * gets lambda, a wrong one min(0, lambda); all 0 when every length is equal. */
void tina_reward_length(const double *lengths, const bool *correct, int n, double *rewards);
/* The L1 rewards of Tina's rewards.py (len_reward_l1_exact, _max; alpha 0.0003, delta 0.5) within a group of n, each
 * completion against its own target length: exact, correct 1 - alpha |len - target|, wrong -alpha |len - target|
 * (no clamp); max, v = clamp(alpha (target - len) + delta, 0, 1), correct v, wrong 0. All 0 when every length of the
 * group is equal, as Tina's code has it. */
void tina_reward_l1(const double *lengths, const double *targets, const bool *correct, int n, bool max,
                    double *rewards);
/* Characters (code points) of UTF-8 text. */
size_t tina_utf8_length(const char *text, size_t len);

#endif
