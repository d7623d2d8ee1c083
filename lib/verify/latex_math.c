#include "verify/latex_math.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lexer ---- */

typedef enum { T_END, T_NUMBER, T_LETTER, T_COMMAND, T_CHAR } TokenKind;

typedef struct {
    TokenKind kind;
    char c;                        /* T_CHAR and T_LETTER: the character (a letter lower-cased) */
    char name[TINA_MATH_MAX_NAME]; /* T_COMMAND without the backslash; T_NUMBER digits without separators */
    bool after_spacing;            /* \, \; \quad ... came just before (25\,\% does not parse) */
} Token;

typedef struct {
    const char *s, *end;
    Token tok;
    MathArena *arena;
    int depth, abs_depth;
    bool func_arg; /* reading a function's argument written without parentheses (\sin 2x) */
    bool failed, thousands, complex_mode; /* thousands: the whole text is one number with "," separators ("1,000") */
} Parser;

/* name is one of the strings of the array list */
#define ONE_OF(name, list) one_of(name, list, sizeof list / sizeof *list)
static bool one_of(const char *name, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0) return true;
    return false;
}

/* Spacing and sizing latex2sympy reads past; \big( .. \big), \limits and \nonumber are not among them: they fail
 * there. */
static bool skip_command(const char *name) {
    static const char *const spacing[] = {",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "left", "right"};
    return ONE_OF(name, spacing);
}

/* The non-ASCII characters latex2sympy reads (checked against Math-Verify: ° ∞ √ ∼ do not parse), the minus sign
 * U+2212 among them; ≈ ≃ ≅ are its \\approx, which keeps the left side ("1.45 ≈ 1.450" is 1.45). */
static const struct {
    const char *utf8, *as;
} unicode_map[] = {
    {"×", "\\times"}, {"÷", "\\div"}, {"≤", "\\le"}, {"≥", "\\ge"}, {"≠", "\\ne"}, {"π", "\\pi"},
    {"±", "\\pm"}, {"∪", "\\cup"}, {"−", "-"}, {"≈", "\\approx"}, {"≃", "\\approx"}, {"≅", "\\approx"},
};

/* Delimiter commands that are plain characters to latex2sympy. */
static char delimiter_char(const char *name) {
    static const struct {
        const char *name;
        char c;
    } map[] = {{"lbrack", '['}, {"rbrack", ']'}, {"lvert", '|'}, {"rvert", '|'}, {"vert", '|'}, {"mid", '|'}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(name, map[i].name) == 0) return map[i].c;
    return 0;
}

/* Appends c to a number token's text, which keeps its first 40 characters. */
static void keep_char(Token *t, size_t *n, char c) {
    if (*n < 40) t->name[(*n)++] = c;
}

static void next(Parser *p) {
    Token *t = &p->tok;
    bool spacing = false;
    for (;;) {
        while (p->s < p->end && isspace((unsigned char)*p->s)) p->s++;
        *t = (Token){.after_spacing = spacing};
        if (p->s >= p->end) {
            t->kind = T_END;
            return;
        }
        unsigned char c = (unsigned char)*p->s;
        if (isdigit(c) || (c == '.' && p->s + 1 < p->end && isdigit((unsigned char)p->s[1]))) {
            /* digits, then ",ddd" groups when the first group has 1-3 digits (a thousands separator), then
             * ".ddd" */
            const char *q = p->s;
            size_t n = 0;
            while (q < p->end && isdigit((unsigned char)*q)) keep_char(t, &n, *q++);
            size_t lead = (size_t)(q - p->s);
            if (p->thousands && lead >= 1 && lead <= 3) {
                while (q + 3 < p->end && q[0] == ',' && isdigit((unsigned char)q[1]) && isdigit((unsigned char)q[2]) &&
                       isdigit((unsigned char)q[3]) && !(q + 4 < p->end && isdigit((unsigned char)q[4]))) {
                    if (n + 3 < 40) memcpy(t->name + n, q + 1, 3), n += 3;
                    q += 4;
                }
            }
            if (q + 1 < p->end && q[0] == '.' && isdigit((unsigned char)q[1])) {
                keep_char(t, &n, *q++);
                while (q < p->end && isdigit((unsigned char)*q)) keep_char(t, &n, *q++);
            }
            /* 3E8, 1.5E-3: scientific notation with a capital E (a small e is Euler's number times) */
            if (q + 1 < p->end && q[0] == 'E' &&
                (isdigit((unsigned char)q[1]) ||
                 ((q[1] == '-' || q[1] == '+') && q + 2 < p->end && isdigit((unsigned char)q[2])))) {
                keep_char(t, &n, 'e');
                q++;
                keep_char(t, &n, *q++); /* a sign or the first digit */
                while (q < p->end && isdigit((unsigned char)*q)) keep_char(t, &n, *q++);
            }
            t->name[n] = 0;
            t->kind = T_NUMBER;
            p->s = q;
            return;
        }
        if (isalpha(c)) {
            t->kind = T_LETTER;
            t->c = (char)tolower(c);
            p->s++;
            return;
        }
        if (c == '\\') {
            const char *q = p->s + 1;
            if (q < p->end && isalpha((unsigned char)*q))
                while (q < p->end && isalpha((unsigned char)*q)) q++;
            else if (q < p->end)
                q++;
            size_t n = (size_t)(q - p->s - 1);
            if (n >= TINA_MATH_MAX_NAME) n = TINA_MATH_MAX_NAME - 1;
            memcpy(t->name, p->s + 1, n);
            t->name[n] = 0;
            p->s = q;
            if (skip_command(t->name)) {
                spacing = true;
                continue;
            }
            char c = delimiter_char(t->name);
            if (c) {
                t->kind = T_CHAR;
                t->c = c;
                return;
            }
            t->kind = T_COMMAND;
            return;
        }
        if (c >= 0x80) {
            for (size_t i = 0; i < sizeof unicode_map / sizeof *unicode_map; i++) {
                size_t n = strlen(unicode_map[i].utf8);
                if ((size_t)(p->end - p->s) >= n && memcmp(p->s, unicode_map[i].utf8, n) == 0) {
                    const char *as = unicode_map[i].as;
                    p->s += n;
                    if (as[0] == '\\') {
                        t->kind = T_COMMAND;
                        snprintf(t->name, sizeof t->name, "%s", as + 1);
                    } else {
                        t->kind = T_CHAR;
                        t->c = as[0];
                    }
                    return;
                }
            }
            p->failed = true;
            t->kind = T_END;
            return;
        }
        t->kind = T_CHAR;
        t->c = (char)c;
        p->s++;
        return;
    }
}

static bool is_char(const Parser *p, char c) { return p->tok.kind == T_CHAR && p->tok.c == c; }
static bool is_command(const Parser *p, const char *name) {
    return p->tok.kind == T_COMMAND && strcmp(p->tok.name, name) == 0;
}
static bool accept_char(Parser *p, char c) {
    if (!is_char(p, c)) return false;
    next(p);
    return true;
}
static bool accept_command(Parser *p, const char *name) {
    if (!is_command(p, name)) return false;
    next(p);
    return true;
}

/* ---- tree building ---- */

static MathNode *node(Parser *p, MathKind kind, int n_kids) {
    MathArena *a = p->arena;
    if (a->n_nodes == TINA_MATH_MAX_NODES || a->n_slots + n_kids > 4 * TINA_MATH_MAX_NODES) {
        p->failed = true;
        return NULL;
    }
    MathNode *n = &a->nodes[a->n_nodes++];
    *n = (MathNode){.kind = kind, .n_kids = n_kids, .kids = a->kid_slots + a->n_slots, .den = 1};
    a->n_slots += n_kids;
    return n;
}

static MathNode *list_node(Parser *p, MathKind kind, MathNode **items, int n_items) {
    MathNode *n = node(p, kind, n_items);
    if (n && n_items) memcpy(n->kids, items, (size_t)n_items * sizeof *items);
    return n;
}

/* A node over kid, or over a and b; NULL passes through. */
static MathNode *unary(Parser *p, MathKind kind, MathNode *kid) { return kid ? list_node(p, kind, &kid, 1) : NULL; }
static MathNode *binary(Parser *p, MathKind kind, MathNode *a, MathNode *b) {
    MathNode *kids[2] = {a, b};
    return a && b ? list_node(p, kind, kids, 2) : NULL;
}

/* a \pm b: the set {a - b, a + b}, marked so that a list or parentheses can take it apart */
static MathNode *plus_minus(Parser *p, MathNode *items[2]) {
    MathNode *set = list_node(p, MATH_SET, items, 2);
    if (set) set->op = 'p';
    return set;
}

/* The set of items, a \pm among them giving both its values: "4 \pm i, 4 \pm 2i" is a list of four. */
static MathNode *list_with_pm_flat(Parser *p, MathNode **items, int n) {
    MathNode *flat[128];
    int k = 0;
    for (int i = 0; i < n; i++) {
        bool pm = items[i]->kind == MATH_SET && items[i]->op == 'p';
        for (int j = 0; j < (pm ? items[i]->n_kids : 1); j++) flat[k++] = pm ? items[i]->kids[j] : items[i];
    }
    return list_node(p, MATH_SET, flat, k);
}

/* n (NULL passes through) with its name; long names are cut, both sides alike. */
static MathNode *with_name(MathNode *n, const char *name) {
    if (n) {
        size_t k = strnlen(name, sizeof n->name - 1);
        memcpy(n->name, name, k);
        n->name[k] = 0;
    }
    return n;
}

/* latex2sympy makes sympy symbols real unless the text looks complex; the two kinds never cancel each other. */
static MathNode *symbol(Parser *p, const char *name) {
    MathNode *n = with_name(node(p, MATH_SYMBOL, 0), name);
    if (n && p->complex_mode) n->op = 'c';
    return n;
}

static MathNode *number(Parser *p, const char *digits) {
    MathNode *n = node(p, MATH_NUMBER, 0);
    if (!n) return NULL;
    n->real = strtod(digits, NULL);
    if (strpbrk(digits, ".e")) {
        n->is_float = true;
        return n;
    }
    /* integers beyond 18 digits are kept as doubles (exact comparison is then impossible anyway) */
    if (strlen(digits) > 18) {
        n->den = 0;
        return n;
    }
    n->num = strtoll(digits, NULL, 10);
    return n;
}

/* ---- grammar ---- */

/* f(2), u(t), \omega(t): a name applied to a single symbol or number is an undefined function to latex2sympy;
 * x(x+1) stays a product. */
static MathNode *applied(Parser *p, MathNode *name) {
    if (!name) return name;
    /* sympy's printer writes u{\left(t \right)}, normalised to u{(t )} */
    bool braced = is_char(p, '{') && p->s < p->end && *p->s == '(';
    if (!braced && !is_char(p, '(')) return name;
    const char *q = p->s + braced;
    while (q < p->end && *q == ' ') q++;
    const char *arg = q;
    while (q < p->end && (isalnum((unsigned char)*q) || *q == '.')) q++;
    const char *arg_end = q;
    while (q < p->end && *q == ' ') q++;
    if (arg_end == arg || q >= p->end || *q != ')') return name;
    if (braced && (q + 1 >= p->end || q[1] != '}')) return name;
    p->s = arg;
    next(p);
    MathNode *value = p->tok.kind == T_NUMBER ? number(p, p->tok.name) : NULL;
    if (!value) {
        char letters[TINA_MATH_MAX_NAME] = {0};
        size_t n = (size_t)(arg_end - arg) < sizeof letters - 1 ? (size_t)(arg_end - arg) : sizeof letters - 1;
        for (size_t i = 0; i < n; i++) letters[i] = (char)tolower((unsigned char)arg[i]);
        value = symbol(p, letters);
    }
    p->s = q + 1 + braced;
    next(p);
    MathNode *call = with_name(unary(p, MATH_FUNC, value), name->name);
    if (call) call->op = 'u';
    return call;
}

static MathNode *parse_relation(Parser *p);
static MathNode *parse_expression(Parser *p);
static MathNode *parse_unary(Parser *p);
static MathNode *parse_postfix(Parser *p);

static bool enter(Parser *p) {
    if (++p->depth > TINA_MATH_MAX_DEPTH) p->failed = true;
    return !p->failed;
}

/* Items separated by "," or ";" up to one of the closing characters; returns the count, -1 on failure. */
static int parse_items(Parser *p, MathNode **items, int cap) {
    int n = 0;
    for (;;) {
        MathNode *item = parse_relation(p);
        if (!item || n == cap) return -1;
        items[n++] = item;
        if (!accept_char(p, ',') && !accept_char(p, ';')) return n;
    }
}

/* A braced argument {..}; a single token too unless braces_required (latex2sympy reads \frac12 and \sqrt2 as
 * errors: only gold answers get them rewritten to \frac{1}{2}). */
static MathNode *parse_argument(Parser *p, bool braces_required) {
    if (accept_char(p, '{')) {
        MathNode *inner = parse_relation(p);
        if (!accept_char(p, '}')) return NULL;
        return inner;
    }
    if (braces_required) return NULL;
    if (p->tok.kind == T_NUMBER || p->tok.kind == T_LETTER || p->tok.kind == T_COMMAND) return parse_postfix(p);
    return NULL;
}

/* \text{..}: one lower-case name of its characters without spaces, parentheses and backslashes ("no solution"
 * -> "nosolution", "(A)" -> "a", "-125" -> "-125": a name, which equals the number only by its printed form),
 * nothing if it is empty. */
static MathNode *parse_text(Parser *p) {
    if (!is_char(p, '{')) return NULL;
    const char *start = p->s, *q = start;
    int depth = 1;
    while (q < p->end && depth) {
        if (*q == '{') depth++;
        else if (*q == '}') depth--;
        q++;
    }
    if (depth) return NULL;
    char name[TINA_MATH_MAX_NAME];
    size_t n = 0;
    for (const char *c = start; c < q - 1; c++) {
        if (*c == '{' || *c == '}') return NULL; /* \text{{401}} does not parse */
        if (isspace((unsigned char)*c) || strchr("()~\\", *c)) continue;
        if (n + 1 >= sizeof name) return NULL;
        name[n++] = (char)tolower((unsigned char)*c);
    }
    name[n] = 0;
    p->s = q;
    next(p);
    return n ? symbol(p, name) : NULL;
}

static const char *const functions[] = {"sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan",
                                        "sinh", "cosh", "tanh", "log", "ln", "lg", "exp", "det"};

static bool is_function(const char *name) {
    return ONE_OF(name, functions);
}

/* \sin^2 x, \log_2 8, \ln(x), \exp{x}. */
static MathNode *parse_function(Parser *p, const char *name) {
    MathNode *power = NULL, *base = NULL;
    for (;;) {
        if (accept_char(p, '^')) {
            power = parse_argument(p, false);
        } else if (accept_char(p, '_')) {
            if (p->tok.kind == T_LETTER) return NULL; /* \log_e 2 does not parse; \log_{e} 2 does */
            base = parse_argument(p, false);
        } else {
            break;
        }
        if (p->failed || (!power && !base)) return NULL;
    }
    /* \sin^{-1} x is arcsin x */
    char inverse[TINA_MATH_MAX_NAME];
    bool minus_one = power && power->kind == MATH_NUMBER && !power->is_float && power->num == -1 && power->den == 1;
    if (minus_one && (strcmp(name, "sin") == 0 || strcmp(name, "cos") == 0 || strcmp(name, "tan") == 0)) {
        snprintf(inverse, sizeof inverse, "arc%s", name);
        name = inverse;
        power = NULL;
    }
    MathNode *arg;
    if (accept_char(p, '(')) {
        arg = parse_relation(p);
        if (!accept_char(p, ')')) return NULL;
    } else {
        bool outer = p->func_arg;
        p->func_arg = true;
        arg = parse_unary(p);
        p->func_arg = outer;
    }
    if (!arg) return NULL;
    MathNode *call = with_name(node(p, MATH_FUNC, base ? 2 : 1), strcmp(name, "lg") == 0 ? "log" : name);
    if (!call) return NULL;
    call->kids[0] = arg;
    if (base) call->kids[1] = base;
    return power ? binary(p, MATH_POW, call, power) : call;
}

/* The value of an interval's end, infinities included. */
static bool real_endpoint(const MathNode *n, double *value) {
    bool negative = n->kind == MATH_NEG;
    const MathNode *inner = negative ? n->kids[0] : n;
    if (inner->kind == MATH_CONST && strcmp(inner->name, "oo") == 0) {
        *value = negative ? -INFINITY : INFINITY;
        return true;
    }
    if (tina_math_has_symbols(n)) return false;
    MathValue v = tina_math_eval(n, 0);
    *value = creal(v.z);
    return v.ok && cimag(v.z) == 0;
}

/* ( .. ), [ .. ), ( .. ] and [ .. ]: a parenthesised expression, an interval, or a tuple. */
static MathNode *parse_bracketed(Parser *p, char open) {
    MathNode *items[64];
    int n = parse_items(p, items, 64);
    if (n < 0) return NULL;
    char close = p->tok.kind == T_CHAR ? p->tok.c : 0;
    if (close != ')' && close != ']') return NULL;
    next(p);
    if (n == 1 && items[0]->kind == MATH_SET && items[0]->op == 'p' && open == '(' && close == ')')
        return list_node(p, MATH_TUPLE, items[0]->kids, items[0]->n_kids); /* (1 \pm 2): a pair */
    if (n == 1 && items[0]->kind == MATH_MATRIX) return items[0]; /* (\begin{array}..\end{array}) */
    if (n == 1) return open == '(' && close == ')' ? items[0] : list_node(p, MATH_SET, items, 1);
    if (n == 2) {
        /* latex2sympy reads (a, b) as an interval when a < b, [a, a] as the set {a}, (2, -3) or [2, -3] as a
         * tuple, a half-open [a, b) with b <= a as the empty set; ends it cannot order are an interval only in
         * brackets */
        double a, b;
        bool known = real_endpoint(items[0], &a) && real_endpoint(items[1], &b);
        bool half_open = (open == '[') != (close == ']');
        if (known && a == b && open == '[' && close == ']') return list_node(p, MATH_SET, items, 1);
        if (known && half_open && a >= b) return node(p, MATH_EMPTYSET, 0);
        if (known ? a < b : open != '(' || close != ')') {
            MathNode *interval = list_node(p, MATH_INTERVAL, items, 2);
            /* an infinite end is always open to sympy: [-6, \infty] is [-6, \infty) */
            if (interval) {
                interval->left_open = open == '(' || (known && isinf(a));
                interval->right_open = close == ')' || (known && isinf(b));
            }
            return interval;
        }
    }
    if (n > 2 && (open == '(') != (close == ')')) return NULL; /* (1, 2, 3] is neither tuple nor interval */
    return list_node(p, MATH_TUPLE, items, n);
}

static MathNode *parse_matrix(Parser *p) {
    if (!accept_char(p, '{')) return NULL;
    char env[TINA_MATH_MAX_NAME] = {0};
    for (size_t n = 0; p->tok.kind == T_LETTER && n + 1 < sizeof env; n++) {
        env[n] = p->tok.c;
        next(p);
    }
    if (!accept_char(p, '}') || (!strstr(env, "matrix") && strcmp(env, "array") != 0)) return NULL;
    if (strcmp(env, "array") == 0) {
        /* \begin{array}{cc}: skip the column specification */
        if (!accept_char(p, '{')) return NULL;
        while (p->tok.kind == T_LETTER || is_char(p, '|')) next(p);
        if (!accept_char(p, '}')) return NULL;
    }
    MathNode *cells[256];
    int n = 0, cols = 0, row_len = 0, rows = 0;
    for (;;) {
        MathNode *cell = parse_expression(p);
        if (!cell || n == 256) return NULL;
        cells[n++] = cell;
        row_len++;
        if (accept_char(p, '&')) continue;
        bool end_row = accept_command(p, "\\");
        if (!cols) cols = row_len;
        if (row_len != cols) return NULL;
        rows++;
        row_len = 0;
        if (accept_command(p, "end")) break;
        if (!end_row) return NULL;
    }
    if (!accept_char(p, '{')) return NULL;
    while (p->tok.kind == T_LETTER) next(p);
    if (!accept_char(p, '}')) return NULL;
    MathNode *m = list_node(p, MATH_MATRIX, cells, n);
    if (m) m->rows = rows, m->cols = cols;
    return m;
}

/* gcd(a, b, ...), max(...), min(...), lcm(...): a name applied to a parenthesised list. */
static MathNode *parse_call(Parser *p, const char *name) {
    if (!accept_char(p, '(')) return NULL;
    MathNode *items[16];
    int n = parse_items(p, items, 16);
    if (n < 1 || !accept_char(p, ')')) return NULL;
    return with_name(list_node(p, MATH_FUNC, items, n), name);
}

/* \bar{AB}, \vec{v}_1: a name of the accent and the braced text as written (spaces dropped, lower-cased), the
 * accents latex2sympy treats alike under one name (\overline is \bar, \overrightarrow \vec, \widetilde \tilde);
 * \widehat and an accent without braces do not parse. */
static MathNode *parse_accent(Parser *p, const char *name) {
    static const struct {
        const char *command, *as;
    } accents[] = {{"acute", "acute"}, {"bar", "bar"}, {"overline", "bar"}, {"breve", "breve"}, {"check", "check"},
                   {"widecheck", "widecheck"}, {"dot", "dot"}, {"ddot", "ddot"}, {"grave", "grave"}, {"hat", "hat"},
                   {"tilde", "tilde"}, {"widetilde", "tilde"}, {"vec", "vec"}, {"overrightarrow", "vec"},
                   {"bm", "bm"}, {"boldsymbol", "boldsymbol"}};
    size_t i = 0;
    while (i < sizeof accents / sizeof *accents && strcmp(name, accents[i].command) != 0) i++;
    if (i == sizeof accents / sizeof *accents || !is_char(p, '{')) return NULL;
    const char *close = memchr(p->s, '}', (size_t)(p->end - p->s));
    if (!close) return NULL;
    char accented[TINA_MATH_MAX_NAME];
    size_t n = (size_t)snprintf(accented, sizeof accented, "%s{", accents[i].as);
    for (const char *c = p->s; c < close; c++) {
        if (isspace((unsigned char)*c)) continue;
        if (n + 2 == sizeof accented) return NULL; /* cut short, two long names would be one */
        accented[n++] = (char)tolower((unsigned char)*c);
    }
    accented[n++] = '}';
    accented[n] = 0;
    p->s = close + 1;
    next(p);
    return applied(p, symbol(p, accented));
}

static MathNode *parse_command(Parser *p) {
    char name[TINA_MATH_MAX_NAME];
    snprintf(name, sizeof name, "%s", p->tok.name);
    next(p);
    /* \pi is a Greek letter to latex2sympy's grammar: \pi(37) is an undefined function, not 37\pi */
    if (strcmp(name, "pi") == 0) return applied(p, with_name(node(p, MATH_CONST, 0), "pi"));
    if (strcmp(name, "infty") == 0) return with_name(node(p, MATH_CONST, 0), "oo");
    if (strcmp(name, "emptyset") == 0) return node(p, MATH_EMPTYSET, 0);
    if (strcmp(name, "frac") == 0 || strcmp(name, "binom") == 0 || strcmp(name, "dbinom") == 0 ||
        strcmp(name, "tbinom") == 0) {
        MathNode *a = parse_argument(p, true), *b = a ? parse_argument(p, true) : NULL;
        return name[0] == 'f' ? binary(p, MATH_DIV, a, b) : with_name(binary(p, MATH_FUNC, a, b), "binom");
    }
    if (strcmp(name, "sqrt") == 0) {
        MathNode *degree = NULL;
        if (accept_char(p, '[')) {
            degree = parse_expression(p);
            if (!accept_char(p, ']')) return NULL;
        }
        MathNode *radicand = parse_argument(p, true);
        if (!radicand) return NULL;
        if (!degree) return with_name(unary(p, MATH_FUNC, radicand), "sqrt");
        return binary(p, MATH_POW, radicand, binary(p, MATH_DIV, number(p, "1"), degree));
    }
    if (strcmp(name, "text") == 0 || strcmp(name, "mbox") == 0 || strcmp(name, "operatorname") == 0) {
        MathNode *text = parse_text(p); /* a symbol, whose name stays put in the arena */
        if (text && (is_function(text->name) || strcmp(text->name, "gcd") == 0 || strcmp(text->name, "lcm") == 0))
            return is_function(text->name) ? parse_function(p, text->name) : parse_call(p, text->name);
        return text; /* NULL for an empty \\text{}, as latex2sympy fails on it */
    }
    if (strcmp(name, "mathbb") == 0) {
        /* \mathbb{R} only; a failed parse is not resumed, so where it stops does not matter */
        if (!accept_char(p, '{') || p->tok.kind != T_LETTER || p->tok.c != 'r') return NULL;
        next(p);
        return accept_char(p, '}') ? node(p, MATH_REALS, 0) : NULL;
    }
    if (strcmp(name, "{") == 0) {
        if (accept_char(p, '}') || is_command(p, "}")) {
            if (p->tok.kind == T_COMMAND) next(p);
            return list_node(p, MATH_SET, NULL, 0);
        }
        MathNode *items[64];
        int n = parse_items(p, items, 64);
        if (n < 0 || !accept_command(p, "}")) return NULL;
        return list_with_pm_flat(p, items, n);
    }
    if (strcmp(name, "lfloor") == 0 || strcmp(name, "lceil") == 0) {
        MathNode *inner = parse_expression(p);
        if (!inner || !(accept_command(p, "rfloor") || accept_command(p, "rceil"))) return NULL;
        return with_name(unary(p, MATH_FUNC, inner), name[1] == 'f' ? "floor" : "ceil");
    }
    if (strcmp(name, "begin") == 0) return parse_matrix(p);
    if (strcmp(name, "gcd") == 0 || strcmp(name, "max") == 0 || strcmp(name, "min") == 0) return parse_call(p, name);
    if (is_function(name)) return parse_function(p, name);
    static const char *const greek[] = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta",
                                        "theta", "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho",
                                        "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
                                        "Gamma", "Delta", "Theta", "Lambda", "Sigma", "Phi", "Psi", "Omega",
                                        "varnothing", "ell", "prime"};
    /* and the symbols latex2sympy's lexer names OTHER_SYMBOL: m\angle ABC = 30 is an equation */
    static const char *const others[] = {"Bbbk", "wp", "nabla", "bigstar", "angle", "nexists", "diagdown",
                                         "measuredangle", "eth", "diagup", "sphericalangle", "clubsuit", "Diamond",
                                         "complement", "diamondsuit", "imath", "Finv", "triangledown", "heartsuit",
                                         "jmath", "Game", "triangle", "spadesuit", "hbar", "vartriangle", "hslash",
                                         "blacklozenge", "lozenge", "blacksquare", "mho", "blacktriangle", "sharp",
                                         "Im", "flat", "square", "backprime", "Re", "natural", "surd", "circledS"};
    if (ONE_OF(name, greek) || ONE_OF(name, others)) {
        for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
        return applied(p, symbol(p, name));
    }
    return parse_accent(p, name);
}

