#include "verify/answer_extract.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "verify/rewards.h"

/* Backtracking budget of one regex search: far above what any real completion needs (a 1 MB completion takes a
 * few thousand), low enough that a pathological one gives up in milliseconds instead of hanging. */
#define MATCH_LIMIT 2000000u
#define DEPTH_LIMIT 20000u

/* ---- regexes, compiled once ---- */

typedef struct {
    pcre2_code *code;
    int priority;       /* in Math-Verify's default configurations */
    bool boxed;         /* a \boxed{} pattern: its priority is the configuration's boxed_match_priority */
    bool unanchored;    /* tried only when the configuration allows extraction without an anchor */
    int groups_per_env; /* 0: the plain \boxed{.+} pattern, whose group 1 is the whole box; -1: a plain number or
                         * expression (named groups, as Math-Verify's ExprExtractionConfig) */
} Pattern;

/* Appends the strings to a pattern being built. */
static void append_all(TinaBuf *re, const char *const *parts) {
    TinaError ignored;
    for (; *parts; parts++) tina_buf_append_str(re, *parts, &ignored);
}
#define APPEND(re, ...) append_all(re, (const char *const[]){__VA_ARGS__, NULL})

/* Math-Verify's LaTeX environments. Each has a content group per delimiter kind (a sixth for a bare
 * \frac{n}{m} in plain context) and a percent group; `boxed` requires a \boxed{} inside. */
static void env_pattern(TinaBuf *re, bool boxed) {
    static const char *const content[5] = {
        "(?:[^$]|\\$(?!\\$))",  /* $$ .. $$, may span lines */
        "(?:[^\\\\]|\\\\(?!\\]))", /* \[ .. \] */
        "(?:\\\\[$]|[^\\n$])",  /* $ .. $, one line */
        "(?:[^\\\\\\n]|\\\\(?!\\)))", /* \( .. \) */
        "[^\\n\\]\\[]",          /* " [ .. ] " */
    };
    static const char *const open[5] = {"(?<!\\\\)\\$\\$(", "(?<!\\\\)\\\\\\[(", "(?<!\\\\|\\d)\\$(",
                                        "(?<!\\\\)\\\\\\((", "\\s\\[("};
    static const char *const close[5] = {")(?<!\\\\)\\$\\$", ")(?<!\\\\)\\\\\\]", ")(?<!\\\\)\\$",
                                         ")(?<!\\\\)\\\\\\)", ")\\]\\s"};
    APPEND(re, "(?:(?:");
    for (int i = 0; i < 5; i++) {
        APPEND(re, i ? "|" : "", open[i]);
        if (boxed)
            APPEND(re, content[i], "*?\\\\boxed\\{", content[i], "+?\\}", content[i], "*?", close[i]);
        else
            APPEND(re, content[i], "+?", close[i]);
    }
    if (!boxed) APPEND(re, "|(-?\\\\frac\\{-?\\d+(?:[.,]\\d+)?\\}\\{-?\\d+(?:[.,]\\d+)?\\})");
    APPEND(re, ")\\s*((?:\\\\?%|[Pp]ercent|[Pp]ercentage|[Pp]ct))?)");
}

/* Up to six environments joined by ",", "and", "or" (Math-Verify 0.5.2, Tina's: "and", "or", "," alone, and boxed
 * ones joined like the others). */
static void envs_pattern(TinaBuf *re, bool boxed, bool v052) {
    env_pattern(re, boxed);
    for (int i = 0; i < TINA_ANSWER_MAX_PARTS - 1; i++) {
        APPEND(re, v052    ? "(?:\\s*(?:and|or|,)\\s*"
                   : boxed ? "\\s*(?:\\s*(?:,?and|,?or|,)\\s*"
                           : "(?:\\s*(?:,?and|,?or|,)\\s*");
        env_pattern(re, boxed);
        APPEND(re, ")?");
    }
}

/* Math-Verify's LaTeX patterns, then its expression patterns, each list in Math-Verify's order (which breaks ties
 * between equal matches). */
enum { N_LATEX_PATTERNS = 7, N_EXPR_PATTERNS = 6 };

typedef struct {
    Pattern latex[2][N_LATEX_PATTERNS], expr[N_EXPR_PATTERNS]; /* latex[1]: Math-Verify 0.5.2's joining */
    pcre2_code *replace_in_latex, *left, *right, *permutation, *to_remove, *slash_fix, *equation_split,
        *unit_superscript, *units, *separator, *complex;
    pcre2_code *malformed[7];
    int replace_group[19];
    pcre2_match_context *limits;
    bool ok;
} Regexes;

static Regexes regexes;
static pthread_once_t regexes_once = PTHREAD_ONCE_INIT;

static pcre2_code *compile(const char *pattern, uint32_t options) {
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | options, &code, &offset, NULL);
    if (re) pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

static bool compile_pattern(Pattern *p, int priority, const char *prefix, bool boxed, const char *suffix, bool v052) {
    TinaBuf re = {0};
    APPEND(&re, prefix);
    envs_pattern(&re, boxed, v052);
    APPEND(&re, suffix);
    *p = (Pattern){compile(re.data, PCRE2_DOTALL), priority, boxed, priority == 300, boxed ? 6 : 7};
    tina_buf_free(&re);
    return p->code != NULL;
}

/* Math-Verify's ExprExtractionConfig: a number (thousands separators, decimal comma, percent) or an expression of
 * digits and operators, each between anchors; `.` stops at line ends there (no DOTALL). */
#define NUMBER_RE                                                                                                     \
    "(?:(?<integer1>-?\\d{1,3}(?:[ ,]\\d{3})+)(?<decimal1>\\.\\d+)?|(?<integer2>-?\\d+)(?<decimal2>[.,]\\d+)|"    \
    "(?<decimal3>\\.\\d+)|(?<integer3>-?\\d+))(?<percent>\\s*(?:%|[Pp]ercent|\\s*[Pp]ercentage|\\s*[Pp]ct))?"
#define EXPR_CHARS "[\\d\\.\\s+\\-*×/^()÷]"
#define EXPR_PREFIX "(?:^|\\s|=)(?:\\*\\*)?"
#define EXPR_WITH_ANCHORS                                                                                             \
    "(?:" EXPR_PREFIX "(?<expr>-?\\(?-?\\d" EXPR_CHARS "*[+\\-*×/^()÷]" EXPR_CHARS "+\\)?)"                     \
    "(?:\\*\\*)?(?:\\.|,|:|\\s|\\)|\\$|$))"
