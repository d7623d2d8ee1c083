/* libFuzzer target for the LaTeX reader: any bytes must parse into a bounded tree or be refused, in both modes,
 * and a tree must evaluate (exactly, in complex doubles, or in long double) and print without a crash, a sanitizer
 * report or a hang; an exact value has a positive denominator. */
#include <stdint.h>
#include <stdlib.h>

#include "verify/latex_math.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static MathArena arena;
    for (int complex_mode = 0; complex_mode < 2; complex_mode++) {
        arena.n_nodes = arena.n_slots = 0;
        MathNode *tree = tina_math_parse((const char *)data, size, complex_mode, &arena);
        if (!tree) continue;
        if (arena.n_nodes > TINA_MATH_MAX_NODES) abort();
        for (int point = 0; point < 3; point++) {
            MathValue v = tina_math_eval(tree, point);
            if (v.ok && v.exact && v.den <= 0) abort();
        }
        bool ok;
        (void)tina_math_eval_long(tree, &ok);
        (void)tina_math_has_symbols(tree);
        char text[512];
        tina_math_format(tree, text, sizeof text);
    }
    return 0;
}
