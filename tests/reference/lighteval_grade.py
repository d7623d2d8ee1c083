"""Fixture for `tina-reward --grader lighteval-*`: the verdicts of lighteval's extractive match as Tina's evaluation
configured it (scripts/eval/run_eval_custom_tasks.py at c6274cd), on (gold, completion) pairs.

Tina graded AIME24/25 and AMC23 with expr_gold_metric (gold = the `answer`, read with ExprExtractionConfig),
MATH-500, Minerva and OlympiadBench with latex_gold_metric (gold = the `solution`, or OlympiadBench's `answer`, read
with LatexExtractionConfig) and GPQA with gpqa_metric (letters, IndicesExtractionConfig("NativeLetters")); both math
metrics search the completion with ExprExtractionConfig and LatexExtractionConfig(boxed_match_priority=0), any match,
first-match fallback, 5 digits. This script builds those three metrics with lighteval's own
multilingual_extractive_match_metric and runs its sample_level_fn, so the verdicts are lighteval's, not a model of
them. lighteval is loaded from a checkout, module file by module file (its package __init__ files import
transformers, nltk and datasets, which the metric never uses: those few imports are stubbed).

Pinned (asserted): python 3.11, lighteval ed084813 (Tina's scripts/set/set_env_eval.sh), latex2sympy2_extended 1.0.6
(lighteval's `math` extra and math-verify 0.5.2's pin, both in that script), sympy 1.13.1 (torch 2.5.1's pin, which
vllm 0.7.2 in that script requires), antlr4-python3-runtime 4.13.2, numpy and huggingface_hub for the module imports.
Make the environment with
    python3.11 -m venv V && V/bin/pip install latex2sympy2_extended==1.0.6 sympy==1.13.1 \
        antlr4-python3-runtime==4.13.2 numpy huggingface_hub pycountry
Run: V/bin/python tests/reference/lighteval_grade.py LIGHTEVAL_CHECKOUT
     LIGHTEVAL_CHECKOUT: github huggingface/lighteval at ed084813 (its src/lighteval is read).
Reads the repo's data/sets/ and tests/fixtures/reward/ (golds and completions); writes
tests/fixtures/reward/lighteval.jsonl.zst, each line {id, metric, answer, completion, [choices], lighteval} with
metric "expr", "latex" or "letters" (the grader: tina-reward --grader lighteval-<metric>), answer the gold exactly as
lighteval was given it, lighteval the sample's score (1 or 0). Seeded: reruns are byte-identical.
"""
import importlib.util
import json
import logging
import pathlib
import random
import re
import subprocess
import sys
import types

from completions import last_boxed, read_jsonl
from pins import require

require({"latex2sympy2_extended": "1.0.6", "sympy": "1.13.1", "antlr4-python3-runtime": "4.13.2"})

SEED = 20261207
COMMIT = "ed084813"
REPO = pathlib.Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "reward"