#define CURRENCY "[$€£¥₹₽₪₩₫฿₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₴₵₶₷₸₹₺₻₼₽₾₿]"
#define NUMBER_WITH_ANCHORS "(?:" EXPR_PREFIX CURRENCY "?" NUMBER_RE ")"
#define EXPR_OR_NUMBER "(?:" EXPR_WITH_ANCHORS "|" NUMBER_WITH_ANCHORS ")"

static bool compile_expr(Pattern *p, int priority, const char *pattern) {
    *p = (Pattern){compile(pattern, 0), priority, false, priority == 300, -1};
    return p->code != NULL;
}

/* The replacements of latex2sympy2_extended's replace_in_latex, one alternative each, tried together so that the
 * leftmost match wins as in Python's re.sub over the joined pattern. */
static const char *const replace_pattern[19] = {
    "\\\\math(?:rm|it|bf)", "\\\\text(?:normal|bf|it|rm)", "\\\\(?:d|t|c)frac", "\\s\\.", "\\{\\.", "\\~\\=",
    "\\s*\\{\\s*,\\s*\\}", "(?<![a-zA-Z])(,?\\s*(?:and|or))(?![a-zA-Z])", "(,?\\s*\\\\text{\\s*(?:and|or)\\s*})",
    "(?<!\\\\)\\\\\\s", "infinity", ",?(\\\\ldots)", "\\s*\\bpercentage\\b", "\\\\text{percentage}",
    "\\s*\\bpercent\\b", "\\\\text{percent}", "\\s*\\bpct\\b", "\\\\text{pct}", "((?<!\\\\)inf(?!inity))",
};
static const char *const replace_with[19] = {
    "\\text", "\\text", "\\frac", " 0.", "{0.", "\\approx", ",", ",", ",", " ", "\\infty", " ", "\\%", "%",
    "\\%", "%", "\\%", "%", "\\infty",
};

static const char *const units[] = {
    "integerpoint", "feet", "sue", "digit", "pound", "meal", "edge", "student", "children ticket", "multiple",
    "east", "degree", "mph", "kmph", "ft", "m square", " m east", "sq m", "deg", "mile", "q \\.", "monkey", "prime",
    "ratio", "profit of rs", "rd", "o", "gm", "p \\. m", "lb", "tile", "per", "dm", "lt", "gain", "ab", "way",
    "west", "a \\.", "b \\.", "c \\.", "d \\.", "e \\.", "f \\.", "g \\.", "h \\.", "t", "h", "no change", "men",
    "soldier", "pie", "bc", "excess", "st", "inches", "noon", "cent", "by", "gal", "kmh", "c", "acre", "rise",
    "a \\. m", "th", "π r 2", "sq", "mark", "l", "toy", "coin", "sq \\. m", "gallon", "° f", "profit", "minw", "yr",
    "women", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are", "rupee", "rounds", "cubic", "cc", "mtr", "s",
    "ohm", "number", "kmph", "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube", "mt",
    "sq inch", "mp", "∏ cm ³", "hectare", "more", "sec", "unit", "cu \\. m", "cm 2", "rs \\.", "rs", "kg", "g",
    "month", "km", "m", "cm", "mm", "apple", "liter", "loss", "yard", "pure", "year", "increase", "decrease", "d",
    "less", "Surface", "litre", "pi sq m", "s \\.", "metre", "meter", "inch",
};

static const char *const malformed_pattern[7] = {
    "\\^\\s?\\((.*?)\\)", "sqrt\\s?\\((.*?)\\)", "\\\\frac\\s?(\\d)\\s?(\\d+)", "\\\\log_\\s?(\\d)\\s?(\\d+)",
    "\\\\frac\\s?{(.*?)}\\s?(\\d)", "\\\\frac\\s?(\\d)\\s?{(.*?)}", "\\\\sqrt\\s?(\\d)",
};
static const char *const malformed_with[7] = {
    "^{$1}", "\\sqrt{$1}", "\\frac{$1}{$2}", "\\log_{$1}{$2}", "\\frac{$1}{$2}", "\\frac{$1}{$2}", "\\sqrt{$1}",
};

