"""Fixture for `tina-reward --gold-parse tina`: Tina's own accuracy and cosine rewards on (gold, completion) pairs.

Tina's rewards read the gold with Math-Verify's parse(gold, extraction_mode="first_match"): its trainer keeps a
`solution` column as written (a worked solution) and writes an `answer` column as "$answer$" (grpo.py). accuracy
parses it with LaTeX and plain numbers and asks verify(gold, answer); cosine parses it with LaTeX only and asks
verify(answer, gold). This script runs Tina's rewards.py itself, so the verdicts are Tina's, not a model of them;
the cosine reward is built as grpo.py builds it, with tina/config.py's values.

Pinned (asserted): python 3.11, math-verify 0.5.2 (Tina's scripts/set/set_env.sh), latex2sympy2_extended 1.0.6,
sympy 1.14.0. Make the environment with
    python3.11 -m venv V && V/bin/pip install math-verify==0.5.2 latex2sympy2_extended==1.0.6 sympy==1.14.0
Run: V/bin/python tests/reference/tina_gold.py TINA_CHECKOUT RAWDIR
     TINA_CHECKOUT: github shangshang-wang/Tina at c6274cd; RAWDIR: the raw sets, laid out as data/SOURCES.md says.
Writes tests/fixtures/reward/tina_solution.jsonl.zst (gold in "solution") and tina_answer.jsonl.zst (gold in
"answer"); each line {id, solution or answer, completion, accuracy, cosine} with Tina's values (accuracy null where
Tina's is None). Seeded: reruns are byte-identical.
"""
import contextlib
import importlib.util
import io
import json
import pathlib
import random
import re
import subprocess
import sys

from completions import last_boxed, read_jsonl
from pins import require

require({"math-verify": "0.5.2", "latex2sympy2_extended": "1.0.6", "sympy": "1.14.0"})

SEED = 20261206
REPO = pathlib.Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "reward"

# Worked solutions and answers written the ways a solution column holds them; each is a gold as given.
EDGE_SOLUTIONS = [
    "We add them: 2 + 3 = 5. The answer is 5.",
    "So the total is 1,234 apples.",
    "Hence x = 7, and the final answer is 7. I hope it is correct.",
    "The final answer is $\\frac{3}{4}$. I hope it is correct.",
    "Therefore the final answer is: 12",
    "Answer: 42",
    "Answer: $x = 9$",
    "The area is $\\pi r^2 = 16\\pi$, so the answer is $16\\pi$.",
    "It rose by 25%.",
    "It rose by 25 percent, to $\\boxed{125}$.",
    "The value is 3,5 (decimal comma).",
    "She pays $100 in all.",
    "The ratio is 3/4.",
    "We get (2+3)*4 = 20.",
    "So $a = 2$ and $b = 3$.",
    "Both $\\boxed{2}$ and later $\\boxed{3}$ appear; the last box counts.",
    "First \\boxed{4}. Answer: 6",
    "The answer is \\boxed{\\dfrac{1}{2}}.",
    "No number here, only words.",
    "",
    "The roots are $x = 1$ or $x = -1$.",
    "\\[ y = 2x + 1 \\]",
    "The interval is $(0, 1]$.",
    "-17",
    "0.5",
    "The answer is -0.25.",
    "It costs \u20ac30.",
    "final answer: 2^10",
    "so the result is \\(\\sqrt{2}\\)",
    "Thus $\\boxed{10}$ apples. Answer: 11",
]
# Worked solutions whose answer is not the last integer in them, with the answer a right completion states: plain
# expressions and numbers as sympy reads them (or cannot), and LaTeX joined by "and".
EDGE_STATED = [
    ("The ratio is 3/4.", "\\frac{3}{4}"), ("So the answer is 2+3.", "5"), ("So we get 1/2.", "0.5"),
    ("answer: 2**3 ok", "8"), ("answer: 2^10", "1024"), ("answer: 6\u00f73", "2"), ("It is 3 \u00d7 4", "12"),
    ("We get (1+2)(3+4)", "21"), ("Answer: -007", "-7"), ("Answer: 007", "7"), ("Answer: 4. + 1", "5"),
    ("The total is 1 234 567.", "1234567"), ("So $a=3$, and $b=4$.", "4"), ("So $a=3$,and $b=4$.", "4"),
    ("It fell 12.5%.", "12.5\\%"), ("Hence (2+3", "5"), ("final answer is 2 3", "23"),
]
EDGE_ANSWERS = ["5", "\\frac{1}{2}", "1,000", "25\\%", "x = 3", "(1, 2)", "\\sqrt{3}", "-4", "0.5", "12$", "",
                "\\text{yes}", "2, 3", "\\infty", "3.14", "007"]


def wrong_of(answer, rng):
    """A near miss: an integer moved by one, else the answer with a term added."""
    if re.fullmatch(r"-?\d+", answer.strip()):
        return str(int(answer) + rng.choice([-1, 1]))
    return answer + "+1"


