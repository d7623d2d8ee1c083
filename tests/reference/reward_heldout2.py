#!/usr/bin/env python3
"""Held-out test set #2 for tina's Math-Verify reimplementation.

Builds (gold, completion) pairs that imitate what DeepSeek-R1-Distill-Qwen-1.5B writes
(long <think> reasoning full of inline/display LaTeX, then "</think>" and a summary with a
final \\boxed{}), and labels every pair with the real Math-Verify under open-r1's
accuracy-reward configuration.

Usage:  python tests/reference/reward_heldout2.py RAWDIR [out.jsonl] && zstd -19 --rm out.jsonl
        (committed as tests/fixtures/reward/heldout2.jsonl.zst; written by a second author, without sight of the
        checker, and measured once before any change: tina agreed on 2,359 of 2,378 pairs, 99.20%)
Deterministic: fixed seed, sorted iteration, serial labelling.
"""
import json
import math
import random
import re
import sys
import time
import warnings
from fractions import Fraction

warnings.filterwarnings("ignore")

SEED = 20250602
if len(sys.argv) not in (2, 3):
    sys.exit("usage: reward_heldout2.py RAWDIR [out.jsonl] (RAWDIR: the raw sets, laid out as data/SOURCES.md says)")
DATA = sys.argv[1]
OUT = sys.argv[2] if len(sys.argv) > 2 else "heldout2.jsonl"

# ----------------------------------------------------------------------------- golds


def _jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def load_sources():
    src = {}
    src["aime24"] = [(str(r["answer"]), r["problem"]) for r in _jsonl(f"{DATA}/eval/aime24.jsonl")]
    src["aime25"] = [(str(r["answer"]), r["problem"]) for r in _jsonl(f"{DATA}/eval/aime25.jsonl")]
    src["amc23"] = [(str(r["answer"]), r.get("question") or r["problem"]) for r in _jsonl(f"{DATA}/eval/amc23.jsonl")]
    src["math500"] = [(r["answer"], r["problem"]) for r in _jsonl(f"{DATA}/eval/math500.jsonl")]
    src["minerva"] = [(r["answer"][0].strip(), r["problem"]) for r in json.load(open(f"{DATA}/eval/minerva_math_answers.json"))]
    src["limr"] = [(str(r["answer"]), r["context"]) for r in _jsonl(f"{DATA}/train/limr.jsonl")]
    src["math8k"] = [(str(r["answer"]), r["prompt"]) for r in json.load(open(f"{DATA}/train/math_lvl3to5_8k.json"))]
    src["ds_aime"] = [(str(r["answer"]), r["problem"]) for r in json.load(open(f"{DATA}/train/deepscaler_aime.json"))]
    src["ds_math"] = [(str(r["answer"]), r["problem"]) for r in json.load(open(f"{DATA}/train/deepscaler_math.json"))]
    src["ds_sub"] = [(r["reward_model"]["ground_truth"], r["prompt"][0]["content"]) for r in _jsonl(f"{DATA}/train/deepscaler_subset2000.jsonl")]
    src["gsm8k"] = [(r["answer"].split("####")[-1].strip(), r["question"]) for r in
                    _jsonl(f"{DATA}/eval/gsm8k_test.jsonl") + _jsonl(f"{DATA}/train/gsm8k_train.jsonl")]
    return src


QUOTA = {"aime24": 15, "aime25": 15, "amc23": 15, "math500": 75, "minerva": 30, "limr": 30,
         "math8k": 50, "ds_aime": 20, "ds_math": 55, "ds_sub": 55, "gsm8k": 40}


def sample_golds(rng):
    src = load_sources()
    seen, out = set(), []
    for name in sorted(QUOTA):
        items = [x for x in src[name] if x[0] and x[0].strip()]
        rng.shuffle(items)
        # prefer non-plain-integer golds a bit for the non-gsm/aime sources
        k = 0
        for ans, prob in items:
            if k >= QUOTA[name]:
                break
            if ans in seen or len(ans) > 80:
                continue
            if name not in ("gsm8k", "aime24", "aime25", "ds_aime", "amc23") and re.fullmatch(r"-?\d+", ans) and rng.random() < 0.4:
                continue
            seen.add(ans)
            out.append((name, ans, prob))
            k += 1
    return out


# ----------------------------------------------------------------------------- answer variants

INT_RE = re.compile(r"^-?\d+$")
DEC_RE = re.compile(r"^-?\d*\.\d+$")
FRAC_RE = re.compile(r"^(-?)\\[dt]?frac\{(-?\d+)\}\{(\d+)\}$")
COMMA_INT_RE = re.compile(r"^-?\d{1,3}(,\d{3})+$")