static void compile_all(void) {
    Regexes *r = &regexes;
    bool ok = true;
    for (int v = 0; v < 2; v++) {
        Pattern *latex = r->latex[v];
        ok &= compile_pattern(&latex[0], 0, "(?i:final answer is):?\\s*", false, "\\.?\\s?I hope", v);
        ok &= compile_pattern(&latex[1], 50, "(?i:final answer.{0,100}?)\\s+is:?\\s*", false, "", v);
        ok &= compile_pattern(&latex[2], 100, "(?i:answer):.{0,50}?", false, "", v);
        ok &= compile_pattern(&latex[3], 200, "(?i:answer).{0,50}?", false, "", v);
        ok &= compile_pattern(&latex[4], 300, "", false, "", v);
        ok &= compile_pattern(&latex[5], 50, "", true, "", v);
        latex[6] = (Pattern){compile("(\\\\boxed{.+})", PCRE2_DOTALL), 50, true, false, 0};
        ok &= latex[6].code != NULL;
    }
    ok &= compile_expr(&r->expr[0], 0, "(?i:final answer is):?\\s*" EXPR_OR_NUMBER "\\.?\\s?I hope");
    ok &= compile_expr(&r->expr[1], 50, "(?i:final answer.{0,100}?)\\s+is:?" EXPR_OR_NUMBER);
    ok &= compile_expr(&r->expr[2], 100, "(?i:answer):(?:.{0,100}=\\s*|.{0,50}?)" EXPR_OR_NUMBER "(?!\\s*=)");
    ok &= compile_expr(&r->expr[3], 200, "(?i:answer)(?:.{0,100}=\\s*|.{0,50}?)" EXPR_OR_NUMBER "(?!\\s*=)");
    ok &= compile_expr(&r->expr[4], 300, EXPR_WITH_ANCHORS);
    ok &= compile_expr(&r->expr[5], 300, NUMBER_WITH_ANCHORS);

    TinaBuf re = {0};
    for (int i = 0; i < 19; i++) {
        char group[32];
        snprintf(group, sizeof group, "%s(?<g%d>", i ? "|" : "", i);
        APPEND(&re, group, replace_pattern[i], ")");
    }
    r->replace_in_latex = compile(re.data, 0);
    ok &= r->replace_in_latex != NULL;
    for (int i = 0; ok && i < 19; i++) {
        char group[16];
        snprintf(group, sizeof group, "g%d", i);
        r->replace_group[i] = pcre2_substring_number_from_name(r->replace_in_latex, (PCRE2_SPTR)group);
    }
    tina_buf_clear(&re);
    APPEND(&re, "(\\d|\\}|\\s)\\s*(?:(?:");
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) APPEND(&re, i ? "|" : "", units[i]);
    APPEND(&re, ")(?:s|es)?)\\s*$");
    r->units = compile(re.data, 0);
    tina_buf_free(&re);

    r->left = compile("\\\\m?left(\\\\\\{|\\{|\\\\\\||\\||\\[|\\(|\\\\rbracl|\\\\lgroup|\\\\lbrace|\\\\lbrack|\\\\vert|"
                      "\\\\lvert|\\\\lceil|\\\\lfloor|\\\\vert|\\\\lvert|\\\\langle|\\\\llcorner|\\\\ulcorner)", 0);
    r->right = compile("\\\\m?right(\\\\\\}|\\}|\\\\\\||\\||\\]|\\)|\\\\rbrack|\\\\rgroup|\\\\rbrace|\\\\rbrack|"
                       "\\\\vert|\\\\rvert|\\\\rceil|\\\\rfloor|\\\\vert|\\\\rvert|\\\\rangle|\\\\lrcorner|"
                       "\\\\urcorner)", 0);
    r->permutation = compile("\\(([a-zA-Z0-9+\\-*/\\\\ ]+?)\\)_{([a-zA-Z0-9+\\-*/\\\\ ]+?)}", 0);
    r->to_remove = compile("\\\\mathrm\\{th\\}|\\\\!\\s*|\\\\text\\s*\\{\\s*\\}|\\\\\\$|\\$|(?<!\\\\)[\"']|"
                           "\\\\displaystyle", 0);
    r->slash_fix = compile("\\\\\\\\(?=[a-zA-Z])", 0);
    r->equation_split = compile("(?<!\\\\|<|!|>)=", 0);
    r->unit_superscript = compile("(\\\\(?:text|mbox){.*?})(\\^\\d|\\{\\^\\d\\})?$", 0);
    r->separator = compile("\\b(and|or)\\b|,|;", 0);
    r->complex = compile("\\\\mathbb\\{C\\}|\\\\i\\b|\\bi\\b|\\\\text\\{i\\}|\\\\mathrm\\{i\\}|\\\\imath\\b|\\\\det|"
                         "\\\\operatorname\\{tr\\}|\\\\operatorname\\{rank\\}|\\\\text\\{rank\\}|\\\\arg\\{|\\\\Re\\{|"
                         "\\\\Im\\{|\\\\operatorname\\{Re\\}|\\\\operatorname\\{Im\\}|\\\\text\\{Re\\}|\\\\text\\{Im\\}", 0);
    for (int i = 0; i < 7; i++) {
        r->malformed[i] = compile(malformed_pattern[i], 0);
        ok &= r->malformed[i] != NULL;
    }
    ok &= r->units && r->left && r->right && r->permutation && r->to_remove && r->slash_fix && r->equation_split &&
          r->unit_superscript && r->separator && r->complex;
    r->limits = pcre2_match_context_create(NULL);
    if (r->limits) {
        pcre2_set_match_limit(r->limits, MATCH_LIMIT);
        pcre2_set_depth_limit(r->limits, DEPTH_LIMIT);
    }
    r->ok = ok && r->limits;
}

static TinaStatus ready(TinaError *err) {
    pthread_once(&regexes_once, compile_all);
    if (!regexes.ok) return tina_error(err, TINA_ERR_RUNTIME, "cannot compile the answer-extraction patterns");
    return TINA_OK;
}

/* ---- small string tools ---- */

static bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Python's str.strip() on ASCII whitespace. */
static void strip(const char **text, size_t *len) {
    while (*len && is_space((unsigned char)**text)) (*text)++, (*len)--;
    while (*len && is_space((unsigned char)(*text)[*len - 1])) (*len)--;
}

static TinaStatus set_text(TinaBuf *buf, const char *text, size_t len, TinaError *err) {
    tina_buf_clear(buf);
    if (tina_buf_append(buf, text, len, err)) return err->status;
    return tina_buf_reserve(buf, 0, err);
}

/* The last "\\boxed" or "\\fbox" lying entirely before end: its start, and the length of its name in *name_len; -1
 * when there is none. One backward scan for both (two scans, each to the text's start, made a text of many boxes
 * quadratic). */
static ptrdiff_t last_box(const char *text, size_t end, size_t *name_len) {
    for (size_t i = end; i-- > 0;) {
        if (text[i] != '\\') continue;
        if (end - i >= 6 && memcmp(text + i, "\\boxed", 6) == 0) return *name_len = 6, (ptrdiff_t)i;
        if (end - i >= 5 && memcmp(text + i, "\\fbox", 5) == 0) return *name_len = 5, (ptrdiff_t)i;
    }
    return -1;
}

static bool regex_search(pcre2_code *code, const char *text, size_t len, size_t start, PCRE2_SIZE **ovector,
                         pcre2_match_data *match) {
    int rc = pcre2_match(code, (PCRE2_SPTR)text, len, start, 0, match, regexes.limits);
    if (rc < 0) return false;
    *ovector = pcre2_get_ovector_pointer(match);
    return true;
}

/* Whether code matches anywhere in text. */
static bool regex_found(pcre2_code *code, const char *text, size_t len) {
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(code, NULL);
    PCRE2_SIZE *ov;
    bool found = match && regex_search(code, text, len, 0, &ov, match);
    pcre2_match_data_free(match);
    return found;
}

/* re.sub(pattern, template) with PCRE2's $n template syntax. */
static TinaStatus substitute(pcre2_code *code, const char *replacement, TinaBuf *text, TinaBuf *scratch,
                             TinaError *err) {
    if (!text->len) return TINA_OK;
    size_t cap = text->len * 2 + 64;
    for (;;) {
        if (tina_buf_reserve(scratch, cap, err)) return err->status;
        PCRE2_SIZE out_len = scratch->cap;
        int rc = pcre2_substitute(code, (PCRE2_SPTR)text->data, text->len, 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, NULL, regexes.limits,
                                  (PCRE2_SPTR)replacement, PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)scratch->data,
                                  &out_len);
        if (rc == PCRE2_ERROR_NOMEMORY) {
            cap = out_len + 1;
            continue;
        }
        if (rc < 0) return TINA_OK; /* over the match limit: leave the text as it is */
        return set_text(text, scratch->data, out_len, err);
    }
}

