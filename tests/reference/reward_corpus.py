"""Parity corpus for the accuracy reward: (gold answer, model completion) pairs with Math-Verify's verdicts.

Pinned: python 3.11, math-verify 0.9.0, latex2sympy2_extended 1.11.0, sympy 1.14.0 (asserted at start).
Run: python tests/reference/reward_corpus.py RAWDIR  (the raw sets, laid out as data/SOURCES.md says;
     writes tests/fixtures/reward/corpus.jsonl.zst, needs the zstd program)

Golds: every answer of aime24, aime25, amc23, math500 and minerva, plus a deterministic, category-stratified sample
of distinct answers from gsm8k (test and train), limr, math_lvl3to5_8k and the three deepscaler files. Each gold
gets the verbatim completion and 3-7 more chosen among the kinds that apply to it (rarer kinds weighted up): a
reformatted equivalent, a near miss, or an odd structure (several boxes, no box, truncated, empty, noise). Every
completion is a short reasoning, "</think>\\n\\n", and a final statement. The verdict is computed exactly as open-r1 and
Tina's accuracy reward do (see verdict()); the `kind` names what the generator meant, not what Math-Verify decided.
Prints pairs and verdicts per kind, wall time and mean milliseconds per pair to stderr. Committed run: 9,674 pairs
from 1,622 golds, 5,414 scored 1, 4,260 scored 0, none null; about 7 ms per pair. Seeded: reruns are byte-identical.
See tests/fixtures/reward/README.md for the format and the verdicts that are not the mathematical ones.
"""
import argparse
import collections
import json
import logging
import os
import pathlib
import random
import re
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, localcontext
from fractions import Fraction

from pins import require

PINNED = {"math-verify": "0.9.0", "latex2sympy2_extended": "1.11.0", "sympy": "1.14.0"}
require(PINNED)

import sympy  # noqa: E402
from latex2sympy2_extended import latex2sympy  # noqa: E402

import open_r1  # noqa: E402

SEED = 20261128
REPO = pathlib.Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "reward" / "corpus.jsonl.zst"

# Training golds drawn per source (after dedupe against everything drawn before).
TRAIN_QUOTA = {
    "gsm8k_test": 40, "gsm8k_train": 50, "limr": 100, "math_lvl3to5_8k": 200,
    "deepscaler_aime": 40, "deepscaler_math": 200, "deepscaler_subset2000": 120,
}

def verdict(gold, completion):
    """open-r1's accuracy reward: gold_parsed, pred_parsed, 1/0/None, and the seconds spent on the completion's
    parse + verify and on verify alone."""
    gold_parsed = open_r1.parse_gold(gold)
    start = time.perf_counter()
    pred_parsed = open_r1.parse_pred(completion)
    verify_start = time.perf_counter()
    accuracy = open_r1.accuracy(gold_parsed, pred_parsed)
    end = time.perf_counter()
    return gold_parsed, pred_parsed, accuracy, end - start, end - verify_start


# ---------------------------------------------------------------------------------------------------------------
# Loading the golds

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def amc_answer(value):
    return str(int(value)) if float(value).is_integer() else repr(value)


def gsm8k_answer(text):
    return text.split("#### ")[-1].strip()


def load_sources(data):
    """{source: [gold or None per record]} for the eval sets (all kept) and the training sets (sampled)."""
    ev, tr = data / "eval", data / "train"
    evals = {
        "aime24": [r["answer"] for r in read_jsonl(ev / "aime24.jsonl")],
        "aime25": [r["answer"] for r in read_jsonl(ev / "aime25.jsonl")],
        "amc23": [amc_answer(r["answer"]) for r in read_jsonl(ev / "amc23.jsonl")],
        "math500": [r["answer"] for r in read_jsonl(ev / "math500.jsonl")],
        "minerva": [r["answer"][0].strip() for r in read_json(ev / "minerva_math_answers.json")],
    }
    trains = {
        "gsm8k_test": [gsm8k_answer(r["answer"]) for r in read_jsonl(ev / "gsm8k_test.jsonl")],
        "gsm8k_train": [gsm8k_answer(r["answer"]) for r in read_jsonl(tr / "gsm8k_train.jsonl")],
        "limr": [r["answer"] for r in read_jsonl(tr / "limr.jsonl")],
        "math_lvl3to5_8k": [r["answer"] for r in read_json(tr / "math_lvl3to5_8k.json")],
        "deepscaler_aime": [r["answer"] for r in read_json(tr / "deepscaler_aime.json")],
        "deepscaler_math": [r["answer"] for r in read_json(tr / "deepscaler_math.json")],
        "deepscaler_subset2000": [r["reward_model"]["ground_truth"]
                                  for r in read_jsonl(tr / "deepscaler_subset2000.jsonl")],
    }
    return evals, trains