def num_value(g):
    """Fraction value of simple numeric golds, else None."""
    s = g.strip().replace("\\!", "").replace("{,}", "")
    if COMMA_INT_RE.match(s):
        s = s.replace(",", "")
    if s.endswith(".0") and INT_RE.match(s[:-2]):
        s = s[:-2]
    if INT_RE.match(s):
        return Fraction(int(s))
    if DEC_RE.match(s):
        return Fraction(s)
    m = FRAC_RE.match(s)
    if m:
        v = Fraction(int(m.group(2)), int(m.group(3)))
        return -v if m.group(1) else v
    return None


def frac_latex(v, cmd="\\frac"):
    if v.denominator == 1:
        return str(v.numerator)
    sign = "-" if v < 0 else ""
    return f"{sign}{cmd}{{{abs(v.numerator)}}}{{{v.denominator}}}"


def thousands(n, sep):
    s = f"{abs(n):,}".replace(",", sep)
    return ("-" if n < 0 else "") + s


def dec_str(v, places):
    return f"{float(v):.{places}f}"


def equiv_numeric(rng, v):
    c = []
    if v.denominator == 1:
        n = v.numerator
        c += [str(n), f"{n}.0", f"{n}.00", f"{{{n}}}", f"\\mathbf{{{n}}}", f"\\text{{{n}}}"]
        if abs(n) >= 1000:
            c += [thousands(n, ","), thousands(n, "{,}"), thousands(n, "\\,"), thousands(n, "\\ ")]
        if 0 < n < 1000 and rng.random() < 0.5:
            c.append(f"{n:03d}")
        c += [f"\\frac{{{2 * n}}}{{2}}", f"{n}\\%", f"\\${n}"]
    else:
        c += [frac_latex(v), frac_latex(v, "\\dfrac"), frac_latex(v, "\\tfrac"),
              f"{v.numerator}/{v.denominator}", f"\\frac{{{2 * v.numerator}}}{{{2 * v.denominator}}}",
              f"\\left(\\frac{{{v.numerator}}}{{{v.denominator}}}\\right)"]
        if v < 0:
            c.append(f"\\frac{{{v.numerator}}}{{{v.denominator}}}")
            c.append(f"-\\frac{{{-v.numerator}}}{{{v.denominator}}}")
        d = v.denominator
        while d % 2 == 0:
            d //= 2
        while d % 5 == 0:
            d //= 5
        if d == 1:  # terminating decimal
            s = str(float(v))
            c += [s, s.lstrip("0") if s.startswith("0.") else s, s + "0"]
            pct = v * 100
            c.append(f"{frac_latex(pct) if pct.denominator != 1 else pct.numerator}\\%")
        else:  # approximations
            c += [dec_str(v, 2), dec_str(v, 4), dec_str(v, 6)]
        if abs(v) > 1 and v.denominator != 1:  # mixed number
            w = int(abs(v)) * (1 if v > 0 else -1)
            r = abs(v) - abs(w)
            c.append(f"{w}\\frac{{{r.numerator}}}{{{r.denominator}}}")
            c.append(f"{w} \\frac{{{r.numerator}}}{{{r.denominator}}}")
    return c


UNITS = ["\\text{ cm}", "\\text{ dollars}", "\\text{ units}", " \\text{meters}", "\\,\\text{m}", "\\text{ days}",
         "\\text{ km}", "\\mbox{ inches}", "\\text{ square units}", " \\text{ways}", "\\text{ minutes}", " cm^2"]
VARS = ["x", "n", "k", "a", "m", "y", "t", "r", "N", "S", "P"]


def decorate(rng, ans):
    """Correct value wrapped the way a model may write it in a box."""
    opts = [
        lambda a: a + rng.choice(UNITS),
        lambda a: f"{rng.choice(VARS)} = {a}",
        lambda a: f"{rng.choice(VARS)}={a}",
        lambda a: a + "^\\circ",
        lambda a: a + "^{\\circ}",
        lambda a: a + "\\%",
        lambda a: "\\$" + a,
        lambda a: "\\text{" + a + "}",
        lambda a: a + "\\text{ degrees}",
        lambda a: "\\left(" + a + "\\right)",
        lambda a: f"f({rng.randint(1, 9)}) = {a}",
        lambda a: "\\displaystyle " + a,
        lambda a: a + " \\text{ (answer)}",
        lambda a: "\\text{Answer: }" + a,
        lambda a: a + "." ,
        lambda a: " " + a + " ",
        lambda a: a + "\\quad",
    ]
    return rng.choice(opts)(ans)