static MathNode *parse_primary(Parser *p) {
    if (!enter(p)) return NULL;
    MathNode *result = NULL;
    Token t = p->tok;
    if (t.kind == T_NUMBER) {
        next(p);
        result = number(p, t.name);
    } else if (t.kind == T_LETTER) {
        next(p);
        char name[2] = {t.c, 0};
        /* e is Euler's number, never a function's name: e(2) is 2e */
        result = t.c == 'e' ? with_name(node(p, MATH_CONST, 0), "e") : applied(p, symbol(p, name));
    } else if (t.kind == T_COMMAND) {
        result = parse_command(p);
    } else if (accept_char(p, '(') || accept_char(p, '[')) {
        result = parse_bracketed(p, t.c);
    } else if (accept_char(p, '{')) {
        MathNode *items[64];
        int n = parse_items(p, items, 64);
        if (n > 0 && accept_char(p, '}')) result = n == 1 ? items[0] : list_node(p, MATH_SET, items, n);
        if (result) result->braced = true;
    } else if (accept_char(p, '|')) {
        p->abs_depth++;
        MathNode *inner = parse_expression(p);
        p->abs_depth--;
        if (inner && accept_char(p, '|')) result = with_name(unary(p, MATH_FUNC, inner), "abs");
    }
    p->depth--;
    if (!result) p->failed = true;
    return result;
}

