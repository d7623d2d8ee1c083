"""A trained adapter as PEFT reads it: bench/runs/smollm2-arith's LoRA adapter (tina's PEFT layout) loaded by PEFT onto
SmolLM2-135M-Instruct (tests/reference/get_smollm2.py), and the log-probs it gives the held-out completions that
tina sampled with that adapter equal to those tina recorded while sampling. Run by hand (it needs the model), not in CI.

Pinned: python 3.11, torch 2.15.0, transformers 5.24.0, peft 0.21.2 (asserted below).
Run: python tests/reference/check_smollm2_adapter.py MODEL_DIR ADAPTER_DIR ROLLOUTS [N]
     ROLLOUTS: JSON lines (plain or .zst) that tina-sample wrote with that adapter; the first N (default 64) are checked.

Prints one line and a JSON summary; exits 1 if a log-prob differs from tina's by 1e-4 or more (check_smollm2.py's
bound for the base model: tina's decoding and a dense forward part by about 1e-5 over 30 layers).
"""
import importlib.metadata
import json
import pathlib
import subprocess
import sys

import torch
import transformers
from peft import PeftModel
from transformers import AutoModelForCausalLM

assert sys.version_info[:2] == (3, 11), sys.version
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert importlib.metadata.version("peft") == "0.21.2", importlib.metadata.version("peft")


def records(path, n):
    raw = subprocess.run(["zstd", "-dcf", str(path)], check=True, capture_output=True).stdout.decode()
    return [json.loads(line) for line in raw.splitlines() if line.strip()][:n]


def main():
    model, adapter, rollouts = (pathlib.Path(a) for a in sys.argv[1:4])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    base = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, attn_implementation="eager")
    peft = PeftModel.from_pretrained(base, adapter).eval()
    worst, tokens, sequences = 0.0, 0, 0
    for r in records(rollouts, n):
        ids = r["prompt_tokens"] + r["completion_tokens"]
        with torch.no_grad():
            logp = torch.log_softmax(peft(torch.tensor([ids])).logits[0].double(), dim=-1)
        start = len(r["prompt_tokens"])
        want = [logp[start - 1 + i, t].item() for i, t in enumerate(r["completion_tokens"])]
        worst = max([worst] + [abs(a - b) for a, b in zip(want, r["logprobs"])])
        tokens += len(want)
        sequences += 1
    ok = sequences > 0 and worst < 1e-4
    print(f"PEFT {importlib.metadata.version('peft')} with {adapter}: {sequences} sequences, {tokens} completion "
          f"tokens, max abs log-prob difference from tina's sampling {worst:.2e}")
    print(json.dumps({"sequences": sequences, "tokens": tokens, "max_abs_vs_sampling": worst, "passed": ok}))
    sys.exit(0 if ok else 1)


main()