def load_lighteval(checkout):
    """lighteval's dynamic_metrics with its real extraction and comparison modules; only the imports the metric does
    not use are stubs."""
    src = pathlib.Path(checkout) / "src" / "lighteval"
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    if head and not head.startswith(COMMIT):
        sys.exit(f"lighteval checkout at {head[:12]}, needs {COMMIT}")
    for package in ["lighteval", "lighteval.metrics", "lighteval.metrics.utils", "lighteval.tasks",
                    "lighteval.tasks.templates", "lighteval.tasks.templates.utils", "lighteval.utils"]:
        module = types.ModuleType(package)
        module.__path__ = [str(src.joinpath(*package.split(".")[1:]))]
        sys.modules[package] = module

    def stub(name, **names):
        module = types.ModuleType(name)
        module.__dict__.update(names)
        sys.modules[name] = module

    def as_list(item):
        return list(item) if isinstance(item, (list, tuple)) else [item]

    stub("lighteval.utils.utils", as_list=as_list, safe_divide=lambda a, b: a / b if b else 0)
    unused = {n: type(n, (), {}) for n in ["ExactMatches", "F1_score", "LoglikelihoodAcc",
                                            "NormalizedMultiChoiceProbability", "Probability"]}
    stub("lighteval.metrics.metrics_sample", **unused)
    stub("lighteval.metrics.normalizations", LogProbNormalization=object, LogProbPMINorm=object,
         LogProbTokenNorm=object, get_multilingual_normalizer=None)

    def load(name):
        spec = importlib.util.spec_from_file_location(name, src.joinpath(*name.split(".")[1:]).with_suffix(".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    for name in ["lighteval.utils.imports", "lighteval.utils.language", "lighteval.utils.timeout",
                 "lighteval.tasks.requests", "lighteval.tasks.default_prompts",
                 "lighteval.tasks.templates.utils.translation_literals", "lighteval.tasks.templates.utils.formulation",
                 "lighteval.metrics.utils.metric_utils", "lighteval.metrics.utils.math_comparison",
                 "lighteval.metrics.utils.extractive_match_utils"]:
        load(name)
    return load("lighteval.metrics.dynamic_metrics")


def tina_metrics(dm):
    """Tina's three metrics, as run_eval_custom_tasks.py builds them."""
    Language = sys.modules["lighteval.utils.language"].Language
    latex_gold = dm.multilingual_extractive_match_metric(
        language=Language.ENGLISH, fallback_mode="first_match", precision=5,
        gold_extraction_target=(dm.LatexExtractionConfig(),),
        pred_extraction_target=(dm.ExprExtractionConfig(), dm.LatexExtractionConfig(boxed_match_priority=0)),
        aggregation_function=max)
    expr_gold = dm.multilingual_extractive_match_metric(
        language=Language.ENGLISH, fallback_mode="first_match", precision=5,
        gold_extraction_target=(dm.ExprExtractionConfig(),),
        pred_extraction_target=(dm.ExprExtractionConfig(), dm.LatexExtractionConfig(boxed_match_priority=0)),
        aggregation_function=max)
    letters = dm.multilingual_extractive_match_metric(
        language=Language.ENGLISH,
        gold_extraction_target=[dm.IndicesExtractionConfig(prefix_for_extraction="NativeLetters")],
        pred_extraction_target=[dm.IndicesExtractionConfig(prefix_for_extraction="NativeLetters")],
        precision=5)
    return {"latex": latex_gold, "expr": expr_gold, "letters": letters}


def number_forms(answer, rng):
    """Other ways a model writes the number `answer` (an integer, a decimal or \\frac{p}{q}): with thousands
    separators, as a decimal to 5 or 6 digits, a plain fraction, a percentage, with units; [] when it is none."""
    a = answer.strip()
    forms = []
    m = re.fullmatch(r"-?\\d?frac\{(\d+)\}\{(\d+)\}", a.replace("\\dfrac", "\\frac")) or re.fullmatch(r"(\d+)/(\d+)", a)
    if re.fullmatch(r"-?\d+", a):
        n = int(a)
        if abs(n) >= 1000:
            forms += [f"{n:,}", f"{n:,}".replace(",", " "), f"{n:,}".replace(",", "{,}")]
        forms += [f"{n}.0", f"{n}\\%", f"{n}%", f"{n} percent", f"${n}", f"{n}\\text{{ cm}}", f"0{n}"]
    elif re.fullmatch(r"-?\d*\.\d+", a):
        x = float(a)
        forms += [f"{x:.5f}", f"{x:.6f}", f"{x * 100:g}\\%", a.rstrip("0") if "." in a else a]
    elif m:
        p, q = int(m.group(1)), int(m.group(2))
        x = p / q
        sign = "-" if a.startswith("-") else ""
        forms += [f"{sign}{p}/{q}", f"{sign}{x:.5f}", f"{sign}{x:.6f}", f"{sign}{x:.4f}", f"{sign}{x:.7f}",
                  f"{sign}\\frac{{{p * 2}}}{{{q * 2}}}", f"{sign}{round(x * 100, 3)}\\%"]
    rng.shuffle(forms)
    return forms[:4]


def off(answer, rng):
    a = answer.strip()
    if re.fullmatch(r"-?\d+", a):
        return str(int(a) + rng.choice([-1, 1, 10]))
    if re.fullmatch(r"-?\d*\.\d+", a):
        return f"{float(a) + 0.00001 * rng.choice([1, 3, 100]):.6f}"
    return a + "+1"


def completions(answer, rng):
    """(kind, completion) written the ways a distill answers, for the gold whose final answer is `answer`."""
    think = rng.choice(["Okay, let me work through it.", "Let me compute step by step.\nFirst, 3 + 4 = 7.",
                        "We have x = 2 and y = 5, so the total is 12.", "Hmm, 50% of the time; 1,000 tries."])
    out = [
        ("template", f"{think}\n</think>\n\nTherefore, the final answer is: $\\boxed{{{answer}}}$. I hope it is correct"),
        ("boxed", f"{think}\n</think>\n\nSo the answer is $\\boxed{{{answer}}}$."),
        ("final_plain", f"{think}\n</think>\n\nThe final answer is {answer}."),
        ("plain_end", f"{think}\n</think>\n\nAdding everything up we get {answer}"),
        ("answer_colon", f"{think}\n</think>\n\n**Answer:** {answer}"),
        ("wrong_boxed", f"{think}\n</think>\n\nTherefore, the final answer is: $\\boxed{{{off(answer, rng)}}}$. I hope it is correct"),
        ("hedge", f"{think}\n</think>\n\nIt is $\\boxed{{{off(answer, rng)}}}$, or maybe $\\boxed{{{answer}}}$."),
        ("inline", f"{think}\n</think>\n\nThus $x = {answer}$."),
        ("truncated", f"{think} and then we continue with the next case where"),
    ]
    for i, form in enumerate(number_forms(answer, rng)):
        style = rng.choice(["boxed", "final", "plain", "inline"])
        text = {"boxed": f"So the result is $\\boxed{{{form}}}$.",
                "final": f"Therefore, the final answer is: {form}. I hope it is correct",
                "plain": f"which gives {form}", "inline": f"The answer is ${form}$."}[style]
        out.append((f"form{i}_{style}", f"{think}\n</think>\n\n{text}"))
    return out


LETTER_COMPLETIONS = [
    "Answer: {g}", "Answer: {w}", "The answer is ({g}).", "**Answer: {g}**", "so the answer is {g}", "\\boxed{{{g}}}",
    "$\\boxed{{{g}}}$", "Final answer: {g}", "The final answer is {g}. I hope it is correct", "{g}) is right",
    "{g}", "I think {w} but actually Answer: {g}", "Answer: {g}\nWait, no. Answer: {w}", "**{g}**",
    "The correct option is {g}.", "Between {w} and {g}, I pick {g}.", "answer:{g}", "ANSWER: ({g})",
    "Answer: $\\boxed{{{g}}}$", "After checking, {w}.", "None of the above", "", "A. B. C. D.",
    "The final answer is ({g})", "Answer: option {g}", "{w}. No wait, Answer: {g}.", "Choice {g}, since {w} fails",
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: lighteval_grade.py LIGHTEVAL_CHECKOUT (github huggingface/lighteval at ed084813)")
    logging.disable(logging.WARNING)  # the metric warns on every completion without an answer
    dm = load_lighteval(sys.argv[1])
    metrics = tina_metrics(dm)
    Doc = sys.modules["lighteval.tasks.requests"].Doc
    rng = random.Random(SEED)
    sets = REPO / "data" / "sets"
    pairs = []  # (id, metric, gold, completion, choices)

    # latex: MATH-500 and Minerva golds are their solutions (Tina's math_prompt_fn, minerva_prompt_fn)
    for name in ("math500", "minerva"):
        for i, r in enumerate(read_jsonl(sets / f"{name}.jsonl")):
            stated = last_boxed(r["solution"]) or r["answer"]
            for kind, c in rng.sample(completions(stated, rng), 5):
                pairs.append((f"{name}-{i}-{kind}", "latex", r["solution"], c, None))
    # expr: AIME and AMC answers (aime_prompt_fn, amc_prompt_fn), every completion kind
    for name in ("aime24", "aime25", "amc23"):
        for i, r in enumerate(read_jsonl(sets / f"{name}.jsonl")):
            for kind, c in completions(str(r["answer"]), rng):
                pairs.append((f"{name}-{i}-{kind}", "expr", str(r["answer"]), c, None))
    # the reward corpus's golds and completions (decimals, fractions, percentages, units, thousands, sets, ...)
    # under both math metrics: an answer read as an expression (expr_gold_metric) and as LaTeX (latex_gold_metric
    # on OlympiadBench's answer column, where a bare answer often extracts nothing and stays a string)
    corpus = read_jsonl(OUT / "corpus.jsonl.zst")
    for metric, count in (("expr", 700), ("latex", 500)):
        for r in rng.sample(corpus, count):
            pairs.append((f"corpus-{metric}-{r['id']}", metric, r["answer"], r["completion"], None))
    # Tina's own fixtures' completions against their worked-solution golds
    for r in rng.sample(read_jsonl(OUT / "tina_solution.jsonl.zst"), 300):
        pairs.append((f"tina-{r['id']}", "latex", r["solution"], r["completion"], None))
    # deepscaler answers (fractions, radicals, decimals) as expression golds, with the generated completions
    deepscaler = read_jsonl(sets / "deepscaler_math.jsonl.zst")
    for r in rng.sample(deepscaler, 60):
        for kind, c in rng.sample(completions(r["answer"], rng), 4):
            pairs.append((f"deepscaler-{r['id']}-{kind}", "expr", r["answer"], c, None))
    # letters: GPQA-style completions (gpqa_prompt_fn: choices A to D, the gold a letter)
    for i in range(420):
        g, w = rng.sample("ABCD", 2)
        template = LETTER_COMPLETIONS[i % len(LETTER_COMPLETIONS)]
        think = rng.choice(["Let me think.", "Option A is wrong because of B's charge.", "Hmm."])
        pairs.append((f"gpqa-{i}", "letters", g, f"{think}\n</think>\n\n" + template.format(g=g, w=w),
                      ["first option", "second option", "third option", "fourth option"]))

    lines, counts = [], {}
    for pid, metric, gold, completion, choices in pairs:
        if metric == "letters":
            doc = Doc(query="", choices=["A", "B", "C", "D"], gold_index="ABCD".index(gold), task_name="gpqa")
        else:
            doc = Doc(query="", choices=[gold], gold_index=0, task_name=metric)
        score = metrics[metric].sample_level_fn(golds=[gold], predictions=[completion], formatted_doc=doc)
        record = {"id": pid, "metric": metric, "answer": gold, "completion": completion}
        if choices:
            record["choices"] = choices
        record["lighteval"] = int(score)
        lines.append(json.dumps(record, ensure_ascii=False))
        counts[(metric, int(score))] = counts.get((metric, int(score)), 0) + 1
    path = OUT / "lighteval.jsonl.zst"
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", str(path)], input=("\n".join(lines) + "\n").encode(), check=True)
    print(f"{path.name}: {len(lines)} pairs; (metric, score) counts: {sorted(counts.items())}", file=sys.stderr)


if __name__ == "__main__":
    main()