/* x^2, x^{..}, 5!, x_1, 45^\circ, f'. */
static MathNode *parse_postfix(Parser *p) {
    bool literal = p->tok.kind == T_NUMBER; /* only a number as written takes a base subscript: not (1011)_2 */
    MathNode *base = parse_primary(p);
    while (base && !p->failed) {
        if (is_char(p, '^')) {
            /* "30 ^ \circ" and a trailing "^" do not parse */
            bool spaced = p->s < p->end && isspace((unsigned char)*p->s);
            next(p);
            if (is_command(p, "circ")) {
                if (spaced) return NULL;
                next(p);
                continue;
            }
            if (is_char(p, '{')) {
                const char *save = p->s;
                Token saved = p->tok;
                next(p);
                if (accept_command(p, "circ") && accept_char(p, '}')) continue;
                p->s = save, p->tok = saved;
            }
            MathNode *exponent = parse_argument(p, false); /* x^10 is x^{10} to latex2sympy */
            if (!exponent) return NULL;
            base = binary(p, MATH_POW, base, exponent);
        } else if (accept_char(p, '!')) {
            base = with_name(unary(p, MATH_FUNC, base), "factorial");
        } else if (accept_char(p, '_')) {
            MathNode *sub = parse_argument(p, false);
            if (sub && literal && base->kind == MATH_NUMBER) continue; /* 2516_8: the base is dropped */
            if (!sub || base->kind != MATH_SYMBOL || sub->kind == MATH_SET) return NULL;
            char text[64];
            tina_math_format(sub, text, sizeof text);
            char name[2 * TINA_MATH_MAX_NAME + 64];
            snprintf(name, sizeof name, "%s_%s", base->name, text);
            base = symbol(p, name);
        } else if (accept_char(p, '\'')) {
            char name[TINA_MATH_MAX_NAME + 2];
            snprintf(name, sizeof name, "%s'", base->kind == MATH_SYMBOL ? base->name : "f");
            base = symbol(p, name);
        } else if (is_command(p, "%") || is_char(p, '%')) {
            /* a percent sign belongs to a number literal, written next to it: not (3)\%, x\%, 25\,\% */
            if (base->kind != MATH_NUMBER || p->tok.after_spacing) return NULL;
            next(p);
            base = unary(p, MATH_PERCENT, base);
        } else if (!accept_command(p, "circ")) { /* a \circ anywhere else is dropped */
            break;
        }
    }
    return base;
}

