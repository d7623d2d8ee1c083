"""Hand-written (gold, completion) pairs for the areas Math-Verify's equivalence covers, with Math-Verify's verdicts.

Each case says what the mathematics says (`math`: 1 equal, 0 not); Math-Verify's verdict is recorded next to it, so
the C tests compare against the reference and the committed file shows where the reference is wrong.

    python tests/reference/reward_cases.py > tests/fixtures/reward/cases.jsonl

Pinned: math-verify 0.9.0, latex2sympy2_extended 1.11.0, sympy 1.14.0 (asserted below).
"""
import json
import sys
from importlib.metadata import version

from latex2sympy2_extended import NormalizationConfig
from math_verify import LatexExtractionConfig, parse, verify

PINNED = {"math-verify": "0.9.0", "latex2sympy2_extended": "1.11.0", "sympy": "1.14.0"}
for package, wanted in PINNED.items():
    assert version(package) == wanted, f"{package} {version(package)} is not the pinned {wanted}"

PREDICTION = [LatexExtractionConfig(
    normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                             equations=True, boxed="all", units=True),
    boxed_match_priority=0, try_extract_without_anchor=False)]

# (gold, completion, math): completions are short on purpose; the extraction rules are tested by the corpus.
CASES = [
    # integers, leading zeros, separators, decimals
    ("25", r"\boxed{025}", 1), ("1000", r"\boxed{1,000}", 1), ("1000", r"\boxed{1{,}000}", 1),
    ("1000000", r"\boxed{1,000,000}", 1), ("12", r"\boxed{12.0}", 1), ("12", r"\boxed{12.5}", 0),
    ("0.5", r"\boxed{\frac{1}{2}}", 1), (r"\frac{1}{2}", r"\boxed{0.5}", 1), (r"\frac{1}{3}", r"\boxed{0.333333}", 1),
    (r"\frac{1}{3}", r"\boxed{0.33}", 0), ("3.14", r"\boxed{\frac{157}{50}}", 1), ("-7", r"\boxed{-7}", 1),
    ("-7", r"\boxed{7}", 0), (".5", r"\boxed{0.5}", 1),
    # fractions
    (r"\frac{3}{4}", r"\boxed{\dfrac{3}{4}}", 1), (r"\frac{3}{4}", r"\boxed{\tfrac{3}{4}}", 1),
    (r"\frac{3}{4}", r"\boxed{3/4}", 1), (r"\frac{3}{4}", r"\boxed{\frac{6}{8}}", 1), (r"\frac{3}{4}", r"\boxed{\frac{4}{3}}", 0),
    (r"\frac12", r"\boxed{\frac{1}{2}}", 1), (r"\frac{1}{2}", r"\boxed{\frac12}", 1), (r"1\frac{4}{5}", r"\boxed{\frac{9}{5}}", 1),
    (r"-\frac{2}{3}", r"\boxed{\frac{-2}{3}}", 1),
    # percentages
    ("50\\%", r"\boxed{50}", 1), ("50", r"\boxed{50\%}", 1), ("0.5", r"\boxed{50\%}", 1), ("5", r"\boxed{0.05}", 0),
    # signs, pm
    (r"\pm 3", r"\boxed{3, -3}", 1), (r"\pm 3", r"\boxed{3}", 0), (r"1 \pm \sqrt{2}", r"\boxed{1+\sqrt{2}, 1-\sqrt{2}}", 1),
    # roots, pi, powers
    (r"\frac{\sqrt{2}}{2}", r"\boxed{\frac{1}{\sqrt{2}}}", 1), (r"2\sqrt{3}", r"\boxed{\sqrt{12}}", 1),
    (r"\sqrt[3]{8}", r"\boxed{2}", 1), (r"2\pi", r"\boxed{\pi \cdot 2}", 1), (r"2\pi", r"\boxed{6.283185}", 1),
    (r"2\pi", r"\boxed{6.28}", 0), (r"2^{10}", r"\boxed{1024}", 1), (r"2^{10}", r"\boxed{1023}", 0),
    (r"3 \times 10^{5}", r"\boxed{300000}", 1), (r"3 \cdot 5", r"\boxed{15}", 1), ("5!", r"\boxed{120}", 1),
    (r"\binom{5}{2}", r"\boxed{10}", 1), (r"e^{2}", r"\boxed{e^2}", 1),
    # expressions in variables
    ("2x+2", r"\boxed{2(x+1)}", 1), ("x^2+2x+1", r"\boxed{(x+1)^2}", 1), ("x^2+2x+1", r"\boxed{(x+1)^3}", 0),
    (r"\frac{x}{2}", r"\boxed{0.5x}", 1), ("a+b", r"\boxed{b+a}", 1), ("ab", r"\boxed{ba}", 1), ("2x", r"\boxed{2y}", 0),
    (r"\sin^2 x + \cos^2 x", r"\boxed{1}", 1), (r"\log_2 8", r"\boxed{3}", 1),
    # equations
    ("3", r"\boxed{x=3}", 1), ("x=3", r"\boxed{3}", 1), ("x=3", r"\boxed{y=3}", 0), ("y=2x+3", r"\boxed{y=3+2x}", 1),
    ("y=2x+3", r"\boxed{2x+3=y}", 1), ("2x+3=0", r"\boxed{4x+6=0}", 1), ("x>3", r"\boxed{3<x}", 1),
    # units, degrees, text
    ("5", r"\boxed{5\text{ cm}}", 1), ("5", r"\boxed{5 \mbox{ meters}}", 1), ("30", r"\boxed{30^\circ}", 1),
    ("30", r"\boxed{30^{\circ}}", 1), ("18", r"\boxed{\$18}", 1), (r"\text{Evelyn}", r"\boxed{\text{Evelyn}}", 1),
    (r"\text{Evelyn}", r"\boxed{Evelyn}", 1), (r"\text{Monday}", r"\boxed{\text{Tuesday}}", 0),
    # tuples, intervals, sets
    ("(1,2)", r"\boxed{(1,2)}", 1), ("(1,2)", r"\boxed{(2,1)}", 0), ("(3,-1)", r"\boxed{(3, -1)}", 1),
    ("(1,2,3)", r"\boxed{(1,3,2)}", 0), ("[1,2)", r"\boxed{[1,2)}", 1), ("[1,2)", r"\boxed{[1,2]}", 0),
    ("(-\\infty, 3]", r"\boxed{(-\infty,3]}", 1), ("(-\\infty, 3]", r"\boxed{(-\infty,3)}", 0),
    (r"\{1,2,3\}", r"\boxed{\{3,2,1\}}", 1), (r"\{1,2,3\}", r"\boxed{\{1,2\}}", 0), ("1, 2", r"\boxed{2, 1}", 1),
    (r"(-\infty,1)\cup(2,\infty)", r"\boxed{(-\infty,1)\cup(2,\infty)}", 1), ("x > 3", r"\boxed{(3, \infty)}", 1),
    # matrices
    (r"\begin{pmatrix}1\\2\end{pmatrix}", r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}", 1),
    (r"\begin{pmatrix}1\\2\end{pmatrix}", r"\boxed{\begin{pmatrix}2\\1\end{pmatrix}}", 0),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{\begin{bmatrix}1&2\\3&4\end{bmatrix}}", 1),
    # multiple choice
    ("C", r"\boxed{C}", 1), ("C", r"\boxed{\text{(C)}}", 1), (r"\text{(C)}", r"\boxed{C}", 1), ("C", r"\boxed{D}", 0),
    # extraction: boxes, delimiters, anchors
    ("6", r"first \boxed{5}, and \boxed{6}", 0), ("6", "\\boxed{5}\n" + "x" * 100 + "\n\\boxed{6}", 1),
    ("6", r"The final answer is $6$.", 1), ("6", "Answer: 6", 0), ("6", r"\fbox{6}", 1), ("6", r"\boxed{6", 0),
    ("6", r"$\boxed{6}$ and $\boxed{7}$", 0), ("6", r"\[\boxed{6}\]", 1), ("6", "", 0), ("6", r"\boxed{}", 0),
    ("6", r"\boxed{\boxed{6}}", 1), (r"\infty", r"\boxed{\infty}", 1),
]


def main():
    for number, (gold, completion, math) in enumerate(CASES):
        gold_parsed = parse("\\boxed{" + gold + "}", extraction_mode="first_match")
        pred_parsed = parse(completion, extraction_config=PREDICTION, extraction_mode="first_match")
        verdict = None if not gold_parsed else int(verify(gold_parsed, pred_parsed))
        print(json.dumps({"id": f"case-{number}", "answer": gold, "completion": completion, "math": math,
                          "gold_parsed": [str(x) for x in gold_parsed], "pred_parsed": [str(x) for x in pred_parsed],
                          "accuracy": verdict}, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