def strip_decorations(g):
    """Undecorated variants of a decorated gold (units, degrees, x =, \\$, %, \\text)."""
    c = []
    s = g
    s2 = re.sub(r"\\(?:text|mbox|textbf|mathrm)\{\s*[A-Za-z][A-Za-z .]*\}", "", s).strip()
    if s2 != s and s2:
        c.append(s2)
    for pat in ["^\\circ", "^{\\circ}", "\\%", "%", "\\$", "°"]:
        if pat in s:
            c.append(s.replace(pat, "").strip())
    m = re.match(r"^\s*[A-Za-z](?:_\d)?\s*=\s*(.+)$", s)
    if m and "=" not in m.group(1):
        c.append(m.group(1))
    m = re.match(r"^\\text\{\s*\(?([A-E])\)?\s*\}$", s)
    if m:
        c += [m.group(1), f"({m.group(1)})", f"\\textbf{{({m.group(1)})}}"]
    if "^\\circ" in s:
        c.append(s.replace("^\\circ", "^{\\circ}"))
        c.append(s.replace("^\\circ", "\\text{ degrees}"))
        c.append(s.replace("^\\circ", "°"))
    return c


def sympy_forms(g):
    """Equivalent forms via sympy (only used to *generate* candidates)."""
    out = []
    try:
        import sympy
        from latex2sympy2_extended import latex2sympy
        e = latex2sympy(g)
        if not isinstance(e, sympy.Expr):
            return out
        out.append(sympy.latex(e))
        for f in (sympy.expand, sympy.factor, sympy.simplify, sympy.radsimp, sympy.nsimplify):
            try:
                out.append(sympy.latex(f(e)))
            except Exception:
                pass
        if e.is_number and not e.is_Integer and e.is_real:
            fv = float(e)
            out += [f"{fv:.2f}", f"{fv:.3f}", f"{fv:.6f}", repr(round(fv, 10))]
    except Exception:
        pass
    return out


def textual_forms(g):
    c = []
    if "\\frac" in g:
        c.append(g.replace("\\frac", "\\dfrac"))
        c.append(g.replace("\\frac", "\\tfrac"))
    if "\\dfrac" in g:
        c.append(g.replace("\\dfrac", "\\frac"))
    if "\\left" in g:
        c.append(g.replace("\\left", "").replace("\\right", ""))
    elif re.search(r"[(\[]", g) and re.search(r"[)\]]", g) and g[0] in "([" and g[-1] in ")]":
        c.append("\\left" + g[0] + g[1:-1] + "\\right" + g[-1])
    if ", " in g:
        c.append(g.replace(", ", ","))
    elif "," in g and not COMMA_INT_RE.match(g):
        c.append(g.replace(",", ", "))
    if re.search(r"\\sqrt\{(\d)\}", g):
        c.append(re.sub(r"\\sqrt\{(\d)\}", r"\\sqrt\1", g))
    if " " in g:
        c.append(g.replace(" ", ""))
    if "\\pi" in g and re.match(r"^\d+\s*\\pi$", g):
        n = re.match(r"^(\d+)", g).group(1)
        c += [f"\\pi \\cdot {n}", f"{n}\\cdot\\pi", f"{n} \\times \\pi"]
    if g.startswith("\\{") and g.endswith("\\}"):
        inner = g[2:-2]
        parts = [p.strip() for p in inner.split(",")]
        if len(parts) > 1:
            c.append("\\{" + ", ".join(reversed(parts)) + "\\}")
            c.append(", ".join(parts))
    elif re.fullmatch(r"[^(){}\[\]]+(,\s*[^(){}\[\]]+)+", g) and not COMMA_INT_RE.match(g):
        parts = [p.strip() for p in g.split(",")]
        c.append(", ".join(reversed(parts)))
        c.append("\\{" + ", ".join(parts) + "\\}")
        c.append(" \\text{ and } ".join(parts))
    c += strip_decorations(g)
    return c


def correct_variants(rng, g):
    v = num_value(g)
    c = []
    if v is not None:
        c += equiv_numeric(rng, v)
    c += textual_forms(g)
    c += sympy_forms(g)
    c = [x for x in dict.fromkeys(c) if x and x != g]
    return c


def perturb_int_literal(rng, g):
    nums = [m for m in re.finditer(r"\d+", g)]
    # avoid digits that are part of \command names (none) but skip exponents of ^\circ etc.
    if not nums:
        return None
    m = rng.choice(nums)
    n = int(m.group())
    op = rng.random()
    if op < 0.45:
        new = n + rng.choice([1, -1, 2, -2, 10])
    elif op < 0.65:
        new = n * 2 if n else 1
    elif op < 0.8:
        s = m.group()
        new = int(s[::-1]) if len(s) > 1 and s[::-1] != s and s[-1] != "0" else n + 3
    else:
        new = n + rng.randint(3, 40)
    if new < 0:
        new = n + 1
    return g[:m.start()] + str(new) + g[m.end():]