INT_RE = re.compile(r"-?\d+")
NUM_RE = re.compile(r"-?\d+(?:\.\d+)?")
DEC_RE = re.compile(r"-?\d*\.\d+")
GROUPED_INT_RE = re.compile(r"-?\d{1,3}(?:(?:,\\!\s*|\{,\}|\\,|,)\d{3})+")
DIGIT_GROUP_RE = re.compile(r"\d(?:,\\!\s*|\{,\}|\\,)\d{3}")
FRAC_RE = re.compile(r"(-?)\\[dt]?frac\{(-?\d+)\}\{(\d+)\}")
SCI_RE = re.compile(r"\de[+-]?\d")
DEGREE_RE = re.compile(r"\^\s*\\circ|\^\{\\circ\}|°|\\degree")
UNIT_RE = re.compile(r"(.*?\d)\s*(?:\\ )?\\(?:text|mbox|mathrm)\{\s*([a-zA-Z][a-zA-Z ]*)\}")


def category(gold):
    """The coarse kind of a gold answer, used to stratify the training sample."""
    tests = [
        ("matrix", "\\begin{" in gold),
        ("pm", "\\pm" in gold or "\\mp" in gold),
        ("interval", "\\infty" in gold or "\\cup" in gold or is_bracketed_interval(gold)),
        ("set", "\\{" in gold),
        ("tuple", outer_brackets(gold) is not None),
        ("equation", "=" in gold),
        ("list", list_items(gold) is not None),
        ("percent", "\\%" in gold),
        ("degree", bool(DEGREE_RE.search(gold))),
        ("unit", bool(UNIT_RE.fullmatch(gold))),
        ("text", "\\text" in gold or "\\mathrm" in gold),
        ("pi", "\\pi" in gold),
        ("sqrt", "\\sqrt" in gold),
        ("variable", bool(re.search(r"(?<![\\a-zA-Z])[a-zA-Z]", gold))),
        ("fraction", "frac" in gold or "/" in gold),
        ("decimal", bool(DEC_RE.fullmatch(gold))),
        ("thousands", bool(GROUPED_INT_RE.fullmatch(gold))),
        ("negative", gold.startswith("-")),
        ("integer", bool(INT_RE.fullmatch(gold))),
    ]
    return next((name for name, hit in tests if hit), "other")


def sample_training(trains, taken, rng):
    """Per source, distinct golds not taken yet, drawn round-robin over categories so rare shapes get in."""
    chosen = []
    for source, quota in TRAIN_QUOTA.items():
        by_category, seen = collections.defaultdict(list), set()
        for index, gold in enumerate(trains[source]):
            gold = (gold or "").strip()
            if gold and gold not in taken and gold not in seen:
                seen.add(gold)
                by_category[category(gold)].append((source, index, gold))
        queues = [by_category[name] for name in sorted(by_category)]
        for queue in queues:
            rng.shuffle(queue)
        picked = []
        while len(picked) < quota and any(queues):
            for queue in queues:
                if queue and len(picked) < quota:
                    picked.append(queue.pop())
        taken.update(gold for _, _, gold in picked)
        chosen.extend(sorted(picked, key=lambda item: item[1]))
    return chosen


# ---------------------------------------------------------------------------------------------------------------
# String helpers for LaTeX answers

OPENERS, CLOSERS = "([{", ")]}"


