"""SmolLM2-135M-Instruct evaluated on GSM8K by tina's evaluation pipeline, its accuracy verdicts checked one by one
against Math-Verify, and its sampling speed against transformers' generate on the same prompts, in one run. Needs the
model (make smollm2); run by hand or by `make eval-real`, not in CI (about 45 minutes on 2 cores).

Pinned: python 3.11, torch 2.15.0, transformers 5.24.0, math-verify 0.9.0, latex2sympy2_extended 1.11.0 (asserted).
Run: python tests/reference/eval_smollm2.py MODEL_DIR TINA_BIN WORK_DIR

1. The first 200 problems of data/sets/gsm8k.jsonl through pipelines/eval.mk with the smollm2 chat template and
   eval.mk's \\boxed{} suffix, 512 new tokens at most: greedy (N=1, temperature 0) and N=4 at temperature 0.6
   (top-p 0.95). tina-score's pass@1 from scores.json.
2. Every completion's accuracy verdict from tina-reward against open-r1's accuracy reward (Math-Verify's parse and
   verify, as tests/reference/reward_corpus.py calls them): the counts must agree exactly.
3. transformers' greedy generate on the same 200 rendered prompts (f32, batches of 32 left-padded, stopping at
   <|im_end|>) against the greedy eval's tina-sample: completion tokens per second of wall time, each on 2 threads.
Writes WORK_DIR/summary.json and prints it; exits 1 if a verdict disagrees.
"""
import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

assert sys.version_info[:2] == (3, 11), sys.version
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
for package, version in {"math-verify": "0.9.0", "latex2sympy2_extended": "1.11.0"}.items():
    assert importlib.metadata.version(package) == version, f"{package} {importlib.metadata.version(package)}"

import open_r1  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBLEMS, NEW_TOKENS, EOS, HF_BATCH = 200, 512, 2, 32
def math_verify_accuracy(gold, completion):
    """open-r1's accuracy reward; None when the gold does not parse."""
    return open_r1.label(gold, completion)[2]


def read_rollouts(path):
    raw = subprocess.run(["zstd", "-dc", str(path)], check=True, capture_output=True).stdout
    return [json.loads(line) for line in raw.decode("utf-8", "surrogateescape").split("\n") if line.strip()]


def evaluate(name, tina, model, problems, work, n, temperature):
    out = work / name
    start = time.perf_counter()
    subprocess.run(["make", "-s", "-f", "pipelines/eval.mk", f"TINA_BIN={tina}", f"OUT={out}", f"MODEL={model}",
                    f"SETS={problems}", f"N={n}", f"TEMPERATURE={temperature}", "TEMPLATE=smollm2",
                    f"MAX_NEW_TOKENS={NEW_TOKENS}", "K=1" if n == 1 else "K=1,4", "THREADS=2"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    rollouts = read_rollouts(out / f"{problems.stem}.rewarded.jsonl.zst")
    scores = json.loads((out / "scores.json").read_text())
    agree = disagree = 0
    for r in rollouts:
        reference = math_verify_accuracy(r["answer"], r["completion"])
        if reference == r["rewards"]["accuracy"]:
            agree += 1
        else:
            disagree += 1
            print(f"  {name} {r['id']} sample {r['sample']}: tina {r['rewards']['accuracy']}, Math-Verify "
                  f"{reference}", file=sys.stderr)
    tokens = sum(len(r["completion_tokens"]) for r in rollouts)
    return rollouts, {"rollouts": len(rollouts), "scores": scores, "verdicts_agree": agree,
                      "verdicts_disagree": disagree, "accuracy": sum(r["rewards"]["accuracy"] for r in rollouts) /
                      len(rollouts), "completion_tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds}


def transformers_greedy(model, rollouts):
    """Completion tokens per second of transformers' greedy generate on the same prompts."""
    torch.set_num_threads(2)
    hf = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
    prompts = [r["prompt_tokens"] for r in rollouts]
    tokens, start = 0, time.perf_counter()
    for b in range(0, len(prompts), HF_BATCH):
        batch = prompts[b:b + HF_BATCH]
        width = max(map(len, batch))
        ids = torch.tensor([[EOS] * (width - len(p)) + p for p in batch])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch])
        with torch.no_grad():
            out = hf.generate(ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, do_sample=False,
                              eos_token_id=EOS, pad_token_id=EOS)[:, width:].tolist()
        for row in out:
            tokens += row.index(EOS) + 1 if EOS in row else len(row)
    seconds = time.perf_counter() - start
    return {"completion_tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds}


def main():
    model, tina, work = (pathlib.Path(a).resolve() for a in sys.argv[1:4])
    work.mkdir(parents=True, exist_ok=True)
    problems = work / "gsm8k200.jsonl"
    problems.write_text("".join((ROOT / "data/sets/gsm8k.jsonl").read_text().splitlines(True)[:PROBLEMS]))
    summary = {}
    greedy, summary["greedy"] = evaluate("greedy", tina, model, problems, work, 1, 0)
    _, summary["sampled"] = evaluate("sampled", tina, model, problems, work, 4, 0.6)
    summary["transformers_greedy"] = transformers_greedy(model, greedy)
    summary["tina_vs_transformers"] = summary["greedy"]["tokens_per_s"] / summary["transformers_greedy"]["tokens_per_s"]
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    sys.exit(0 if summary["greedy"]["verdicts_disagree"] + summary["sampled"]["verdicts_disagree"] == 0 else 1)


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
main()