def wrong_slip(rng, g):
    v = num_value(g)
    if v is not None and rng.random() < 0.6:
        choices = [v + 1, v - 1, v * 2, v + Fraction(1, v.denominator) if v.denominator > 1 else v + 10]
        if v.denominator > 1:
            choices += [Fraction(v.denominator, v.numerator) if v.numerator else v + 1,
                        Fraction(v.numerator + 1, v.denominator)]
        else:
            choices += [v * 10, v - 10, Fraction(v.numerator, 2) if v.numerator % 2 else v + 3]
        w = rng.choice(choices)
        if w == v:
            w = v + 1
        return frac_latex(w, rng.choice(["\\frac", "\\dfrac"])) if w.denominator != 1 else str(w.numerator)
    if g[:1] in "[(" and g[-1:] in ")]" and rng.random() < 0.3:
        flip = {"[": "(", "(": "[", "]": ")", ")": "]"}
        if rng.random() < 0.5:
            return flip[g[0]] + g[1:]
        return g[:-1] + flip[g[-1]]
    p = perturb_int_literal(rng, g)
    if p is not None and p != g:
        return p
    # no digits: change a letter / operator
    if "+" in g:
        return g.replace("+", "-", 1)
    if "-" in g[1:]:
        i = g.index("-", 1)
        return g[:i] + "+" + g[i + 1:]
    m = re.search(r"\\text\{([^}]*)\}", g)
    if m:
        return g[:m.start(1)] + m.group(1)[::-1] + g[m.end(1):]
    return g + "+1"


def wrong_sign(rng, g):
    s = g.strip()
    if s.startswith("-"):
        return s[1:].lstrip()
    if s.startswith("(") or s.startswith("\\left("):
        k = s.index("(") + 1
        return s[:k] + "-" + s[k:]
    if s.startswith("\\frac") or s.startswith("\\dfrac"):
        return "-" + s
    if re.search(r"\d|\\", s):
        return "-" + s if rng.random() < 0.7 else "-(" + s + ")"
    return "-" + s


def split_elems(g):
    s = g.strip()
    wrap = ("", "")
    for l, r in [("\\left(", "\\right)"), ("\\{", "\\}"), ("(", ")"), ("[", "]")]:
        if s.startswith(l) and s.endswith(r):
            s = s[len(l):-len(r)]
            wrap = (l, r)
            break
    depth, cur, parts = 0, "", []
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    if COMMA_INT_RE.match(g.strip()):
        return None, None
    return (parts, wrap) if len(parts) > 1 else (None, None)


def wrong_partial(rng, g):
    parts, wrap = split_elems(g)
    if parts:
        r = rng.random()
        if r < 0.35:  # missing element
            p = parts[:]
            p.pop(rng.randrange(len(p)))
            return wrap[0] + ", ".join(p) + wrap[1] if len(p) > 1 else p[0]
        if r < 0.6:  # extra element
            extra = perturb_int_literal(rng, rng.choice(parts)) or "0"
            p = parts + [extra]
            return wrap[0] + ", ".join(p) + wrap[1]
        if r < 0.8:  # only the first element
            return parts[0]
        p = parts[:]  # swapped order
        p[0], p[-1] = p[-1], p[0]
        return wrap[0] + ", ".join(p) + wrap[1]
    v = num_value(g)
    r = rng.random()
    if v is not None:
        if r < 0.3:  # set of solutions containing the right one plus an extraneous root
            return f"{g}, {frac_latex(-v) if v else '1'}"
        if r < 0.55:  # an intermediate quantity
            return frac_latex(v / 2) if v else "1"
        if r < 0.8:
            return f"\\pm {g}"
        return f"{g} \\text{{ or }} {frac_latex(v + 1)}"
    if r < 0.5:
        return f"{g}, {wrong_slip(rng, g)}"
    if "\\sqrt" in g:
        return re.sub(r"\\sqrt\{([^}]*)\}", r"\1", g, count=1)
    return wrong_slip(rng, g)


# ----------------------------------------------------------------------------- reasoning text

OPENERS = [
    "Okay, so I have this problem here: {p} Hmm, let me try to figure this out step by step.",
    "Alright, so I need to solve this problem: {p} Let me think.",
    "Okay, let's see. The problem says: {p} I need to find the answer.",
    "Okay, so I'm trying to solve this problem: {p} Let me start by understanding what is being asked.",
    "Alright, let me tackle this problem. {p} First, I should recall the relevant formulas.",
]

