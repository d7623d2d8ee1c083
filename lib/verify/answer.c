#include "verify/answer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building an answer ---- */

/* A list of values ("1, 2", "3 \pm 1"), whose elements join the other parts'; a braced set stays one element. */
static bool is_list(const MathNode *n) { return n->kind == MATH_SET && n->op != 'b'; }

/* Several environments ("$1$, $2$ and $3$") make one set of all their elements when every one parses; otherwise
 * the first stands alone (Math-Verify's extract_latex). Returns how many parts the answer is made of. */
static int build_tree(TinaAnswer *a) {
    a->arena.n_nodes = a->arena.n_slots = 0;
    a->tree = NULL;
    TinaExtracted *x = &a->extracted;
    MathNode *parts[TINA_ANSWER_MAX_PARTS];
    int elements = 0;
    bool all = true;
    for (int i = 0; i < x->n_parts; i++) {
        const TinaBuf *text = &x->parts[i];
        parts[i] = text->len && !x->verbatim[i]
                       ? tina_math_parse(text->data, text->len, tina_latex_looks_complex(text->data, text->len),
                                         &a->arena)
                       : NULL;
        if (parts[i] && x->percent[i]) {
            MathNode *pct = tina_math_node(&a->arena, MATH_PERCENT, 1);
            if (pct) pct->kids[0] = parts[i];
            parts[i] = pct;
        }
        all &= parts[i] != NULL;
        if (parts[i]) elements += is_list(parts[i]) ? parts[i]->n_kids : 1;
    }
    if (x->n_parts <= 1 || !all) {
        a->tree = x->n_parts ? parts[0] : NULL;
        return x->n_parts ? 1 : 0;
    }
    MathNode *set = tina_math_node(&a->arena, MATH_SET, elements);
    if (!set) return 1;
    int k = 0;
    for (int i = 0; i < x->n_parts; i++) {
        if (is_list(parts[i]))
            for (int j = 0; j < parts[i]->n_kids; j++) set->kids[k++] = parts[i]->kids[j];
        else
            set->kids[k++] = parts[i];
    }
    a->tree = set;
    return x->n_parts;
}

/* a->text: the first n parts of the extraction joined by " and " */
static TinaStatus join_parts(TinaAnswer *a, int n, TinaError *err) {
    tina_buf_clear(&a->text);
    for (int i = 0; i < n; i++) {
        if (i && tina_buf_append_str(&a->text, " and ", err)) return err->status;
        if (tina_buf_append(&a->text, a->extracted.parts[i].data, a->extracted.parts[i].len, err)) return err->status;
    }
    return TINA_OK;
}

/* The text Math-Verify compares when the values do not decide: all parts joined by " and " when all parsed,
 * else the first part alone (build_tree's count). */
static TinaStatus finish(TinaAnswer *a, TinaError *err) {
    if (join_parts(a, build_tree(a), err)) return err->status;
    return tina_buf_reserve(&a->text, 0, err);
}

TinaStatus tina_answer_gold(TinaAnswer *a, const char *text, size_t len, TinaError *err) {
    if (tina_extract_gold(text, len, &a->extracted, err)) return err->status;
    return finish(a, err);
}

TinaStatus tina_answer_prediction(TinaAnswer *a, const char *text, size_t len, TinaError *err) {
    if (tina_extract_prediction(text, len, &a->extracted, err)) return err->status;
    return finish(a, err);
}

TinaStatus tina_answer_first_match(TinaAnswer *a, const char *text, size_t len, bool numbers, TinaError *err) {
    if (tina_extract_first_match(text, len, numbers, &a->extracted, err)) return err->status;
    return finish(a, err);
}

/* lighteval's extraction: each match in its order until one parses (build_tree), and beside it the string of the
 * first match that has one (fallback_mode "first_match"): the tree is the answer's value, its text that string. */
typedef struct {
    TinaAnswer *answer;
    bool has_text;
} Trial;

static TinaStatus try_candidate(void *ctx, const TinaExtracted *candidate, bool *stop, TinaError *err) {
    Trial *t = ctx;
    TinaAnswer *a = t->answer;
    int n = build_tree(a); /* the candidate is a->extracted, where build_tree reads it */
    if (!t->has_text) {
        /* an expression's string is the match as written; LaTeX's the normalised parts, joined when all parsed */
        tina_buf_clear(&a->text);
        if (candidate->expression ? tina_buf_append(&a->text, candidate->raw.data, candidate->raw.len, err)
                                  : join_parts(a, n, err))
            return err->status;
        t->has_text = a->text.len > 0;
    }
    *stop = a->tree != NULL;
    return TINA_OK;
}