static TinaStatus replace_literal(TinaBuf *text, const char *from, const char *to, TinaBuf *scratch, TinaError *err) {
    if (!text->len || !strstr(text->data, from)) return TINA_OK;
    size_t n = strlen(from);
    tina_buf_clear(scratch);
    const char *p = text->data, *end = text->data + text->len;
    for (const char *hit; (hit = strstr(p, from)) != NULL; p = hit + n) {
        if (tina_buf_append(scratch, p, (size_t)(hit - p), err) || tina_buf_append_str(scratch, to, err))
            return err->status;
    }
    if (tina_buf_append(scratch, p, (size_t)(end - p), err)) return err->status;
    return set_text(text, scratch->data, scratch->len, err);
}

bool tina_latex_looks_complex(const char *text, size_t len) {
    TinaError ignored;
    return !ready(&ignored) && regex_found(regexes.complex, text, len);
}

/* ---- multiple-choice letters ---- */

/* The patterns for the letters A.. (n of them), in priority order: Math-Verify's StringExtractionConfig, or
 * lighteval's IndicesExtractionConfig("NativeLetters") (ed084813), which takes a space where Math-Verify takes any
 * white space and, last, a letter anywhere. */
typedef enum { LETTERS_MATH_VERIFY, LETTERS_LIGHTEVAL } LetterRules;
enum { N_CHOICE_PATTERNS = 7, MAX_CHOICES = 26 };
static pcre2_code *choice_patterns[2][MAX_CHOICES + 1][N_CHOICE_PATTERNS];
static pthread_mutex_t choice_lock = PTHREAD_MUTEX_INITIALIZER;

static int n_choice_patterns(LetterRules rules) { return rules == LETTERS_LIGHTEVAL ? 7 : 6; }

static bool compile_choices(LetterRules rules, int n) {
    const char *space = rules == LETTERS_LIGHTEVAL ? "\\ " : "\\s";
    char keys[3 * MAX_CHOICES + 16] = "(";
    for (int i = 0; i < n; i++) {
        size_t at = strlen(keys);
        snprintf(keys + at, sizeof keys - at, "%s%c", i ? "|" : "", 'A' + i);
    }
    strcat(keys, ")");
    char suffix[64], answer[256], patterns[N_CHOICE_PATTERNS][512];
    snprintf(suffix, sizeof suffix, "(?:\\*\\*)?(?:\\.|,|:|%s|$)", space);
    snprintf(answer, sizeof answer, "(?:^|%s)(?:\\*\\*)?%s%s", space, keys, suffix);
    snprintf(patterns[0], sizeof patterns[0], "(?i:final answer is):?\\s*%s\\.?\\s?I hope", keys);
    snprintf(patterns[1], sizeof patterns[1], "(?i:final answer.{0,100}?)\\s+is:?\\s*%s", keys);
    snprintf(patterns[2], sizeof patterns[2], "(?i:answer):.{0,50}?%s", answer);
    snprintf(patterns[3], sizeof patterns[3], "(?i:answer).{0,50}?%s", answer);
    snprintf(patterns[4], sizeof patterns[4], "^(?:\\*\\*)?%s%s", keys, suffix);
    snprintf(patterns[5], sizeof patterns[5], "%s", answer);
    snprintf(patterns[6], sizeof patterns[6], "%s", keys);
    for (int i = 0; i < n_choice_patterns(rules); i++)
        if (!(choice_patterns[rules][n][i] = compile(patterns[i], 0))) return false;
    return true;
}

static int extract_letter(LetterRules rules, const char *text, size_t len, int n_choices) {
    TinaError ignored;
    if (n_choices < 1 || n_choices > MAX_CHOICES || ready(&ignored)) return -1;
    int n_patterns = n_choice_patterns(rules);
    pthread_mutex_lock(&choice_lock);
    bool ok = choice_patterns[rules][n_choices][n_patterns - 1] || compile_choices(rules, n_choices);
    pthread_mutex_unlock(&choice_lock);
    if (!ok) return -1;
    /* the first pattern that matches anywhere; its rightmost match */
    for (int i = 0; i < n_patterns; i++) {
        pcre2_code *code = choice_patterns[rules][n_choices][i];
        pcre2_match_data *match = pcre2_match_data_create_from_pattern(code, NULL);
        int letter = -1;
        PCRE2_SIZE *ov;
        for (size_t at = 0; match && at <= len && regex_search(code, text, len, at, &ov, match);) {
            uint32_t pairs = pcre2_get_ovector_count(match);
            for (uint32_t g = pairs - 1; g >= 1; g--)
                if (ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] == ov[2 * g] + 1 && text[ov[2 * g]] >= 'A' &&
                    text[ov[2 * g]] < 'A' + n_choices) {
                    letter = text[ov[2 * g]] - 'A'; /* a later match never ends before an earlier one */
                    break;
                }
            at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        }
        pcre2_match_data_free(match);
        if (letter >= 0) return letter;
    }
    return -1;
}

int tina_extract_choice(const char *text, size_t len, int n_choices) {
    return extract_letter(LETTERS_MATH_VERIFY, text, len, n_choices);
}

int tina_extract_indices(const char *text, size_t len, int n_choices) {
    return extract_letter(LETTERS_LIGHTEVAL, text, len, n_choices);
}

/* ---- \boxed{} content ---- */