FILLER_TEXT = [
    "Wait, hold on. Let me double-check that.",
    "Hmm, that doesn't seem right. Let me go back.",
    "Let me think about this differently.",
    "Okay, that seems consistent.",
    "So, putting it all together, I think that's correct.",
    "But wait, maybe I made a mistake earlier. Let me verify.",
    "Yeah, that makes sense.",
    "Alternatively, maybe there's a smarter way to approach this.",
    "I think I need to be careful with the signs here.",
    "Let me recap to make sure I didn't skip anything.",
]


def math_para(rng):
    a, b, c, d = (rng.randint(2, 30) for _ in range(4))
    n = rng.randint(3, 20)
    k = rng.randint(1, n - 1)
    t = rng.randrange(25)
    if t == 0:
        return f"First, let me note that ${a} + {b} = {a + b}$, and ${c} \\times {d} = {c * d}$."
    if t == 1:
        return (f"So we have the equation\n\\[\n{a}x + {b} = {c + a * d}\n\\]\nSubtracting ${b}$ from both sides gives "
                f"${a}x = {c + a * d - b}$, so $x = \\frac{{{c + a * d - b}}}{{{a}}}$.")
    if t == 2:
        return (f"If $n = {a}$, then $n^2 = {a * a}$, which is {'greater' if a * a > b else 'less'} than ${b}$. "
                f"So that case doesn't work.")
    if t == 3:
        return f"Hmm, so the total is ${a} \\cdot {b} = {a * b}$. Then adding ${c}$, we get ${a * b + c}$."
    if t == 4:
        return (f"Let me compute the discriminant: $D = b^2 - 4ac = {b}^2 - 4({a})({c}) = {b * b - 4 * a * c}$. "
                f"{'Since it is negative, there are no real roots.' if b * b - 4 * a * c < 0 else 'So there are real roots.'}")
    if t == 5:
        return f"So the sum is $\\sum_{{k=1}}^{{{n}}} k = \\frac{{{n}({n}+1)}}{{2}} = {n * (n + 1) // 2}$."
    if t == 6:
        return f"The number of ways is $\\binom{{{n}}}{{{k}}} = {math.comb(n, k)}$."
    if t == 7:
        return f"So, $\\angle ABC = {a * 3}^\\circ$, and the remaining angle is $180^\\circ - {a * 3}^\\circ = {180 - a * 3}^\\circ$."
    if t == 8:
        return (f"That gives us $x = {a}$ or $x = -{b}$. Since $x$ must be positive, $x = {a}$.")
    if t == 9:
        return f"$$\n{a}^2 + {b}^2 = {a * a + b * b}\n$$\nso the hypotenuse is $\\sqrt{{{a * a + b * b}}}$."
    if t == 10:
        return ("\\begin{align*}\n"
                f"f(1) &= {a} \\\\\nf(2) &= {a} + {b} = {a + b} \\\\\nf(3) &= {a + b} + {b} = {a + 2 * b}\n"
                "\\end{align*}")
    if t == 11:
        g = math.gcd(a, b)
        return (f"So the probability is $\\frac{{{a}}}{{{a + b}}}$, and the other one is $\\frac{{{b}}}{{{a + b}}}$. "
                f"Note $\\gcd({a}, {b}) = {g}$.")
    if t == 12:
        return f"Plugging in, we get $({a})^2 - {b}({a}) + {c} = {a * a - b * a + c}$."
    if t == 13:
        return f"So the area is \\( \\frac{{1}}{{2}} \\times {a} \\times {b} = {a * b / 2:g} \\)."
    if t == 14:
        return f"Let me denote $S = a_1 + a_2 + \\cdots + a_{{{n}}}$. We know $a_1 = {a}$ and $d = {b}$."
    if t == 15:
        return f"Then, {a} divided by {b} is approximately {a / b:.3f}, which is close to ${round(a / b, 1)}$."
    if t == 16:
        return f"So $y = {a}x - {b}$, and when $x = {c}$, $y = {a * c - b}$."
    if t == 17:
        return f"Therefore $\\log_{{2}} {2 ** (n % 11)} = {n % 11}$ and $2^{{{n % 11}}} = {2 ** (n % 11)}$."
    if t == 18:
        return f"Let me write that as \\[ \\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}} = \\frac{{{a * d + b * c}}}{{{b * d}}}. \\]"
    if t == 19:
        return f"So we need ${a} \\leq x \\leq {a + b}$, which gives ${b + 1}$ integer values."
    if t == 20:
        return f"The remainder when ${a * 7 + 3}$ is divided by $7$ is $3$, since ${a * 7 + 3} = 7 \\cdot {a} + 3$."
    if t == 21:
        return f"Hence $(x - {a})(x + {b}) = 0$, i.e. $x^2 {'+' if b >= a else '-'} {abs(b - a)}x - {a * b} = 0$."
    if t == 22:
        return f"Total cost: ${a} \\times \\${b} = \\${a * b}$."
    if t == 23:
        return f"The vector is $\\begin{{pmatrix}} {a} \\\\ {b} \\end{{pmatrix}}$ and its length is $\\sqrt{{{a * a + b * b}}}$."
    return f"We get $\\sin \\theta = \\frac{{{min(a, b)}}}{{{max(a, b) + 1}}}$, so $\\cos^2 \\theta = 1 - \\sin^2 \\theta$."


