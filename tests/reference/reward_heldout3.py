#!/usr/bin/env python3
"""Held-out test set #3 for the accuracy reward: (gold, completion) pairs labelled by Math-Verify, by a third author.

Written without sight of the checker's code, after reading reward_heldout.py and reward_heldout2.py only to stay off
their categories. Where those two rewrite one gold one way at a time, this one composes the ways DeepSeek-R1-distill
models write a final answer (a name on the left and a unit on the right of the same \\dfrac, a mixed number in
degrees, an answer boxed twice in different forms, a unit or a percent sign left outside the box, a boxed list of
equations, a choice letter with its value, a base subscript, a repeating decimal...) and adds the near misses a
model makes with them (a rounding in the last digit, the reciprocal, a dropped root, a unit conversion forgotten).

Golds: (a) real answers of every set under RAWDIR, stratified by shape; (b) hand-written families (fam3.*) for the
shapes the sets hardly have (base subscripts, negative zero, E-notation, a modulus, repeating decimals, degrees and
minutes, answers with \\pm, unions of intervals with \\infty, matrices with fractions...). Every completion is a
reasoning of the distill's kind, "</think>", and a summary with the final statement; `kind` is what the generator
meant (`<gold class>.<writer>.<context>`), `accuracy` Math-Verify's verdict, computed exactly as open-r1's accuracy
reward and reward_heldout2.py compute it (see label()).

Pinned: python 3.11, math-verify 0.9.0, latex2sympy2_extended 1.11.0, sympy 1.14.0 (asserted at start).
Usage:  python tests/reference/reward_heldout3.py RAWDIR [out.jsonl] && zstd -19 --rm out.jsonl
        (RAWDIR: the raw sets, laid out as data/SOURCES.md says; committed as tests/fixtures/reward/heldout3.jsonl.zst;
        measured once before any change to the checker: tina agreed on 2,316 of 2,358 pairs, 98.22%)
Deterministic: fixed seed, sorted iteration, serial labelling. Record keys: id, kind, source, answer, completion,
gold_parsed, pred_parsed, accuracy.
"""
import json
import logging
import os
import random
import re
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pins import require  # noqa: E402

require({"math-verify": "0.9.0", "latex2sympy2_extended": "1.11.0", "sympy": "1.14.0"})

import open_r1  # noqa: E402

logging.disable(logging.CRITICAL)

SEED = 3_2026_0611
if len(sys.argv) not in (2, 3):
    sys.exit("usage: reward_heldout3.py RAWDIR [out.jsonl] (RAWDIR: the raw sets, laid out as data/SOURCES.md says)")
RAWDIR = sys.argv[1]
OUT = sys.argv[2] if len(sys.argv) > 2 else "heldout3.jsonl"

def label(gold, completion):
    gold_parsed, pred_parsed, accuracy = open_r1.label(gold, completion)
    return [str(x) for x in gold_parsed], [str(x) for x in pred_parsed], accuracy


# ------------------------------------------------------------------------------------------------------------------
# Real golds


