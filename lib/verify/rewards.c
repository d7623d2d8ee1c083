#define _GNU_SOURCE /* memmem */
#include "verify/rewards.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/strmap.h"

static pcre2_code *format_r1_re, *steps_re;
static pcre2_match_context *limits;
static pthread_once_t compiled = PTHREAD_ONCE_INIT;

static void compile_patterns(void) {
    int code;
    PCRE2_SIZE offset;
    const uint32_t utf = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    format_r1_re = pcre2_compile((PCRE2_SPTR) "^<think>\\n.*?\\n</think>\\n<answer>\\n.*?\\n</answer>$",
                                 PCRE2_ZERO_TERMINATED, utf | PCRE2_DOTALL | PCRE2_MULTILINE | PCRE2_ANCHORED, &code,
                                 &offset, NULL);
    steps_re = pcre2_compile((PCRE2_SPTR) "(Step \\d+:|^\\d+\\.|\\n-|\\n\\*|First,|Second,|Next,|Finally,)",
                             PCRE2_ZERO_TERMINATED, utf, &code, &offset, NULL);
    if (format_r1_re) pcre2_jit_compile(format_r1_re, PCRE2_JIT_COMPLETE);
    if (steps_re) pcre2_jit_compile(steps_re, PCRE2_JIT_COMPLETE);
    limits = pcre2_match_context_create(NULL);
    if (limits) pcre2_set_match_limit(limits, 10000000);
}

static size_t count(const char *text, size_t len, const char *needle) {
    size_t n = 0, k = strlen(needle);
    for (const char *p = text, *end = text + len; (size_t)(end - p) >= k;) {
        const char *hit = memmem(p, (size_t)(end - p), needle, k);
        if (!hit) break;
        n++;
        p = hit + k;
    }
    return n;
}

size_t tina_utf8_length(const char *text, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)text[i] & 0xC0) != 0x80;
    return n;
}

double tina_reward_format(const char *text, size_t len) { return count(text, len, "\n</think>\n") == 1; }

/* One pass with a stack of the boxes still open (their brace depths): a box closes at the first "}" that takes the
 * depth back below its "{" ("}" with nothing open close nothing). Scanning forward from each box instead took
 * quadratic time on many unclosed boxes. */
double tina_reward_boxed(const char *text, size_t len) {
    static const char open[] = "\\boxed{";
    size_t k = sizeof open - 1, depth = 0, n_open = 0, cap = 0;
    struct Box {
        size_t depth, content;
    } *boxes = NULL;
    double found = 0;
    for (size_t i = 0; i < len && !found; i++) {
        if (text[i] == '{') {
            depth++;
            if (i + 1 >= k && memcmp(text + i + 1 - k, open, k) == 0) {
                if (n_open == cap) {
                    cap = cap ? 2 * cap : 16;
                    struct Box *grown = realloc(boxes, cap * sizeof *grown);
                    if (!grown) break; /* out of memory: no box found, as for a text without one */
                    boxes = grown;
                }
                boxes[n_open++] = (struct Box){depth, i + 1};
            }
        } else if (text[i] == '}' && depth > 0) {
            if (n_open && boxes[n_open - 1].depth == depth) found = i > boxes[--n_open].content; /* something inside */
            depth--;
        }
    }
    free(boxes);
    return found;
}

/* The last "\boxed{" of the text, closed by its matching "}" (a box cut off by the length limit holds nothing), must
 * hold a plain decimal number: a sign, digits (thousands may be grouped by commas), a fraction part, spaces around. */
double tina_reward_boxed_number(const char *text, size_t len) {
    static const char open[] = "\\boxed{";
    const size_t k = sizeof open - 1;
    const char *last = NULL;
    for (const char *p = text, *hit; (size_t)(text + len - p) >= k && (hit = memmem(p, (size_t)(text + len - p), open, k));
         p = hit + 1)
        last = hit;
    if (!last) return 0;
    const char *content = last + k, *end = text + len, *close = NULL;
    size_t depth = 1;
    for (const char *p = content; p < end && !close; p++)
        if (*p == '{') depth++;
        else if (*p == '}' && --depth == 0) close = p;
    if (!close) return 0;
    const char *p = content;
    while (p < close && isspace((unsigned char)*p)) p++;
    if (p < close && (*p == '-' || *p == '+')) p++;
    size_t digits = 0, group = 0;
    bool grouped = false;
    for (; p < close && (isdigit((unsigned char)*p) || *p == ','); p++) {
        if (*p == ',') {
            if (!digits || (grouped && group != 3) || (!grouped && group > 3)) return 0;
            grouped = true, group = 0;
        } else
            digits++, group++;
    }
    if (!digits || (grouped && group != 3)) return 0;
    if (p < close && *p == '.') {
        const char *fraction = ++p;
        while (p < close && isdigit((unsigned char)*p)) p++;
        if (p == fraction) return 0;
    }
    while (p < close && isspace((unsigned char)*p)) p++;
    return p == close;
}

double tina_reward_format_r1(const char *text, size_t len) {
    pthread_once(&compiled, compile_patterns);
    if (!format_r1_re) return 0;
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(format_r1_re, NULL);
    bool hit = match && pcre2_match(format_r1_re, (PCRE2_SPTR)text, len, 0, 0, match, limits) >= 0;
    pcre2_match_data_free(match);
    return hit;
}