def dollar_heavy(rng):
    nums = [rng.randint(1, 999) for _ in range(rng.randint(6, 14))]
    s = ", ".join(f"${x}$" for x in nums)
    return rng.choice([
        f"Listing the values: {s}.",
        f"The terms are {s}, and their sum is ${sum(nums)}$.",
        f"Checking each candidate in turn: {s}. None of these beyond ${nums[0]}$ works.",
        f"So the sequence goes {s}, \\ldots",
    ])


def problem_snip(rng, p):
    p = re.sub(r"\s+", " ", p.replace("Let's think step by step and output the final answer within \\boxed{}.", "")).strip()
    p = p.replace("\\boxed", "")
    return p[:400] + ("..." if len(p) > 400 else "")


def reasoning(rng, prob, target, mention=None, heavy=False):
    parts = [rng.choice(OPENERS).format(p=problem_snip(rng, prob))]
    size = len(parts[0])
    while size < target:
        r = rng.random()
        if heavy and r < 0.45:
            para = dollar_heavy(rng)
        elif r < 0.72:
            para = math_para(rng)
        elif r < 0.95:
            para = rng.choice(FILLER_TEXT)
        elif mention is not None:
            para = f"So tentatively the value is ${mention}$, but let me keep checking."
        else:
            para = math_para(rng)
        parts.append(para)
        size += len(para) + 2
    return parts


def join(parts):
    return "\n\n".join(parts)


FINAL_THINK = [
    "**Final Answer**\n\\boxed{{{a}}}",
    "**Final Answer**\nThe answer is \\boxed{{{a}}}.",
    "**Final Answer**\n\\[\n\\boxed{{{a}}}\n\\]",
    "So, the final answer is \\boxed{{{a}}}.",
]
SUMMARY_HEAD = [
    "To solve the problem, we proceed as follows:",
    "Given the problem, we need to find the requested quantity.",
    "We start by setting up the equations from the problem statement.",
    "**Solution:**",
]
SUMMARY_END = [
    "Thus, the final answer is \\(\\boxed{{{a}}}\\).",
    "\\[\n\\boxed{{{a}}}\n\\]",
    "The answer is $\\boxed{{{a}}}$.",
    "Therefore, the answer is:\n\n$$\n\\boxed{{{a}}}\n$$",
    "### Final Answer\n\\boxed{{{a}}}",
    "Hence, the result is \\boxed{{{a}}}.",
]


def summary(rng, n_steps=None):
    n_steps = n_steps or rng.randint(1, 4)
    lines = [rng.choice(SUMMARY_HEAD), ""]
    for i in range(n_steps):
        lines.append(f"{i + 1}. **Step {i + 1}:** " + math_para(rng))
    return "\n".join(lines)


def fmt(t, a):
    return t.format(a=a)


def full(rng, prob, think_ans, summ_ans, target, heavy=False, mention=None, think_box=True):
    parts = reasoning(rng, prob, target, mention=mention, heavy=heavy)
    if think_box and think_ans is not None:
        parts.append(fmt(rng.choice(FINAL_THINK), think_ans))
    s = join(parts) + "\n</think>\n\n" + summary(rng)
    if summ_ans is not None:
        s += "\n\n" + fmt(rng.choice(SUMMARY_END), summ_ans)
    return s


# ----------------------------------------------------------------------------- kinds


def pick_correct(rng, g, cv):
    return rng.choice(cv) if cv and rng.random() < 0.75 else g