static bool starts_factor(const Parser *p) {
    const Token *t = &p->tok;
    if (t->kind == T_NUMBER || t->kind == T_LETTER) return true;
    if (t->kind == T_CHAR) return t->c == '(' || (t->c == '|' && !p->abs_depth);
    if (t->kind != T_COMMAND) return false;
    /* every command starts a factor but operators, relations and closing delimiters */
    static const char *const others[] = {"cdot", "times", "div", "pm", "mp", "cup", "le", "leq", "leqslant", "ge",
                                         "geq", "geqslant", "lt", "gt", "ne", "neq", "in", "approx", "}", "\\",
                                         "end", "rfloor", "rceil", "%", "circ", "over", "choose"};
    return !ONE_OF(t->name, others);
}

/* A function's argument without parentheses is latex2sympy's mp_nofunc: factors side by side end at another
 * function or at e (\sin x \cos x is sin(x) cos(x), \sin 2x e^x is sin(2x) e^x; \sin 2x is sin(2x)). */
static bool ends_func_arg(const Parser *p) {
    const Token *t = &p->tok;
    if (t->kind == T_LETTER) return t->c == 'e';
    if (t->kind != T_COMMAND) return false;
    static const char *const calls[] = {"sqrt", "max", "min", "gcd", "lcm"};
    static const char *const failing[] = {"det", "lg"}; /* functions that fail there */
    return ONE_OF(t->name, calls) || (is_function(t->name) && !ONE_OF(t->name, failing));
}

