"""Held-out parity set for the accuracy reward: (gold answer, model completion) pairs labelled by Math-Verify.

Written independently of tina's C code and of reward_corpus.py, to catch disagreements the main corpus may miss.
Pinned: math-verify 0.9.0, latex2sympy2_extended 1.11.0, sympy 1.14.0 (asserted at start).
Run: python tests/reference/reward_heldout.py RAWDIR
     (RAWDIR: the raw sets, laid out as data/SOURCES.md says; writes tests/fixtures/reward/heldout.jsonl.zst with
     `zstd -19`; deterministic: fixed seed, no timings in the output)

Golds: (a) a deterministic, shape-stratified sample of real answers (math500, deepscaler_math, math_lvl3to5_8k, a
few minerva and gsm8k), each with the verbatim answer, generic rewrites (equiv.*), decimal approximations
(approx.p<digits>), a near miss (miss.*) and an extraction situation (extract.*); (b) hand-written answer families
(fam.*) with written-differently equivalents and near misses. Every completion is a short reasoning, "</think>", and
a final statement in the manner of a small distilled reasoning model. `kind` is what the generator meant
("<class>.<detail>"), not what Math-Verify decided; `accuracy` is Math-Verify's verdict (1/0, null when the gold
does not parse), computed exactly as open-r1's accuracy reward does (see label()).
Record keys: id, kind, answer, completion, gold_parsed, pred_parsed, accuracy.
"""
import json
import logging
import pathlib
import random
import re
import subprocess
import sys
import time
from collections import Counter

from pins import require

require({"math-verify": "0.9.0", "latex2sympy2_extended": "1.11.0", "sympy": "1.14.0"})

import sympy  # noqa: E402
import open_r1  # noqa: E402

logging.disable(logging.CRITICAL)

SEED = 1729_2026
REPO = pathlib.Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "reward" / "heldout.jsonl.zst"

TIMES = []  # (seconds for parse(gold)+parse(pred)+verify, id)


label = open_r1.label


# ------------------------------------------------------------------------------------------------------------------
# Brace-aware helpers

OPEN, CLOSE = "([{", ")]}"


def split_top(s, seps):
    """Split s at the top-level occurrences of any single-character separator in seps (depth over ()[]{}),
    ignoring separators right after a backslash. Returns the pieces with the separators they followed."""
    parts, depth, cur, prev = [], 0, "", ""
    for ch in s:
        if ch in OPEN and prev != "\\":
            depth += 1
        elif ch in CLOSE and prev != "\\":
            depth -= 1
        if ch in seps and depth == 0 and prev != "\\" and cur.strip():
            parts.append(cur)
            cur = ch
        else:
            cur += ch
        prev = ch
    parts.append(cur)
    return parts


def top_commas(s):
    out, depth, cur, prev = [], 0, "", ""
    for ch in s:
        if ch in OPEN and prev != "\\":
            depth += 1
        elif ch in CLOSE and prev != "\\":
            depth -= 1
        if ch == "," and depth == 0 and prev != "\\":
            out.append(cur)
            cur = ""
        else:
            cur += ch
        prev = ch
    out.append(cur)
    return [p.strip() for p in out]


def first_frac(s):
    """(start, end, num, den) of the first \\frac{..}{..} / \\dfrac / \\tfrac with braced arguments, or None."""
    m = re.search(r"\\[dt]?frac\{", s)
    if not m:
        return None
    i = m.end()
    args = []
    for _ in range(2):
        depth, j = 1, i
        while j < len(s) and depth:
            if s[j] == "{":
                depth += 1
            elif s[j] == "}":
                depth -= 1
            j += 1
        if depth:
            return None
        args.append(s[i:j - 1])
        if len(args) == 1:
            if j >= len(s) or s[j] != "{":
                return None
            i = j + 1
        else:
            return m.start(), j, args[0], args[1]
    return None


INT_RE = re.compile(r"^-?\d+$")
NUM_RE = re.compile(r"^-?\d*\.?\d+$")


def simple_token(x):
    return re.fullmatch(r"-?[\w.]+|\\pi|\\sqrt\{\w+\}|\\sqrt\w", x) is not None


# ------------------------------------------------------------------------------------------------------------------
# Generic equivalence-preserving rewrites (intended; Math-Verify decides)

def t_dfrac(s):
    if "\\dfrac" in s:
        return s.replace("\\dfrac", "\\frac")
    if "\\frac" in s:
        return s.replace("\\frac", "\\dfrac")
    return None


def t_tfrac(s):
    return s.replace("\\dfrac", "\\tfrac").replace("\\frac", "\\tfrac") if "frac" in s else None


def t_frac_short(s):
    r = re.sub(r"\\([dt]?)frac\{(\d)\}\{(\d)\}", r"\\\1frac\2\3", s)
    return r if r != s else None


def t_frac_slash(s):
    f = first_frac(s)
    if not f:
        return None
    a, b = f[2].strip(), f[3].strip()
    a = a if simple_token(a) else "(" + a + ")"
    b = b if simple_token(b) else "(" + b + ")"
    return s[:f[0]] + a + "/" + b + s[f[1]:]


def t_over(s):
    f = first_frac(s)
    if not f:
        return None
    return s[:f[0]] + "{" + f[2] + " \\over " + f[3] + "}" + s[f[1]:]


def t_left_right(s):
    if "\\left" in s or "\\sqrt[" in s or "\\begin" in s or not re.search(r"[()\[\]]", s):
        return None
    out, prev = "", ""
    for ch in s:
        if ch in "([" and prev != "\\":
            out += "\\left" + ch
        elif ch in ")]" and prev != "\\":
            out += "\\right" + ch
        else:
            out += ch
        prev = ch
    return out


def t_strip_left_right(s):
    r = re.sub(r"\\(left|right)(?=[()\[\]|.]|\\[{}|])", "", s)
    return r if r != s else None


def t_nospace(s):
    if "\\text" in s or "\\mbox" in s or " " not in s:
        return None
    r = re.sub(r"(?<=[^A-Za-z])\s+|\s+(?=[^A-Za-z])", "", s)
    return r if r != s else None


def t_spacey(s):
    if "\\text" in s:
        return None
    r = re.sub(r"\s*([+=<>])\s*", r" \1 ", s)
    r = re.sub(r"(?<=[\w})])\s*-\s*", " - ", r)
    r = re.sub(r",\s*", ", ", r).strip()
    r = re.sub(r"\s+", " ", r)
    return r if r != s else None


def t_thin(s, rng):
    pieces = [r"\,", r"\;", r"\!", r"\ ", "~", r"\quad "]
    sp = rng.choice(pieces)
    r = re.sub(r"\s*([+=,])\s*", lambda m: sp + m.group(1) + sp, s, count=2)
    if r == s:
        r = sp + s + sp if sp != r"\!" else s + r"\!"
    return r


def t_cdot_times(s):
    if "\\cdot" in s:
        return s.replace("\\cdot", "\\times")
    if "\\times" in s:
        return s.replace("\\times", "\\cdot")
    return None


def t_sqrt_short(s):
    r = re.sub(r"\\sqrt\{(\d)\}", r"\\sqrt\1", s)
    return r if r != s else None


def t_sqrt_power(s):
    r = re.sub(r"\\sqrt\{(\d+)\}", r"\1^{1/2}", s, count=1)
    return r if r != s else None


UNI = [("\\pi", "π"), ("\\times", "×"), ("\\cdot", "·"), ("^\\circ", "°"), ("^{\\circ}", "°"), ("\\le ", "≤ "),
       ("\\leq", "≤"), ("\\ge ", "≥ "), ("\\geq", "≥"), ("\\infty", "∞"), ("\\cup", "∪"), ("\\pm", "±"),
       ("\\sqrt", "√"), ("\\theta", "θ"), ("\\alpha", "α")]


def t_unicode(s):
    r = s
    for a, b in UNI:
        r = r.replace(a, b)
    if r == s:
        r = re.sub(r"(?<![\^_{\w])-(?=\d)", "−", s, count=1)  # U+2212 minus
    return r if r != s else None


def t_reorder_sum(s):
    if "=" in s or "<" in s or ">" in s or "," in s or "\\le" in s or "\\ge" in s:
        return None
    parts = split_top(s, "+-")
    if len(parts) != 2 or not parts[1].strip():
        return None
    a, b = parts[0].strip(), parts[1].strip()
    if b[0] == "+":
        b = b[1:].strip()
    if a.startswith("-"):
        return b + " " + a
    return b + " + " + a


def t_reorder_list(s):
    if s[:1] in "([{" or s.startswith("\\{") or s.startswith("\\left") or "\\begin" in s:
        return None
    parts = top_commas(s)
    if len(parts) < 2 or any(not p for p in parts):
        return None
    return ", ".join(reversed(parts))


def t_set_braces(s):
    if s[:1] in "([{" or s.startswith("\\left") or "\\begin" in s:
        return None
    parts = top_commas(s)
    if len(parts) < 2:
        return None
    return "\\{" + ", ".join(parts) + "\\}"


def t_var_prefix(s, rng):
    if "=" in s or "\\text" in s or "<" in s or ">" in s or "\\le" in s or "\\ge" in s:
        return None
    return rng.choice(["x = ", "x=", "n = ", "a = ", "k=", "S = ", "\\text{Answer} = "]) + s