TinaStatus tina_answer_lighteval(TinaAnswer *a, const char *text, size_t len, TinaLightevalTarget target,
                                 TinaError *err) {
    Trial trial = {a, false};
    tina_buf_clear(&a->text);
    a->tree = NULL;
    TinaStatus status = tina_extract_candidates(text, len, target, try_candidate, &trial, &a->extracted, err);
    if (status) return status;
    if (!trial.has_text) tina_buf_clear(&a->text);
    /* a gold from which nothing is extracted is compared as the string it is (sample_level_fn's [[gold]]) */
    if (target != TINA_LIGHTEVAL_PRED && !a->tree && !trial.has_text) return tina_buf_append(&a->text, text, len, err);
    return tina_buf_reserve(&a->text, 0, err);
}

static bool stripped_equal(const TinaBuf *a, const TinaBuf *b) {
    const char *s = a->data ? a->data : "", *t = b->data ? b->data : "";
    size_t n = a->len, m = b->len;
    while (n && (*s == ' ' || *s == '\n' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t')) n--;
    while (m && (*t == ' ' || *t == '\n' || *t == '\t')) t++, m--;
    while (m && (t[m - 1] == ' ' || t[m - 1] == '\n' || t[m - 1] == '\t')) m--;
    return n && m && n == m && memcmp(s, t, n) == 0;
}

bool tina_answer_found(const TinaAnswer *a) { return a->tree || a->text.len; }

void tina_answer_free(TinaAnswer *a) {
    tina_extracted_free(&a->extracted);
    tina_buf_free(&a->text);
    a->tree = NULL;
}

/* ---- comparing values ---- */

enum { POINTS = 3 };
#define CHOP 1.7763568394002505e-15 /* 2^-49: what sympy's evalf(15, chop=True) rounds to zero */

/* Where the graders' comparisons differ. */
typedef struct {
    int digits;          /* places a decimal is rounded to: Math-Verify's 6, Tina's lighteval metrics' 5 */
    bool percent_scaled; /* 25\% is 1/4 against an integer too (lighteval ed084813); Math-Verify 0.9.0 takes a
                          * whole number's percent sign for decoration: 25\% is 25 */
    bool rounds_numbers_only; /* a decimal is rounded against a sympy Number only (lighteval ed084813): 3.14159 is
                               * not \pi; Math-Verify 0.9.0 compares any value (its relative difference) */
} Rules;

static bool close_values(MathValue a, MathValue b, double tolerance) {
    if (!a.ok || !b.ok) return false;
    if (a.exact && b.exact) return a.num == b.num && a.den == b.den;
    /* relative, with sympy's chop below 2^-49: 7.4e-12 and 6.4e-12 differ, sin(pi) is 0 */
    return cabs(a.z - b.z) <= tolerance * fmax(cabs(a.z), cabs(b.z)) + CHOP;
}

/* x in units of 10^-digits as sympy's Float.round(digits) gets it (millionths for Math-Verify's 6): from the
 * 15-digit decimal form (a Float's precision), rounded half to even, so 113.0973355 gives 113097336 millionths
 * although its binary value is a hair below the half. */
static bool rounded_units(double x, int digits_kept, long long *out) {
    if (!isfinite(x) || fabs(x) >= 1e12) return false;
    char text[40];
    snprintf(text, sizeof text, "%.14e", fabs(x)); /* d.dddddddddddddde[+-]XX */
    long long digits = 0;
    for (const char *c = text; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') digits = digits * 10 + (*c - '0');
    int exponent = atoi(strchr(text, 'e') + 1);
    /* x * 10^digits_kept = digits * 10^(exponent - 14 + digits_kept) */
    int shift = exponent - 14 + digits_kept;
    long long units;
    if (shift >= 0) {
        units = digits;
        for (int i = 0; i < shift; i++) units *= 10;
    } else if (shift < -15) {
        units = 0;
    } else {
        long long divisor = 1;
        for (int i = 0; i < -shift; i++) divisor *= 10;
        units = digits / divisor;
        long long rest = digits % divisor;
        if (2 * rest > divisor || (2 * rest == divisor && (units & 1))) units++;
    }
    *out = x < 0 ? -units : units;
    return true;
}

/* Sympy's Float.round(digits) on both sides, then equality. */
static bool equal_rounded(MathValue a, MathValue b, int digits) {
    if (!a.ok || !b.ok || cimag(a.z) != 0 || cimag(b.z) != 0) return false;
    double x = creal(a.z), y = creal(b.z);
    long long mx, my;
    if (!rounded_units(x, digits, &mx) || !rounded_units(y, digits, &my))
        return x == y || fabs(x - y) <= 1e-15 * fmax(fabs(x), fabs(y));
    return mx == my;
}

static const MathNode *strip_percent(const MathNode *n) { return n->kind == MATH_PERCENT ? n->kids[0] : n; }

/* Whether test holds for n or for a node below it. */
static bool any_node(const MathNode *n, bool (*test)(const MathNode *)) {
    if (test(n)) return true;
    for (int i = 0; i < n->n_kids; i++)
        if (any_node(n->kids[i], test)) return true;
    return false;
}

static bool is_float_literal(const MathNode *n) { return n->kind == MATH_NUMBER && n->is_float; }
static bool contains_float(const MathNode *n) { return any_node(n, is_float_literal); }

static bool is_integer_literal(const MathNode *n) { return n->kind == MATH_NUMBER && !n->is_float && n->den == 1; }

/* What sympy holds as one number: a literal, or a quotient of two integers (\frac{13}{12500} is the Rational
 * 13/12500 at once, while 2^{10} stays a power), negated or not. */
static bool is_rational_atom(const MathNode *n) {
    if (n->kind == MATH_NEG) n = n->kids[0];
    if (n->kind == MATH_DIV) return is_integer_literal(n->kids[0]) && is_integer_literal(n->kids[1]);
    return is_integer_literal(n);
}
static bool is_float_atom(const MathNode *n) { return is_float_literal(strip_percent(n)); }
static bool is_number_atom(const MathNode *n) {
    n = strip_percent(n);
    return is_rational_atom(n) || is_float_atom(n) || (n->kind == MATH_CONST && strcmp(n->name, "oo") == 0);
}
static bool is_integer_atom(const MathNode *n) {
    n = strip_percent(n);
    if (!is_rational_atom(n)) return false;
    MathValue v = tina_math_eval(n, 0);
    return v.ok && v.exact && v.den == 1;
}

/* Whether sympy's doit() makes n one Number (a rational, a Float or oo). Without a decimal, where its value is
 * rational (tina's values hold \sqrt{4} and \cos(\pi) as doubles: an integral one counts), not \pi, e or \sqrt{2},
 * which sympy leaves symbolic; with one, where every argument of its sums, products, powers and functions is a
 * Number (2 \times 0.5, \sin(0.5); not 0.5\pi). */
static bool is_sympy_number(const MathNode *n) {
    if (!contains_float(n)) {
        MathValue v = tina_math_eval(n, 0);
        double x = creal(v.z);
        if (!v.ok || v.exact || cimag(v.z) != 0) return v.ok && v.exact;
        if (isinf(x)) return true; /* oo */
        return fabs(x - nearbyint(x)) <= 1e-12 * fmax(1, fabs(x)); /* \sqrt{2} \cdot \sqrt{2} is 2 + 2^-51 */
    }
    if (n->kind == MATH_NUMBER) return true;
    if (n->kind != MATH_NEG && n->kind != MATH_ADD && n->kind != MATH_MUL && n->kind != MATH_DIV &&
        n->kind != MATH_PERCENT && n->kind != MATH_POW && n->kind != MATH_FUNC)
        return false;
    for (int i = 0; i < n->n_kids; i++)
        if (!is_sympy_number(n->kids[i])) return false;
    return true;
}

/* sympy's Float arithmetic is binary double arithmetic, and an exact number meets a Float rounded to one: with a
 * decimal in play the two sides are equal when their doubles are (4.2 \times 10 is 42, 1.024 \times 10^3 is 2^{10},
 * 1.04 \times 10^{-3} is not 13/12500, whose double is one unit off) */
static bool same_double(MathValue a, MathValue b) {
    return a.ok && b.ok && cimag(a.z) == 0 && cimag(b.z) == 0 && creal(a.z) == creal(b.z);
}

/* A decimal literal whose value binary floating point does not hold exactly (0.1, 1.04; not 1.75, 2.5). Written
 * as m 10^-j (m integer, to the 15 digits a sympy Float keeps), it is exact when 5^j divides m. */
static bool inexact_decimal(const MathNode *n) {
    if (!is_float_literal(n)) return false;
    if (!isfinite(n->real)) return true; /* 1E717 */
    char text[64];
    snprintf(text, sizeof text, "%.14e", fabs(n->real)); /* d.dddddddddddddde[+-]XX */
    long long m = 0;
    int digits = 0;
    for (const char *c = text; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') m = m * 10 + (*c - '0'), digits++;
    int j = digits - 1 - atoi(strchr(text, 'e') + 1); /* value = m 10^-j */
    while (j > 0 && m % 10 == 0) m /= 10, j--;
    long long five = 1;
    for (int i = 0; i < j && i < 27; i++) five *= 5;
    return j > 26 || (j > 0 && m % five != 0);
}

/* What keeps sympy's simplify(a - b) from reaching 0: 0.1x - x/10 is not 0 to it (a decimal at its binary value),
 * 0.5x - x/2 is; nor does it cancel x^5 against x^{5.0} */
static bool blocks_simplify(const MathNode *n) {
    return inexact_decimal(n) || (n->kind == MATH_POW && contains_float(n->kids[1]));
}

/* Equal as functions of their free symbols: at every one of a few fixed points where either side has a value. */
static bool equal_at_points(const MathNode *a, const MathNode *b) {
    int compared = 0;
    for (int point = 0; point < POINTS; point++) {
        MathValue x = tina_math_eval(a, point), y = tina_math_eval(b, point);
        if (!x.ok && !y.ok) continue;
        if (!close_values(x, y, 1e-9)) return false;
        compared++;
    }
    return compared > 0;
}

static bool values_equal(const MathNode *a, const MathNode *b, Rules rules) {
    if (a->kind == MATH_MATRIX || b->kind == MATH_MATRIX) {
        if (a->kind != b->kind || a->rows != b->rows || a->cols != b->cols) return false;
        for (int i = 0; i < a->n_kids; i++)
            if (!values_equal(a->kids[i], b->kids[i], rules)) return false;
        return true;
    }
    /* with free symbols, simplify(a - b) == 0 */
    if (tina_math_has_symbols(a) || tina_math_has_symbols(b))
        return !any_node(a, blocks_simplify) && !any_node(b, blocks_simplify) && equal_at_points(a, b);
    MathValue x = tina_math_eval(a, 0), y = tina_math_eval(b, 0);
    bool decimals = contains_float(a) || contains_float(b);
    if (is_number_atom(a) || is_number_atom(b)) {
        /* Math-Verify's number branch: 6-digit rounding with a decimal, integers as integers (a percentage's
         * number as it is), else sympy's == of the evaluated sides, binary for decimals inside an expression
         * (4.2 \times 10 is 42, 1.04 \times 10^{-3} is not 13/12500) */
        if (is_float_atom(a) || is_float_atom(b))
            return (!rules.rounds_numbers_only || (is_sympy_number(a) && is_sympy_number(b))) &&
                   equal_rounded(x, y, rules.digits);
        if (is_integer_atom(a) && is_integer_atom(b) && rules.percent_scaled) return close_values(x, y, 0);
        if (is_integer_atom(a) && is_integer_atom(b))
            return tina_math_eval(strip_percent(a), 0).num == tina_math_eval(strip_percent(b), 0).num;
        if (decimals) return same_double(x, y);
    } else if (decimals) {
        /* Math-Verify's (a - b).evalf(15, chop=True) == 0, then simplify(a - b) == 0: decimals at their binary
         * value, any difference below 2^-49 none (8.224e-19 and 9.224e-19 are equal to it) */
        bool ok_a, ok_b;
        long double long_a = tina_math_eval_long(a, &ok_a), long_b = tina_math_eval_long(b, &ok_b);
        return (ok_a && ok_b && fabsl(long_a - long_b) <= CHOP) || same_double(x, y);
    }
    return close_values(x, y, 1e-12);
}

/* (a1 - a2) equals (b1 - b2) as values. */
static bool differences_equal(const MathNode *a1, const MathNode *a2, const MathNode *b1, const MathNode *b2) {
    int compared = 0;
    for (int point = 0; point < POINTS; point++) {
        MathValue x1 = tina_math_eval(a1, point), x2 = tina_math_eval(a2, point);
        MathValue y1 = tina_math_eval(b1, point), y2 = tina_math_eval(b2, point);
        if (!x1.ok || !x2.ok || !y1.ok || !y2.ok) continue;
        if (!close_values(tina_math_difference(x1, x2), tina_math_difference(y1, y2), 1e-9)) return false;
        compared++;
        if (!tina_math_has_symbols(a1) && !tina_math_has_symbols(a2) && !tina_math_has_symbols(b1) &&
            !tina_math_has_symbols(b2))
            break;
    }
    return compared > 0;
}

/* The same tree (sympy's ==, which compares structure). */
static bool structurally_equal(const MathNode *a, const MathNode *b) {
    if (a->kind != b->kind || a->op != b->op || a->n_kids != b->n_kids || a->is_float != b->is_float ||
        a->left_open != b->left_open || a->right_open != b->right_open || a->rows != b->rows || a->cols != b->cols ||
        strcmp(a->name, b->name) != 0)
        return false;
    if (a->kind == MATH_NUMBER && (a->num != b->num || a->den != b->den || a->real != b->real)) return false;
    for (int i = 0; i < a->n_kids; i++)
        if (!structurally_equal(a->kids[i], b->kids[i])) return false;
    return true;
}

static bool expressions_equal(const MathNode *gold, const MathNode *pred, Rules rules);

/* The number of distinct free symbols, counting up to two. */
static int count_symbols(const MathNode *n) {
    const MathNode *stack[TINA_MATH_MAX_NODES], *first = NULL;
    int top = 0;
    stack[top++] = n;
    while (top) {
        const MathNode *k = stack[--top];
        if (k->kind == MATH_SYMBOL) {
            if (first && strcmp(first->name, k->name) != 0) return 2;
            first = k;
        }
        for (int i = 0; i < k->n_kids && top < TINA_MATH_MAX_NODES; i++) stack[top++] = k->kids[i];
    }
    return first != NULL;
}

/* 6:00 reads as 6/0, sympy's zoo, which Math-Verify refuses to compare. */
static bool divides_by_zero(const MathNode *n) {
    if (n->kind != MATH_DIV || tina_math_has_symbols(n->kids[1])) return false;
    MathValue d = tina_math_eval(n->kids[1], 0);
    return d.ok && d.exact && d.num == 0;
}

/* ---- relations ---- */

static bool is_relation(const MathNode *n) {
    if (n->kind == MATH_REL) return true;
    if (n->kind != MATH_AND || !n->n_kids) return false;
    for (int i = 0; i < n->n_kids; i++)
        if (n->kids[i]->kind != MATH_REL) return false;
    return true;
}

static bool is_equation(const MathNode *n) {
    if (n->kind == MATH_REL) return n->op == '=';
    if (!is_relation(n)) return false;
    for (int i = 0; i < n->n_kids; i++)
        if (n->kids[i]->op != '=') return false;
    return true;
}

static bool only_symbols(const MathNode *n) {
    if (n->kind == MATH_SYMBOL) return true;
    if (n->kind != MATH_MUL && n->kind != MATH_FUNC) return false;
    for (int i = 0; i < n->n_kids; i++)
        if (!only_symbols(n->kids[i])) return false;
    return true;
}

static const MathNode *first_relation(const MathNode *n) { return n->kind == MATH_AND ? n->kids[0] : n; }
static const MathNode *last_relation(const MathNode *n) {
    while (n->kind == MATH_AND) n = n->kids[n->n_kids - 1];
    return n;
}

/* x = 3 (and x = y = 3): an equation whose left side is only symbols. */
static bool is_assignment(const MathNode *n) { return is_equation(n) && only_symbols(first_relation(n)->kids[0]); }

static char inverse_op(char op) {
    switch (op) {
    case '<': return '>';
    case '>': return '<';
    case 'l': return 'g';
    case 'g': return 'l';
    default: return op;
    }
}

/* (a1 - a2) = k (b1 - b2) for one constant k != 0, at every point. */
static bool proportional(const MathNode *a1, const MathNode *a2, const MathNode *b1, const MathNode *b2) {
    double complex ratio = 0;
    for (int point = 0; point < POINTS; point++) {
        MathValue x = tina_math_difference(tina_math_eval(a1, point), tina_math_eval(a2, point));
        MathValue y = tina_math_difference(tina_math_eval(b1, point), tina_math_eval(b2, point));
        if (!x.ok || !y.ok || cabs(y.z) < 1e-12) return false;
        double complex r = x.z / y.z;
        if (point && cabs(r - ratio) > 1e-9 * cabs(ratio)) return false;
        ratio = r;
    }
    return cabs(ratio) > 1e-12;
}

static bool relations_equal(const MathNode *gold, const MathNode *pred) {
    if (gold->kind == MATH_AND && pred->kind == MATH_AND) {
        if (gold->n_kids != pred->n_kids) return false;
        for (int i = 0; i < gold->n_kids; i++)
            if (!relations_equal(gold->kids[i], pred->kids[i])) return false;
        return true;
    }
    if (gold->kind != MATH_REL || pred->kind != MATH_REL) return false;
    const MathNode *gl = gold->kids[0], *gr = gold->kids[1], *pl = pred->kids[0], *pr = pred->kids[1];
    if (gold->op == pred->op && differences_equal(gl, gr, pl, pr)) return true;
    if (inverse_op(gold->op) == pred->op && differences_equal(gl, gr, pr, pl)) return true;
    /* Math-Verify's solve-and-compare: for an equation in one symbol it never succeeds (sympy's solutions are then
     * a list, not the mapping it expects: 2x+3=0 and 4x+6=0 differ to it); in several symbols it solves both for
     * the same one, which agrees exactly when one equation is a multiple of the other */
    return gold->op == '=' && pred->op == '=' && count_symbols(gold) > 1 && proportional(gl, gr, pl, pr);
}

/* ---- sets, tuples, intervals ---- */

static bool is_set(const MathNode *n) {
    return n->kind == MATH_SET || n->kind == MATH_INTERVAL || n->kind == MATH_UNION || n->kind == MATH_EMPTYSET ||
           n->kind == MATH_REALS;
}

static bool ordered_equal(MathNode *const *a, MathNode *const *b, int n, Rules rules) {
    for (int i = 0; i < n; i++)
        if (!expressions_equal(a[i], b[i], rules)) return false;
    return true;
}

/* Sympy orders both finite sets before comparing; a matching up to order is the same thing for values. */
static bool unordered_equal(MathNode *const *a, MathNode *const *b, int n, Rules rules) {
    bool used[64] = {0};
    if (n > 64) return false;
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < n && (used[j] || !expressions_equal(a[i], b[j], rules))) j++;
        if (j == n) return false;
        used[j] = true;
    }
    return true;
}

/* Set membership as sympy decides it: a name is only itself (\text{385} is not 385), a decimal equals a number to
 * its 15 digits (907.0 is 907, 10.1 is 101/10, 3.1622776602 is not \sqrt{10}). */
static bool same_element(const MathNode *a, const MathNode *b, Rules rules) {
    if (a->kind == MATH_SYMBOL || b->kind == MATH_SYMBOL || is_set(a) != is_set(b)) return structurally_equal(a, b);
    if (!tina_math_has_symbols(a) && !tina_math_has_symbols(b) && (contains_float(a) || contains_float(b))) {
        MathValue x = tina_math_eval(a, 0), y = tina_math_eval(b, 0);
        return x.ok && y.ok && cabs(x.z - y.z) <= 1e-15 * fmax(cabs(x.z), cabs(y.z));
    }
    return expressions_equal(a, b, rules);
}

/* Every element of a equals one of b. */
static bool contained(MathNode *const *a, int na, MathNode *const *b, int nb, Rules rules) {
    for (int i = 0; i < na; i++) {
        int j = 0;
        while (j < nb && !same_element(a[i], b[j], rules)) j++;
        if (j == nb) return false;
    }
    return true;
}

/* A finite set holds each element once: {1, 2, 2} is {1, 2}. Returns the number kept in `out`. */
static int distinct(MathNode *const *items, int n, MathNode **out) {
    int kept = 0;
    for (int i = 0; i < n && kept < 64; i++) {
        int j = 0;
        while (j < kept && !structurally_equal(items[i], out[j])) j++;
        if (j == kept) out[kept++] = items[i];
    }
    return kept;
}

static bool sets_equal(const MathNode *gold, const MathNode *pred, Rules rules) {
    MathNode *gold_one[1] = {(MathNode *)gold}, *pred_one[1] = {(MathNode *)pred};
    bool gold_wrapped = !is_set(gold) && gold->kind != MATH_TUPLE, pred_wrapped = !is_set(pred) && pred->kind != MATH_TUPLE;
    MathNode *const *gk = gold_wrapped ? gold_one : gold->kids, *const *pk = pred_wrapped ? pred_one : pred->kids;
    int gn = gold_wrapped ? 1 : gold->n_kids, pn = pred_wrapped ? 1 : pred->n_kids;
    MathKind g = gold_wrapped ? MATH_SET : gold->kind, p = pred_wrapped ? MATH_SET : pred->kind;
    if (g == MATH_INTERVAL && p == MATH_INTERVAL)
        return gold->left_open == pred->left_open && gold->right_open == pred->right_open &&
               expressions_equal(gk[0], pk[0], rules) && expressions_equal(gk[1], pk[1], rules);
    if (g == p && (g == MATH_EMPTYSET || g == MATH_REALS)) return true;
    if (g == MATH_UNION && p == MATH_UNION) return gn == pn && unordered_equal(gk, pk, gn, rules);
    /* \{\} is the empty set */
    if ((g == MATH_EMPTYSET && p == MATH_SET && !pn) || (p == MATH_EMPTYSET && g == MATH_SET && !gn)) return true;
    bool g_collection = g == MATH_SET || g == MATH_TUPLE, p_collection = p == MATH_SET || p == MATH_TUPLE;
    /* two finite sets with the same elements (sympy's empty symmetric difference): {907.0, 907} is {907} */
    if (g == MATH_SET && p == MATH_SET && contained(gk, gn, pk, pn, rules) && contained(pk, pn, gk, gn, rules))
        return true;
    MathNode *gold_distinct[64], *pred_distinct[64];
    if (g == MATH_SET) gn = distinct(gk, gn, gold_distinct), gk = gold_distinct;
    if (p == MATH_SET) pn = distinct(pk, pn, pred_distinct), pk = pred_distinct;
    if (g_collection && p_collection) {
        if (gn != pn) return false;
        if (g == MATH_TUPLE) return ordered_equal(gk, pk, gn, rules); /* against a tuple, or a set in its written order */
        return unordered_equal(gk, pk, gn, rules);
    }
    /* an open interval reads as a pair against a tuple or set of two, in the written order of an answer's set;
     * a gold set's two elements Math-Verify orders (as values, an equation x = 3 by its 3) before matching them
     * with the answer's ends, so there the order is free: gold x = 3, y = 1 is (1, 3) */
    if (g == MATH_INTERVAL && p_collection && gold->left_open && gold->right_open && pn == 2)
        return ordered_equal(gk, pk, 2, rules);
    if (p == MATH_INTERVAL && g_collection && pred->left_open && pred->right_open && gn == 2)
        return g == MATH_SET ? unordered_equal(gk, pk, 2, rules) : ordered_equal(gk, pk, 2, rules);
    return false;
}

/* x > 3 as the interval (3, oo), 1 < x < 2 as (1, 2): what sympy's as_set gives for one variable. */
static bool relation_as_interval(const MathNode *rel, double *lo, double *hi, bool *lo_open, bool *hi_open) {
    *lo = -INFINITY, *hi = INFINITY, *lo_open = *hi_open = true;
    int n = rel->kind == MATH_AND ? rel->n_kids : 1;
    for (int i = 0; i < n; i++) {
        const MathNode *r = rel->kind == MATH_AND ? rel->kids[i] : rel;
        if (r->kind != MATH_REL || r->op == '=' || r->op == 'n') return false;
        char op = r->op;
        const MathNode *bound = r->kids[1];
        if (r->kids[0]->kind != MATH_SYMBOL) {
            if (r->kids[1]->kind != MATH_SYMBOL) return false;
            op = inverse_op(op);
            bound = r->kids[0];
        }
        MathValue v = tina_math_eval(bound, 0);
        if (!v.ok || cimag(v.z) != 0 || tina_math_has_symbols(bound)) return false;
        if (op == '>' || op == 'g') *lo = creal(v.z), *lo_open = op == '>';
        else *hi = creal(v.z), *hi_open = op == '<';
    }
    return true;
}

static bool endpoint_equal(const MathNode *end, double value) {
    if (end->kind == MATH_CONST && strcmp(end->name, "oo") == 0) return value == INFINITY;
    if (end->kind == MATH_NEG && end->kids[0]->kind == MATH_CONST && strcmp(end->kids[0]->name, "oo") == 0)
        return value == -INFINITY;
    MathValue v = tina_math_eval(end, 0);
    return v.ok && isfinite(value) && close_values(v, (MathValue){.ok = true, .z = value}, 1e-12);
}

/* ---- Math-Verify's sympy_expr_eq ---- */

static bool symbol_name_equal(const MathNode *symbol, const MathNode *other) {
    if (other->kind == MATH_CONST && strcmp(other->name, "e") == 0) return strcmp(symbol->name, "e") == 0;
    if (other->kind == MATH_MUL) {
        /* "\text{ab}" against "ab" read as a*b */
        char joined[TINA_MATH_MAX_NAME * 4] = {0};
        for (int i = 0; i < other->n_kids; i++) {
            const MathNode *k = other->kids[i];
            bool is_e = k->kind == MATH_CONST && strcmp(k->name, "e") == 0;
            if (k->kind != MATH_SYMBOL && !is_e) return false;
            if (strlen(joined) + strlen(k->name) + 1 >= sizeof joined) return false;
            strcat(joined, is_e ? "e" : k->name);
        }
        return strcmp(joined, symbol->name) == 0;
    }
    if (other->kind == MATH_SYMBOL) return strcmp(symbol->name, other->name) == 0;
    /* sympy compares the printed forms: \text{-125} equals -125, \text{4.5} does not equal 4.50000000000000 */
    char printed[TINA_MATH_MAX_NAME + 2];
    tina_math_format(other, printed, sizeof printed);
    return strcmp(symbol->name, printed) == 0;
}

/* x = y = 3 as the one equation x = 3 (made in eq and kids); anything else as it is. */
static const MathNode *one_equation(const MathNode *n, MathNode *eq, MathNode *kids[2]) {
    if (n->kind != MATH_AND || !is_assignment(n)) return n;
    kids[0] = first_relation(n)->kids[0], kids[1] = last_relation(n)->kids[1];
    *eq = (MathNode){.kind = MATH_REL, .op = '=', .n_kids = 2, .kids = kids};
    return eq;
}

static bool expressions_equal(const MathNode *gold, const MathNode *pred, Rules rules) {
    bool gold_assignment = is_assignment(gold);
    bool gold_equation = is_equation(gold), pred_equation = is_equation(pred);
    MathNode gold_eq, pred_eq;
    MathNode *gold_kids[2], *pred_kids[2];
    gold = one_equation(gold, &gold_eq, gold_kids);
    pred = one_equation(pred, &pred_eq, pred_kids);
    if (pred_equation && !gold_equation) pred = last_relation(pred)->kids[1];
    else if (gold_assignment && !pred_equation) gold = last_relation(gold)->kids[1];

    if (is_relation(gold) && pred->kind == MATH_INTERVAL) {
        double lo, hi;
        bool lo_open, hi_open;
        if (relation_as_interval(gold, &lo, &hi, &lo_open, &hi_open))
            return lo_open == pred->left_open && hi_open == pred->right_open && endpoint_equal(pred->kids[0], lo) &&
                   endpoint_equal(pred->kids[1], hi);
    }
    /* sympy compares the solution set of a relation in one variable with a set (as_set); with more variables it
     * cannot, and the relation is compared as it is */
    if (is_relation(gold) && is_set(pred) && count_symbols(gold) == 1) return false;
    if (structurally_equal(gold, pred)) return !any_node(gold, divides_by_zero);
    if (is_relation(gold) && is_relation(pred)) return relations_equal(gold, pred);
    if (is_set(gold) || is_set(pred) || gold->kind == MATH_TUPLE || pred->kind == MATH_TUPLE)
        return sets_equal(gold, pred, rules);
    if (gold->kind == MATH_SYMBOL) return symbol_name_equal(gold, pred);
    if (pred->kind == MATH_SYMBOL) return symbol_name_equal(pred, gold);
    if (is_relation(gold) || is_relation(pred)) return false;
    return values_equal(gold, pred, rules);
}

int tina_answer_choice(const TinaAnswer *pred, const char *completion, size_t len, int n_choices) {
    /* a boxed letter first (\boxed{C}, \boxed{\text{(C)}}), then Math-Verify's string patterns */
    const MathNode *t = pred->tree;
    if (t && t->kind == MATH_SYMBOL && t->name[0] && !t->name[1] && t->name[0] - 'a' < n_choices)
        return t->name[0] - 'a';
    return tina_extract_choice(completion, len, n_choices);
}

static bool equivalent(const TinaAnswer *gold, const TinaAnswer *pred, Rules rules) {
    if (gold->tree && pred->tree && expressions_equal(gold->tree, pred->tree, rules)) return true;
    return stripped_equal(&gold->text, &pred->text);
}

bool tina_answer_equivalent(const TinaAnswer *gold, const TinaAnswer *pred) {
    return equivalent(gold, pred, (Rules){.digits = 6});
}

bool tina_answer_lighteval_equivalent(const TinaAnswer *gold, const TinaAnswer *pred) {
    return equivalent(gold, pred, (Rules){.digits = 5, .percent_scaled = true, .rounds_numbers_only = true});
}
