/* latex_math: normalised LaTeX answers as expression trees, and their values.
 *
 * The reading follows latex2sympy2_extended (which Math-Verify uses): "1,000" is a thousand, "1,2" a set, "(1,2)"
 * an open interval but "(2,1)" a tuple, "\pm 3" the set {-3, 3}, "3:2" a ratio, "\text{Evelyn}" the name
 * "evelyn", "x=3" an equation, "1<x<2" two relations. Values are exact rationals while every step is (sums,
 * products, integer powers of rationals that fit 64 bits), complex doubles otherwise.
 *
 * Bounded by construction: at most TINA_MATH_MAX_NODES nodes and TINA_MATH_MAX_DEPTH nesting; a text beyond either
 * does not parse. Nothing here allocates per node: a tree lives in one caller-owned arena. */
#ifndef TINA_LATEX_MATH_H
#define TINA_LATEX_MATH_H

#include <complex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TINA_MATH_MAX_NODES 2048
#define TINA_MATH_MAX_DEPTH 64
#define TINA_MATH_MAX_NAME 48

typedef enum {
    MATH_NUMBER,   /* value in num/den (exact) or real (from a decimal literal: is_float) */
    MATH_SYMBOL,   /* name (lower case) */
    MATH_CONST,    /* name: "pi", "e", "oo" */
    MATH_ADD,      /* kids */
    MATH_MUL,      /* kids */
    MATH_DIV,      /* kids[0] / kids[1] */
    MATH_NEG,      /* -kids[0] */
    MATH_POW,      /* kids[0] ^ kids[1] */
    MATH_FUNC,     /* name(kids...) */
    MATH_PERCENT,  /* kids[0] % */
    MATH_SET,      /* {kids} */
    MATH_TUPLE,    /* (kids) */
    MATH_INTERVAL, /* kids[0], kids[1]; left_open, right_open */
    MATH_UNION,    /* kids: intervals and sets */
    MATH_REL,      /* kids[0] op kids[1]; op one of = < > l (<=) g (>=) n (!=); \in reads as = */
    MATH_AND,      /* kids: relations of a chain a < b < c */
    MATH_MATRIX,   /* rows x cols kids, row-major */
    MATH_EMPTYSET,
    MATH_REALS,
} MathKind;

typedef struct MathNode MathNode;
struct MathNode {
    MathKind kind;
    char op;
    bool is_float, left_open, right_open;
    bool braced; /* written as {..}: a set of its own when it is an item of a list ("{16}, 16") */
    int n_kids, rows, cols;
    MathNode **kids;
    int64_t num, den;
    double real;
    char name[TINA_MATH_MAX_NAME];
};

typedef struct {
    MathNode nodes[TINA_MATH_MAX_NODES];
    MathNode *kid_slots[4 * TINA_MATH_MAX_NODES];
    int n_nodes, n_slots;
} MathArena;

/* A node with room for n_kids children (filled by the caller), in the arena; NULL when it is full. Start a new
 * set of trees with arena->n_nodes = arena->n_slots = 0. */
MathNode *tina_math_node(MathArena *arena, MathKind kind, int n_kids);
/* Parses normalised LaTeX into the arena; NULL when it does not parse (as latex2sympy would raise). Math-Verify retries the text
 * after its last "=" when the whole fails; so does this. complex_mode: the text looks complex (Math-Verify's test),
 * which makes its symbols different from the same names in a real-mode text. */
MathNode *tina_math_parse(const char *latex, size_t len, bool complex_mode, MathArena *arena);

/* The value at given values of the free symbols (`point` picks one of a few fixed assignments; ignored when there
 * are none). exact: whether num/den hold it exactly. */
typedef struct {
    bool ok, exact;
    int64_t num, den;
    double complex z;
} MathValue;
MathValue tina_math_eval(const MathNode *node, int point);
/* The real value of a tree without symbols in long double, decimals at their double (binary) value, as sympy's
 * Floats are; ok false when it has none. */
long double tina_math_eval_long(const MathNode *node, bool *ok);
/* a - b, exactly when both are exact. */
MathValue tina_math_difference(MathValue a, MathValue b);
/* Whether the tree has free symbols (anything tina_math_eval's point changes). */
bool tina_math_has_symbols(const MathNode *node);
/* A canonical text of the tree, for structural comparison and for messages. */
void tina_math_format(const MathNode *node, char *out, size_t cap);

#endif