/* A product of factors, one of them a matrix: sympy's scalar multiple, the matrix of each cell times the other
 * factors (2\begin{pmatrix}1\\2\end{pmatrix} is the matrix of 2 and 4); a plain product otherwise. */
static MathNode *product(Parser *p, MathNode **factors, int n) {
    int matrices = 0, at = 0;
    for (int i = 0; i < n; i++)
        if (factors[i]->kind == MATH_MATRIX) matrices++, at = i;
    if (matrices != 1) return list_node(p, MATH_MUL, factors, n);
    MathNode *matrix = factors[at], *scaled = node(p, MATH_MATRIX, matrix->n_kids);
    if (!scaled) return NULL;
    scaled->rows = matrix->rows, scaled->cols = matrix->cols;
    for (int k = 0; k < matrix->n_kids; k++) {
        factors[at] = matrix->kids[k];
        scaled->kids[k] = list_node(p, MATH_MUL, factors, n);
        if (!scaled->kids[k]) return NULL;
    }
    factors[at] = matrix;
    return scaled;
}

/* The value sympy holds for a factor as latex2sympy builds it: an integer literal ((2) and (-2) too) and \frac of
 * two integer literals are Rationals; 2^3, \sqrt{4}, 0.5 and products stay unevaluated. */
static bool sympy_rational(const MathNode *n, int64_t *num, int64_t *den) {
    bool integer = n->kind == MATH_NUMBER && !n->is_float && n->den == 1;
    if (integer) {
        *num = n->num, *den = 1;
        return true;
    }
    if (n->kind != MATH_DIV) return false;
    const MathNode *a = n->kids[0], *b = n->kids[1];
    if (a->kind != MATH_NUMBER || a->is_float || a->den != 1 || b->kind != MATH_NUMBER || b->is_float ||
        b->den != 1 || b->num == 0)
        return false;
    MathValue v = tina_math_eval(n, 0);
    *num = v.num, *den = v.den;
    return v.exact;
}

/* Factors written side by side (2x, 3\sqrt{2}\pi, 2\frac{1}{2}): latex2sympy's list of postfixes, one operand of an
 * explicit \cdot, \times or / (1/2x is 1/(2x)), folded from the right with its rule for mixed numbers: an integer
 * before a positive rational is their sum, or their difference when the integer is negative (2\frac{1}{2} is 5/2,
 * (-2)\frac{1}{2} is -5/2, 3(2) is 5, 2 3 4 is 9), anything else a product (2\frac{1}{2}\pi is \pi). */
static MathNode *parse_juxtaposed(Parser *p) {
    MathNode *factors[64];
    int n = 0;
    bool func_arg = p->func_arg;
    p->func_arg = false; /* a function's argument inside a factor ends at its own closing brace or parenthesis */
    do {
        MathNode *factor = n < 64 ? parse_postfix(p) : NULL;
        if (!factor) return NULL;
        factors[n++] = factor;
    } while (starts_factor(p) && !(func_arg && ends_func_arg(p)));
    p->func_arg = func_arg;
    /* the product of factors[first..n-1]; rational: it is one factor, a Rational to sympy, of value num/den */
    int first = n - 1;
    int64_t num = 0, den = 1;
    bool rational = sympy_rational(factors[first], &num, &den);
    for (int i = n - 2; i >= 0; i--) {
        int64_t integer, one;
        if (rational && num > 0 && sympy_rational(factors[i], &integer, &one) && one == 1) {
            MathNode *fraction = integer < 0 ? unary(p, MATH_NEG, factors[first]) : factors[first];
            factors[first] = binary(p, MATH_ADD, factors[i], fraction);
            if (!factors[first]) return NULL;
            MathValue v = tina_math_eval(factors[first], 0);
            num = v.num, den = v.den, rational = v.exact;
        } else {
            factors[--first] = factors[i];
            rational = false;
        }
    }
    return first == n - 1 ? factors[first] : product(p, factors + first, n - first);
}

static MathNode *parse_unary(Parser *p) {
    if (!enter(p)) return NULL;
    MathNode *result;
    if (accept_char(p, '-')) {
        MathNode *operand = parse_unary(p);
        if (operand && operand->kind == MATH_NUMBER) {
            operand->num = -operand->num;
            operand->real = -operand->real;
            result = operand;
        } else if (operand && operand->kind == MATH_MATRIX) {
            MathNode *factors[2] = {number(p, "-1"), operand}; /* -M is the matrix of each cell negated */
            result = factors[0] ? product(p, factors, 2) : NULL;
        } else {
            result = unary(p, MATH_NEG, operand);
        }
    } else if (accept_char(p, '+')) {
        result = parse_unary(p);
    } else if (accept_command(p, "pm")) {
        MathNode *operand = parse_unary(p);
        MathNode *items[2] = {unary(p, MATH_NEG, operand), operand};
        result = items[0] ? plus_minus(p, items) : NULL;
    } else {
        result = parse_juxtaposed(p);
    }
    p->depth--;
    return result;
}

/* Operands joined by explicit operators, left to right: a / b \cdot c is (a/b) c. */
static MathNode *parse_term(Parser *p) {
    MathNode *factors[64];
    int n = 0;
    MathNode *first = parse_unary(p);
    if (!first) return NULL;
    factors[n++] = first;
    for (;;) {
        char op = 0;
        if (accept_command(p, "cdot") || accept_command(p, "times") || accept_char(p, '*')) {
            op = '*';
        } else if (accept_command(p, "div") || accept_char(p, '/') || accept_char(p, ':')) {
            op = '/';
        } else {
            break;
        }
        MathNode *factor = parse_unary(p);
        if (!factor) return NULL;
        if (op == '/') {
            /* a / b binds to the product so far, as in a / b \cdot c = (a/b) c */
            MathNode *so_far = n == 1 ? factors[0] : product(p, factors, n);
            factors[0] = binary(p, MATH_DIV, so_far, factor);
            n = 1;
            if (!factors[0]) return NULL;
        } else {
            if (n == 64) return NULL;
            factors[n++] = factor;
        }
    }
    return n == 1 ? factors[0] : product(p, factors, n);
}