TinaStatus tina_boxed_content(const char *text, size_t len, bool mode_all, TinaBuf *out, TinaError *err) {
    typedef struct {
        const char *data;
        size_t len;
    } Piece;
    Piece pieces[64];
    int n = 0;
    size_t end = len; /* the boxes still to read lie before end */
    ptrdiff_t last_start = -1;
    for (;;) {
        size_t name_len;
        ptrdiff_t start = last_box(text, end, &name_len);
        if (start < 0) break;
        size_t next = (size_t)start + name_len;
        while (next < end && is_space((unsigned char)text[next])) next++;
        if (next >= end) break;
        size_t close = 0; /* stays 0 when the box has no "{" or it is never closed */
        int depth = 1;
        for (size_t i = next + 1; text[next] == '{' && i < end && !close; i++) {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) close = i;
        }
        if (!close) {
            if (!n) pieces[n++] = (Piece){text + next, len - next};
            break;
        }
        const char *content = text + next + 1;
        size_t content_len = close - next - 1;
        strip(&content, &content_len);
        bool repeated = n && pieces[n - 1].len == content_len && memcmp(pieces[n - 1].data, content, content_len) == 0;
        if (!mode_all && last_start >= 0) {
            /* Math-Verify keeps an earlier box only when it is close to the later one, or a little further with a
             * separator ("and", "or", ",", ";") between them and a different content. */
            const char *between = text + close + 1;
            /* characters, not bytes: Python counts code points where Math-Verify measures distances */
            size_t between_len = (size_t)last_start - close - 1, chars = tina_utf8_length(between, between_len);
            bool keep = chars < 10 || (chars < 70 && !repeated && regex_found(regexes.separator, between, between_len));
            if (!keep) break;
        }
        if (n == 64) break;
        if (!repeated) pieces[n++] = (Piece){content, content_len};
        last_start = start;
        end = (size_t)start;
    }
    tina_buf_clear(out);
    if (!n) return set_text(out, text, len, err);
    for (int i = n - 1; i >= 0; i--) {
        if (i != n - 1 && tina_buf_append(out, ",", 1, err)) return err->status;
        if (tina_buf_append(out, pieces[i].data, pieces[i].len, err)) return err->status;
    }
    return tina_buf_reserve(out, 0, err);
}

/* ---- normalisation (latex2sympy2_extended's normalize_latex) ---- */

typedef struct {
    int boxed; /* 0 none, 1 last, 2 all */
    bool units, malformed_operators, nits, equations;
} Normalization;

static TinaStatus replace_in_latex(TinaBuf *text, TinaBuf *scratch, TinaError *err) {
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(regexes.replace_in_latex, NULL);
    if (!match) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    tina_buf_clear(scratch);
    size_t at = 0;
    PCRE2_SIZE *ov;
    while (at <= text->len && regex_search(regexes.replace_in_latex, text->data, text->len, at, &ov, match)) {
        int which = 0; /* the alternative that matched: the one named group set */
        while (which + 1 < 19 && ov[2 * regexes.replace_group[which]] == PCRE2_UNSET) which++;
        if (tina_buf_append(scratch, text->data + at, ov[0] - at, err) ||
            tina_buf_append_str(scratch, replace_with[which], err)) {
            pcre2_match_data_free(match);
            return err->status;
        }
        at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
        if (ov[1] == ov[0] && ov[0] < text->len && tina_buf_append(scratch, text->data + ov[0], 1, err)) break;
    }
    pcre2_match_data_free(match);
    if (at < text->len && tina_buf_append(scratch, text->data + at, text->len - at, err)) return err->status;
    return set_text(text, scratch->data, scratch->len, err);
}

/* hendrycks/math's fixes, which latex2sympy2_extended applies to gold answers. */
static TinaStatus fix_sqrt(TinaBuf *text, TinaBuf *scratch, TinaError *err) {
    if (!strstr(text->data, "\\sqrt")) return TINA_OK;
    tina_buf_clear(scratch);
    const char *p = text->data, *hit = strstr(p, "\\sqrt");
    if (tina_buf_append(scratch, p, (size_t)(hit - p), err)) return err->status;
    while (hit) { /* from just after this \sqrt to the next one, or to the end */
        p = hit + 5;
        hit = strstr(p, "\\sqrt");
        const char *end = hit ? hit : text->data + text->len;
        while (p < end && is_space((unsigned char)*p)) p++;
        if (p < end && *p != '{' && *p != '[') {
            /* \sqrt3 -> \sqrt{3}: Python takes one character, which may be several bytes */
            size_t n = 1;
            while (p + n < end && ((unsigned char)p[n] & 0xC0) == 0x80) n++;
            if (tina_buf_append_str(scratch, "\\sqrt{", err) || tina_buf_append(scratch, p, n, err) ||
                tina_buf_append(scratch, "}", 1, err) || tina_buf_append(scratch, p + n, (size_t)(end - p - n), err))
                return err->status;
        } else if (tina_buf_append_str(scratch, "\\sqrt", err) || tina_buf_append(scratch, p, (size_t)(end - p), err)) {
            return err->status;
        }
    }
    return set_text(text, scratch->data, scratch->len, err);
}

static TinaStatus fix_fracs(TinaBuf *text, TinaBuf *scratch, TinaError *err) {
    if (!strstr(text->data, "\\frac")) return TINA_OK;
    tina_buf_clear(scratch);
    const char *p = text->data, *hit = strstr(p, "\\frac");
    if (tina_buf_append(scratch, p, (size_t)(hit - p), err)) return err->status;
    while (hit) { /* from just after this \frac to the next one, or to the end */
        p = hit + 5;
        hit = strstr(p, "\\frac");
        const char *end = hit ? hit : text->data + text->len;
        while (p < end && is_space((unsigned char)*p)) p++;
        if (tina_buf_append_str(scratch, "\\frac", err)) return err->status;
        size_t rest = (size_t)(end - p);
        if (rest > 0 && *p == '{') {
            if (tina_buf_append(scratch, p, rest, err)) return err->status;
        } else if (rest < 2) {
            return TINA_OK; /* Python returns the text unchanged */
        } else if (p[1] != '{') {
            char pair[8] = {'{', p[0], '}', '{', p[1], '}'};
            if (tina_buf_append(scratch, pair, 6, err) || tina_buf_append(scratch, p + 2, rest - 2, err))
                return err->status;
        } else {
            char one[4] = {'{', p[0], '}'};
            if (tina_buf_append(scratch, one, 3, err) || tina_buf_append(scratch, p + 1, rest - 1, err))
                return err->status;
        }
    }
    return set_text(text, scratch->data, scratch->len, err);
}