def completions(answer, rng):
    """Completions for a gold whose answer is `answer`: right and boxed, wrong, unboxed, and one long (cosine)."""
    pad = " ".join(rng.choice(["Let", "us", "check", "the", "sum", "again", "carefully"]) for _ in range(rng.randint(0, 700)))
    return [
        ("boxed", f"Adding up the parts.\n</think>\n\nThe final answer is $\\boxed{{{answer}}}$."),
        ("wrong", f"A quick estimate.\n</think>\n\nSo $\\boxed{{{wrong_of(answer, rng)}}}$."),
        ("unboxed", f"Done.\n</think>\n\nThe answer is {answer}."),
        ("long", f"{pad}\n</think>\n\n$\\boxed{{{answer}}}$"),
    ]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tina_gold.py TINA_CHECKOUT RAWDIR (the raw sets, laid out as data/SOURCES.md says)")
    tina = pathlib.Path(sys.argv[1])
    data = pathlib.Path(sys.argv[2])
    spec = importlib.util.spec_from_file_location("tina_rewards", tina / "tina" / "post_train_hf" / "rewards.py")
    rewards = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rewards)
    # the cosine reward as grpo.py builds it: with its ModelPTConfig's values (tina/config.py: min_value_wrong 0.0,
    # max_value_wrong -0.5, min_value_correct 0.5, max_value_correct 1.0), not the function's own defaults
    # (min_value_wrong -1.0); the launch scripts pass --cosine_max_len 3584
    spec = importlib.util.spec_from_file_location("tina_config", tina / "tina" / "config.py")
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)
    pt = config.ModelPTConfig()
    cosine = rewards.get_cosine_scaled_reward(
        min_value_wrong=pt.cosine_min_value_wrong, max_value_wrong=pt.cosine_max_value_wrong,
        min_value_correct=pt.cosine_min_value_correct, max_value_correct=pt.cosine_max_value_correct, max_len=3584)
    rng = random.Random(SEED)

    golds = {"solution": [], "answer": []}  # (id, gold, answer a completion states)
    for i, r in enumerate(read_jsonl(data / "eval" / "math500.jsonl")):
        golds["solution"].append((f"math500-{i}", r["solution"], r["answer"]))
    for i, r in enumerate(read_jsonl(data / "eval" / "minerva_math.jsonl")):
        golds["solution"].append((f"minerva-{i}", r["solution"], last_boxed(r["solution"]) or "0"))
    gsm8k = read_jsonl(data / "eval" / "gsm8k_test.jsonl")
    for i in sorted(rng.sample(range(len(gsm8k)), 150)):
        golds["solution"].append((f"gsm8k-{i}", gsm8k[i]["answer"], gsm8k[i]["answer"].split("#### ")[-1].strip()))
    for i, text in enumerate(EDGE_SOLUTIONS):
        golds["solution"].append((f"edge-{i}", text, last_boxed(text) or (re.findall(r"-?\d+", text) or ["1"])[-1]))
    for i, (text, stated) in enumerate(EDGE_STATED, len(EDGE_SOLUTIONS)):
        golds["solution"].append((f"edge-{i}", text, stated))
    for name in ("aime24", "amc23"):
        for i, r in enumerate(read_jsonl(data / "eval" / f"{name}.jsonl")):
            answer = str(r["answer"])
            answer = str(int(float(answer))) if re.fullmatch(r"-?\d+(\.0+)?", answer) else answer
            golds["answer"].append((f"{name}-{i}", answer, answer))
    deepscaler = json.load(open(data / "train" / "deepscaler_math.json", encoding="utf-8"))
    for i in sorted(rng.sample(range(len(deepscaler)), 200)):
        golds["answer"].append((f"deepscaler-{i}", deepscaler[i]["answer"], deepscaler[i]["answer"]))
    for i, answer in enumerate(EDGE_ANSWERS):
        golds["answer"].append((f"edge-{i}", answer, answer))

    for field, items in golds.items():
        lines, counts = [], {}
        for gid, gold, stated in items:
            solution = gold if field == "solution" else f"${gold}$"  # Tina's grpo.py wraps an answer column
            for kind, completion in completions(stated, rng):
                content = [[{"content": completion}]]
                with contextlib.redirect_stdout(io.StringIO()):  # Tina's rewards print parse failures
                    accuracy = rewards.accuracy_reward(content, [solution])[0]
                    cos = cosine(content, [solution])[0]
                lines.append(json.dumps({"id": f"{field}-{gid}-{kind}", field: gold, "completion": completion,
                                         "accuracy": accuracy, "cosine": cos}, ensure_ascii=False))
                key = (kind, accuracy)
                counts[key] = counts.get(key, 0) + 1
        path = OUT / f"tina_{field}.jsonl.zst"
        subprocess.run(["zstd", "-19", "-q", "-f", "-o", str(path)], input=("\n".join(lines) + "\n").encode(),
                       check=True)
        print(f"{path.name}: {len(lines)} pairs; (kind, accuracy) counts: {sorted(counts.items(), key=str)}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