static MathNode *parse_expression(Parser *p) {
    if (!enter(p)) return NULL;
    MathNode *terms[64];
    int n = 0;
    MathNode *first = parse_term(p);
    if (first) terms[n++] = first;
    while (first && !p->failed) {
        bool plus = accept_char(p, '+');
        if (plus || accept_char(p, '-')) {
            MathNode *t = plus ? parse_term(p) : unary(p, MATH_NEG, parse_term(p));
            if (!t || n == 64) break;
            terms[n++] = t;
        } else if (accept_command(p, "pm") || accept_command(p, "mp")) {
            /* a \pm b: the set {a - b, a + b} */
            MathNode *pm_left = n == 1 ? terms[0] : list_node(p, MATH_ADD, terms, n);
            MathNode *right = parse_expression(p);
            MathNode *items[2] = {binary(p, MATH_ADD, pm_left, unary(p, MATH_NEG, right)),
                                  binary(p, MATH_ADD, pm_left, right)};
            p->depth--;
            return items[0] && items[1] ? plus_minus(p, items) : NULL;
        } else {
            break;
        }
    }
    p->depth--;
    if (p->failed || !first) return NULL;
    return n == 1 ? terms[0] : list_node(p, MATH_ADD, terms, n);
}

static char relation_op(Parser *p) {
    if (p->tok.kind == T_CHAR) return memchr("=<>", p->tok.c, 3) ? p->tok.c : 0;
    if (p->tok.kind != T_COMMAND) return 0;
    static const struct {
        const char *name;
        char op;
    } ops[] = {{"le", 'l'}, {"leq", 'l'}, {"leqslant", 'l'}, {"ge", 'g'}, {"geq", 'g'}, {"geqslant", 'g'},
               {"lt", '<'}, {"gt", '>'}, {"ne", 'n'}, {"neq", 'n'}, {"in", '='}, {"approx", '~'}};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strcmp(p->tok.name, ops[i].name) == 0) return ops[i].op;
    return 0;
}

/* a \cup b \cup c */
static MathNode *parse_union(Parser *p) {
    MathNode *left = parse_expression(p);
    while (left && accept_command(p, "cup")) left = binary(p, MATH_UNION, left, parse_expression(p));
    return left;
}

/* a \over b and n \choose k (TeX's infix forms) */
static MathNode *parse_infix_fraction(Parser *p) {
    MathNode *left = parse_union(p);
    while (left && (is_command(p, "over") || is_command(p, "choose"))) {
        bool over = p->tok.name[0] == 'o';
        next(p);
        MathNode *right = parse_union(p);
        left = over ? binary(p, MATH_DIV, left, right) : with_name(binary(p, MATH_FUNC, left, right), "binom");
    }
    return left;
}

static bool only_symbols(const MathNode *n);

/* b of a / b, or of b^{-1}: sympy's Pow(b, -1), whose test passes for a name, an atom (a number or a constant:
 * no parts, so all of them pass) or parts that all pass */
static bool inverse_of_only_symbols(const MathNode *b) {
    return b->kind == MATH_NUMBER || b->kind == MATH_CONST || only_symbols(b);
}

/* latex2sympy's is_expr_of_only_symbols, on the expression sympy makes of the node: a name, or one whose parts all
 * are such (a + b, ab, a^b, a / b and a / 2 (a times Pow(2, -1)), |x|, x!, \sin a, e^x (exp), f(x)); not a
 * number, a constant, -a (-1 times a), a - b, a % (a / 100), \sqrt a (a^(1/2)), a log (a quotient of logs), nor
 * \det or \gcd, which sympy evaluates. (Checked against Math-Verify 0.9.0 in tests/cli/tina-reward.sh.) */
static bool only_symbols(const MathNode *n) {
    switch (n->kind) {
    case MATH_SYMBOL: return true;
    case MATH_DIV: return only_symbols(n->kids[0]) && inverse_of_only_symbols(n->kids[1]);
    case MATH_POW: {
        const MathNode *power = n->kids[1];
        bool minus_one = (power->kind == MATH_NUMBER && !power->is_float && power->num == -1 && power->den == 1) ||
                         (power->kind == MATH_NEG && power->kids[0]->kind == MATH_NUMBER &&
                          !power->kids[0]->is_float && power->kids[0]->num == 1 && power->kids[0]->den == 1);
        if (minus_one) return inverse_of_only_symbols(n->kids[0]);
        if (n->kids[0]->kind == MATH_CONST && strcmp(n->kids[0]->name, "e") == 0) return only_symbols(power);
        break;
    }
    case MATH_FUNC: {
        static const char *const evaluated[] = {"sqrt", "log", "ln", "det", "gcd"};
        if (ONE_OF(n->name, evaluated)) return false;
        break;
    }
    case MATH_ADD: case MATH_MUL: break;
    default: return false;
    }
    for (int i = 0; i < n->n_kids; i++)
        if (!only_symbols(n->kids[i])) return false;
    return n->n_kids > 0;
}

static MathNode *parse_relation(Parser *p) {
    if (!enter(p)) return NULL;
    MathNode *left = parse_infix_fraction(p);
    MathNode *relations[16];
    int n = 0;
    while (left && !p->failed) {
        char op = relation_op(p);
        if (!op) break;
        next(p);
        if (op == '<' && accept_char(p, '=')) op = 'l';
        else if (op == '>' && accept_char(p, '=')) op = 'g';
        MathNode *right = parse_infix_fraction(p);
        bool set_valued = right && (right->kind == MATH_SET || right->kind == MATH_INTERVAL ||
                                    right->kind == MATH_UNION || right->kind == MATH_TUPLE);
        if (op == '~' && set_valued) return NULL; /* x \approx (1, 2) does not parse: a set is no expr there */
        if (op == '~') {
            /* a \approx 1.41: latex2sympy keeps a, unless a (or each side of the relations before) is only names
             * (x \approx 5, AB \approx 5, f(x) = y \approx 5): the value then, which it takes for an assignment */
            bool names = n || only_symbols(left);
            for (int i = 0; i < n; i++)
                names = names && only_symbols(relations[i]->kids[0]) && only_symbols(relations[i]->kids[1]);
            if (names && right) left = right, n = 0;
            continue;
        }
        if (op == '=' && set_valued && left->kind != MATH_SYMBOL && left->kind != MATH_TUPLE)
            return NULL; /* f(4) = (-2, 1) and AB = (3, 2, 1) do not parse; x = (0, 1) and (a, b) = (2, 3) do */
        MathNode *rel = binary(p, MATH_REL, left, right);
        if (!rel || n == 16) return NULL;
        rel->op = op;
        relations[n++] = rel;
        left = right;
    }
    p->depth--;
    if (!left || p->failed) return NULL;
    if (!n) return left;
    return n == 1 ? relations[0] : list_node(p, MATH_AND, relations, n);
}

/* \frac{-1 \pm \sqrt{5}}{2}: latex2sympy cannot do arithmetic on the set a \pm makes */
static bool pm_inside_arithmetic(const MathNode *n, bool in_arithmetic) {
    if (n->kind == MATH_SET && n->op == 'p' && in_arithmetic) return true;
    bool arithmetic = n->kind == MATH_ADD || n->kind == MATH_MUL || n->kind == MATH_DIV || n->kind == MATH_NEG ||
                      n->kind == MATH_POW || n->kind == MATH_FUNC || n->kind == MATH_PERCENT;
    for (int i = 0; i < n->n_kids; i++)
        if (pm_inside_arithmetic(n->kids[i], arithmetic)) return true;
    return false;
}

/* "-1,234,567.5" and nothing else */
static bool one_number_with_separators(const char *s, size_t len) {
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    size_t i = len && s[0] == '-', lead = 0;
    while (i < len && isdigit((unsigned char)s[i])) i++, lead++;
    if (lead < 1 || lead > 3) return false;
    bool groups = false;
    while (i + 3 < len && s[i] == ',' && isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) &&
           isdigit((unsigned char)s[i + 3]))
        i += 4, groups = true;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && isdigit((unsigned char)s[i])) i++;
    }
    return groups && i == len;
}

