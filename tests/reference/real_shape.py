"""Checks once (not in CI: 3.5 GB of weights) that a random-weight model of the real DeepSeek-R1-Distill-Qwen-1.5B
shape loads in tina and matches transformers on a short prompt. Prints the worst relative L2 error of the logits and
both load and forward times.

Pinned: python 3.11, torch 2.15.0 (CPU), transformers 5.24.0. Run after `make`:
python tests/reference/real_shape.py WORKDIR   (WORKDIR outside the repo, with 10 GB free)
"""
import pathlib
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, Qwen2Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
work = pathlib.Path(sys.argv[1])
model_dir = work / "distill-random"
prompt = [151646, 151644, 3838, 374, 400, 16, 10, 16, 3, 30, 151645, 151648, 198]  # "What is $1+1$?" rendered

if not (model_dir / "model.safetensors").exists():
    config = Qwen2Config.from_pretrained(ROOT / "data/models/deepseek-r1-distill-qwen-1.5b")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(model_dir)
    del model

t0 = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
t1 = time.perf_counter()
with torch.no_grad():
    want = model(torch.tensor([prompt])).logits[0].float()
t2 = time.perf_counter()
params = sum(p.numel() for p in model.parameters())
del model
subprocess.run([str(ROOT / "build/bench/model_logits"), str(model_dir), str(work / "tina-logits.safetensors")]
               + [str(t) for t in prompt], check=True)
got = load_file(work / "tina-logits.safetensors")["logits"]
errors = ((got - want).norm(dim=-1) / want.norm(dim=-1))
print(f"{params} parameters, {len(prompt)} tokens: worst relative L2 error of tina's logits vs transformers "
      f"{errors.max().item():.2e}; transformers load {t1 - t0:.1f} s, forward {t2 - t1:.3f} s")