def t_text_wrap(s):
    return "\\text{" + s + "}" if re.fullmatch(r"-?[\d.,]+", s) else None


def t_font_wrap(s, rng):
    return "\\" + rng.choice(["mathbf", "mathrm", "textbf", "boldsymbol", "displaystyle"]) + "{" + s + "}"


def t_brace_wrap(s):
    return "{" + s + "}"


def t_trailing_period(s):
    return s + "."


def t_int_commas(s, rng):
    if not INT_RE.match(s) or len(s.lstrip("-")) < 4:
        return None
    sep = rng.choice([",", "{,}", "\\,", "\\ ", " "])
    neg = s.startswith("-")
    d = s.lstrip("-")
    groups = []
    while d:
        groups.insert(0, d[-3:])
        d = d[:-3]
    return ("-" if neg else "") + sep.join(groups)


def t_int_float(s, rng):
    if not INT_RE.match(s):
        return None
    return s + rng.choice([".0", ".00", ".000"])


def t_plus_sign(s):
    return "+" + s if NUM_RE.match(s) and not s.startswith("-") else None


def t_money(s):
    if s.startswith("\\$"):
        return s[2:].strip()
    if re.fullmatch(r"\d+\.\d\d", s):
        return "\\$" + s
    return None


def t_unit(s, rng):
    if not NUM_RE.match(s):
        return None
    return s + rng.choice(["\\text{ cm}", " \\text{ units}", "\\,\\mathrm{m}", " \\text{ dollars}", "^\\circ",
                           " \\text{ square units}", "\\text{ ways}", " \\text{ km/h}", "\\%"])


def t_equation_lhs(s, rng):
    if not INT_RE.match(s):
        return None
    n = int(s)
    a = rng.randint(1, 9)
    return rng.choice([f"{n - a} + {a} = {s}", f"{a} + {n - a} = {s}", f"\\frac{{{2 * n}}}{{2}} = {s}"])


def t_expand_paren(s):
    m = re.fullmatch(r"(\d+)\((.+)\)", s)
    if m and "(" not in m.group(2):
        terms = split_top(m.group(2), "+-")
        if len(terms) == 2:
            k = m.group(1)
            return f"{k}\\cdot {terms[0].strip()} {terms[1].strip()[0]} {k}\\cdot {terms[1].strip()[1:].strip()}"
    return None


REWRITES = {
    "dfrac": lambda s, r: t_dfrac(s), "tfrac": lambda s, r: t_tfrac(s), "frac_short": lambda s, r: t_frac_short(s),
    "frac_slash": lambda s, r: t_frac_slash(s), "over": lambda s, r: t_over(s),
    "left_right": lambda s, r: t_left_right(s), "strip_left_right": lambda s, r: t_strip_left_right(s),
    "nospace": lambda s, r: t_nospace(s), "spacey": lambda s, r: t_spacey(s), "thin_space": t_thin,
    "cdot_times": lambda s, r: t_cdot_times(s), "sqrt_short": lambda s, r: t_sqrt_short(s),
    "sqrt_power": lambda s, r: t_sqrt_power(s), "unicode": lambda s, r: t_unicode(s),
    "reorder_sum": lambda s, r: t_reorder_sum(s), "reorder_list": lambda s, r: t_reorder_list(s),
    "set_braces": lambda s, r: t_set_braces(s), "var_prefix": t_var_prefix, "text_wrap": lambda s, r: t_text_wrap(s),
    "font_wrap": t_font_wrap, "brace_wrap": lambda s, r: t_brace_wrap(s),
    "trailing_period": lambda s, r: t_trailing_period(s), "int_commas": t_int_commas, "int_float": t_int_float,
    "plus_sign": lambda s, r: t_plus_sign(s), "money": lambda s, r: t_money(s), "unit": t_unit,
    "equation_lhs": t_equation_lhs, "expand_paren": lambda s, r: t_expand_paren(s),
}
# Generic ones that apply to almost anything: keep them rarer so the specific ones dominate.
GENERIC = {"font_wrap", "brace_wrap", "trailing_period", "thin_space", "var_prefix"}


# ------------------------------------------------------------------------------------------------------------------
# Near misses

def m_digit(s, rng):
    ds = [m.start() for m in re.finditer(r"\d", s)]
    if not ds:
        return None
    i = ds[-1] if rng.random() < 0.7 else rng.choice(ds)
    d = int(s[i])
    nd = (d + rng.choice([1, -1, 2])) % 10
    if nd == 0 and i == 0 and len(ds) > 1 and ds[1] == 1:
        nd = 9
    return s[:i] + str(nd) + s[i + 1:]


def m_sign(s):
    if "=" in s or "," in s or "\\begin" in s or "<" in s or ">" in s:
        return None
    if s.startswith("-"):
        return s[1:]
    return "-" + (s if len(split_top(s, "+-")) == 1 else "(" + s + ")")


def m_frac_swap(s):
    f = first_frac(s)
    if not f or f[2] == f[3]:
        return None
    return s[:f[0]] + "\\frac{" + f[3] + "}{" + f[2] + "}" + s[f[1]:]


def m_drop_elem(s):
    inner, pre, post = s, "", ""
    m = re.fullmatch(r"(\\left\(|\(|\\\{|\\left\\\{)(.*)(\\right\)|\)|\\\}|\\right\\\})", s)
    if m:
        pre, inner, post = m.group(1), m.group(2), m.group(3)
    parts = top_commas(inner)
    if len(parts) < 2:
        return None
    return pre + ", ".join(parts[:-1]) + post


def m_add_elem(s, rng):
    extra = rng.choice(["0", "1", "-1", "2"])
    m = re.fullmatch(r"(\\left\(|\(|\\\{)(.*)(\\right\)|\)|\\\})", s)
    if m:
        return m.group(1) + m.group(2) + ", " + extra + m.group(3)
    if len(top_commas(s)) >= 2:
        return s + ", " + extra
    return None


def m_bracket(s, rng):
    swaps = {"(": "[", "[": "(", ")": "]", "]": ")"}
    idx = [i for i, c in enumerate(s) if c in swaps and (i == 0 or s[i - 1] not in "\\t")]
    if not idx or ("\\infty" not in s and "\\cup" not in s and not re.match(r"^(\\left)?[(\[]", s)):
        return None
    i = rng.choice(idx)
    return s[:i] + swaps[s[i]] + s[i + 1:]


def m_drop_sqrt(s):
    r = re.sub(r"\\sqrt(\[\d\])?\{([^{}]+)\}", r"\2", s, count=1)
    return r if r != s else None


def m_drop_pi(s):
    if "\\pi" not in s:
        return None
    r = s.replace("\\pi", "", 1).strip()
    return r if r != s and r and r not in "+-" else None


def m_flip_ineq(s):
    table = [("\\le", "\\ge"), ("\\ge", "\\le"), ("<", ">"), (">", "<")]
    for a, b in table:
        if a in s:
            return s.replace(a, b, 1)
    return None


def m_double(s):
    if INT_RE.match(s):
        return str(int(s) * 2)
    return None


def m_text_other(s):
    m = re.fullmatch(r"\\text\{\s*\(?([A-E])\)?\s*\}|\(?([A-E])\)?", s)
    if m:
        letter = m.group(1) or m.group(2)
        return s.replace(letter, "ABCDE"[("ABCDE".index(letter) + 1) % 5])
    return None


MISSES = {
    "digit": m_digit, "sign": lambda s, r: m_sign(s), "frac_swap": lambda s, r: m_frac_swap(s),
    "drop_elem": lambda s, r: m_drop_elem(s), "add_elem": m_add_elem, "bracket": m_bracket,
    "drop_sqrt": lambda s, r: m_drop_sqrt(s), "drop_pi": lambda s, r: m_drop_pi(s),
    "flip_ineq": lambda s, r: m_flip_ineq(s), "double": lambda s, r: m_double(s),
    "letter": lambda s, r: m_text_other(s),
}

# ------------------------------------------------------------------------------------------------------------------
# Hand-written answer families: (gold, [equivalent spellings], [near misses])