/* "2/3" (exactly two integers) -> \frac{2}{3}. */
static TinaStatus fix_a_slash_b(TinaBuf *text, TinaError *err) {
    const char *slash = strchr(text->data, '/');
    if (!slash || strchr(slash + 1, '/')) return TINA_OK;
    char *end;
    long long a = strtoll(text->data, &end, 10);
    if (end != slash || end == text->data) return TINA_OK;
    long long b = strtoll(slash + 1, &end, 10);
    if (*end || end == slash + 1) return TINA_OK;
    char canonical[64], fraction[80];
    snprintf(canonical, sizeof canonical, "%lld/%lld", a, b);
    if (strcmp(canonical, text->data) != 0) return TINA_OK;
    snprintf(fraction, sizeof fraction, "\\frac{%lld}{%lld}", a, b);
    return set_text(text, fraction, strlen(fraction), err);
}

static TinaStatus normalize(TinaBuf *text, const Normalization *how, TinaError *err) {
    TinaBuf scratch = {0};
    TinaStatus status = TINA_OK;
#define TRY(call)                                                                                                     \
    do {                                                                                                              \
        if ((status = (call)) != TINA_OK) goto done;                                                                  \
    } while (0)
    if (tina_buf_reserve(text, 0, err)) return err->status;
    if (how->boxed) {
        TRY(tina_boxed_content(text->data, text->len, how->boxed == 2, &scratch, err));
        TRY(set_text(text, scratch.data, scratch.len, err));
    }
    TRY(replace_literal(text, "\\mathrm{T}", "T", &scratch, err));
    TRY(replace_literal(text, "\\mathrm{d}", "d", &scratch, err));
    TRY(replace_literal(text, "{\\rm d}", "d", &scratch, err));
    TRY(replace_literal(text, "\\left[\\begin{matrix}", "\\begin{bmatrix}", &scratch, err));
    TRY(replace_literal(text, "\\end{matrix}\\right]", "\\end{bmatrix}", &scratch, err));
    TRY(substitute(regexes.left, "$1", text, &scratch, err));
    TRY(substitute(regexes.right, "$1", text, &scratch, err));
    TRY(substitute(regexes.permutation, "\\frac{($1)!}{(($1)-($2))!}", text, &scratch, err));
    TRY(substitute(regexes.to_remove, "", text, &scratch, err));
    TRY(replace_in_latex(text, &scratch, err));
    for (size_t i = 0; i < text->len; i++)
        if (text->data[i] == '\n' || text->data[i] == '\t') text->data[i] = ' ';
    if (!strstr(text->data, "matrix")) TRY(substitute(regexes.slash_fix, "\\\\", text, &scratch, err));

    if (how->equations && !strchr(text->data, ',') && !strchr(text->data, ';')) {
        pcre2_match_data *match = pcre2_match_data_create_from_pattern(regexes.equation_split, NULL);
        size_t at = 0, parts = 1, last = 0;
        PCRE2_SIZE *ov;
        while (match && regex_search(regexes.equation_split, text->data, text->len, at, &ov, match)) {
            parts++;
            last = at = ov[1];
        }
        pcre2_match_data_free(match);
        if (parts > 2) {
            TRY(set_text(&scratch, text->data + last, text->len - last, err));
            TRY(set_text(text, scratch.data, scratch.len, err));
        }
    }
    if (how->units) {
        TRY(set_text(&scratch, text->data, text->len, err));
        TinaBuf cut = {0};
        status = substitute(regexes.unit_superscript, "", &scratch, &cut, err);
        if (!status) {
            const char *s = scratch.data;
            size_t n = scratch.len;
            strip(&s, &n);
            if (n && (n != text->len || memcmp(s, text->data, n) != 0)) status = set_text(text, s, n, err);
        }
        for (int round = 0; !status && round < 2; round++) {
            status = set_text(&scratch, text->data, text->len, err);
            if (!status) status = substitute(regexes.units, "$1", &scratch, &cut, err);
            if (!status && scratch.len && strcmp(scratch.data, text->data) != 0)
                status = set_text(text, scratch.data, scratch.len, err);
        }
        tina_buf_free(&cut);
        if (status) goto done;
    }
    if (how->nits) {
        if (text->len && text->data[0] == '.') {
            TRY(set_text(&scratch, "0", 1, err));
            TRY(tina_buf_append(&scratch, text->data, text->len, err));
            TRY(set_text(text, scratch.data, scratch.len, err));
        }
        if (strcmp(text->data, "0.5") == 0) TRY(set_text(text, "\\frac{1}{2}", 11, err));
    }
    if (how->malformed_operators) {
        for (int i = 0; i < 7; i++) TRY(substitute(regexes.malformed[i], malformed_with[i], text, &scratch, err));
        TRY(replace_literal(text, " sqrt", "\\sqrt", &scratch, err));
        TRY(fix_sqrt(text, &scratch, err));
        TRY(fix_fracs(text, &scratch, err));
        TRY(fix_a_slash_b(text, err));
    }
#undef TRY
done:
    tina_buf_free(&scratch);
    return status;
}

/* ---- extraction ---- */

void tina_extracted_free(TinaExtracted *out) {
    for (int i = 0; i < TINA_ANSWER_MAX_PARTS; i++) tina_buf_free(&out->parts[i]);
    tina_buf_free(&out->raw);
    *out = (TinaExtracted){0};
}

static void extracted_reset(TinaExtracted *out) {
    for (int i = 0; i < TINA_ANSWER_MAX_PARTS; i++) {
        tina_buf_clear(&out->parts[i]);
        out->percent[i] = out->verbatim[i] = false;
    }
    out->n_parts = 0;
    out->expression = false;
    tina_buf_clear(&out->raw);
}

static TinaStatus add_part(TinaExtracted *out, const char *text, size_t len, bool percent, const Normalization *how,
                           TinaError *err) {
    TinaBuf *part = &out->parts[out->n_parts];
    if (set_text(part, text, len, err) || normalize(part, how, err)) return err->status;
    out->percent[out->n_parts++] = percent;
    return TINA_OK;
}

/* Whether sympy's parse_expr (standard transformations, no implicit multiplication) reads an expression made of
 * digits, points, spaces, + - * / ^ ( ) x and the division sign: not with x or the division sign (not Python), a
 * product written by juxtaposition ("2(3)", "(1+2)(3+4)": a call; "1 2"), unbalanced parentheses or a trailing
 * operator. */
static bool python_reads(const char *expr, size_t len) {
    int depth = 0;
    char last = 0; /* the last character that is not a space */
    bool spaced = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)expr[i];
        if (ch >= 0x80) return false; /* the multiplication or division sign */
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            spaced = last != 0;
            continue;
        }
        bool digit = ch >= '0' && ch <= '9';
        if ((ch == '(' && (last == ')' || (last >= '0' && last <= '9'))) ||
            (digit && spaced && ((last >= '0' && last <= '9') || last == ')')))
            return false;
        depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
        if (depth < 0) return false;
        last = (char)ch, spaced = false;
    }
    return depth == 0 && last && strchr("+-*/^(", last) == NULL;
}