/* "{5}" alone is the set {5}; braces inside an expression only group. */
static bool wrapped_in_braces(const char *s, size_t len) {
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len < 2 || s[0] != '{' || s[len - 1] != '}') return false;
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '{') depth++;
        else if (s[i] == '}' && --depth == 0 && i != len - 1) return false;
    }
    return true;
}

/* depth: the sets {{..}} this text sits in, bounded as the parser's nesting is (a text of 12,000 nested braces once
 * took the stack) */
static MathNode *parse_all(const char *latex, size_t len, bool complex_mode, int depth, MathArena *arena) {
    if (depth > TINA_MATH_MAX_DEPTH) return NULL;
    Parser p = {.s = latex, .end = latex + len, .arena = arena, .complex_mode = complex_mode,
                .thousands = one_number_with_separators(latex, len)};
    bool set = wrapped_in_braces(latex, len);
    if (set) {
        p.s = (const char *)memchr(latex, '{', len) + 1;
        p.end = latex + len;
        while (p.end[-1] != '}') p.end--;
        p.end--;
        if (wrapped_in_braces(p.s, (size_t)(p.end - p.s))) {
            /* {{..}}: a set holding the inner set */
            MathNode *inner = parse_all(p.s, (size_t)(p.end - p.s), complex_mode, depth + 1, arena);
            return inner ? list_node(&p, MATH_SET, &inner, 1) : NULL;
        }
    }
    next(&p);
    if (p.tok.kind == T_END) return set ? list_node(&p, MATH_SET, NULL, 0) : NULL;
    MathNode *items[64];
    int n = parse_items(&p, items, 64);
    if (n < 0 || p.failed || p.tok.kind != T_END) return NULL;
    for (int i = 0; i < n; i++)
        if (pm_inside_arithmetic(items[i], false)) return NULL;
    if (n == 1 && (!set || items[0]->kind == MATH_SET)) return items[0]; /* {a \pm b} is not nested */
    for (int i = 0; n > 1 && i < n; i++)
        if (items[i]->braced) {
            MathNode *own = list_node(&p, MATH_SET, &items[i], 1);
            if (!own) return NULL;
            own->op = 'b';
            items[i] = own;
        }
    MathNode *list = list_with_pm_flat(&p, items, n);
    if (list && set) list->op = 'b'; /* a braced set: an element of its own in "{16}, 16" */
    return list;
}

MathNode *tina_math_node(MathArena *arena, MathKind kind, int n_kids) {
    Parser p = {.arena = arena};
    return node(&p, kind, n_kids);
}

MathNode *tina_math_parse(const char *latex, size_t len, bool complex_mode, MathArena *arena) {
    MathNode *tree = parse_all(latex, len, complex_mode, 0, arena);
    if (tree) return tree;
    /* Math-Verify's get_last_eq: without "," or ";", the part after the last "=" of a chain of three or more */
    if (memchr(latex, ',', len) || memchr(latex, ';', len)) return NULL;
    const char *last = NULL;
    int parts = 1;
    for (size_t i = 0; i < len; i++) {
        if (latex[i] != '=') continue;
        if (i > 0 && strchr("\\<!>", latex[i - 1])) continue;
        parts++;
        last = latex + i + 1;
    }
    if (parts <= 2) return NULL;
    return parse_all(last, (size_t)(latex + len - last), complex_mode, 0, arena);
}

/* ---- values ---- */

static MathValue exact(int64_t num, int64_t den) {
    if (den < 0) num = -num, den = -den;
    int64_t a = num < 0 ? -num : num, b = den;
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    if (a > 1) num /= a, den /= a;
    return (MathValue){.ok = true, .exact = true, .num = num, .den = den, .z = (double)num / (double)den};
}

static MathValue inexact(double complex z) { return (MathValue){.ok = isfinite(creal(z)) && isfinite(cimag(z)), .z = z}; }

static bool fits(__int128 v) { return v > -((__int128)1 << 62) && v < ((__int128)1 << 62); }

static MathValue negate(MathValue a) {
    if (a.exact && a.num != INT64_MIN) a.num = -a.num;
    a.z = -a.z;
    return a;
}

static MathValue add(MathValue a, MathValue b) {
    if (!a.ok || !b.ok) return (MathValue){0};
    if (a.exact && b.exact) {
        __int128 num = (__int128)a.num * b.den + (__int128)b.num * a.den, den = (__int128)a.den * b.den;
        if (fits(num) && fits(den)) return exact((int64_t)num, (int64_t)den);
    }
    return inexact(a.z + b.z);
}

MathValue tina_math_difference(MathValue a, MathValue b) { return add(a, negate(b)); }

static MathValue mul(MathValue a, MathValue b) {
    if (!a.ok || !b.ok) return (MathValue){0};
    if (a.exact && b.exact) {
        __int128 num = (__int128)a.num * b.num, den = (__int128)a.den * b.den;
        if (fits(num) && fits(den)) return exact((int64_t)num, (int64_t)den);
    }
    return inexact(a.z * b.z);
}

static MathValue divide(MathValue a, MathValue b) {
    if (!a.ok || !b.ok || (b.exact ? b.num == 0 : b.z == 0)) return (MathValue){0};
    if (b.exact) return mul(a, exact(b.den, b.num));
    return inexact(a.z / b.z);
}

static MathValue power(MathValue a, MathValue b) {
    if (!a.ok || !b.ok) return (MathValue){0};
    if (a.exact && b.exact && b.den == 1 && b.num >= -62 && b.num <= 62) {
        MathValue r = exact(1, 1);
        for (int64_t i = 0; i < (b.num < 0 ? -b.num : b.num) && r.ok; i++) r = mul(r, a);
        if (r.ok && r.exact) return b.num < 0 ? divide(exact(1, 1), r) : r;
    }
    if (cimag(a.z) == 0 && creal(a.z) >= 0 && cimag(b.z) == 0) return inexact(pow(creal(a.z), creal(b.z)));
    if (cimag(b.z) == 0 && creal(b.z) == floor(creal(b.z)) && fabs(creal(b.z)) <= 64) {
        double complex r = 1;
        for (int i = 0; i < (int)fabs(creal(b.z)); i++) r *= a.z;
        return inexact(creal(b.z) < 0 ? 1 / r : r);
    }
    return inexact(cpow(a.z, b.z));
}

enum { POINTS_SALT = 1000 }; /* complex-mode symbols take other values than real ones of the same name */

/* Values of free symbols: fixed, irrational-looking, different per symbol and per point. */
static double symbol_value(const char *name, int point) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(point + 1) * 0x9E3779B97F4A7C15ull;
    for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return 0.35 + 1.7 * (double)(h >> 11) / 9007199254740992.0;
}