F = {}
F["integer"] = [
    (r"42", [r"42.0", r"042", r"\text{42}", r"\mathbf{42}", r"6\cdot 7", r"\frac{84}{2}", r"4.2\times 10^{1}",
             r"42\ \text{apples}", r"{42}", r"\textbf{42}", r"42.", r"x = 42", r"\;42\;"],
     [r"43", r"-42", r"4.2", r"420", r"41.9", r"24"]),
    (r"1000", [r"1,000", r"1{,}000", r"1\,000", r"10^3", r"10^{3}", r"1000.00", r"1 000", r"1\!000"],
     [r"100", r"1001", r"10^4", r"1,001"]),
    (r"0", [r"0.0", r"-0", r"0.000", r"\text{0}", r"x=0", r"00"], [r"1", r"O", r"\emptyset", r"0.1"]),
    (r"2016", [r"2{,}016", r"2,016", r"2016.0", r"2\cdot 1008"], [r"2015", r"2017", r"201.6"]),
    (r"7", [r"7", r"\boxed{7}", r"seven", r"\text{seven}", r"7 \text{ (seven)}", r"\frac{14}{2}", r"\sqrt{49}"],
     [r"6", r"\frac{1}{7}", r"7^2", r"-7"]),
    (r"123456", [r"123,456", r"123\,456", r"123{,}456", r"1.23456\times 10^{5}"], [r"123,465", r"12,3456"]),
]
F["negative"] = [
    (r"-7", [r"- 7", "\u22127", r"-7.0", r"(-7)", r"-\,7", r"x=-7", r"\left(-7\right)", r"-\text{7}"],
     [r"7", r"-6", r"+7", r"-77"]),
    (r"-\frac{3}{4}", [r"\frac{-3}{4}", r"-0.75", r"\frac{3}{-4}", r"-\dfrac34", r"-3/4", r"-\left(\frac{3}{4}\right)",
                       r"-\frac{6}{8}", r"- \frac{3}{4}"],
     [r"\frac{3}{4}", r"-\frac{4}{3}", r"-0.7", r"-\frac{3}{5}"]),
    (r"-12", [r"-12", r"-1.2\times10^{1}", r"-12.00", r"-\left(12\right)", r"(-12)"], [r"12", r"-21", r"-13"]),
    (r"-\sqrt{5}", [r"-\sqrt5", r"-5^{1/2}", r"-2.2360680", r"-\sqrt{5}\approx -2.236"], [r"\sqrt{5}", r"-5"]),
]
F["decimal"] = [
    (r"0.5", [r".5", r"\frac12", r"1/2", r"0.50", r"\frac{1}{2}", r"50\%", r"0,5", r"\tfrac{1}{2}"],
     [r"0.05", r"5", r"0.55", r"2"]),
    (r"2.718", [r"2.7180", r"2.718\ldots", r"2.72", r"e", r"2.718281"], [r"2.178", r"2.719", r"27.18"]),
    (r"0.0625", [r"\frac{1}{16}", r"6.25\times10^{-2}", r"6.25e-2", r"0.063", r"0.06250", r"2^{-4}", r".0625"],
     [r"0.625", r"\frac{1}{6}", r"0.0652"]),
    (r"3.75", [r"\frac{15}{4}", r"3\frac{3}{4}", r"3.750", r"3 \tfrac{3}{4}", r"3\,\frac34"],
     [r"3.57", r"\frac{4}{15}", r"3.7"]),
    (r"1.5", [r"\frac{3}{2}", r"1\frac{1}{2}", r"3/2", r"1.50"], [r"1.05", r"15", r"2.5"]),
    (r"0.333", [r"\frac{1}{3}", r"0.3333", r"0.33", r".333", r"0.\overline{3}"], [r"0.334", r"3.33"]),
]
F["fraction"] = [
    (r"\frac{7}{12}", [r"\dfrac{7}{12}", r"\tfrac{7}{12}", r"7/12", r"\frac{14}{24}", r"0.58333", r"0.583333333",
                       r"0.58", r"\frac 7{12}", r"{7 \over 12}", r"\frac{7}{12}\approx 0.583",
                       r"\left(\frac{7}{12}\right)", r"\frac{7}{12}.", r"\frac{\;7\;}{12}"],
     [r"\frac{12}{7}", r"\frac{5}{12}", r"\frac{7}{13}", r"\frac{7}{1}2", r"0.5833"]),
    (r"\frac{22}{7}", [r"3\frac{1}{7}", r"3 \frac17", r"22/7", r"3.142857", r"\frac{44}{14}", r"3.14"],
     [r"\pi", r"\frac{7}{22}", r"\frac{23}{7}"]),
    (r"\dfrac{17}{50}", [r"\frac{17}{50}", r"0.34", r"34\%", r"\frac{34}{100}", r"17/50"],
     [r"\frac{17}{5}", r"0.034", r"\frac{50}{17}"]),
    (r"\frac{1}{6}", [r"1/6", r"\frac16", r"0.1\overline{6}", r"0.1667", r"0.16666667", r"\frac{2}{12}", r"6^{-1}"],
     [r"\frac{1}{5}", r"6", r"0.16", r"\frac{5}{6}"]),
    (r"\frac{3}{2}", [r"1.5", r"3/2", r"1\tfrac12", r"\dfrac{3}{2}", r"\frac{3}{2}\text{ hours}"],
     [r"\frac{2}{3}", r"1.4"]),
    (r"\frac{a}{b}", [r"a/b", r"\dfrac{a}{b}", r"\frac{2a}{2b}", r"a b^{-1}"], [r"\frac{b}{a}", r"ab"]),
]
F["mixed_number"] = [
    (r"2\frac{1}{2}", [r"2.5", r"\frac{5}{2}", r"2 \frac{1}{2}", r"2\tfrac12", r"5/2", r"2\dfrac{1}{2}"],
     [r"1", r"2.25", r"\frac{3}{2}"]),
    (r"5\frac{3}{4}", [r"5.75", r"\frac{23}{4}", r"5 \frac{3}{4}", r"5\tfrac{3}{4}"], [r"\frac{15}{4}", r"5.34"]),
    (r"\frac{41}{8}", [r"5\frac{1}{8}", r"5 \tfrac18", r"5.125", r"5\frac{1}{8}\text{ inches}"],
     [r"\frac{5}{8}", r"5.18"]),
]
F["radical"] = [
    (r"2\sqrt{3}", [r"\sqrt{12}", r"2 \sqrt 3", r"2\sqrt3", r"\sqrt{3}\cdot 2", r"3.4641016", r"2\cdot3^{1/2}",
                    r"2\times\sqrt{3}", "2\u221a3", r"2\sqrt{3}\approx 3.46", r"\frac{6}{\sqrt{3}}", r"3.46"],
     [r"3\sqrt{2}", r"\sqrt{3}", r"2\sqrt{3}+1", r"4\sqrt3", r"2\sqrt{2}"]),
    (r"\frac{\sqrt{2}}{2}", [r"\frac{1}{\sqrt{2}}", r"\frac{\sqrt2}2", r"2^{-1/2}", r"\sqrt{\frac{1}{2}}",
                             r"0.7071", r"0.70710678", r"\dfrac{\sqrt{2}}{2}", r"\sin 45^\circ", r"\frac{1}{2}\sqrt{2}",
                             r"\sqrt{2}/2", r"\cos\frac{\pi}{4}"],
     [r"\sqrt{2}", r"\frac{\sqrt{3}}{2}", r"\frac{2}{\sqrt{2}}", r"0.707"]),
    (r"\sqrt[3]{2}", [r"2^{1/3}", r"2^{\frac{1}{3}}", r"1.259921", r"\sqrt[3]{2}\approx1.26"],
     [r"\sqrt{2}", r"\sqrt[3]{3}", r"2^{3}"]),
    (r"3+2\sqrt{2}", [r"2\sqrt{2}+3", r"(1+\sqrt2)^2", r"\sqrt{2}\cdot 2 + 3", r"5.828427", r"3 + \sqrt{8}",
                      r"\frac{6+4\sqrt2}{2}", r"3+2 \sqrt{2}"],
     [r"3-2\sqrt{2}", r"3+\sqrt{2}", r"2+3\sqrt2", r"5\sqrt{2}"]),
    (r"\frac{\sqrt{21}}{5}", [r"\frac{1}{5}\sqrt{21}", r"\sqrt{21}/5", r"0.916515", r"\sqrt{\frac{21}{25}}"],
     [r"\frac{\sqrt{21}}{25}", r"\frac{21}{5}", r"\frac{\sqrt{12}}{5}"]),
    (r"5\sqrt{2}", [r"\sqrt{50}", r"5 \sqrt{2}", r"7.0710678", r"5\sqrt2\,\text{cm}"], [r"2\sqrt{5}", r"\sqrt{10}"]),
]
F["pi"] = [
    (r"4\pi", [r"4 \pi", r"\pi \cdot 4", "4\u03c0", r"12.566370", r"4\pi \text{ cm}^2", r"\frac{8\pi}{2}",
               r"4\pi\approx 12.57", r"4 \times \pi", r"12.57", r"(4)\pi"],
     [r"2\pi", r"4", r"4\pi^2", r"16\pi", r"\frac{4}{\pi}"]),
    (r"\frac{\pi}{3}", [r"\frac{1}{3}\pi", r"\pi/3", r"60^\circ", r"1.047198", r"\dfrac{\pi}{3}", r"\frac{1}{3} \pi",
                        r"\frac{\pi}{3} \text{ radians}", "\u03c0/3"],
     [r"\frac{\pi}{6}", r"\frac{3}{\pi}", r"\frac{2\pi}{3}", r"60"]),
    (r"36\pi - 72", [r"-72 + 36\pi", r"36(\pi-2)", r"36\pi-72", r"41.0973", r"36 (\pi - 2)"],
     [r"36\pi+72", r"72-36\pi", r"36\pi - 27"]),
    (r"288 \pi", [r"288\pi", r"904.778684", r"\pi \cdot 288", r"288\pi \text{ cubic units}"],
     [r"288", r"144\pi", r"288\pi^{2}"]),
    (r"\pi", [r"\pi", "\u03c0", r"3.14159265", r"3.1416", r"180^\circ", r"\text{pi}"], [r"2\pi", r"3", r"3.15"]),
]
F["power_sci"] = [
    (r"2^{10}", [r"1024", r"2^10", r"4^5", r"1.024\times 10^3", r"1,024", r"2^{10}=1024"],
     [r"2^{11}", r"1000", r"10^2", r"1023"]),
    (r"3 \times 10^{8}", [r"3\times10^8", r"300000000", r"3 \cdot 10^{8}", r"3e8", r"3.0E8", r"3.0 \times 10^{8}",
                          r"3\times 10^{8}\text{ m/s}", r"300{,}000{,}000", r"3\cdot10^8 \, \mathrm{m\,s^{-1}}"],
     [r"3\times10^{9}", r"3\times 10^{-8}", r"30\times10^{8}", r"3^{8}"]),
    (r"6.02 \times 10^{23}", [r"6.02e23", r"602\times10^{21}", r"6.02\cdot 10^{23}", r"6.020\times10^{23}"],
     [r"6.02\times10^{22}", r"6.2\times10^{23}"]),
    (r"1.6 \times 10^{-19}", [r"1.6e-19", r"1.6\times10^{-19}", r"16\times 10^{-20}", r"1.60 \times 10^{-19}\,\text{C}"],
     [r"1.6\times10^{19}", r"1.6\times 10^{-18}"]),
    (r"x^{5}", [r"x^5", r"x\cdot x^4", r"x^{2}x^{3}", r"x^{5.0}"], [r"x^{6}", r"5x", r"x^{-5}"]),
    (r"e^{2}", [r"e^2", r"\exp(2)", r"7.389056", r"\mathrm{e}^{2}", r"e\cdot e"], [r"2e", r"e^{-2}", r"7.38"]),
]
F["percent"] = [
    (r"25\%", [r"25", r"0.25", r"25 \%", r"25\text{ percent}", r"\frac{1}{4}", r"25.0\%", r"25\,\%", "25%"],
     [r"2.5\%", r"75\%", r"0.025", r"250\%"]),
    (r"12.5\%", [r"12.5", r"0.125", r"\frac{25}{2}\%", r"12\frac{1}{2}\%", r"\frac{1}{8}"], [r"1.25\%", r"12\%"]),
    (r"40", [r"40\%", r"40 \%", r"0.4", r"40\text{\%}", r"40 \text{ percent}"], [r"4\%", r"60\%", r"0.04"]),
]
F["money"] = [
    (r"\$18.90", [r"18.90", r"18.9", r"\$18.9", r"\$ 18.90", r"18.90 \text{ dollars}", r"\text{\$}18.90",
                  r"\$18.90\text{ dollars}", r"\mathdollar 18.90", "$18.90"],
     [r"\$18.09", r"\$19.90", r"1890", r"\$18"]),
    (r"\$1,250", [r"1250", r"\$1250", r"1,250.00", r"\$1{,}250", r"1250 \text{ dollars}"], [r"\$125", r"\$1,205"]),
    (r"3.50", [r"\$3.50", r"3.5", r"\$3.5", r"3.50\text{ dollars}", r"\frac{7}{2}"], [r"3.05", r"350", r"\$4.50"]),
    (r"\$0.75", [r"0.75", r"\$.75", r"75\text{ cents}", r"\frac{3}{4}"], [r"75", r"\$7.50"]),
]
F["degree"] = [
    (r"30^\circ", [r"30", r"30^{\circ}", "30\u00b0", r"30 \text{ degrees}", r"30\text{ degrees}", r"\frac{\pi}{6}",
                   r"30^\circ.", r"30 ^ \circ", r"30\,^{\circ}", r"30^\text{o}"],
     [r"60^\circ", r"150^\circ", r"3^\circ", r"-30^\circ"]),
    (r"135", [r"135^\circ", "135\u00b0", r"\frac{3\pi}{4}", r"135^{\circ}", r"135 \text{ degrees}"],
     [r"45^\circ", r"153", r"\frac{\pi}{4}"]),
    (r"41.8^\circ", [r"41.8", r"41.8^{\circ}", "41.8\u00b0", r"41.80^\circ"], [r"48.1^\circ", r"41^\circ"]),
    (r"90^{\circ}", [r"90", r"\frac{\pi}{2}", "90\u00b0", r"90 \deg"], [r"180^\circ", r"9^{\circ}"]),
]
F["unit"] = [
    (r"5 \text{ cm}", [r"5", r"5\text{cm}", r"5 cm", r"5\,\mathrm{cm}", r"5.0 \text{ cm}", r"5\ \text{cm}",
                       r"5 \text{ centimeters}", r"50 \text{ mm}"],
     [r"6 \text{ cm}", r"5 \text{ cm}^2", r"0.5 \text{ cm}"]),
    (r"12 \text{ m}^2", [r"12", r"12 m^2", r"12\,\mathrm{m}^2", r"12\text{ square meters}", r"12 \text{m}^{2}"],
     [r"12 \text{ m}", r"144 \text{ m}^2", r"21"]),
    (r"60", [r"60 \text{ mph}", r"60\text{ miles per hour}", r"60 \text{ km/h}", r"60\,\frac{\text{mi}}{\text{hr}}",
             r"60 \text{ minutes}", r"1 \text{ hour}"],
     [r"6 \text{ mph}", r"50 \text{ mph}"]),
    (r"3 \text{ hours}", [r"3", r"3\text{ hrs}", r"3 \text{ h}", r"180 \text{ minutes}", r"3\text{ hours}."],
     [r"4 \text{ hours}", r"\frac{1}{3}"]),
    (r"9.6", [r"9.6 \text{ \AA}", r"9.6\,\text{\AA}", r"9.6 \mathrm{~nm}", r"9.60", r"9.6 \times 10^{0}"],
     [r"9.5", r"96", r"0.96"]),
]
F["polynomial"] = [
    (r"x^2 + 2x + 1", [r"(x+1)^2", r"x^{2}+2x+1", r"1 + 2x + x^2", r"x\cdot x + 2x + 1", r"(x+1)(x+1)",
                       r"x^2+2\cdot x+1", r"y = x^2+2x+1", r"f(x)=x^2+2x+1", r"\left(x+1\right)^{2}", r"x^2+2x+1.0"],
     [r"x^2+2x-1", r"(x-1)^2", r"x^2+x+1", r"x^2+2x", r"2x+1"]),
    (r"2x^3 - 5x + 3", [r"3 - 5x + 2x^3", r"2x^{3}-5x+3", r"(x-1)(2x^2+2x-3)", r"2 x^3 - 5 x + 3", r"-5x+2x^3+3"],
     [r"2x^3+5x+3", r"2x^3-5x-3", r"2x^2-5x+3"]),
    (r"a^2 - b^2", [r"(a-b)(a+b)", r"(a+b)(a-b)", r"-b^2+a^2", r"a^{2}-b^{2}", r"a\cdot a - b\cdot b"],
     [r"(a-b)^2", r"a^2+b^2", r"b^2-a^2"]),
    (r"3xy - 2y^2", [r"y(3x-2y)", r"-2y^2+3xy", r"3yx-2y^2", r"y\left(3x - 2y\right)"],
     [r"3xy+2y^2", r"3x-2y", r"3xy-2x^2"]),
    (r"4x^2 -2x + \frac{3}{2}", [r"4x^2-2x+1.5", r"\frac{8x^2-4x+3}{2}", r"\frac{3}{2} - 2x + 4x^2", r"4x^{2}-2x+\tfrac32"],
     [r"4x^2-2x+\frac{2}{3}", r"4x^2+2x+\frac{3}{2}"]),
    (r"p - q", [r"-q+p", r"p-q", r"-(q-p)"], [r"q-p", r"p+q"]),
]
F["rational_expr"] = [
    (r"\frac{x+1}{x-1}", [r"\frac{1+x}{x-1}", r"(x+1)/(x-1)", r"\frac{-x-1}{1-x}", r"1 + \frac{2}{x-1}",
                          r"\frac{x^2+2x+1}{x^2-1}", r"\dfrac{x+1}{x-1}", r"\frac{x + 1}{x - 1}"],
     [r"\frac{x-1}{x+1}", r"\frac{x+1}{1-x}", r"\frac{x+1}{x+1}", r"\frac{x+2}{x-1}"]),
    (r"\frac{1}{x^2 y}", [r"\frac{1}{yx^2}", r"x^{-2}y^{-1}", r"\frac{y^{-1}}{x^{2}}", r"1/(x^2y)"],
     [r"\frac{1}{xy^2}", r"x^2y", r"\frac{1}{x^2}y"]),
    (r"\frac{a M^{1/3}}{G M^{2/3}+b}", [r"\frac{a M^{1/3}}{G M^{2/3} + b}", r"\frac{aM^{1/3}}{b+GM^{2/3}}",
                                        r"\frac{a\sqrt[3]{M}}{G M^{2/3}+b}"],
     [r"\frac{a M^{1/3}}{G M^{2/3}-b}", r"\frac{a M^{2/3}}{G M^{1/3}+b}"]),
    (r"-\sqrt{x-3}+3", [r"3-\sqrt{x-3}", r"-\sqrt{x - 3} + 3", r"3 - (x-3)^{1/2}"], [r"\sqrt{x-3}+3", r"3-\sqrt{x+3}"]),
]
F["equation"] = [
    (r"y = 2x + 3", [r"y=2x+3", r"y = 3 + 2x", r"2x + 3", r"y - 2x = 3", r"2x - y + 3 = 0", r"y=2x+3.0",
                     r"y = 2 x + 3", r"f(x) = 2x + 3"],
     [r"y = 2x - 3", r"y = 3x + 2", r"x = 2y+3", r"y=-2x+3"]),
    (r"x = 3", [r"3", r"x=3", r"x = 3.0", r"3 = x", r"x = \frac{6}{2}", r"x \,=\, 3", r"\text{x = 3}"],
     [r"x = -3", r"y = 3", r"x = 4", r"x \ge 3"]),
    (r"y = -\frac{1}{2}x + 4", [r"y = 4 - \frac{x}{2}", r"y=-0.5x+4", r"y = -\frac{x}{2} + 4", r"x + 2y = 8",
                               r"y = \frac{8-x}{2}"],
     [r"y = \frac{1}{2}x + 4", r"y = -2x + 4", r"y=-\frac12x-4"]),
    (r"x^2 + y^2 = 25", [r"x^2+y^2=25", r"y^2 + x^2 = 25", r"x^2+y^2-25=0", r"x^{2}+y^{2}=5^{2}"],
     [r"x^2+y^2=5", r"x^2-y^2=25", r"(x-1)^2+y^2=25"]),
    (r"k = 5", [r"5", r"k=5", r"k = 5.0", r"k=\sqrt{25}"], [r"k = -5", r"k=6"]),
]
F["inequality"] = [
    (r"x > 3", [r"x>3", r"3 < x", r"(3, \infty)", r"(3,\infty)", r"x \in (3, \infty)", r"x \gt 3",
                r"\left(3, \infty\right)", r"x>3.0"],
     [r"x \ge 3", r"x < 3", r"[3,\infty)", r"x > -3", r"(3, 10)"]),
    (r"-2 \le x \le 5", [r"[-2, 5]", r"-2\leq x\leq 5", r"x \in [-2,5]", r"\left[-2, 5\right]", "-2 \u2264 x \u2264 5"],
     [r"(-2,5)", r"[-2,5)", r"-2 < x < 5", r"[2,5]"]),
    (r"x \leq -1 \text{ or } x \geq 2", [r"(-\infty,-1]\cup[2,\infty)", r"x\le -1 \text{ or } x \ge 2",
                                          r"(-\infty, -1] \cup [2, \infty)"],
     [r"(-\infty,-1)\cup(2,\infty)", r"[-1,2]"]),
    (r"t < 4", [r"t<4", r"4 > t", r"(-\infty, 4)"], [r"t \le 4", r"t>4"]),
]
F["interval"] = [
    (r"(-\infty, 2) \cup (3, \infty)", [r"(-\infty,2)\cup(3,\infty)", r"\left(-\infty, 2\right) \cup \left(3, \infty\right)",
                                        r"(3, \infty) \cup (-\infty, 2)", r"x<2 \text{ or } x>3",
                                        r"\mathbb{R}\setminus[2,3]", "(-\u221e, 2) \u222a (3, \u221e)",
                                        r"(-\infty, 2) \, \cup \, (3, +\infty)", r"(-\infty,2)\cup(3,\infty)."],
     [r"(-\infty, 2] \cup [3, \infty)", r"(2,3)", r"(-\infty,2)\cup(4,\infty)", r"(-\infty, 2)"]),
    (r"[0, 1)", [r"[0,1)", r"\left[0, 1\right)", r"0 \le x < 1", r"[0, 1 )", r"\lbrack 0, 1)"],
     [r"[0,1]", r"(0,1)", r"(0,1]", r"[0,2)"]),
    (r"[-3, \infty)", [r"[-3,\infty)", r"x \ge -3", r"\left[-3, \infty\right)", r"[-3, +\infty)"],
     [r"(-3,\infty)", r"(-\infty,-3]", r"[3,\infty)"]),
    (r"(-\sqrt{3}, \sqrt{3})", [r"(-\sqrt3,\sqrt3)", r"-\sqrt{3}<x<\sqrt{3}", r"\left(-\sqrt{3}, \sqrt{3}\right)",
                                r"(-1.7320508, 1.7320508)"],
     [r"[-\sqrt{3}, \sqrt{3}]", r"(-3, 3)", r"(\sqrt{3}, -\sqrt{3})"]),
    (r"\left( -\frac{9}{2} , -2 \right) \cup \left( \frac{1 - \sqrt{5}}{2}, \frac{1 + \sqrt{5}}{2} \right)",
     [r"(-\frac92,-2)\cup(\frac{1-\sqrt5}{2},\frac{1+\sqrt5}{2})", r"(-4.5, -2) \cup \left(\frac{1-\sqrt{5}}{2}, \frac{1+\sqrt{5}}{2}\right)"],
     [r"(-\frac92,-2)\cup(\frac{1-\sqrt5}{2},\frac{1+\sqrt3}{2})", r"(-\frac92,-2)"]),
]
F["tuple"] = [
    (r"(2, -3)", [r"(2,-3)", r"\left(2, -3\right)", r"(2,\ -3)", r"x=2, y=-3", r"(2.0, -3.0)", r"\left( 2,-3 \right)",
                  r"(2 , -3)", r"(\frac{4}{2}, -3)"],
     [r"(-3, 2)", r"(2, 3)", r"(2,-3,0)", r"\{2, -3\}", r"[2,-3]"]),
    (r"(1, 2, 3)", [r"(1,2,3)", r"\left(1, 2, 3\right)", r"(1,\,2,\,3)", r"\langle 1, 2, 3\rangle"],
     [r"(3,2,1)", r"(1,2)", r"(1,2,4)"]),
    (r"\left(\frac{1}{2}, \frac{\sqrt{3}}{2}\right)", [r"(\frac12,\frac{\sqrt3}2)", r"(0.5, 0.8660254)",
                                                        r"\left(0.5, \frac{\sqrt{3}}{2}\right)"],
     [r"\left(\frac{\sqrt{3}}{2}, \frac{1}{2}\right)", r"(\frac12, \frac{\sqrt2}{2})"]),
    (r"(6,31,-1)", [r"(6, 31, -1)", r"\left(6,31,-1\right)", r"(6,\ 31,\ -1)"], [r"(6,31,1)", r"(6,-1,31)"]),
    (r"\left( 10 \sqrt{2}, \frac{19 \pi}{44} \right)", [r"(10\sqrt2, \frac{19\pi}{44})", r"(\sqrt{200}, \frac{19}{44}\pi)"],
     [r"(10\sqrt2, \frac{19\pi}{22})", r"(10, \frac{19\pi}{44})"]),
]
F["list_set"] = [
    (r"1, 2, 3", [r"3, 2, 1", r"1,2,3", r"\{1, 2, 3\}", r"x = 1, 2, 3", r"1, 2, \text{and } 3", r"1 \text{ and } 2 \text{ and } 3",
                  r"2, 1, 3", r"\left\{1,2,3\right\}", r"x=1, x=2, x=3"],
     [r"1, 2", r"1, 2, 3, 4", r"1, 2, 4", r"(1, 2, 3)", r"123"]),
    (r"-2, 5", [r"5, -2", r"x=-2 \text{ or } x=5", r"x = 5, x = -2", r"\{-2, 5\}", r"-2 \text{ and } 5", r"5,-2"],
     [r"2, -5", r"-2", r"-2, 5, 0", r"(-2, 5)"]),
    (r"\{0, 1\}", [r"0, 1", r"\{1, 0\}", r"\left\{0,1\right\}", r"1, 0"], [r"\{0\}", r"\{0, 1, 2\}", r"[0,1]"]),
    (r"4 + i, 4 - i, 4 + i \sqrt{5}, 4 - i \sqrt{5}", [r"4 - i, 4 + i, 4 - i\sqrt5, 4 + i\sqrt5",
                                                       r"4\pm i, 4\pm i\sqrt{5}"],
     [r"4 + i, 4 - i", r"4 + i, 4 - i, 4 + \sqrt{5}, 4 - \sqrt{5}"]),
    (r"-330,90", [r"90, -330", r"-330, 90", r"\{-330, 90\}"], [r"-330", r"330, 90"]),
    (r"-12 \text{ or } -30", [r"-12, -30", r"-30, -12", r"-12 \text{ and } -30", r"x=-12 \text{ or } x=-30"],
     [r"-12", r"12, 30"]),
]
F["pm"] = [
    (r"\pm 3", [r"3, -3", r"-3, 3", r"\pm3", r"x = \pm 3", r"+3 \text{ and } -3", "\u00b13", r"\{-3, 3\}"],
     [r"3", r"-3", r"\pm 9", r"\mp 4"]),
    (r"1 \pm \sqrt{2}", [r"1+\sqrt{2}, 1-\sqrt{2}", r"1-\sqrt2, 1+\sqrt2", r"x = 1 \pm \sqrt2", r"1\pm\sqrt{2}"],
     [r"1+\sqrt{2}", r"-1 \pm \sqrt{2}", r"1 \pm 2"]),
    (r"\frac{-1 \pm \sqrt{5}}{2}", [r"\frac{-1+\sqrt5}{2}, \frac{-1-\sqrt5}{2}", r"\frac{-1-\sqrt{5}}{2}, \frac{-1+\sqrt{5}}{2}",
                                    r"-\frac12 \pm \frac{\sqrt5}{2}"],
     [r"\frac{1 \pm \sqrt{5}}{2}", r"\frac{-1+\sqrt5}{2}"]),
]
F["matrix"] = [
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
     [r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}", r"\left(\begin{array}{cc} 1 & 2 \\ 3 & 4 \end{array}\right)",
      r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix} 1.0 & 2 \\ 3 & 4 \end{pmatrix}",
      r"\begin{pmatrix} \frac{2}{2} & 2 \\ 3 & 4 \end{pmatrix}"],
     [r"\begin{pmatrix} 1 & 3 \\ 2 & 4 \end{pmatrix}", r"\begin{pmatrix} 1 & 2 \\ 3 & 5 \end{pmatrix}",
      r"\begin{pmatrix} 1 & 2 \end{pmatrix}"]),
    (r"\begin{pmatrix} 2 \\ -1 \\ 5 \end{pmatrix}",
     [r"\begin{bmatrix}2\\-1\\5\end{bmatrix}", r"(2, -1, 5)", r"\langle 2, -1, 5 \rangle",
      r"\begin{pmatrix} 2 & -1 & 5 \end{pmatrix}", r"\begin{pmatrix} 2 \\ -1 \\ 5 \end{pmatrix}."],
     [r"\begin{pmatrix} 2 \\ 1 \\ 5 \end{pmatrix}", r"\begin{pmatrix} -2 \\ 1 \\ -5 \end{pmatrix}"]),
    (r"\begin{pmatrix} 0 & -1 \\ 1 & 0 \end{pmatrix}",
     [r"\begin{pmatrix}0&-1\\1&0\end{pmatrix}", r"\begin{bmatrix} 0 & -1 \\ 1 & 0 \end{bmatrix}"],
     [r"\begin{pmatrix} 0 & 1 \\ -1 & 0 \end{pmatrix}"]),
]
F["complex"] = [
    (r"3 + 4i", [r"4i + 3", r"3+4i", r"3 + 4 i", r"3 + i \cdot 4", r"3+4\mathrm{i}", r"(3+4i)", r"3 + 4\sqrt{-1}",
                 r"3+i4", r"3 + 4\,i"],
     [r"3 - 4i", r"4 + 3i", r"3+4j", r"3", r"5"]),
    (r"-i", [r"-\mathrm{i}", r"0 - i", r"\frac{1}{i}", r"-1i", r"i^3"], [r"i", r"1", r"-1"]),
    (r"6 - 5i", [r"-5i+6", r"6-5i", r"6 - 5 i", r"6+(-5)i"], [r"6+5i", r"-6-5i", r"5-6i"]),
    (r"\frac{1}{2} - \frac{\sqrt{3}}{2} i", [r"\frac{1-i\sqrt3}{2}", r"0.5 - 0.8660254i", r"e^{-i\pi/3}",
                                            r"\frac12-\frac{\sqrt3}2i"],
     [r"\frac{1}{2} + \frac{\sqrt{3}}{2} i", r"\frac{\sqrt3}{2}-\frac12 i"]),
    (r"2i", [r"2 i", r"i2", r"2\mathrm{i}", r"\sqrt{-4}", r"0+2i"], [r"-2i", r"2", r"i"]),
]
F["log_trig"] = [
    (r"\log_2 5", [r"\frac{\ln 5}{\ln 2}", r"\log_{2}5", r"\log_{2}(5)", r"2.321928", r"\frac{\log 5}{\log 2}",
                   r"\log_2{5}", r"\log_{2} 5"],
     [r"\log_5 2", r"\log 5", r"2.32", r"\log_2 6"]),
    (r"\ln 2", [r"\log(2)", r"0.693147", r"\ln(2)", r"\log_e 2", r"\ln{2}", r"-\ln\frac{1}{2}"],
     [r"\ln 3", r"\log_{10} 2", r"0.69"]),
    (r"\frac{1}{2}", [r"\sin\frac{\pi}{6}", r"\cos 60^\circ", r"\sin 30^{\circ}", r"\cos\left(\frac{\pi}{3}\right)",
                      r"0.5", r"\tfrac12"],
     [r"\sin\frac{\pi}{3}", r"\cos 30^\circ", r"\frac{\sqrt3}{2}"]),
    (r"\sqrt{2}-1", [r"\tan\frac{\pi}{8}", r"-1+\sqrt2", r"\frac{1}{\sqrt{2}+1}", r"0.41421356"],
     [r"\sqrt2+1", r"1-\sqrt2", r"\tan\frac{\pi}{4}"]),
    (r"\arcsin{\frac{10}{13}}", [r"\arcsin\frac{10}{13}", r"\sin^{-1}\left(\frac{10}{13}\right)", r"\arcsin(10/13)",
                                 r"0.878710"],
     [r"\arccos\frac{10}{13}", r"\arcsin\frac{13}{10}"]),
    (r"2\log 3", [r"\log 9", r"\log 3^2", r"2 \log(3)", r"\log(9)"], [r"\log 6", r"3\log 2"]),
]
F["factorial_binom"] = [
    (r"5!", [r"120", r"5 !", r"5\cdot4\cdot3\cdot2\cdot1", r"1\cdot2\cdot3\cdot4\cdot5", r"5! = 120", r"(5)!"],
     [r"24", r"5", r"4!", r"6!"]),
    (r"\binom{10}{3}", [r"120", r"\binom{10}{7}", r"{10 \choose 3}", r"\dbinom{10}{3}", r"\frac{10!}{3!7!}",
                        r"\frac{10!}{3!\,7!}", r"\tbinom{10}{3}", r"C(10,3)", r"{}^{10}C_3"],
     [r"\binom{10}{4}", r"720", r"\binom{3}{10}"]),
    (r"\frac{8!}{2!\,3!}", [r"3360", r"\frac{40320}{12}", r"\frac{8!}{2!3!}", r"\frac{8!}{3!\cdot 2!}"],
     [r"\frac{8!}{2!}", r"6720", r"3360.5"]),
    (r"\dbinom{6}{2}", [r"15", r"\binom{6}{2}", r"\binom{6}{4}"], [r"30", r"\binom{6}{3}"]),
]
F["text"] = [
    (r"\text{Evelyn}", [r"\text{Evelyn}", r"Evelyn", r"\text{evelyn}", r"\textbf{Evelyn}", r"\mathrm{Evelyn}",
                        r"\text{ Evelyn }", r"\text{Evelyn.}"],
     [r"\text{Bob}", r"\text{Eve}", r"\text{Evelyn and Bob}"]),
    (r"\text{even}", [r"\text{even}", r"\text{Even}", r"\mathrm{even}", r"even", r"\textit{even}"],
     [r"\text{odd}", r"\text{neither}"]),
    (r"\text{(C)}", [r"C", r"(C)", r"\text{C}", r"\textbf{(C)}", r"\mathrm{(C)}", r"\text{(C) } 12", r"\mathrm{C}"],
     [r"B", r"(D)", r"\text{(B)}"]),
    (r"\text{Sunday}", [r"\text{Sunday}", r"Sunday", r"\textrm{Sunday}", r"\text{sunday}"], [r"\text{Monday}"]),
    (r"\text{no}", [r"\text{No}", r"\text{no}", r"\text{NO}", r"no"], [r"\text{yes}", r"0"]),
    (r"\text{inf}", [r"\infty", r"\text{inf}", r"\text{infinitely many}"], [r"\text{finite}"]),
]
F["choice_letter"] = [
    (r"B", [r"B", r"\text{B}", r"(B)", r"\textbf{(B)}", r"\mathrm{B}", r"b", r"B) 12", r"\text{(B)}", r"\mathbf{B}",
            r"\text{B. } 12"],
     [r"A", r"D", r"BD", r"\text{(A)}", r"E"]),
    (r"\textbf{(E)}", [r"E", r"(E)", r"\text{(E)}", r"\textbf{(E)}", r"\textbf{(E) }24"], [r"D", r"\textbf{(D)}"]),
    (r"A, C", [r"C, A", r"A,C", r"\text{A, C}", r"AC", r"\text{A and C}"], [r"A", r"A, B, C", r"B, C"]),
]
F["ratio_misc"] = [
    (r"3:2", [r"\frac{3}{2}", r"1.5", r"3/2", r"3 : 2", r"6:4", r"3\!:\!2"], [r"2:3", r"\frac{2}{3}", r"3:1"]),
    (r"1:4", [r"\frac{1}{4}", r"0.25", r"1 : 4", r"2:8"], [r"4:1", r"1:3"]),
    (r"\infty", [r"\infty", "\u221e", r"+\infty", r"\text{infinity}"], [r"-\infty", r"0"]),
    (r"\emptyset", [r"\varnothing", r"\{\}", r"\emptyset", r"\text{no solution}"], [r"\{0\}", r"0"]),
    (r"|x-2|", [r"|2-x|", r"\left|x-2\right|", r"\lvert x-2\rvert"], [r"x-2", r"|x+2|"]),
    (r"\lfloor \sqrt{50} \rfloor", [r"7", r"\left\lfloor\sqrt{50}\right\rfloor"], [r"8", r"\sqrt{50}"]),
    (r"a=2, b=3", [r"a = 2, b = 3", r"b=3, a=2", r"(a, b) = (2, 3)", r"2, 3"], [r"a=3, b=2", r"a=2"]),
    (r"f(x)=\frac{1}{x}", [r"\frac{1}{x}", r"f(x) = x^{-1}", r"y=\frac1x"], [r"f(x)=x", r"\frac{1}{x^2}"]),
    (r"5 \text{ and } 7", [r"5, 7", r"7 \text{ and } 5", r"5 \text{ \& } 7", r"\{5, 7\}"], [r"5", r"5, 8"]),
]