double tina_reward_tag_count(const char *text, size_t len, bool tina) {
    if (tina) return 0.5 * (count(text, len, "<think>\n") == 1) + 0.5 * (count(text, len, "\n</think>\n") == 1);
    return 0.25 * (count(text, len, "<think>\n") == 1) + 0.25 * (count(text, len, "\n</think>\n") == 1) +
           0.25 * (count(text, len, "\n<answer>\n") == 1) + 0.25 * (count(text, len, "\n</answer>") == 1);
}

double tina_reward_reasoning_steps(const char *text, size_t len) {
    pthread_once(&compiled, compile_patterns);
    if (!steps_re) return 0;
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(steps_re, NULL);
    size_t n = 0;
    for (size_t at = 0; match && at <= len && n < 3;) {
        if (pcre2_match(steps_re, (PCRE2_SPTR)text, len, at, 0, match, limits) < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(match);
        n++;
        at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    pcre2_match_data_free(match);
    return n >= 3 ? 1.0 : (double)n / 3.0;
}

double tina_reward_repetition(const char *text, size_t len, int ngram, double max_penalty) {
    /* words: runs of non-space bytes, lower-cased (ASCII) */
    size_t n_words = 0, cap = 0;
    struct Word {
        size_t start, len;
    } *words = NULL;
    char *lower = malloc(len + 1);
    if (!lower) return 0;
    for (size_t i = 0; i < len; i++) lower[i] = (char)tolower((unsigned char)text[i]);
    for (size_t i = 0; i < len;) {
        while (i < len && isspace((unsigned char)lower[i])) i++;
        if (i >= len) break;
        size_t start = i;
        while (i < len && !isspace((unsigned char)lower[i])) i++;
        if (n_words == cap) {
            cap = cap ? 2 * cap : 256;
            struct Word *grown = realloc(words, cap * sizeof *grown);
            if (!grown) {
                free(words), free(lower);
                return 0;
            }
            words = grown;
        }
        words[n_words++] = (struct Word){start, i - start};
    }
    double reward = 0;
    if (ngram > 0 && n_words >= (size_t)ngram) {
        /* each n-gram as its words joined by a byte that cannot occur in a word */
        TinaStrMap *seen = NULL;
        TinaError err;
        char *key = NULL;
        size_t key_cap = 0, total = 0, distinct = 0;
        if (!tina_strmap_new(&seen, &err)) {
            for (size_t w = 0; w + (size_t)ngram <= n_words; w++) {
                size_t key_len = 0;
                for (int k = 0; k < ngram; k++) key_len += words[w + (size_t)k].len + 1;
                if (key_len > key_cap) {
                    char *bigger = realloc(key, key_len);
                    if (!bigger) break;
                    key = bigger, key_cap = key_len;
                }
                size_t at = 0;
                for (const struct Word *word = &words[w]; word < &words[w + (size_t)ngram]; word++) {
                    memcpy(key + at, lower + word->start, word->len);
                    at += word->len;
                    key[at++] = ' ';
                }
                bool added;
                if (tina_strmap_insert(seen, key, key_len, 0, &added, &err)) break;
                distinct += added;
                total++;
            }
            tina_strmap_free(seen);
        }
        free(key);
        if (total) reward = (1.0 - (double)distinct / (double)total) * -fabs(max_penalty);
    }
    free(words), free(lower);
    return reward;
}

double tina_reward_cosine(double length, double max_length, bool correct, bool clamp) {
    double progress = length / max_length;
    if (clamp && progress > 1) progress = 1;
    double c = cos(M_PI * progress);
    /* min + (max - min)(1 + c)/2 with (min, max) = (0.5, 1.0) when right and (-0.5, 0.0) when wrong: the values
     * Tina's grpo.py passes (its config.py's cosine_*: min_value_wrong 0.0, not the function's default -1.0), so a
     * short wrong answer costs nothing and a long one -0.5 */
    return (correct ? 0.5 : -0.5) + 0.25 * (1.0 + c);
}

void tina_reward_length(const double *lengths, const bool *correct, int n, double *rewards) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) lo = fmin(lo, lengths[i]), hi = fmax(hi, lengths[i]);
    for (int i = 0; i < n; i++) {
        double lambda = hi == lo ? 0 : 0.5 - (lengths[i] - lo) / (hi - lo); /* all lengths equal: no reward */
        rewards[i] = correct[i] ? lambda : fmin(0, lambda);
    }
}

void tina_reward_l1(const double *lengths, const double *targets, const bool *correct, int n, bool max,
                    double *rewards) {
    const double alpha = 0.0003, delta = 0.5;
    bool all_equal = true;
    for (int i = 1; i < n; i++) all_equal = all_equal && lengths[i] == lengths[0];
    for (int i = 0; i < n; i++) {
        double off = alpha * (targets[i] - lengths[i]);
        if (all_equal) rewards[i] = 0;
        else if (max) rewards[i] = correct[i] ? fmin(1, fmax(0, off + delta)) : 0;
        else rewards[i] = (correct[i] ? 1 : 0) - fabs(off);
    }
}