def _jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _number(x):
    """27.0 (a JSON float) as 27, anything else as its string."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x).strip()


def load_golds():
    d = RAWDIR
    src = {
        "aime24": [_number(r["answer"]) for r in _jsonl(f"{d}/eval/aime24.jsonl")],
        "aime25": [_number(r["answer"]) for r in _jsonl(f"{d}/eval/aime25.jsonl")],
        "amc23": [_number(r["answer"]) for r in _jsonl(f"{d}/eval/amc23.jsonl")],
        "math500": [r["answer"] for r in _jsonl(f"{d}/eval/math500.jsonl")],
        "minerva": [r["answer"][0].strip() for r in json.load(open(f"{d}/eval/minerva_math_answers.json"))],
        "limr": [_number(r["answer"]) for r in _jsonl(f"{d}/train/limr.jsonl")],
        "math8k": [_number(r["answer"]) for r in json.load(open(f"{d}/train/math_lvl3to5_8k.json"))],
        "ds_aime": [_number(r["answer"]) for r in json.load(open(f"{d}/train/deepscaler_aime.json"))],
        "ds_math": [_number(r["answer"]) for r in json.load(open(f"{d}/train/deepscaler_math.json"))],
        "ds_sub": [r["reward_model"]["ground_truth"] for r in _jsonl(f"{d}/train/deepscaler_subset2000.jsonl")],
        "gsm8k": [r["answer"].split("####")[-1].strip() for r in _jsonl(f"{d}/eval/gsm8k_test.jsonl")],
    }
    return src


SHAPES = [  # (name, test); the first that matches names a gold's shape
    ("integer", lambda g: re.fullmatch(r"-?\d+", g)),
    ("thousands", lambda g: re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", g)),
    ("decimal", lambda g: re.fullmatch(r"-?\d*\.\d+", g)),
    ("fraction", lambda g: re.fullmatch(r"-?\\[dt]?frac\{\d+\}\{\d+\}", g)),
    ("degree", lambda g: "circ" in g),
    ("percent", lambda g: "%" in g),
    ("money", lambda g: "$" in g),
    ("text", lambda g: "\\text" in g or "\\mathrm" in g),
    ("interval", lambda g: re.match(r"^\\left[(\[]|^[(\[]", g) and ("infty" in g or "cup" in g
                                                                    or re.search(r"[)\]]$", g) and g[0] != g[-1])),
    ("tuple", lambda g: re.fullmatch(r"\\left\(.*\\right\)|\(.*\)", g) and "," in g),
    ("matrix", lambda g: "matrix" in g),
    ("pi", lambda g: "\\pi" in g),
    ("radical", lambda g: "\\sqrt" in g),
    ("list", lambda g: "," in g),
    ("equation", lambda g: "=" in g),
    ("complex", lambda g: re.search(r"(?<![a-z\\])i(?![a-z])", g)),
    ("expression", lambda g: re.search(r"[a-z]", g)),
    ("other", lambda g: True),
]
PER_SHAPE = {"integer": 50, "thousands": 12, "decimal": 25, "fraction": 35, "degree": 18, "percent": 12, "money": 10,
             "text": 18, "interval": 22, "tuple": 22, "matrix": 10, "pi": 25, "radical": 30, "list": 18,
             "equation": 18, "complex": 12, "expression": 30, "other": 12}


def shape_of(g):
    for name, test in SHAPES:
        if test(g):
            return name
    return "other"


def sample_golds(rng):
    src = load_golds()
    by_shape = {}
    for name in sorted(src):
        for g in src[name]:
            if g and len(g) <= 90 and "\n" not in g:
                by_shape.setdefault(shape_of(g), {}).setdefault(g, name)
    out = []
    for shape in sorted(by_shape):
        items = sorted(by_shape[shape].items())
        rng.shuffle(items)
        out += [(shape, src_name, g) for g, src_name in items[:PER_SHAPE[shape]]]
    return out


# ------------------------------------------------------------------------------------------------------------------
# How the distill writes a value: correct rewrites (w_*) and near misses (m_*); each returns a string or None

FRAC = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")


def value_of(g):
    """The exact value of a plain numeric gold (integer, decimal, fraction, thousands), else None."""
    s = g.replace("{,}", "").replace("\\!", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    if re.fullmatch(r"-?\d+(\.\d+)?|-?\.\d+", s):
        return Fraction(s)
    m = FRAC.match(s)
    if m and int(m.group(3)):
        v = Fraction(int(m.group(2)), int(m.group(3)))
        return -v if m.group(1) else v
    return None


def latex_fraction(v, cmd="\\dfrac"):
    if v.denominator == 1:
        return str(v.numerator)
    return ("-" if v < 0 else "") + f"{cmd}{{{abs(v.numerator)}}}{{{v.denominator}}}"


def w_mixed(g, rng):
    v = value_of(g)
    if v is None or v.denominator == 1 or abs(v) < 1:
        return None
    whole, rest = divmod(abs(v.numerator), v.denominator)
    sign = "-" if v < 0 else ""
    cmd = rng.choice(["\\frac", "\\dfrac", "\\tfrac"])
    gap = rng.choice(["", " ", "~", "\\,"])
    return f"{sign}{whole}{gap}{cmd}{{{rest}}}{{{v.denominator}}}"


def w_short_frac(g, rng):
    """\\frac12, \\dfrac34: a one-digit numerator and denominator without braces."""
    m = re.search(r"\\([dt]?frac)\{(\d)\}\{(\d)\}", g)
    if not m:
        return None
    short = rng.choice([f"\\{m.group(1)}{m.group(2)}{m.group(3)}", f"\\{m.group(1)} {m.group(2)} {m.group(3)}",
                        f"\\{m.group(1)}{{{m.group(2)}}}{m.group(3)}"])
    return g[:m.start()] + short + g[m.end():]


def w_short_sqrt(g, rng):
    m = re.search(r"\\sqrt\{(\d)\}", g)
    if not m:
        return None
    return g[:m.start()] + rng.choice([f"\\sqrt{m.group(1)}", f"\\sqrt {m.group(1)}"]) + g[m.end():]


def w_decimal(g, rng):
    v = value_of(g)
    if v is None or v.denominator == 1:
        return None
    places = rng.choice([6, 7, 8])
    return f"{float(v):.{places}f}"


def w_sci(g, rng):
    v = value_of(g)
    if v is None or v == 0 or v.denominator != 1 or abs(v) < 100:
        return None
    n = v.numerator
    digits = str(abs(n)).rstrip("0") or "0"
    exp = len(str(abs(n))) - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if n < 0 else ""
    return rng.choice([f"{sign}{mant} \\times 10^{{{exp}}}", f"{sign}{mant}\\cdot10^{exp}", f"{sign}{mant}e{exp}",
                       f"{sign}{mant}\\times 10^{exp}", f"{sign}{mant}E+{exp:02d}"])


def w_thousands(g, rng):
    v = value_of(g)
    if v is None or v.denominator != 1 or abs(v) < 1000:
        return None
    s = f"{abs(v.numerator):,}"
    sign = "-" if v < 0 else ""
    return sign + rng.choice([s, s.replace(",", "{,}"), s.replace(",", "\\,"), s.replace(",", "\\ "),
                              s.replace(",", " "), s.replace(",", "\\!,\\!")])


def w_plain_int(g, rng):
    """A gold with separators or a float written as the bare integer."""
    v = value_of(g)
    if v is None or v.denominator != 1 or g == str(v.numerator):
        return None
    return rng.choice([str(v.numerator), f"{v.numerator}.", f"{v.numerator}.0"])


LHS = ["x", "n", "k", "a", "m", "N", "S", "AB", "a_{10}", "f(3)", "P(A)", "S_{20}", "|z|", "m\\angle ABC",
       "\\text{Area}", "\\theta", "r", "h", "\\max", "T_5", "d", "\\text{total}", "x_1", "V"]
UNITS = [r"\text{ cm}", r"\mbox{ cm}", r"\,\text{cm}^2", r"\text{ m}^3", r"\ \text{units}", r"\text{ meters}",
         r"\,\mathrm{kg}", r"\text{ seconds}", r"\text{ dollars}", r"\text{ ways}", r"\text{ km/h}", r"~\text{mph}",
         r"\text{ sq ft}", r"\ \mathrm{J}", r"\text{ students}", r"\text{ inches}", r"\,\text{mL}", r"\text{ hours}",
         r" \text{ cm}^{2}", r"\mbox{ units}^2"]


def w_lhs(g, rng):
    return f"{rng.choice(LHS)}{rng.choice([' = ', '=', ' =', '= '])}{g}"


def w_unit(g, rng):
    return g + rng.choice(UNITS)


def w_lhs_unit(g, rng):
    return w_unit(w_lhs(g, rng), rng)


def w_dfrac(g, rng):
    if "\\frac" not in g:
        return None
    return g.replace("\\frac", rng.choice(["\\dfrac", "\\tfrac"]))


def w_degree(g, rng):
    if "circ" in g or value_of(g) is None:
        return None
    return g + rng.choice(["^\\circ", "^{\\circ}", "^{\\circ}\\text{C}", "\\,^\\circ", "^{\\circ}.", " ^\\circ",
                           "\\text{°}", "\\degree"])


def w_strip_degree(g, rng):
    if "circ" not in g:
        return None
    s = re.sub(r"\s*\^\s*\{?\\circ\}?", "", g)
    return s + rng.choice(["", " \\text{ degrees}", "\\text{°}", "^{\\circ}"]) if s != g else None


def w_percent(g, rng):
    if "%" in g:
        s = g.replace("\\%", "").replace("%", "").strip()
        return rng.choice([s, s + "\\text{\\%}", s + " \\%", s + "\\ \\%", s + "\\text{ percent}"])
    v = value_of(g)
    if v is None:
        return None
    return g + rng.choice(["\\%", " \\%", "\\text{\\%}"])


def w_approx(g, rng):
    """The exact value followed by its approximation, as the distill often boxes both."""
    try:
        e = open_r1.parse_gold(g)
        x = float(e[0].evalf()) if e else None
    except Exception:
        x = None
    if x is None or x != x or abs(x) > 1e9:
        return None
    sign = rng.choice(["\\approx", "\\approx", "≈"])
    return f"{g} {sign} {x:.{rng.choice([2, 3, 4])}f}"


def w_chain(g, rng):
    """A computation ending in the value: 2 \\cdot 21 = 42."""
    v = value_of(g)
    if v is None or v.denominator != 1 or abs(v) < 4:
        return None
    n = v.numerator
    d = next((k for k in (2, 3, 4, 5, 6, 7) if n % k == 0), None)
    if d is None:
        return f"{n - 1} + 1 = {n}"
    return rng.choice([f"{d} \\times {n // d} = {n}", f"\\frac{{{2 * n}}}{{2}} = {n}", f"{n // d} \\cdot {d} = {n}"])


def w_set_braces(g, rng):
    if "," not in g or g.startswith("\\{") or "(" in g or "[" in g or re.fullmatch(r"-?\d{1,3}(,\d{3})+", g):
        return None
    parts = [p.strip() for p in g.split(",")]
    rng.shuffle(parts)
    return rng.choice(["\\{" + ", ".join(parts) + "\\}", "\\left\\{ " + ", ".join(parts) + " \\right\\}",
                       " \\text{ and } ".join(parts), ", ".join(parts), "\\lbrace " + ", ".join(parts) + " \\rbrace"])


def w_text_wrap(g, rng):
    return rng.choice([f"\\textbf{{{g}}}", f"\\mathbf{{{g}}}", f"\\text{{ {g} }}", f"{{{{{g}}}}}",
                       f"\\displaystyle {g}", f"\\left. {g} \\right.", f"\\mathrm{{{g}}}"])


def w_trailing(g, rng):
    return g + rng.choice([".", ",", ";", "\\,.", "\\text{.}", "~", "\\quad\\blacksquare", "\\ \\checkmark"])


def w_interval_style(g, rng):
    if not re.search(r"\\cup|\\infty|^[(\[].*[)\]]$", g):
        return None
    s = g.replace("\\left", "").replace("\\right", "")
    r = rng.random()
    if r < 0.3:
        s = re.sub(r"([(\[])", r"\\left\1", s)
        s = re.sub(r"([)\]])", r"\\right\1", s)
    elif r < 0.5:
        s = s.replace("\\infty", "+\\infty", 1) if "-\\infty" not in s.split(",")[-1] else s
    elif r < 0.7:
        s = "x \\in " + s
    elif r < 0.85:
        s = s.replace(" ", "")
    else:
        s = s.replace("\\cup", " \\cup ").replace(",", ", ")
    return s


def w_tuple_style(g, rng):
    if not re.fullmatch(r"(\\left)?\(.*(\\right)?\)", g) or "," not in g:
        return None
    inner = re.sub(r"^(\\left)?\(|(\\right)?\)$", "", g)
    return rng.choice([f"\\left( {inner} \\right)", f"({inner.replace(' ', '')})", f"\\langle {inner} \\rangle",
                       f"(x, y) = ({inner})", f"\\big( {inner} \\big)"])


def w_pi(g, rng):
    m = re.fullmatch(r"\\[dt]?frac\{(\d*)\\pi\}\{(\d+)\}", g)
    if m:
        a = m.group(1) or "1"
        return rng.choice([f"\\frac{{{a}}}{{{m.group(2)}}}\\pi", f"{a}\\pi/{m.group(2)}", f"\\frac{{{a}\\pi}}{{{m.group(2)}}}",
                           f"\\dfrac{{{a} \\pi}}{{{m.group(2)}}}", f"{Fraction(int(a), int(m.group(2)))}\\pi"])
    m = re.fullmatch(r"(\d+)\s*\\pi", g)
    if m:
        return rng.choice([f"\\pi \\cdot {m.group(1)}", f"{m.group(1)} \\pi", f"{m.group(1)}\\pi\\text{{ cm}}^2",
                           f"\\pi({m.group(1)})", f"{m.group(1)}π"])
    return None


def w_matrix(g, rng):
    if "matrix" not in g:
        return None
    return rng.choice([g.replace("pmatrix", "bmatrix"), re.sub(r"\s+", "", g).replace("\\begin", "\\begin"),
                       g.replace("\\\\", "\\\\[2pt]") if rng.random() < 0.2 else g.replace("&", " & "),
                       g.replace("pmatrix", "bmatrix").replace(" ", "")])


def w_complex(g, rng):
    if not re.search(r"(?<![a-z\\])i(?![a-z])", g):
        return None
    return rng.choice([g.replace("i", "\\mathrm{i}"), g.replace(" ", ""), re.sub(r"(\d)i", r"\1 i", g),
                       re.sub(r"(\d+)i", r"i\1", g), re.sub(r"(\d+)i", r"\1\\cdot i", g)])


def w_choice(g, rng):
    m = re.fullmatch(r"\\(?:text|textbf|mathrm)\{\s*\(?([A-E])\)?\s*\}|\(?([A-E])\)?", g)
    if not m:
        return None
    letter = m.group(1) or m.group(2)
    return rng.choice([letter, f"({letter})", f"\\text{{{letter}}}", f"\\textbf{{({letter})}}", f"\\mathrm{{({letter})}}",
                       f"\\text{{({letter}) }}", f"\\text{{Option {letter}}}", f"{letter}.", f"\\mathbf{{{letter}}}"])


WRITERS = {
    "mixed": w_mixed, "short_frac": w_short_frac, "short_sqrt": w_short_sqrt, "decimal": w_decimal, "sci": w_sci,
    "thousands": w_thousands, "plain_int": w_plain_int, "lhs": w_lhs, "unit": w_unit, "lhs_unit": w_lhs_unit,
    "dfrac": w_dfrac, "degree": w_degree, "strip_degree": w_strip_degree, "percent": w_percent, "approx": w_approx,
    "chain": w_chain, "set": w_set_braces, "wrap": w_text_wrap, "trailing": w_trailing, "interval": w_interval_style,
    "tuple": w_tuple_style, "pi": w_pi, "matrix": w_matrix, "complex": w_complex, "choice": w_choice,
}


def m_last_digit(g, rng):
    nums = list(re.finditer(r"\d+", g))
    if not nums:
        return None
    m = nums[-1]
    s = m.group()
    d = (int(s[-1]) + rng.choice([1, 9, 2])) % 10
    return g[:m.start()] + s[:-1] + str(d) + g[m.end():]


def m_rounded(g, rng):
    v = value_of(g)
    if v is None or v.denominator == 1:
        return None
    return f"{float(v):.{rng.choice([1, 2, 3])}f}"


def m_reciprocal(g, rng):
    m = re.search(r"\\([dt]?frac)\{([^{}]+)\}\{([^{}]+)\}", g)
    if not m or m.group(2) == m.group(3):
        return None
    return g[:m.start()] + f"\\{m.group(1)}{{{m.group(3)}}}{{{m.group(2)}}}" + g[m.end():]


def m_drop_root(g, rng):
    if "\\sqrt" not in g:
        return None
    return re.sub(r"\\sqrt(\[\d\])?\{([^{}]*)\}", r"\2", g, count=1)


def m_drop_pi(g, rng):
    if "\\pi" not in g:
        return None
    s = g.replace("\\pi", "", 1).strip()
    return s if s and not s.endswith("{") and s not in ("-", "\\frac{}") else "1"


def m_sign(g, rng):
    return g[1:] if g.startswith("-") else "-" + g


def m_times_ten(g, rng):
    v = value_of(g)
    if v is None:
        return None
    return latex_fraction(v * rng.choice([10, Fraction(1, 10), 100]), rng.choice(["\\frac", "\\dfrac"]))


def m_unit_value(g, rng):
    """The right unit on the wrong number: a forgotten conversion."""
    v = value_of(g)
    if v is None or v.denominator != 1:
        return None
    return f"{v.numerator * rng.choice([60, 100, 12, 1000])}{rng.choice(UNITS)}"


def m_extra_root(g, rng):
    v = value_of(g)
    if v is None:
        return None
    other = latex_fraction(-v - 1 if v >= 0 else -v)
    return rng.choice([f"{g}, {other}", f"{g} \\text{{ or }} {other}", f"\\pm {g}" if v else "\\pm 1"])


def m_endpoint(g, rng):
    if not re.search(r"^(\\left)?[(\[]", g) or not re.search(r"[)\]]$", g):
        return None
    flip = {"(": "[", "[": "(", ")": "]", "]": ")"}
    if "\\infty" in g.split(",")[0] or rng.random() < 0.5:
        return g[:-1] + flip[g[-1]] if not g.rstrip(")]").endswith("infty") else None
    i = len("\\left") if g.startswith("\\left") else 0
    return g[:i] + flip[g[i]] + g[i + 1:]


def m_swap(g, rng):
    inner = re.fullmatch(r"((?:\\left)?\()(.*?)((?:\\right)?\))", g)
    if not inner or inner.group(2).count(",") != 1:
        return None
    a, b = [p.strip() for p in inner.group(2).split(",")]
    return None if a == b else f"{inner.group(1)}{b}, {a}{inner.group(3)}"


def m_choice(g, rng):
    m = re.search(r"[A-E]", g)
    if not m or not re.fullmatch(r"\\(?:text|textbf|mathrm)\{\s*\(?[A-E]\)?\s*\}|\(?[A-E]\)?", g):
        return None
    return g[:m.start()] + "ABCDE"[("ABCDE".index(m.group()) + rng.randint(1, 4)) % 5] + g[m.end():]


MISSES = {
    "last_digit": m_last_digit, "rounded": m_rounded, "reciprocal": m_reciprocal, "drop_root": m_drop_root,
    "drop_pi": m_drop_pi, "sign": m_sign, "times_ten": m_times_ten, "unit_value": m_unit_value,
    "extra_root": m_extra_root, "endpoint": m_endpoint, "swap": m_swap, "choice": m_choice,
}


def compose(g, rng):
    """Two or three rewrites in a row (each may not apply), as in `x = 2\\dfrac{1}{3}\\text{ cm}`."""
    names = ["mixed", "short_frac", "short_sqrt", "dfrac", "thousands", "plain_int", "sci", "pi", "interval", "tuple",
             "complex", "choice", "percent", "strip_degree"]
    s, used = g, []
    for name in rng.sample(names, len(names)):
        t = WRITERS[name](s, rng)
        if t is not None and t != s:
            s, used = t, used + [name]
        if len(used) == 2:
            break
    outer = rng.choice(["lhs", "unit", "lhs_unit", "wrap", "trailing", "degree", "approx"])
    t = WRITERS[outer](s, rng)
    if t is not None:
        s, used = t, used + [outer]
    return (s, "+".join(used)) if used else (None, None)


# ------------------------------------------------------------------------------------------------------------------
# Completions in the distill's manner

OPENERS = [
    "Okay, so I need to solve this problem. Let me start by reading it carefully and figuring out what's given.",
    "Alright, let me try to figure this out. Hmm, first I should recall the relevant definitions.",
    "Okay, let's see. I have this problem in front of me and I need to work through it step by step.",
    "Hmm, okay. So the problem is asking for a single quantity. Let me break it down.",
]
STEPS = [
    "Let me write down what we know: $a + b = 12$ and $ab = 35$. So $a$ and $b$ are roots of $t^2 - 12t + 35 = 0$, "
    "which factors as $(t-5)(t-7) = 0$.",
    "Wait, let me double-check that. If I plug $x = 3$ back in, I get $3^2 - 2 \\cdot 3 - 3 = 0$. Yeah, that works.",
    "So, using the formula $A = \\frac{1}{2}bh$, with $b = 10$ and $h = 6$, the area is $30$.",
    "Hmm, but hold on, is that right? Let me think again. The angle at $B$ is $60^\\circ$, so the triangle is "
    "equilateral only if the other two sides match.",
    "I think I made a mistake earlier: $\\frac{3}{4} + \\frac{1}{6} = \\frac{9}{12} + \\frac{2}{12} = \\frac{11}{12}$, "
    "not $\\frac{4}{10}$.",
    "Let me compute this more carefully:\n\\[\n\\sum_{k=1}^{10} k^2 = \\frac{10 \\cdot 11 \\cdot 21}{6} = 385.\n\\]",
    "So the probability is $\\frac{\\binom{4}{2}}{\\binom{10}{2}} = \\frac{6}{45} = \\frac{2}{15}$.",
    "Converting, $2.5$ hours is $150$ minutes, and $150 \\div 6 = 25$.",
    "Therefore, $\\log_2 32 = 5$ and $\\sqrt{49} = 7$, so the sum is $12$.",
    "Let me verify with another approach. Alternatively, maybe I can use coordinates: put $A$ at $(0, 0)$ and $B$ at "
    "$(4, 0)$.",
    "So, $x^2 - 5x + 6 = 0$ gives $x = 2$ or $x = 3$. Both satisfy the domain $x > 0$.",
    "Okay, that seems consistent. The interval where $f'(x) > 0$ is $(1, \\infty)$, so $f$ is increasing there.",
    "First, $15\\%$ of $80$ is $12$, and $80 - 12 = 68$.",
    "Then $z = 3 + 4i$ has modulus $|z| = \\sqrt{9 + 16} = 5$.",
]
FINALS = {  # context name -> template; {a} is the answer as written, {w} a wrong one
    "final_answer_box": "**Final Answer**\n\\boxed{{{a}}}",
    "final_answer_display": "**Final Answer**\n\\[\n\\boxed{{{a}}}\n\\]",
    "summary_inline": "Thus, the answer is \\(\\boxed{{{a}}}\\).",
    "summary_dollars": "So the final answer is $\\boxed{{{a}}}$.",
    "display_dollars": "The answer is:\n$$\n\\boxed{{{a}}}\n$$",
    "heading": "### Final Answer\nThe value is $\\boxed{{{a}}}$.",
    "bold_box": "**Answer:** $\\boxed{{{a}}}$",
    "box_then_unit_outside": "So the length is $\\boxed{{{a}}}$ centimeters.",
    "box_then_sentence": "\\boxed{{{a}}} is the final result, since every step above checks out.",
    "boxed_twice_same": "The answer is $\\boxed{{{a}}}$.\n\n**Final Answer**\n\\boxed{{{a}}}",
    "think_wrong_summary_right": "",  # built in completion()
    "think_right_summary_wrong": "",
    "answer_is_plain": "The answer is ${a}$.",
    "bold_plain": "**Final Answer:** **{a}**",
    "final_answer_colon": "Final answer: {a}",
    "align_box": "\\begin{{align*}}\n\\text{{Answer}} &= \\boxed{{{a}}}\n\\end{{align*}}",
    "list_item": "- **Result:** $\\boxed{{{a}}}$\n- **Check:** consistent with the constraints.",
    "box_in_sentence_then_approx": "Therefore the result is $\\boxed{{{a}}}$, which is about what we estimated.",
    "wrong_box_then_right": "Initially I wrote $\\boxed{{{w}}}$, but after fixing the error the answer is $\\boxed{{{a}}}$.",
    "right_box_then_wrong": "The answer is $\\boxed{{{a}}}$. Hmm, or maybe $\\boxed{{{w}}}$? No: $\\boxed{{{w}}}$.",
    "no_think_close": "",
    "quad_box": "\\[\n\\boxed{{\\quad {a} \\quad}}\n\\]",
    "box_space": "The answer is $\\boxed {{{a}}}$.",
    "two_boxes_same_line": "$\\boxed{{{a}}}$ \\quad ($\\boxed{{{w}}}$ was the other branch, rejected)",
}
SUMMARY_HEADS = ["To solve the problem, we follow these steps:", "**Solution:**", "Here is a summary of the solution.",
                 "We start from the given conditions."]


def reasoning(rng):
    k = rng.randint(3, 7)
    return rng.choice(OPENERS) + "\n\n" + "\n\n".join(rng.choice(STEPS) for _ in range(k))


def summary(rng):
    steps = [f"{i + 1}. {rng.choice(STEPS)}" for i in range(rng.randint(1, 3))]
    return rng.choice(SUMMARY_HEADS) + "\n\n" + "\n".join(steps)


def completion(rng, context, a, w):
    if context == "think_wrong_summary_right":
        return (reasoning(rng) + f"\n\nSo I get \\boxed{{{w}}}.\n</think>\n\n" + summary(rng) +
                f"\n\nThe final answer is $\\boxed{{{a}}}$.")
    if context == "think_right_summary_wrong":
        return (reasoning(rng) + f"\n\nSo I get \\boxed{{{a}}}.\n</think>\n\n" + summary(rng) +
                f"\n\nThe final answer is $\\boxed{{{w}}}$.")
    if context == "no_think_close":
        return reasoning(rng) + f"\n\nSo the answer should be \\boxed{{{a}}}."
    return reasoning(rng) + "\n</think>\n\n" + summary(rng) + "\n\n" + FINALS[context].format(a=a, w=w)


BOXED_CONTEXTS = [c for c in FINALS if c not in ("answer_is_plain", "bold_plain", "final_answer_colon")]


# ------------------------------------------------------------------------------------------------------------------
# Hand-written families: gold -> [equivalent spellings], [near misses]

FAMILIES = {
    "base": [(r"1011_2", [r"1011_{2}", r"1011_2", r"(1011)_2", r"1011_{(2)}", r"11"], [r"1101_2", r"1011", r"1011_{10}"]),
             (r"212_3", [r"212_{3}", r"23", r"(212)_3"], [r"221_3", r"212"]),
             (r"11", [r"1011_2", r"B_{16}", r"11_{10}"], [r"1011", r"12"])],
    "neg_zero": [(r"0", [r"-0", r"-0.0", r"+0", r"0.00", r"\pm 0", r"-\frac{0}{3}"], [r"-1", r"0.1", r"O"]),
                 (r"-0.5", [r"-\frac12", r"-.5", r"-0.50", r"\frac{-1}{2}"], [r"0.5", r"-0.05"])],
    "e_notation": [(r"1.2 \times 10^{5}", [r"120000", r"1.2e5", r"1.2E5", r"1.2\cdot 10^5", r"12 \times 10^4",
                                           r"120{,}000", r"1.2 \times 10^5\text{ J}"],
                    [r"1.2e6", r"1.2\times 10^{-5}", r"12000", r"2.1\times10^5"]),
                   (r"6 \times 10^{-4}", [r"0.0006", r"6e-4", r"6\cdot 10^{-4}", r"\frac{6}{10000}", r"6.0 \times 10^{-4}"],
                    [r"6\times 10^{4}", r"0.006", r"6e-3"])],
    "modulus": [(r"3", [r"3 \pmod{7}", r"x \equiv 3 \pmod 7", r"3 \ (\text{mod } 7)", r"3\bmod 7"],
                 [r"4 \pmod{7}", r"10"])],
    "repeating": [(r"\frac{1}{3}", [r"0.\overline{3}", r"0.333333", r"0.\dot{3}", r"\dfrac13", r"0.(3)"],
                   [r"0.3", r"0.33", r"\frac{3}{10}"]),
                  (r"\frac{7}{11}", [r"0.\overline{63}", r"0.636364", r"\dfrac{7}{11}"], [r"0.63", r"0.\overline{36}"])],
    "deg_min": [(r"30^\circ", [r"30^{\circ}", r"30\degree", r"30^\circ 0'", r"\frac{\pi}{6}", r"30^{\circ}\text{.}"],
                 [r"30'", r"60^{\circ}", r"3^\circ"]),
                (r"22.5^{\circ}", [r"22.5", r"22\frac{1}{2}^\circ", r"\frac{45}{2}^\circ", r"\frac{\pi}{8}"],
                 [r"22^\circ 5'", r"25.5^\circ", r"\frac{\pi}{4}"])],
    "pm": [(r"\pm \frac{\sqrt{3}}{2}", [r"\frac{\sqrt{3}}{2}, -\frac{\sqrt{3}}{2}", r"\pm\dfrac{\sqrt3}{2}",
                                       r"x = \pm \frac{\sqrt{3}}{2}", r"-\frac{\sqrt{3}}{2}, \frac{\sqrt{3}}{2}"],
            [r"\frac{\sqrt{3}}{2}", r"\pm \frac{\sqrt{2}}{2}", r"\pm\frac{3}{2}"]),
           (r"2 \pm \sqrt{3}", [r"2+\sqrt3, 2-\sqrt3", r"x = 2 \pm \sqrt{3}", r"2 \pm \sqrt3"],
            [r"-2 \pm \sqrt{3}", r"2 + \sqrt{3}"])],
    "union": [(r"(-\infty, -1] \cup [3, \infty)", [r"(-\infty,-1]\cup[3,+\infty)", r"x \le -1 \text{ or } x \ge 3",
                                                    r"x \in (-\infty, -1] \cup [3, \infty)", r"[3,\infty)\cup(-\infty,-1]",
                                                    r"\left(-\infty, -1\right] \cup \left[3, \infty\right)"],
               [r"(-\infty, -1) \cup (3, \infty)", r"[-1, 3]", r"(-\infty, -1] \cup [3, \infty]", r"(-\infty,1]\cup[3,\infty)"]),
              (r"(0, \infty)", [r"(0,+\infty)", r"x > 0", r"\left(0, \infty\right)", r"0 < x", r"\mathbb{R}^+"],
               [r"[0, \infty)", r"x \ge 0", r"(-\infty, 0)"])],
    "matrix_frac": [(r"\begin{pmatrix} \frac{1}{2} & 0 \\ 0 & 2 \end{pmatrix}",
                     [r"\begin{pmatrix} 0.5 & 0 \\ 0 & 2 \end{pmatrix}", r"\begin{bmatrix} \dfrac{1}{2} & 0 \\ 0 & 2 \end{bmatrix}",
                      r"\begin{pmatrix}\frac12&0\\0&2\end{pmatrix}"],
                     [r"\begin{pmatrix} 2 & 0 \\ 0 & \frac{1}{2} \end{pmatrix}", r"\begin{pmatrix} \frac{1}{2} & 0 \\ 0 & -2 \end{pmatrix}"])],
    "log": [(r"\log_3 7", [r"\frac{\ln 7}{\ln 3}", r"\log_{3}7", r"\log_{3}(7)", r"1.771244", r"\frac{\log 7}{\log 3}"],
             [r"\log_7 3", r"\log 7", r"1.77", r"\ln 7 - \ln 3"]),
            (r"2\ln 2", [r"\ln 4", r"\ln(4)", r"1.386294", r"\log 4"], [r"\ln 2", r"4\ln 2", r"\log_2 4"])],
    "ordinal_text": [(r"5", [r"5^{\text{th}}", r"\text{the }5\text{th}", r"\text{5th}", r"5\text{th}"], [r"6^{\text{th}}"]),
                     (r"\text{Tuesday}", [r"\text{Tuesday}", r"\textbf{Tuesday}", r"\text{tuesday}", r"Tuesday"],
                      [r"\text{Thursday}", r"\text{Tues}"])],
    "time": [(r"3:45", [r"3:45", r"3\!:\!45", r"3:45 \text{ PM}", r"\text{3:45}"], [r"3:54", r"4:45"]),
             (r"2.5", [r"2\frac{1}{2}\text{ hours}", r"150 \text{ minutes}", r"2.5\text{ h}", r"\frac{5}{2}\,\text{hours}"],
              [r"2.3", r"2\text{ hours } 30 \text{ minutes}"])],
    "ratio": [(r"\frac{3}{5}", [r"3:5", r"3/5", r"0.6", r"60\%", r"\frac{6}{10}"], [r"5:3", r"\frac{5}{3}", r"0.65"])],
    "sqrt_power": [(r"2\sqrt[3]{2}", [r"2^{4/3}", r"\sqrt[3]{16}", r"2 \cdot 2^{1/3}", r"2.519842"],
                    [r"2\sqrt{2}", r"\sqrt[3]{4}", r"2^{3/4}"]),
                   (r"\sqrt{2}", [r"\sqrt2", r"2^{1/2}", r"\sqrt{2}\,\text{m}", r"1.414214", r"\frac{2}{\sqrt2}"],
                    [r"1.41", r"\sqrt{3}", r"2"])],
    "infinity": [(r"\infty", [r"+\infty", r"\infty", r"\text{infinity}", r"\infty."], [r"-\infty", r"0", r"\text{none}"])],
    "equation_system": [(r"x = 2, y = -1", [r"x=2,\ y=-1", r"y = -1, x = 2", r"(2, -1)", r"x = 2 \text{ and } y = -1"],
                         [r"x = -1, y = 2", r"x = 2, y = 1", r"(-1, 2)"])],
    "function": [(r"f(x) = 2x - 3", [r"2x-3", r"f(x)=2x-3", r"y = 2x - 3", r"f(x) = -3 + 2x"],
                  [r"f(x) = 2x + 3", r"f(x) = 3x - 2"]),
                 (r"\frac{x+3}{2}", [r"f^{-1}(x) = \frac{x+3}{2}", r"\frac{1}{2}x + \frac{3}{2}", r"\dfrac{x + 3}{2}",
                                     r"(x+3)/2"],
                  [r"\frac{x-3}{2}", r"2x+3", r"f^{-1}(x) = \frac{x+2}{3}"])],
    "money_cents": [(r"\$1,234.50", [r"1234.5", r"\$1234.50", r"1{,}234.50", r"\$1,234.5", r"1,234.50\text{ dollars}"],
                     [r"\$1,243.50", r"1234", r"\$123.45"])],
    "choice_value": [(r"\text{(B)}", [r"\textbf{(B)}\ 12", r"B", r"\text{B}", r"(B)", r"\mathrm{(B)}"],
                      [r"\textbf{(C)}\ 12", r"D", r"(A)"])],
}


# ------------------------------------------------------------------------------------------------------------------


def main():
    rng = random.Random(SEED)
    rows = []

    def add(kind, source, gold, comp):
        rows.append({"id": f"h3-{len(rows):04d}", "kind": kind, "source": source, "answer": gold, "completion": comp})

    for shape, source, g in sample_golds(rng):
        grng = random.Random(f"{SEED}:{g}")
        rights, wrongs = [], []
        for name in sorted(WRITERS):
            a = WRITERS[name](g, grng)
            if a is not None and a != g:
                rights.append((name, a))
        for _ in range(2):
            a, how = compose(g, grng)
            if a is not None and a != g:
                rights.append(("compose:" + how, a))
        for name in sorted(MISSES):
            w = MISSES[name](g, grng)
            if w is not None and w != g:
                wrongs.append((name, w))
        if not wrongs:
            wrongs.append(("plus_one", g + "+1"))
        picks = grng.sample(rights, min(len(rights), 3)) + [("verbatim", g)]
        picks += [("miss:" + n, w) for n, w in grng.sample(wrongs, min(len(wrongs), 2))]
        for how, a in picks:
            w = grng.choice(wrongs)[1]
            context = grng.choice(BOXED_CONTEXTS if grng.random() < 0.8 else list(FINALS))
            add(f"{shape}.{how}.{context}", source, g, completion(grng, context, a, w))

    for fam in sorted(FAMILIES):
        for i, (g, rights, wrongs) in enumerate(FAMILIES[fam]):
            frng = random.Random(f"{SEED}:fam:{g}")
            for j, a in enumerate(rights):
                w = frng.choice(wrongs)
                context = frng.choice(BOXED_CONTEXTS)
                add(f"fam3.{fam}.right{j}.{context}", "hand", g, completion(frng, context, a, w))
            for j, w in enumerate(wrongs):
                context = frng.choice(BOXED_CONTEXTS)
                add(f"fam3.{fam}.miss{j}.{context}", "hand", g, completion(frng, context, w, frng.choice(rights)))

    t_mv = time.perf_counter()
    with open(OUT, "w") as f:
        for r in rows:
            gp, pp, acc = label(r["answer"], r["completion"])
            r.update(gold_parsed=gp, pred_parsed=pp, accuracy=acc)
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    t_mv = time.perf_counter() - t_mv
    ones = sum(r["accuracy"] == 1 for r in rows)
    print(f"pairs={len(rows)} accuracy_1={ones} math_verify_seconds={t_mv:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