# ------------------------------------------------------------------------------------------------------------------
# Completions

OPENERS = [
    "Okay, so I need to solve this problem. Let me read it again carefully.",
    "Alright, let's see. The problem asks for a single value, so I should be careful with the arithmetic.",
    "Hmm, I need to figure this out step by step.",
    "Okay, let me try to work through this.",
    "First, let me understand what is being asked.",
    "So, the question is asking me to compute something. Let me start by writing down what I know.",
]
MIDDLES = [
    "Let me set up the equation: $2a + 3 = 11$, so $a = 4$.",
    "If I substitute $x = 2$, then $x^2 - 1 = 3$. That seems consistent.",
    "The sum of the first $n$ terms is $\\frac{n(n+1)}{2}$, so with $n = 10$ I get $55$.",
    "Using the Pythagorean theorem, $3^2 + 4^2 = 5^2$.",
    "Wait, maybe I made a mistake. Let me double-check the signs.",
    "So the area is $\\frac{1}{2} \\cdot b \\cdot h$. Plugging in gives $\\frac{1}{2}\\cdot 6 \\cdot 4 = 12$.",
    "Hmm, that doesn't look right. Let me try another approach.",
    "By Vieta's formulas, the sum of the roots is $-\\frac{b}{a}$ and the product is $\\frac{c}{a}$.",
    "So we have \\( y = 3x - 2 \\) and \\( y = -x + 6 \\); setting them equal gives \\( x = 2 \\).",
    "Let me compute: 12 times 7 is 84, and 84 divided by 4 is 21.",
    "The probability is the number of favourable outcomes over the total, $\\binom{5}{2} = 10$ in all.",
    "Converting units: 1 km = 1000 m, so the speed is 5 m/s × 3600 s = 18 km.",
    "Checking with a calculator-style estimate: roughly 3.14 × 2 ≈ 6.28, fine.",
    "I think that's it. Let me just verify once more with the original conditions.",
]
LEADS = [
    "Therefore, the answer is ", "So the final answer is ", "Thus, the value is ", "Hence the result is ",
    "The answer is ", "So, ", "Putting it all together, we get ", "This gives ", "",
]