/* A plain number as Math-Verify's extract_expr writes it (thousands separators dropped, leading zeros stripped, a
 * decimal comma made a point), or the expression: for our reader as sympy reads it (** a power, "4." a number), or
 * verbatim where sympy cannot (Math-Verify then keeps the string). */
static TinaStatus take_expr(const Pattern *p, const char *text, const PCRE2_SIZE *ov, TinaExtracted *out,
                            TinaError *err) {
    const char *integer = NULL, *decimal = NULL;
    size_t integer_len = 0, decimal_len = 0;
    bool percent = false;
    const char *expr = NULL;
    size_t expr_len = 0;
    PCRE2_SPTR table;
    uint32_t count, size;
    pcre2_pattern_info(p->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(p->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(p->code, PCRE2_INFO_NAMETABLE, &table);
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *entry = table + i * size;
        int group = entry[0] << 8 | entry[1];
        const char *name = (const char *)entry + 2;
        if (ov[2 * group] == PCRE2_UNSET || ov[2 * group + 1] == ov[2 * group]) continue;
        const char *at = text + ov[2 * group];
        size_t n = ov[2 * group + 1] - ov[2 * group];
        if (!strncmp(name, "integer", 7) && !integer) integer = at, integer_len = n;
        else if (!strncmp(name, "decimal", 7) && !decimal) decimal = at, decimal_len = n;
        else if (!strcmp(name, "percent")) percent = true;
        else if (!strcmp(name, "expr")) expr = at, expr_len = n;
    }
    TinaBuf *part = &out->parts[0];
    tina_buf_clear(part);
    bool verbatim = false;
    if (integer || decimal) {
        /* sympy's Number refuses "-007" (Python's lstrip("0") leaves the sign's zeros), and the whole parse fails */
        if (integer_len >= 3 && integer[0] == '-' && integer[1] == '0' && integer[2] >= '0' && integer[2] <= '9')
            return TINA_OK;
        bool leading = true;
        for (size_t i = 0; i < integer_len; i++) {
            if (integer[i] == ',' || integer[i] == ' ' || (leading && integer[i] == '0')) continue;
            leading = false;
            if (tina_buf_append(part, integer + i, 1, err)) return err->status;
        }
        if (!part->len && tina_buf_append(part, "0", 1, err)) return err->status;
        if (decimal_len && (tina_buf_append(part, ".", 1, err) ||
                            tina_buf_append(part, decimal + 1, decimal_len - 1, err)))
            return err->status;
    } else if ((verbatim = !python_reads(expr, expr_len))) {
        if (tina_buf_append(part, expr, expr_len, err)) return err->status;
    } else {
        for (size_t i = 0; i < expr_len; i++) {
            const char *at = expr + i;
            if (*at == '*' && i + 1 < expr_len && expr[i + 1] == '*') at = "^", i++;
            else if (*at == '.' && !(i + 1 < expr_len && expr[i + 1] >= '0' && expr[i + 1] <= '9')) continue;
            else if (*at == '\n') at = " ";
            if (tina_buf_append(part, at, 1, err)) return err->status;
        }
    }
    if (tina_buf_reserve(part, 0, err)) return err->status;
    out->percent[0] = percent;
    out->verbatim[0] = verbatim;
    out->n_parts = 1;
    out->expression = true;
    /* lighteval's string for it: the number as written above, or the expression as matched */
    tina_buf_clear(&out->raw);
    if (expr && !integer && !decimal) return tina_buf_append(&out->raw, expr, expr_len, err);
    return tina_buf_append(&out->raw, part->data, part->len, err);
}

/* The groups of one match: each environment's content (whichever delimiter matched) and its percent flag. */
static TinaStatus take_match(const Pattern *p, const char *text, const PCRE2_SIZE *ov, const Normalization *env_how,
                             const Normalization *boxed_how, TinaExtracted *out, TinaError *err) {
    if (p->groups_per_env < 0) return take_expr(p, text, ov, out, err);
    if (!p->groups_per_env) return add_part(out, text + ov[2], ov[3] - ov[2], false, boxed_how, err);
    for (int env = 0; env < TINA_ANSWER_MAX_PARTS; env++) {
        int base = 1 + env * p->groups_per_env; /* group 1: the first environment's first content */
        for (int g = 0; g < p->groups_per_env - 1; g++) {
            const PCRE2_SIZE *pair = &ov[2 * (base + g)];
            if (pair[0] == PCRE2_UNSET) continue;
            bool percent = ov[2 * (base + p->groups_per_env - 1)] != PCRE2_UNSET;
            if (add_part(out, text + pair[0], pair[1] - pair[0], percent, env_how, err)) return err->status;
            break;
        }
    }
    return TINA_OK;
}

/* Which of Math-Verify's patterns a parse uses, and how the LaTeX it finds is normalised. */
typedef struct {
    int boxed_priority;   /* LatexExtractionConfig.boxed_match_priority */
    bool unanchored;      /* try_extract_without_anchor (for both kinds) */
    bool numbers;         /* an ExprExtractionConfig too */
    bool no_latex;        /* no LatexExtractionConfig: numbers alone */
    bool v052;            /* Math-Verify 0.5.2's LaTeX patterns (Tina's pin) */
    Normalization env_how, boxed_how;
} Search;

static bool pattern_used(const Pattern *p, const Search *how) {
    if (p->groups_per_env < 0 ? !how->numbers : how->no_latex) return false;
    return !p->unanchored || how->unanchored;
}

typedef struct {
    const Pattern *pattern;
    size_t order; /* the pattern's place in the list: breaks ties between equal spans */
    PCRE2_SIZE ov[2 * (1 + TINA_ANSWER_MAX_PARTS * 7)];
} Candidate;

/* rightmost end first, then leftmost start, then the pattern listed first (Python's stable sort) */
static int candidate_order(const void *x, const void *y) {
    const Candidate *a = x, *b = y;
    if (a->ov[1] != b->ov[1]) return a->ov[1] > b->ov[1] ? -1 : 1;
    if (a->ov[0] != b->ov[0]) return a->ov[0] < b->ov[0] ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Math-Verify's extract_target_from_pred: the patterns grouped by priority, and in each group every match, the one
 * ending last first (then the one starting first, then the pattern listed first), handed to `take` (as `candidate`)
 * until it says stop; the groups after the first that matches only when none of its matches did. */
static TinaStatus search_candidates(const char *text, size_t len, const Search *how, TinaCandidateFn take, void *ctx,
                                    TinaExtracted *candidate, TinaError *err) {
    if (ready(err)) return err->status;
    static const int priorities[] = {0, 50, 55, 100, 200, 300};
    Candidate *found = NULL;
    size_t n = 0, cap = 0;
    TinaStatus status = TINA_OK;
    bool done = false;
    for (size_t level = 0; !status && !done && level < sizeof priorities / sizeof *priorities; level++) {
        n = 0;
        for (int i = 0; !status && i < N_LATEX_PATTERNS + N_EXPR_PATTERNS; i++) {
            const Pattern *p =
                i < N_LATEX_PATTERNS ? &regexes.latex[how->v052][i] : &regexes.expr[i - N_LATEX_PATTERNS];
            if (!pattern_used(p, how) || (p->boxed ? how->boxed_priority : p->priority) != priorities[level]) continue;
            pcre2_match_data *match = pcre2_match_data_create_from_pattern(p->code, NULL);
            if (!match) {
                status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
                break;
            }
            uint32_t pairs = pcre2_get_ovector_count(match);
            if (pairs > 1 + TINA_ANSWER_MAX_PARTS * 7) pairs = 1 + TINA_ANSWER_MAX_PARTS * 7;
            PCRE2_SIZE *ov;
            for (size_t at = 0; at <= len && regex_search(p->code, text, len, at, &ov, match);) {
                if (n == cap) {
                    size_t grown = cap ? 2 * cap : 16;
                    Candidate *more = realloc(found, grown * sizeof *found);
                    if (!more) {
                        status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
                        break;
                    }
                    found = more, cap = grown;
                }
                found[n] = (Candidate){.pattern = p, .order = (size_t)i};
                memcpy(found[n].ov, ov, 2 * pairs * sizeof *ov);
                n++;
                at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
            }
            pcre2_match_data_free(match);
        }
        if (n > 1) qsort(found, n, sizeof *found, candidate_order); /* (found is NULL while nothing matched) */
        for (size_t k = 0; !status && !done && k < n; k++) {
            extracted_reset(candidate);
            status = take_match(found[k].pattern, text, found[k].ov, &how->env_how, &how->boxed_how, candidate, err);
            if (!status) status = take(ctx, candidate, &done, err);
        }
    }
    free(found);
    return status;
}

static TinaStatus take_first(void *ctx, const TinaExtracted *candidate, bool *stop, TinaError *err) {
    (void)ctx, (void)candidate, (void)err;
    *stop = true;
    return TINA_OK;
}

/* Math-Verify's "first_match" mode: in the first group that matches anywhere, only the first of its matches, as
 * search_candidates orders them, is taken, whether it parses or not. */
static TinaStatus search(const char *text, size_t len, const Search *how, TinaExtracted *out, TinaError *err) {
    extracted_reset(out);
    return search_candidates(text, len, how, take_first, NULL, out, err);
}

TinaStatus tina_extract_prediction(const char *text, size_t len, TinaExtracted *out, TinaError *err) {
    static const Search open_r1 = {.boxed_priority = 0,
                                   .env_how = {.boxed = 2, .units = true, .equations = true},
                                   .boxed_how = {.boxed = 1, .units = true, .equations = true}};
    return search(text, len, &open_r1, out, err);
}

TinaStatus tina_extract_first_match(const char *text, size_t len, bool numbers, TinaExtracted *out, TinaError *err) {
    static const Search latex = {.boxed_priority = 50, .unanchored = true, .v052 = true,
                                 .env_how = {.boxed = 2, .units = true, .malformed_operators = true, .nits = true,
                                             .equations = true},
                                 .boxed_how = {.boxed = 1, .units = true, .malformed_operators = true, .nits = true,
                                               .equations = true}};
    Search how = latex;
    how.numbers = numbers;
    return search(text, len, &how, out, err);
}

TinaStatus tina_extract_gold(const char *text, size_t len, TinaExtracted *out, TinaError *err) {
    if (ready(err)) return err->status;
    extracted_reset(out);
    /* \boxed{text} always matches Math-Verify's plain box pattern, unless text is empty (then nothing parses). */
    if (!len) return TINA_OK;
    static const Normalization gold_how = {.boxed = 1, .units = true, .malformed_operators = true, .nits = true};
    TinaBuf boxed = {0};
    TinaStatus status = tina_buf_append_str(&boxed, "\\boxed{", err);
    if (!status) status = tina_buf_append(&boxed, text, len, err);
    if (!status) status = tina_buf_append(&boxed, "}", 1, err);
    if (!status) status = add_part(out, boxed.data, boxed.len, false, &gold_how, err);
    tina_buf_free(&boxed);
    return status;
}

/* ---- lighteval (ed084813), as Tina's evaluation configured it ---- */

/* latex2sympy2_extended's default normalisation, which lighteval's LatexExtractionConfig() keeps */
#define LIGHTEVAL_HOW(box)                                                                                            \
    { .boxed = (box), .units = true, .malformed_operators = true, .nits = true, .equations = true }

TinaStatus tina_extract_candidates(const char *text, size_t len, TinaLightevalTarget target, TinaCandidateFn take,
                                   void *ctx, TinaExtracted *candidate, TinaError *err) {
    static const Search pred = {.boxed_priority = 0, .unanchored = true, .numbers = true, .v052 = true,
                                .env_how = LIGHTEVAL_HOW(2), .boxed_how = LIGHTEVAL_HOW(1)};
    static const Search gold_latex = {.boxed_priority = 55, .unanchored = true, .v052 = true,
                                      .env_how = LIGHTEVAL_HOW(2), .boxed_how = LIGHTEVAL_HOW(1)};
    static const Search gold_expr = {.unanchored = true, .numbers = true, .no_latex = true};
    const Search *how = target == TINA_LIGHTEVAL_PRED ? &pred : target == TINA_LIGHTEVAL_GOLD_LATEX ? &gold_latex
                                                                                                    : &gold_expr;
    return search_candidates(text, len, how, take, ctx, candidate, err);
}