def make_completion(rng, kind, g, prob, cv):
    target = rng.randint(900, 4800)
    if kind == "correct_same":
        return full(rng, prob, g, g, target)
    if kind == "correct_equiv":
        a = rng.choice(cv) if cv else g
        return full(rng, prob, a, a, target)
    if kind == "correct_decorated":
        a = decorate(rng, g)
        return full(rng, prob, a, a, target)
    if kind == "wrong_slip":
        a = wrong_slip(rng, g)
        return full(rng, prob, a, a, target)
    if kind == "wrong_sign":
        a = wrong_sign(rng, g)
        return full(rng, prob, a, a, target)
    if kind == "wrong_partial":
        a = wrong_partial(rng, g)
        return full(rng, prob, a, a, target)
    if kind == "early_box_then_correct":
        parts = reasoning(rng, prob, target // 3)
        early = wrong_slip(rng, g) if rng.random() < 0.6 else str(rng.randint(2, 99))
        parts.append(rng.choice([f"So $f(1) = \\boxed{{{early}}}$ for the first part.",
                                 f"At this point the intermediate result is \\boxed{{{early}}}.",
                                 f"\\[\n\\boxed{{{early}}}\n\\]\nWait, but that's only the first piece."]))
        parts += reasoning(rng, prob, target // 2)[1:]
        a = pick_correct(rng, g, cv)
        parts.append(fmt(rng.choice(FINAL_THINK), a))
        return join(parts) + "\n</think>\n\n" + summary(rng) + "\n\n" + fmt(rng.choice(SUMMARY_END), a)
    if kind == "early_correct_then_wrong":
        parts = reasoning(rng, prob, target // 3)
        parts.append(f"So I get \\boxed{{{g}}}. Hmm, wait, let me re-examine the constraints.")
        parts += reasoning(rng, prob, target // 2)[1:]
        a = wrong_slip(rng, g)
        parts.append(fmt(rng.choice(FINAL_THINK), a))
        return join(parts) + "\n</think>\n\n" + summary(rng) + "\n\n" + fmt(rng.choice(SUMMARY_END), a)
    if kind == "think_summary_mismatch":
        good, bad = pick_correct(rng, g, cv), wrong_slip(rng, g)
        if rng.random() < 0.5:
            return full(rng, prob, good, bad, target)
        return full(rng, prob, bad, good, target)
    if kind == "two_boxes_end":
        good, bad = pick_correct(rng, g, cv), wrong_slip(rng, g)
        parts, wrap = split_elems(g)
        r = rng.random()
        if parts and r < 0.35:
            tail = " and ".join(f"\\boxed{{{p}}}" for p in parts)
            tail = f"The answers are {tail}."
        elif r < 0.55:
            tail = f"So the answer is \\boxed{{{good}}} or equivalently \\boxed{{{g}}}."
        elif r < 0.8:
            tail = f"The candidates are \\boxed{{{bad}}} and \\boxed{{{good}}}."
        else:
            tail = f"The candidates are \\boxed{{{good}}} and \\boxed{{{bad}}}."
        return full(rng, prob, None, None, target, think_box=False) + "\n\n" + tail
    if kind == "unboxed_sentence":
        a = pick_correct(rng, g, cv) if rng.random() < 0.75 else wrong_slip(rng, g)
        tail = rng.choice([f"So the answer is {a}.", f"So the answer is ${a}$.", f"Final Answer: {a}",
                           f"The final answer is ${a}$. I hope it is correct.", f"**Answer:** ${a}$",
                           f"Therefore, the answer is \\({a}\\).", f"Answer: {a}", f"the answer is: $$ {a} $$"])
        body = full(rng, prob, None, None, target, think_box=False, mention=a if rng.random() < 0.5 else None)
        return body + "\n\n" + tail
    if kind == "bold_boxed":
        a = pick_correct(rng, g, cv) if rng.random() < 0.8 else wrong_slip(rng, g)
        tail = rng.choice([f"**\\boxed{{{a}}}**", f"**Final Answer:** \\boxed{{{a}}}",
                           f"**Answer: $\\boxed{{{a}}}$**", f"The answer is **{a}**.",
                           f"**Final Answer**\n\n**${a}$**", f"The final answer is $\\boxed{{\\textbf{{{a}}}}}$.",
                           f"**The answer is \\(\\boxed{{{a}}}\\).**"])
        return full(rng, prob, None, None, target, think_box=False) + "\n\n" + tail
    if kind == "truncated":
        r = rng.random()
        body = join(reasoning(rng, prob, target))
        if r < 0.45:  # plain cut mid-way, no boxes at all
            return body[: rng.randint(len(body) // 2, len(body))]
        if r < 0.7:  # cut after an intermediate box
            early = wrong_slip(rng, g) if rng.random() < 0.5 else g
            paras = body.split("\n\n")
            k = rng.randint(max(1, len(paras) // 3), max(1, len(paras) * 2 // 3))
            head, rest = "\n\n".join(paras[:k]), "\n\n".join(paras[k:])
            return (head + f"\n\nSo the first part gives \\boxed{{{early}}}.\n\n" +
                    rest[: rng.randint(50, max(60, len(rest) - 1))])
        if r < 0.85:  # unclosed box at the very end
            a = pick_correct(rng, g, cv)
            k = rng.randint(0, max(0, len(a) - 1))
            return body + "\n\n**Final Answer**\n\\boxed{" + a[:k]
        # cut inside the summary before the box
        s = body + "\n\n**Final Answer**\n\n\\boxed{" + g + "}\n</think>\n\n" + summary(rng)
        return s[: len(body) + rng.randint(30, len(s) - len(body))] if rng.random() < 0.4 else \
            body + "\n</think>\n\n" + summary(rng)[: rng.randint(40, 200)]
    if kind == "many_dollars":
        a = pick_correct(rng, g, cv) if rng.random() < 0.65 else wrong_slip(rng, g)
        return full(rng, prob, a, a, target, heavy=True, mention=g if rng.random() < 0.5 else None)
    if kind == "no_close_think":
        a = pick_correct(rng, g, cv) if rng.random() < 0.7 else wrong_slip(rng, g)
        parts = reasoning(rng, prob, target)
        parts.append(fmt(rng.choice(FINAL_THINK), a))
        return join(parts)
    if kind == "boxed_variants":
        a = pick_correct(rng, g, cv) if rng.random() < 0.8 else wrong_slip(rng, g)
        tail = rng.choice([f"\\boxed {a}" if re.fullmatch(r"-?\d+", a) else f"\\boxed{{ {a} }}",
                           f"$\\boxed{{{a}}}$", f"\\fbox{{{a}}}", f"\\boxed{{\\boxed{{{a}}}}}",
                           f"\\(\\boxed{{\\text{{{a}}}}}\\)", f"$$\\boxed{{{a}}}.$$",
                           f"\\boxed{{{a}}}\n\nI hope this is correct! Let me know if you have questions.",
                           f"\\[\\boxed{{{a}}}\\] (rounded to two decimal places)"])
        return full(rng, prob, None, None, target, think_box=False) + "\n\n" + tail
    raise ValueError(kind)


KIND_WEIGHTS = [
    ("correct_same", 8), ("correct_equiv", 14), ("correct_decorated", 10), ("wrong_slip", 10), ("wrong_sign", 5),
    ("wrong_partial", 7), ("early_box_then_correct", 7), ("early_correct_then_wrong", 5),
    ("think_summary_mismatch", 6), ("two_boxes_end", 6), ("unboxed_sentence", 7), ("bold_boxed", 6),
    ("truncated", 7), ("many_dollars", 8), ("no_close_think", 3), ("boxed_variants", 5),
]


def choose_kinds(rng):
    n = rng.randint(4, 8)
    kinds = [rng.choice(["correct_same", "correct_equiv", "correct_decorated"]),
             rng.choice(["wrong_slip", "wrong_sign", "wrong_partial"])]
    names = [k for k, _ in KIND_WEIGHTS]
    weights = [w for _, w in KIND_WEIGHTS]
    while len(kinds) < n:
        kinds.append(rng.choices(names, weights)[0])
    return kinds


# ----------------------------------------------------------------------------- labelling


def label(gold, completion):
    import open_r1
    gold_parsed, pred_parsed, accuracy = open_r1.label(gold, completion)
    return [str(x) for x in gold_parsed], [str(x) for x in pred_parsed], accuracy


def main():
    import logging
    logging.disable(logging.CRITICAL)
    rng = random.Random(SEED)
    golds = sample_golds(rng)
    rows = []
    for gi, (src, g, prob) in enumerate(golds):
        grng = random.Random(f"{SEED}:{gi}:{g}")
        cv = correct_variants(grng, g)
        for j, kind in enumerate(choose_kinds(grng)):
            comp = make_completion(grng, kind, g, prob, cv)
            rows.append({"id": f"h2-{gi:03d}-{j}", "kind": kind, "source": src, "answer": g, "completion": comp})
    t_mv = 0.0
    with open(OUT, "w") as f:
        for r in rows:
            t0 = time.perf_counter()
            gp, pp, acc = label(r["answer"], r["completion"])
            t_mv += time.perf_counter() - t0
            r.update(gold_parsed=gp, pred_parsed=pp, accuracy=acc)
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"golds={len(golds)} pairs={len(rows)} math_verify_seconds={t_mv:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