def reasoning(rng):
    parts = [rng.choice(OPENERS)]
    for _ in range(rng.randint(1, 3)):
        parts.append(rng.choice(MIDDLES))
    parts.append(rng.choice(["So that should be the answer.", "Okay, I'm confident now.", "Yes, that checks out.",
                             "I think that's correct."]))
    return "\n\n".join(parts) + "\n</think>\n\n"


def summary(rng):
    return rng.choice([
        "To solve the problem, we work through the given conditions.\n\n",
        "**Solution.** We simplify step by step.\n\n1. Set up the relations.\n2. Solve for the unknown.\n\n",
        "We compute the required quantity directly.\n\n",
        "",
        "### Step-by-step\n\n- Write the equation.\n- Simplify.\n- Check the result.\n\n",
    ])


# "Good" wrappers: the usual ways a distilled model states a boxed answer.
def w_inline_box(x, rng):
    return f"{rng.choice(LEADS)}$\\boxed{{{x}}}$."


def w_display_box(x, rng):
    return f"{rng.choice(LEADS)}\n\\[\n\\boxed{{{x}}}\n\\]"


def w_plain_box(x, rng):
    return f"{rng.choice(LEADS)}\\boxed{{{x}}}"


def w_final_header(x, rng):
    return f"**Final Answer**\n\\[ \\boxed{{{x}}} \\]"