static MathValue call(const MathNode *n, int point) {
    MathValue a = tina_math_eval(n->kids[0], point);
    if (!a.ok) return a;
    if (n->op == 'u') /* an undefined function: any fixed, nonlinear function of its argument */
        return inexact(symbol_value(n->name, point) + 0.37 * a.z + 0.11 * a.z * a.z);
    const char *f = n->name;
    double complex z = a.z;
    if (strcmp(f, "sqrt") == 0) {
        if (a.exact && a.num >= 0) {
            double r = sqrt((double)a.num), s = sqrt((double)a.den);
            if (r == floor(r) && s == floor(s) && (int64_t)r * (int64_t)r == a.num && (int64_t)s * (int64_t)s == a.den)
                return exact((int64_t)r, (int64_t)s);
        }
        return inexact(cimag(z) == 0 && creal(z) >= 0 ? sqrt(creal(z)) : csqrt(z));
    }
    if (strcmp(f, "abs") == 0) return a.exact ? exact(a.num < 0 ? -a.num : a.num, a.den) : inexact(cabs(z));
    if (strcmp(f, "factorial") == 0) {
        if (!a.exact || a.den != 1 || a.num < 0) return (MathValue){0};
        if (a.num <= 20) {
            int64_t r = 1;
            for (int64_t i = 2; i <= a.num; i++) r *= i;
            return exact(r, 1);
        }
        return inexact(a.num > 170 ? INFINITY : tgamma((double)a.num + 1));
    }
    if (strcmp(f, "binom") == 0 || strcmp(f, "gcd") == 0 || strcmp(f, "lcm") == 0 || strcmp(f, "max") == 0 ||
        strcmp(f, "min") == 0) {
        MathValue r = a;
        for (int i = 1; i < n->n_kids && r.ok; i++) {
            MathValue b = tina_math_eval(n->kids[i], point);
            if (!b.ok) return b;
            if (f[0] == 'm') {
                if (cimag(r.z) != 0 || cimag(b.z) != 0) return (MathValue){0};
                bool take_b = f[1] == 'a' ? creal(b.z) > creal(r.z) : creal(b.z) < creal(r.z);
                if (take_b) r = b;
                continue;
            }
            if (!r.exact || !b.exact || r.den != 1 || b.den != 1) return (MathValue){0};
            if (f[0] == 'b') {
                if (b.num < 0 || r.num < 0 || b.num > r.num) return exact(0, 1);
                MathValue c = exact(1, 1);
                for (int64_t k = 1; k <= b.num && c.ok; k++) c = divide(mul(c, exact(r.num - b.num + k, 1)), exact(k, 1));
                r = c;
                continue;
            }
            int64_t x = r.num < 0 ? -r.num : r.num, y = b.num < 0 ? -b.num : b.num, g = x, h = y;
            while (h) {
                int64_t t = g % h;
                g = h, h = t;
            }
            r = f[0] == 'g' ? exact(g, 1) : (g ? mul(exact(x / g, 1), exact(y, 1)) : exact(0, 1));
        }
        return r;
    }
    if (strcmp(f, "floor") == 0 || strcmp(f, "ceil") == 0) {
        if (cimag(z) != 0) return (MathValue){0};
        double r = f[0] == 'f' ? floor(creal(z)) : ceil(creal(z));
        return fabs(r) < 4e18 ? exact((int64_t)r, 1) : inexact(r);
    }
    if (strcmp(f, "log") == 0 || strcmp(f, "ln") == 0) {
        double complex base = f[1] == 'n' ? M_E : 10;
        if (n->n_kids > 1) {
            MathValue b = tina_math_eval(n->kids[1], point);
            if (!b.ok) return b;
            base = b.z;
        }
        return inexact(clog(z) / clog(base));
    }
    static const struct {
        const char *name;
        double complex (*fn)(double complex);
    } table[] = {{"sin", csin}, {"cos", ccos}, {"tan", ctan}, {"arcsin", casin}, {"arccos", cacos},
                 {"arctan", catan}, {"sinh", csinh}, {"cosh", ccosh}, {"tanh", ctanh}, {"exp", cexp}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(f, table[i].name) == 0) return inexact(table[i].fn(z));
    if (strcmp(f, "cot") == 0) return inexact(1 / ctan(z));
    if (strcmp(f, "sec") == 0) return inexact(1 / ccos(z));
    if (strcmp(f, "csc") == 0) return inexact(1 / csin(z));
    return (MathValue){0};
}

MathValue tina_math_eval(const MathNode *n, int point) {
    switch (n->kind) {
    case MATH_NUMBER:
        if (n->is_float || n->den == 0) return inexact(n->real);
        return exact(n->num, n->den);
    case MATH_SYMBOL: return inexact(symbol_value(n->name, point + (n->op == 'c' ? POINTS_SALT : 0)));
    case MATH_CONST:
        if (strcmp(n->name, "pi") == 0) return inexact(M_PI);
        if (strcmp(n->name, "e") == 0) return inexact(M_E);
        return (MathValue){0};
    case MATH_ADD:
    case MATH_MUL: {
        MathValue r = tina_math_eval(n->kids[0], point);
        for (int i = 1; i < n->n_kids; i++) {
            MathValue k = tina_math_eval(n->kids[i], point);
            r = n->kind == MATH_ADD ? add(r, k) : mul(r, k);
        }
        return r;
    }
    case MATH_DIV: return divide(tina_math_eval(n->kids[0], point), tina_math_eval(n->kids[1], point));
    case MATH_NEG: return negate(tina_math_eval(n->kids[0], point));
    case MATH_POW: return power(tina_math_eval(n->kids[0], point), tina_math_eval(n->kids[1], point));
    case MATH_FUNC: return call(n, point);
    case MATH_PERCENT: return divide(tina_math_eval(n->kids[0], point), exact(100, 1));
    default: return (MathValue){0};
    }
}

long double tina_math_eval_long(const MathNode *n, bool *ok) {
    *ok = true;
    long double a, b;
    bool ok_a, ok_b;
    switch (n->kind) {
    case MATH_NUMBER: return n->is_float || n->den == 0 ? (long double)n->real : (long double)n->num / n->den;
    case MATH_ADD:
    case MATH_MUL:
        a = n->kind == MATH_ADD ? 0 : 1;
        for (int i = 0; i < n->n_kids && *ok; i++) {
            b = tina_math_eval_long(n->kids[i], ok);
            a = n->kind == MATH_ADD ? a + b : a * b;
        }
        return a;
    case MATH_DIV:
    case MATH_POW:
        a = tina_math_eval_long(n->kids[0], &ok_a), b = tina_math_eval_long(n->kids[1], &ok_b);
        *ok = ok_a && ok_b && (n->kind == MATH_POW || b != 0);
        return n->kind == MATH_DIV ? a / b : powl(a, b);
    case MATH_NEG: return -tina_math_eval_long(n->kids[0], ok);
    case MATH_PERCENT: return tina_math_eval_long(n->kids[0], ok) / 100;
    default: {
        MathValue v = tina_math_eval(n, 0); /* constants and functions at double precision */
        *ok = v.ok && cimag(v.z) == 0 && !tina_math_has_symbols(n);
        return creal(v.z);
    }
    }
}

bool tina_math_has_symbols(const MathNode *n) {
    if (n->kind == MATH_SYMBOL) return true;
    for (int i = 0; i < n->n_kids; i++)
        if (tina_math_has_symbols(n->kids[i])) return true;
    return false;
}

void tina_math_format(const MathNode *n, char *out, size_t cap) {
    if (!cap) return;
    out[0] = 0;
    size_t used = 0;
#define PUT(...)                                                                                                      \
    do {                                                                                                              \
        int w = snprintf(out + used, cap - used, __VA_ARGS__);                                                        \
        if (w < 0 || (size_t)w >= cap - used) return;                                                                 \
        used += (size_t)w;                                                                                            \
    } while (0)
    static const char *const kinds[] = {"num", "sym", "const", "+", "*", "/", "neg", "^", "fn", "%", "set",
                                        "tuple", "interval", "union", "rel", "and", "matrix", "empty", "reals"};
    switch (n->kind) {
    case MATH_NUMBER:
        if (n->is_float || n->den == 0) PUT("%#.15g", n->real); /* sympy prints Floats with 15 digits */
        else PUT("%lld", (long long)n->num);
        return;
    case MATH_SYMBOL: PUT("%s%s", n->name, n->op == 'c' ? "~c" : ""); return;
    case MATH_CONST: PUT("%s", n->name); return;
    default: break;
    }
    PUT("(%s", n->kind == MATH_FUNC ? n->name : kinds[n->kind]);
    if (n->kind == MATH_REL) PUT("%c", n->op);
    if (n->kind == MATH_INTERVAL) PUT("%c%c", n->left_open ? '(' : '[', n->right_open ? ')' : ']');
    for (int i = 0; i < n->n_kids; i++) {
        PUT(" ");
        tina_math_format(n->kids[i], out + used, cap - used);
        used += strlen(out + used);
    }
    PUT(")");
#undef PUT
}