def top_level_split(text, separator):
    """Split at `separator` where no bracket is open (and not in a command such as \\,)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth -= 1
        if ch == separator and depth == 0 and not current.endswith("\\"):
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def outer_brackets(gold):
    """(open, inner, close) when gold is one parenthesised or bracketed group holding a comma, else None."""
    match = re.fullmatch(r"(\\left\s*)?([(\[])(.*?)(\\right\s*)?([)\]])", gold, re.S)
    if not match:
        return None
    open_, inner, close = (match.group(1) or "") + match.group(2), match.group(3), \
        (match.group(4) or "") + match.group(5)
    depth = 0
    for ch in inner:
        depth += ch in OPENERS
        depth -= ch in CLOSERS
        if depth < 0:
            return None
    if depth != 0 or len(top_level_split(inner, ",")) < 2:
        return None
    return open_, inner, close


def list_items(gold):
    """The items of a bare comma-separated list of two or more answers, else None."""
    if GROUPED_INT_RE.fullmatch(gold) or DIGIT_GROUP_RE.search(gold) or outer_brackets(gold):
        return None
    items = [re.sub(r"^(?:\\[,;!]\s*)+", "", item.strip()) for item in top_level_split(gold, ",")]
    return items if len(items) > 1 and all(items) else None


def is_bracketed_interval(gold):
    """[a, b], (a, b], [a, b) or their \\left / \\right forms."""
    brackets = outer_brackets(gold)
    return bool(brackets) and len(top_level_split(brackets[1], ",")) == 2 \
        and (brackets[0].endswith("[") or brackets[2].endswith("]"))


def sum_terms(gold):
    """The top-level signed terms of a sum, or None when gold is not a plain sum of two or more terms."""
    if any(s in gold for s in ("=", ",", "<", ">", "\\cup", "\\pm", "\\mp", "\\text", "\\le", "\\ge", "^-",
                               "_-", "^+", "\\times 10", "\\begin")) or SCI_RE.search(gold):
        return None
    terms, depth, current = [], 0, ""
    for ch in gold:
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth -= 1
        if ch in "+-" and depth == 0 and current.strip() and current.rstrip()[-1] not in "^_({[":
            terms.append(current.strip())
            current = ""
        current += ch
    terms.append(current.strip())
    return terms if len(terms) >= 2 else None


def join_terms(terms):
    """Signed terms back into a sum: the first keeps its own sign, the others get " + " or " - "."""
    text = ""
    for term in terms:
        negative, body = term.startswith("-"), term.lstrip("+-").strip()
        text += ("-" if negative else "") + body if not text else f" {'-' if negative else '+'} {body}"
    return text


def is_number(gold):
    return bool(NUM_RE.fullmatch(gold))


def to_sympy(gold):
    try:
        return latex2sympy(gold)
    except Exception:
        return None


def decimal_string(value):
    with localcontext() as ctx:
        ctx.prec = 60
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def frac_latex(value):
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


# ---------------------------------------------------------------------------------------------------------------
# Reformatted equivalents: each returns the new answer (to be boxed) or None where it does not apply

def t_verbatim(gold, rng):
    return gold


def t_spacing(gold, rng):
    if GROUPED_INT_RE.fullmatch(gold):
        return None
    if " " in gold:
        squeezed = re.sub(r"\s*([-+=,()\[\]{}^_/<>])\s*", r"\1", gold)
    else:
        squeezed = re.sub(r"(?<=[\w}])([-+=,])(?=[\w\\{(])", r" \1 ", gold)
    return squeezed if squeezed != gold else None


def t_dfrac(gold, rng):
    if re.search(r"\\[dt]frac", gold):
        return re.sub(r"\\[dt]frac", r"\\frac", gold)
    if "\\frac" in gold:
        return gold.replace("\\frac", rng.choice(["\\dfrac", "\\tfrac"]))
    return None


def t_frac_to_slash(gold, rng):
    match = re.fullmatch(r"(-?)\\[dt]?frac\{([\w\\{}]+)\}\{([\w\\{}]+)\}", gold)
    if not match or re.search(r"\\[dt]?frac", match.group(2) + match.group(3)):
        return None
    return f"{match.group(1)}{match.group(2)}/{match.group(3)}"


def t_frac_to_decimal(gold, rng):
    match = FRAC_RE.fullmatch(gold)
    if not match or int(match.group(3)) == 0:
        return None
    value = Fraction(int(match.group(2)), int(match.group(3))) * (-1 if match.group(1) else 1)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return decimal_string(value) if denominator == 1 and value.denominator > 1 else None


def t_decimal_to_frac(gold, rng):
    if not DEC_RE.fullmatch(gold):
        return None
    value = Fraction(Decimal(gold))
    return frac_latex(value) if value.denominator > 1 else None


def t_int_leading_zeros(gold, rng):
    if not re.fullmatch(r"\d+", gold):
        return None
    if gold.startswith("0") and len(gold) > 1:
        return str(int(gold))
    return gold.zfill(3) if len(gold) < 3 else "0" + gold


def t_thousands(gold, rng):
    if GROUPED_INT_RE.fullmatch(gold):
        return re.sub(r",\\!\s*|\{,\}|\\,|,", "", gold)
    if not INT_RE.fullmatch(gold) or abs(int(gold)) < 1000:
        return None
    separator = rng.choice([",", "{,}", "\\,"])
    return re.sub(r"(?<=\d)(?=(\d{3})+$)", lambda _: separator, gold)


UNITS = ["\\text{ cm}", "\\mbox{ dollars}", "\\ \\text{meters}", "\\text{ units}", " \\text{km}", "\\text{ minutes}"]


def t_units(gold, rng):
    match = UNIT_RE.fullmatch(gold)
    if match:
        return match.group(1)
    return gold + rng.choice(UNITS) if is_number(gold) or FRAC_RE.fullmatch(gold) else None


def t_degrees(gold, rng):
    if DEGREE_RE.search(gold):
        bare = DEGREE_RE.sub("", gold).strip()
        return rng.choice([bare, bare + "^{\\circ}" if "^\\circ" in gold else bare + "^\\circ"])
    return gold + rng.choice(["^\\circ", "^{\\circ}", "°"]) if is_number(gold) else None


def t_dollar(gold, rng):
    if gold.startswith("\\$"):
        return gold[2:].strip()
    return "\\$" + gold if is_number(gold) or GROUPED_INT_RE.fullmatch(gold) else None


def t_percent(gold, rng):
    if gold.endswith("\\%"):
        bare = gold[:-2].strip()
        return rng.choice([bare, decimal_string(Fraction(Decimal(bare)) / 100)]) if is_number(bare) else bare
    return gold + "\\%" if is_number(gold) else None


def t_equation(gold, rng):
    match = re.fullmatch(r"\s*([a-zA-Z])\s*=\s*([^=]+)", gold)
    if match:
        rhs = match.group(2).strip()
        return None if re.search(r"(?<![\\a-zA-Z])[a-zA-Z]", rhs) else rhs
    name = next((v for v in ("x", "a", "n", "k", "y") if v not in gold), None)
    if "=" in gold or "\\text" in gold or "\\mbox" in gold or list_items(gold) or name is None:
        return None
    return rng.choice([f"{name} = {gold}", f"{name}={gold}"])


def t_left_right(gold, rng):
    if any(s in gold for s in ("\\sqrt[", "\\left.", "\\right.", "\\text", "\\mbox")):
        return None
    if "\\left" in gold:
        return re.sub(r"\\left\s*|\\right\s*", "", gold)
    opens = len(re.findall(r"[(\[]", gold))
    if opens == 0 or opens != len(re.findall(r"[)\]]", gold)):
        return None
    return re.sub(r"([(\[])", r"\\left\1", re.sub(r"([)\]])", r"\\right\1", gold))


def t_reorder_sum(gold, rng):
    terms = sum_terms(gold)
    return join_terms(terms[::-1]) if terms else None


def t_reorder_set(gold, rng):
    match = re.fullmatch(r"(\\left)?\\\{(.*?)(\\right)?\\\}", gold)
    items, wrap = (list_items(match.group(2)), ("\\{", "\\}")) if match else (list_items(gold), ("", ""))
    if not items or len(set(items)) < 2:
        return None
    return wrap[0] + ", ".join(items[::-1]) + wrap[1]


def t_sqrt_forms(gold, rng):
    options = []
    if re.search(r"\\sqrt\{\d\}(?!\d)", gold):
        options.append(re.sub(r"\\sqrt\{(\d)\}(?!\d)", r"\\sqrt\1", gold))
    if re.search(r"\\sqrt\d", gold):
        options.append(re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", gold))
    match = re.fullmatch(r"\\[dt]?frac\{(\d*)\\sqrt\{(\d+)\}\}\{(\d+)\}", gold)
    if match and match.group(2) == match.group(3):
        options.append(f"\\frac{{{match.group(1) or 1}}}{{\\sqrt{{{match.group(2)}}}}}")
    match = re.fullmatch(r"(\d+)\s*\\sqrt\{(\d+)\}", gold)
    if match:
        options.append(f"\\sqrt{{{int(match.group(1)) ** 2 * int(match.group(2))}}}")
    match = re.fullmatch(r"\\sqrt\{(\d+)\}", gold)
    if match:
        simplified = sympy.latex(sympy.sqrt(int(match.group(1))))
        if "sqrt" in simplified and simplified != gold:
            options.append(simplified)
    return rng.choice(options) if options else None


def t_pi_forms(gold, rng):
    if "\\pi" not in gold:
        return None
    options = [gold.replace("\\pi", "π")]
    match = re.fullmatch(r"(-?)\\[dt]?frac\{(\d*)\s*\\pi\}\{(\d+)\}", gold)
    if match:
        sign, a, b = match.groups()
        options.append(f"{sign}\\pi/{b}" if not a else f"{sign}{a}\\pi/{b}")
        options.append(f"{sign}\\frac{{{a or 1}}}{{{b}}}\\pi")
    match = re.fullmatch(r"(-?\d+)\s*\\pi", gold)
    if match:
        options.append(f"\\pi \\cdot {match.group(1)}" if not match.group(1).startswith("-")
                       else f"-\\pi \\cdot {match.group(1)[1:]}")
    return rng.choice(options)


def t_text_wrap(gold, rng):
    match = re.fullmatch(r"\\(?:text|textbf|mathrm)\{([^{}]*)\}", gold)
    if match:
        return rng.choice([match.group(1), f"\\textbf{{{match.group(1)}}}", f"\\mathrm{{{match.group(1)}}}"])
    if "\\text" in gold:
        return None
    if re.fullmatch(r"[\w .,-]+", gold):
        return rng.choice([f"\\text{{{gold}}}", f"\\mathrm{{{gold}}}"])
    return f"\\mathrm{{{gold}}}"


def t_cdot_times(gold, rng):
    if "\\cdot" in gold:
        return gold.replace("\\cdot", "\\times")
    if "\\times" in gold:
        return gold.replace("\\times", "\\cdot")
    if SCI_RE.search(gold) or re.search(r"\\(?:text|mbox|mathrm)|\\[dt]?frac\s*\d", gold):
        return None
    match = re.search(r"(\d)\s*(\\sqrt|\\pi|(?<![\\a-zA-Z])[a-z])", gold)
    if not match:
        return None
    return gold[:match.start()] + match.group(1) + rng.choice([" \\cdot ", " \\times "]) + match.group(2) + \
        gold[match.end():]


def t_expanded(gold, rng):
    if any(s in gold for s in ("=", ",", ".", "\\text", "\\mathrm", "\\mbox", "\\prime", "\\times")):
        return None
    if re.search(r"[A-Z]", re.sub(r"\\[a-zA-Z]+", "", gold)):
        return None  # latex2sympy lowercases symbols: sympy's rewrite would print G as g
    expr = to_sympy(gold)
    if not isinstance(expr, sympy.Expr) or not expr.free_symbols or expr.has(sympy.zoo, sympy.nan, sympy.oo):
        return None
    original = {sympy.latex(expr).replace(" ", ""), gold.replace(" ", "")}
    rewrites = [sympy.expand(expr), sympy.factor(expr)]
    if expr.is_polynomial() and len(expr.free_symbols) == 1:
        rewrites.append(sympy.horner(expr))
    for rewrite in rewrites:
        if sympy.latex(rewrite).replace(" ", "") not in original:
            return sympy.latex(rewrite)
    return None


def t_decimal_rounded(gold, rng):
    if not re.search(r"\\sqrt|\\pi|\\log|\\ln|e\^|\\sin|\\cos|\\tan", gold) or "," in gold:
        return None
    expr = to_sympy(gold)
    if not isinstance(expr, sympy.Expr) or expr.free_symbols or expr.is_rational is not False:
        return None
    try:
        value = complex(sympy.N(expr, 30))
    except (TypeError, ValueError):
        return None
    if value.imag or not abs(value.real) < 1e12:
        return None
    return f"{value.real:.{rng.choice([2, 3, 4, 6])}f}"


# ---------------------------------------------------------------------------------------------------------------
# Near misses: the answer changed a little

NUMBER_TOKEN = re.compile(r"(?<![\d.^_])(?<!\^\{)(?<!_\{)\d+(?![\d])")


def nudge(number, rng):
    changed = number + 1 if number == 0 else number + rng.choice([-1, 1])
    return changed if changed != 0 else number + 1


def t_off_by_one(gold, rng):
    if GROUPED_INT_RE.fullmatch(gold):
        digits = re.sub(r"\D", "", gold)
        changed = nudge(int(digits), rng) * (-1 if gold.startswith("-") else 1)
        return f"{changed:,}"
    if "\\text" in gold and not UNIT_RE.fullmatch(gold):
        return None
    match = NUMBER_TOKEN.search(gold)
    if not match:
        return None
    changed = str(nudge(int(match.group()), rng))
    if match.group().startswith("0"):
        changed = changed.zfill(len(match.group()))
    return gold[:match.start()] + changed + gold[match.end():]


def t_wrong_sign(gold, rng):
    brackets = outer_brackets(gold)
    if brackets:
        open_, inner, close = brackets
        items = top_level_split(inner, ",")
        at = next((i for i, item in enumerate(items) if not re.fullmatch(r"\s*[-0.]*\s*", item)), None)
        if at is None:
            return None
        item = items[at].strip()
        items[at] = item[1:] if item.startswith("-") else "-" + item
        return open_ + ",".join(items) + close
    if gold[:1] in "([" or "\\{" in gold or "\\text" in gold or list_items(gold):
        return None
    if to_sympy(gold) == 0 or re.fullmatch(r"[-0.]*", gold):
        return None
    return gold[1:].lstrip() if gold.startswith("-") else "-" + gold


def t_dropped_term(gold, rng):
    terms = sum_terms(gold)
    if terms:
        return join_terms(terms[:-1])
    brackets = outer_brackets(gold)
    if brackets and "\\infty" not in gold and len(top_level_split(brackets[1], ",")) > 2:
        open_, inner, close = brackets
        return open_ + ",".join(top_level_split(inner, ",")[:-1]) + close
    items = list_items(gold)
    return ", ".join(items[:-1]) if items and items[-1] not in items[:-1] else None


def t_interval_flip(gold, rng):
    if category(gold) != "interval" or "\\begin" in gold:
        return None
    flips = {"(": "[", "[": "(", ")": "]", "]": ")"}
    first = len(re.match(r"(\\left\s*)?", gold).group())
    ends = []
    if gold[first] in flips and "\\infty" not in gold[:gold.find(",")]:
        ends.append(first)
    if gold[-1] in flips and "\\infty" not in gold[gold.rfind(",") + 1:]:
        ends.append(len(gold) - 1)
    if not ends:
        return None
    at = rng.choice(ends)
    return gold[:at] + flips[gold[at]] + gold[at + 1:]


def t_wrong_fraction(gold, rng):
    match = FRAC_RE.search(gold)
    if match:
        a, b = match.group(2), match.group(3)
        new = f"\\frac{{{b}}}{{{a}}}" if a != b and a.lstrip("-") not in ("0", b) else f"\\frac{{{a}}}{{{int(b) + 1}}}"
        return gold[:match.start()] + match.group(1) + new + gold[match.end():]
    match = re.fullmatch(r"(-?)(\d+)/(\d+)", gold)
    if match and match.group(2) != match.group(3) and match.group(2) != "0":
        return f"{match.group(1)}{match.group(3)}/{match.group(2)}"
    return None


def t_swapped_tuple(gold, rng):
    if category(gold) != "tuple":
        return None
    open_, inner, close = outer_brackets(gold)
    items = top_level_split(inner, ",")
    if items[0].strip() == items[1].strip():
        return None
    items[0], items[1] = items[1], items[0]
    return open_ + ",".join(items) + close


def t_wrong_unit_value(gold, rng):
    if DEGREE_RE.search(gold):
        bare = DEGREE_RE.sub("", gold).strip()
        if is_number(bare) and Fraction(Decimal(bare)) != 0:
            radians = Fraction(Decimal(bare)) / 180
            top = "" if radians.numerator == 1 else "-" if radians.numerator == -1 else str(radians.numerator)
            return f"\\frac{{{top}\\pi}}{{{radians.denominator}}}" if radians.denominator > 1 else f"{top}\\pi"
    match = UNIT_RE.fullmatch(gold)
    bare = match.group(1) if match else gold
    if not is_number(bare) or Fraction(Decimal(bare)) == 0:
        return None
    factor, unit = rng.choice([(100, "\\text{ cm}"), (60, "\\text{ seconds}"), (1000, "\\text{ grams}")])
    return decimal_string(Fraction(Decimal(bare)) * factor) + unit


# ---------------------------------------------------------------------------------------------------------------
# Completions

OPENINGS = ["", "Okay, let me work through this.\n", "Let's think step by step.\n", "Alright.\n"]
FINALS = [
    "The final answer is ${box}$.",
    "Therefore, the answer is {box}.",
    "**Final Answer**\n\\[\n{box}\n\\]",
    "So the answer is $ {box} $.",
    "Hence the result is \\({box}\\).",
    "\\[\n{box}\n\\]",
    "Putting it together, we get ${box}$",
]


def reasoning(rng, lines=None):
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    pool = [
        f"First, note that ${a} + {b} = {a + b}$, so the expression simplifies.",
        f"Let $x$ be the unknown; then $x + {a} = {a + b}$ gives a first estimate of {b}.",
        f"We compute {a} \\times {b} = {a * b} and check the remaining cases.",
        "Using $(a+b)^2 = a^2 + 2ab + b^2$, the sum becomes manageable.",
        f"Checking small cases: n = 1, 2, {a} all satisfy the condition.",
        f"Wait, let me double-check: ${a} \\cdot {b} = {a * b}$, and $\\frac{{{a * b}}}{{{b}}} = {a}$.",
        f"The substitution $y = x + 1$ turns it into $y^2 - {a} = 0$.",
        f"So the area is {a * b} minus the {b} corner cells.",
    ]
    count = lines if lines is not None else rng.randint(1, 2)
    return rng.choice(OPENINGS) + "\n".join(rng.sample(pool, count))


def boxed_completion(rng, answer, box="\\boxed"):
    final = rng.choice(FINALS).replace("{box}", f"{box}{{{answer}}}")
    return f"{reasoning(rng)}\n</think>\n\n{final}"


def wrong_answer(gold, rng):
    for change in (t_off_by_one, t_wrong_sign, t_wrong_fraction, t_dropped_term):
        answer = change(gold, rng)
        if answer:
            return answer
    return "\\text{none}" if "none" not in gold.lower() else "0"


def c_several_boxes_last_right(gold, rng):
    return (f"{reasoning(rng)}\nA first guess is $\\boxed{{{wrong_answer(gold, rng)}}}$, but that ignores a case.\n"
            f"{reasoning(rng, 2)}\n{reasoning(rng, 2)}\n</think>\n\n"
            + rng.choice(FINALS).replace("{box}", f"\\boxed{{{gold}}}"))


def c_several_boxes_hedge(gold, rng):
    pair = [gold, wrong_answer(gold, rng)]
    rng.shuffle(pair)
    return f"{reasoning(rng)}\n</think>\n\nThe answer is $\\boxed{{{pair[0]}}}$ or $\\boxed{{{pair[1]}}}$."


def c_first_box_right_last_wrong(gold, rng):
    return (f"{reasoning(rng)}\nThis gives $\\boxed{{{gold}}}$, unless I made a slip.\n{reasoning(rng, 2)}\n"
            f"</think>\n\n" + rng.choice(FINALS).replace("{box}", f"\\boxed{{{wrong_answer(gold, rng)}}}"))


ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n):
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("-" + ONES[n % 10] if n % 10 else "")
    for size, name in ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return f"{number_words(n // size)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(n)


def c_no_box(gold, rng):
    plain = re.sub(r"(?<=\d),(?=\d{3})", "", gold)
    words = number_words(int(plain)) if INT_RE.fullmatch(plain) else plain
    statement = rng.choice(["The final answer is {}.", "So the answer is {}.", "Therefore the result is {}."])
    return f"{reasoning(rng)}\n</think>\n\n" + statement.format(words)


def c_truncated(gold, rng):
    head = f"{reasoning(rng)}\n</think>\n\n"
    cut = rng.randint(0, 2)
    if cut == 0:
        return head + "The final answer is $\\boxed{" + gold
    if cut == 1:
        return head + "Therefore, the answer is \\boxed{" + gold[:max(1, len(gold) // 2)]
    text = reasoning(rng, 2)
    return text[:rng.randint(len(text) // 3, len(text) - 1)]


def c_empty(gold, rng):
    return ""


def c_nested_braces(gold, rng):
    braces = rng.choice([1, 2])
    return boxed_completion(rng, "{" * braces + gold + "}" * braces)


GARBAGE = ["\\frac{", "}", "{", "^", "_", "\\sqrt", "x", "2", "7", "\\left(", "\\right]", "$", "\\boxed{", "\\\\",
           "&", "\\begin{array}", "=", "+", "\\cdot", "\\pi", "\\text{", " ", " ", "\\,", "\\end{", ")", "]", "\\;"]


def c_garbage(gold, rng):
    noise = "".join(rng.choice(GARBAGE) for _ in range(rng.randint(8, 40)))
    return rng.choice(["", f"{reasoning(rng)}\n</think>\n\n"]) + noise


def c_fbox(gold, rng):
    return boxed_completion(rng, gold, box="\\fbox")


def c_inline_dollars(gold, rng):
    statement = rng.choice(["The final answer is ${}$.", "Final answer: ${}$", "The final answer is $ {} $"])
    return f"{reasoning(rng)}\n</think>\n\n" + statement.format(gold)


def c_answer_colon(gold, rng):
    return f"{reasoning(rng)}\n</think>\n\nAnswer: {gold}"


def boxed(transform):
    def completion(gold, rng):
        answer = transform(gold, rng)
        return None if answer is None else boxed_completion(rng, answer)
    return completion


KINDS = {
    "verbatim": boxed(t_verbatim),
    # reformatted equivalents
    "spacing": boxed(t_spacing), "dfrac": boxed(t_dfrac), "frac_to_slash": boxed(t_frac_to_slash),
    "frac_to_decimal": boxed(t_frac_to_decimal), "decimal_to_frac": boxed(t_decimal_to_frac),
    "int_leading_zeros": boxed(t_int_leading_zeros), "thousands": boxed(t_thousands), "units": boxed(t_units),
    "degrees": boxed(t_degrees), "dollar": boxed(t_dollar), "percent": boxed(t_percent),
    "equation": boxed(t_equation), "left_right": boxed(t_left_right), "reorder_sum": boxed(t_reorder_sum),
    "reorder_set": boxed(t_reorder_set), "sqrt_forms": boxed(t_sqrt_forms), "pi_forms": boxed(t_pi_forms),
    "text_wrap": boxed(t_text_wrap), "cdot_times": boxed(t_cdot_times), "expanded": boxed(t_expanded),
    "fbox": c_fbox, "inline_dollars": c_inline_dollars, "answer_colon": c_answer_colon,
    "decimal_rounded": boxed(t_decimal_rounded),
    # near misses
    "off_by_one": boxed(t_off_by_one), "wrong_sign": boxed(t_wrong_sign), "dropped_term": boxed(t_dropped_term),
    "interval_flip": boxed(t_interval_flip), "wrong_fraction": boxed(t_wrong_fraction),
    "swapped_tuple": boxed(t_swapped_tuple), "wrong_unit_value": boxed(t_wrong_unit_value),
    # structure
    "several_boxes_last_right": c_several_boxes_last_right, "several_boxes_hedge": c_several_boxes_hedge,
    "first_box_right_last_wrong": c_first_box_right_last_wrong, "no_box": c_no_box, "truncated": c_truncated,
    "empty": c_empty, "nested_braces": c_nested_braces, "garbage": c_garbage,
}


def candidates(gold, rng):
    """{kind: completion} for every kind that applies to gold."""
    found = {}
    for kind, make in KINDS.items():
        completion = make(gold, rng)
        if completion is not None:
            found[kind] = completion
    return found


def choose(found, applicable_count, rng):
    """verbatim plus 3-7 other kinds, drawn without replacement, weighted by 1 / (golds the kind applies to)."""
    others = [kind for kind in found if kind != "verbatim"]
    picked = ["verbatim"]
    for _ in range(min(rng.randint(3, 7), len(others))):
        weights = [1 / applicable_count[kind] for kind in others]
        kind = rng.choices(others, weights)[0]
        others.remove(kind)
        picked.append(kind)
    return sorted(picked, key=list(KINDS).index)


# ---------------------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=pathlib.Path, help="the raw sets, laid out as data/SOURCES.md says")
    args = parser.parse_args()
    # latex2sympy2_extended warns on every parse that equations=True is deprecated; the setting is what open-r1 uses.
    logging.getLogger("latex2sympy2_extended.math_normalization").setLevel(logging.ERROR)
    print(" ".join(f"{package}=={version}" for package, version in PINNED.items()), file=sys.stderr)

    rng = random.Random(SEED)
    evals, trains = load_sources(args.data)
    golds = [(source, index, gold.strip()) for source, answers in evals.items() for index, gold in enumerate(answers)]
    golds += sample_training(trains, {gold for _, _, gold in golds}, rng)

    found = [candidates(gold, rng) for _, _, gold in golds]
    applicable_count = collections.Counter(kind for kinds in found for kind in kinds)

    started = time.perf_counter()
    seconds_pair, seconds_verify, slowest = [], [], (0.0, "")
    per_kind = collections.defaultdict(collections.Counter)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=OUT.parent, suffix=".jsonl", delete=False) as tmp:
        for (source, index, gold), kinds in zip(golds, found):
            for kind in choose(kinds, applicable_count, rng):
                completion, pair_id = kinds[kind], f"{source}-{index}-{kind}-0"
                gold_parsed, pred_parsed, accuracy, spent, spent_verify = verdict(gold, completion)
                seconds_pair.append(spent)
                seconds_verify.append(spent_verify)
                slowest = max(slowest, (spent, pair_id))
                per_kind[kind][accuracy] += 1
                record = {"id": pair_id, "source": source, "kind": kind, "answer": gold,
                          "completion": completion, "gold_parsed": [str(x) for x in gold_parsed],
                          "pred_parsed": [str(x) for x in pred_parsed], "accuracy": accuracy}
                tmp.write(json.dumps(record, ensure_ascii=False) + "\n")
    try:
        subprocess.run(["zstd", "-19", "-q", "-f", tmp.name, "-o", str(OUT)], check=True)
    finally:
        os.unlink(tmp.name)
    OUT.chmod(0o644)
    wall = time.perf_counter() - started

    total = collections.Counter()
    print(f"{'kind':28} {'pairs':>6} {'1':>6} {'0':>6} {'null':>6}", file=sys.stderr)
    for kind in KINDS:
        counts = per_kind[kind]
        total.update(counts)
        print(f"{kind:28} {sum(counts.values()):6} {counts[1]:6} {counts[0]:6} {counts[None]:6}", file=sys.stderr)
    print(f"{'total':28} {sum(total.values()):6} {total[1]:6} {total[0]:6} {total[None]:6}", file=sys.stderr)
    print(f"golds {len(golds)} ({collections.Counter(s for s, _, _ in golds)})", file=sys.stderr)
    print(f"wall {wall:.1f} s; mean {1e3 * sum(seconds_pair) / len(seconds_pair):.2f} ms per pair (parse of the "
          f"completion + verify), {1e3 * sum(seconds_verify) / len(seconds_verify):.2f} ms per verify, slowest "
          f"{1e3 * slowest[0]:.0f} ms ({slowest[1]}); "
          f"{OUT.relative_to(REPO)} {OUT.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