def w_dollar_display_box(x, rng):
    return f"{rng.choice(LEADS)}\n$$\n\\boxed{{{x}}}\n$$"


GOOD = [w_inline_box, w_display_box, w_plain_box, w_final_header, w_dollar_display_box]


NUMWORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
           "seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def words(n):
    if n < 0:
        return "negative " + words(-n)
    if n < 20:
        return NUMWORDS[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else "-" + NUMWORDS[n % 10])
    if n < 1000:
        return NUMWORDS[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + words(n % 100))
    if n < 1000000:
        return words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + words(n % 1000))
    return str(n)


def x_truncated(x, w, rng):
    k = rng.randint(0, max(0, len(x) - 1))
    return f"{rng.choice(LEADS)}$\\boxed{{{x[:k]}"


def x_truncated_lead(x, w, rng):
    return "Therefore, the final answer is $\\boxed{" + x


# Extraction situations: functions (x=correct content, w=wrong content, rng) -> (think_extra, final). think_extra,
# if not None, replaces the usual reasoning (to place boxes before </think>).
EXTRACT = {
    "final_answer_is": lambda x, w, r: (None, f"The final answer is ${x}$. I hope it is correct."),
    "final_answer_is_nodollar": lambda x, w, r: (None, f"The final answer is {x}."),
    "answer_bold": lambda x, w, r: (None, f"**Answer:** ${x}$"),
    "answer_bold_nodollar": lambda x, w, r: (None, f"**Answer:** {x}"),
    "answer_colon_paren": lambda x, w, r: (None, f"Answer: \\({x}\\)"),
    "dollars_display_nobox": lambda x, w, r: (None, f"So the answer is\n$$\n{x}\n$$"),
    "bracket_display_nobox": lambda x, w, r: (None, f"Hence\n\\[\n{x}\n\\]"),
    "paren_inline_box": lambda x, w, r: (None, f"The answer is \\(\\boxed{{{x}}}\\)."),
    "markdown_bold_box": lambda x, w, r: (None, f"**Final answer:** **$\\boxed{{{x}}}$**"),
    "heading_box": lambda x, w, r: (None, f"## Final Answer\n\n$\\boxed{{{x}}}$\n\n---"),
    "code_block_box": lambda x, w, r: (None, f"```\n\\boxed{{{x}}}\n```"),
    "box_then_text_braces": lambda x, w, r: (None, f"$\\boxed{{{x}}}$\n\nNote: the set {{1, 2}} has two elements and "
                                                   f"the function f(x) = {{x}} is defined for all $x$; it costs \\$5."),
    "box_then_dollars": lambda x, w, r: (None, f"\\boxed{{{x}}}\n\nIt costs $5 and $10 in total, i.e. $\\frac{{1}}{{2}}$ "
                                               f"of the budget."),
    "two_boxes_wrong_first": lambda x, w, r: (None, f"At first I got $\\boxed{{{w}}}$, but correcting the mistake, "
                                                    f"the answer is $\\boxed{{{x}}}$."),
    "two_boxes_right_first": lambda x, w, r: (None, f"The answer is $\\boxed{{{x}}}$. (An alternative reading would "
                                                    f"give $\\boxed{{{w}}}$.)"),
    "same_box_twice": lambda x, w, r: (None, f"$\\boxed{{{x}}}$\n\n**Final Answer**\n\\[\n\\boxed{{{x}}}\n\\]"),
    "think_wrong_box_then_final": lambda x, w, r: (
        f"Let me guess first: \\boxed{{{w}}}. Hmm, no, that's wrong.\n</think>\n\n", f"So the answer is $\\boxed{{{x}}}$."),
    "boxed_in_think_only": lambda x, w, r: (
        f"Okay, computing carefully gives \\boxed{{{x}}}.\n</think>\n\n", "I have explained the answer above."),
    "no_think_close": lambda x, w, r: ("", f"Okay, let me think. The answer should be $\\boxed{{{x}}}$."),
    "truncated_mid_box": lambda x, w, r: (None, x_truncated(x, w, r)),
    "truncated_after_open": lambda x, w, r: (None, x_truncated_lead(x, w, r)[:-len(x)] if x else "\\boxed{"),
    "empty_box": lambda x, w, r: (None, "The answer is $\\boxed{}$."),
    "nested_braces_box": lambda x, w, r: (None, f"$\\boxed{{{{{x}}}}}$"),
    "box_text_inside": lambda x, w, r: (None, f"\\boxed{{\\text{{The answer is }} {x}}}"),
    "box_label_inside": lambda x, w, r: (None, f"\\boxed{{\\text{{Answer: }} {x}}}"),
    "box_space_noarg": lambda x, w, r: (None, f"The answer is $\\boxed {x}$."),
    "fbox": lambda x, w, r: (None, f"The answer is $\\fbox{{{x}}}$."),
    "unclosed_dollar": lambda x, w, r: (None, f"The answer is $\\boxed{{{x}}}"),
    "box_then_approx": lambda x, w, r: (None, f"$\\boxed{{{x}}} \\approx {w}$"),
    "box_and_box": lambda x, w, r: (None, f"$\\boxed{{{x}}}$ and $\\boxed{{{w}}}$"),
    "words_only": lambda x, w, r: (None, f"The answer is {x}."),
    "nonascii_around": lambda x, w, r: (None, f"✅ Final answer → $\\boxed{{{x}}}$ ✔️ (≈ done)"),
    "chinese_text": lambda x, w, r: (None, f"所以答案是 $\\boxed{{{x}}}$。"),
    "latex_env_box": lambda x, w, r: (None, f"\\begin{{align*}}\nS &= \\boxed{{{x}}}\n\\end{{align*}}"),
    "boxed_equation": lambda x, w, r: (None, f"$\\boxed{{\\text{{result}} = {x}}}$"),
}


def to_words(s):
    if INT_RE.match(s) and abs(int(s)) < 1000000:
        return words(int(s))
    return None


def completion_for(final, rng, think=None):
    head = reasoning(rng) if think is None else (rng.choice(OPENERS) + "\n\n" + think if think else "")
    return head + summary(rng) + final


# ------------------------------------------------------------------------------------------------------------------
# Real golds

def shape(a):
    if INT_RE.match(a):
        return "int"
    if NUM_RE.match(a):
        return "dec"
    if "\\begin" in a:
        return "matrix"
    if "\\text" in a or "\\mbox" in a:
        return "text"
    if "\\infty" in a or "\\cup" in a:
        return "interval"
    if a.startswith("(") or a.startswith("\\left("):
        return "tuple"
    if "," in a:
        return "list"
    if "=" in a or "<" in a or ">" in a or "\\le" in a or "\\ge" in a:
        return "equation"
    if "\\pi" in a:
        return "pi"
    if "\\sqrt" in a:
        return "sqrt"
    if "frac" in a:
        return "frac"
    if re.search(r"[a-zA-Z]", a.replace("\\", "")):
        return "symbolic"
    return "other"


QUOTA = {"int": 28, "dec": 12, "matrix": 8, "text": 16, "interval": 15, "tuple": 14, "list": 16, "equation": 13,
         "pi": 14, "sqrt": 18, "frac": 25, "symbolic": 18, "other": 13}


def load_real(data, rng):
    pools = []
    with open(data / "eval" / "math500.jsonl", encoding="utf-8") as f:
        pools += [("math500", i, json.loads(line)["answer"]) for i, line in enumerate(f) if line.strip()]
    for name, fn in [("deepscaler_math", "train/deepscaler_math.json"), ("lvl3to5", "train/math_lvl3to5_8k.json")]:
        with open(data / fn, encoding="utf-8") as f:
            pools += [(name, i, rec["answer"]) for i, rec in enumerate(json.load(f))]
    seen, by_shape = set(), {}
    for src, i, a in pools:
        if not isinstance(a, str) or a in seen:
            continue
        seen.add(a)
        by_shape.setdefault(shape(a), []).append((src, i, a))
    chosen = []
    for sh in sorted(by_shape):
        items = by_shape[sh]
        chosen += rng.sample(items, min(QUOTA.get(sh, 10), len(items)))
    with open(data / "eval" / "minerva_math_answers.json", encoding="utf-8") as f:
        minerva = json.load(f)
    for i in rng.sample(range(len(minerva)), 14):
        a = minerva[i]["answer"][0].strip()
        if a not in seen:
            seen.add(a)
            chosen.append(("minerva", i, a))
    with open(data / "eval" / "gsm8k_test.jsonl", encoding="utf-8") as f:
        gsm = [json.loads(line)["answer"].split("####")[-1].strip() for line in f if line.strip()]
    for i in rng.sample(range(len(gsm)), 10):
        if gsm[i] not in seen:
            seen.add(gsm[i])
            chosen.append(("gsm8k", i, gsm[i]))
    chosen.append(("lvl3to5", -1, ""))  # empty gold: null verdict expected
    return chosen


def decimal_of(gold):
    try:
        gp = open_r1.parse_gold(gold)
    except Exception:
        return None
    if not gp or not isinstance(gp[0], sympy.Basic):
        return None
    e = gp[0]
    try:
        if not e.is_number or e.is_Integer:
            return None
        v = complex(sympy.N(e, 30))
    except Exception:
        return None
    if abs(v.imag) > 1e-12 or not (1e-6 < abs(v.real) < 1e9):
        return None
    return v.real


def fmt_decimal(v, digits):
    return f"{v:.{digits}f}"


# ------------------------------------------------------------------------------------------------------------------

def main():
    if len(sys.argv) != 2:
        sys.exit("usage: reward_heldout.py RAWDIR (the raw sets, laid out as data/SOURCES.md says)")
    data = pathlib.Path(sys.argv[1])
    rng = random.Random(SEED)
    pairs = []  # (id, kind, gold, completion)
    seen = set()

    def add(pid, kind, gold, comp):
        if (gold, comp) in seen:
            return
        seen.add((gold, comp))
        pairs.append((pid, kind, gold, comp))

    def good(x):
        return completion_for(rng.choice(GOOD)(x, rng), rng)

    def extract(pid, gold, x, w, names=None):
        name = rng.choice(names or sorted(EXTRACT))
        content = x
        if name == "words_only":
            content = to_words(x) or x
        think, final = EXTRACT[name](content, w, rng)
        add(pid, "extract." + name, gold, completion_for(final, rng, think))

    # (b) families first, so that their ids are stable
    for fam in F:
        for gi, (gold, equivs, misses) in enumerate(F[fam]):
            base = f"fam-{fam}-{gi}"
            add(base + "-v", f"verbatim.{fam}", gold, good(gold))
            for k, e in enumerate(equivs):
                add(f"{base}-e{k}", f"equiv.{fam}", gold, good(e))
            for k, m in enumerate(misses):
                add(f"{base}-m{k}", f"miss.{fam}", gold, good(m))
            wrong = misses[0] if misses else "0"
            for k in range(2):
                extract(f"{base}-x{k}", gold, rng.choice([gold] + equivs[:3]), wrong)

    # (a) real golds
    real = load_real(data, rng)
    rewrite_names = sorted(REWRITES)
    miss_names = sorted(MISSES)
    for src, idx, gold in real:
        base = f"{src}-{idx}"
        add(base + "-v", "verbatim.real", gold, good(gold))
        # equivalents: specific rewrites that apply, generic ones with lower weight
        cands = []
        for name in rewrite_names:
            out = REWRITES[name](gold, rng)
            if out and out != gold:
                cands.append((name, out))
        specific = [c for c in cands if c[0] not in GENERIC]
        generic = [c for c in cands if c[0] in GENERIC]
        picks = rng.sample(specific, min(2, len(specific)))
        if generic and (len(picks) < 2 or rng.random() < 0.35):
            picks.append(rng.choice(generic))
        for name, out in picks:
            add(f"{base}-{name}", "equiv." + name, gold, good(out))
        # decimal approximations at assorted precisions
        v = decimal_of(gold)
        if v is not None:
            for digits in rng.sample([1, 2, 3, 4, 5, 6, 7, 8, 10], 2):
                add(f"{base}-p{digits}", f"approx.p{digits}", gold, good(fmt_decimal(v, digits)))
        # near miss
        mc = []
        for name in miss_names:
            out = MISSES[name](gold, rng)
            if out and out != gold:
                mc.append((name, out))
        wrong = None
        if mc:
            name, wrong = rng.choice(mc)
            add(f"{base}-{name}", "miss." + name, gold, good(wrong))
        # extraction situation
        extract(f"{base}-x", gold, gold, wrong or (gold + "+1"))
        if rng.random() < 0.25:
            extract(f"{base}-y", gold, gold, wrong or "0")

    print(f"{len(pairs)} pairs; labelling...", file=sys.stderr)
    records = []
    total = 0.0
    slow = []
    for pid, kind, gold, comp in pairs:
        t0 = time.perf_counter()
        gp, pp, acc = label(gold, comp)
        dt = time.perf_counter() - t0
        total += dt
        if dt > 5:
            slow.append((round(dt, 1), pid))
        records.append({"id": pid, "kind": kind, "answer": gold, "completion": comp,
                        "gold_parsed": [str(x) for x in gp], "pred_parsed": [str(x) for x in pp],
                        "accuracy": acc})
    ids = Counter(r["id"] for r in records)
    assert max(ids.values()) == 1, [i for i, c in ids.items() if c > 1][:5]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", str(OUT)], input=body, check=True)

    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(records)} records)", file=sys.stderr)
    print(f"Math-Verify total {total:.1f} s; slow (>5 s): {slow}", file=sys.stderr)
    cls = Counter((r["kind"].split(".")[0], r["accuracy"]) for r in records)
    for c in sorted({k[0] for k in cls}):
        print(f"  {c:10s} " + " ".join(f"{a}:{cls[(c, a)]}" for a in (1, 0, None)), file=sys.stderr)
    verdicts = Counter(r["accuracy"] for r in records)
    print(f"  verdicts: 1={verdicts[1]} 0={verdicts[0]} null={verdicts[None]}", file=sys.stderr)
    kinds = Counter(r["kind"] for r in records)
    print("  kinds: " + ", ".join(f"{k}={n}" for k, n in sorted(kinds.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
