"""Golden optimizer steps for LoRA training: gradient-norm clipping, AdamW and the cosine-with-min-lr schedule.

Pinned: python 3.11, torch 2.15.0 (CPU), transformers 5.24.0, peft 0.21.2, safetensors 0.8.0 (asserted below).
Run: python tests/reference/optimizer.py   (writes tests/fixtures/optimizer/; reads the qwen2 fixture
     adapter tests/fixtures/models/qwen2-lora, from models.py, and its gradients tests/fixtures/gradients/qwen2-grads,
     from gradients.py)

Parameters: the 28 LoRA A/B matrices of tests/fixtures/models/qwen2-lora/adapter_model.safetensors (float32), as torch
leaf tensors in the file's key order (sorted, as safetensors stores them). Two steps, each with fixed gradients:
  step 1: G, the tensors of tests/fixtures/gradients/qwen2-grads/adapter_model.safetensors
  step 2: 0.5 * G + 0.001 * N (float32), N seeded standard normal of the same shapes; written as step2-grads.safetensors
Each step, as Hugging Face's Trainer does it:
  total_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)   (returns the norm before clipping)
  optimizer.step()    torch.optim.AdamW(lr, betas (0.9, 0.999), eps 1e-8, weight_decay wd), CPU single-tensor path
  scheduler.step()    transformers.get_cosine_with_min_lr_schedule_with_warmup(W, N, min_lr_rate 0.1)
Three cases (CASES below). For each: the parameters after each step as a PEFT adapter directory, the AdamW state after
step 2, and in cases.json the lr, the norm before clipping and the clip coefficient of each step. The script also
re-computes everything from the written-out formulas (float64, and float32 in torch's operation order) and prints how
far they are from torch's float32 results, for choosing the C test's tolerance.
"""
import json
import math
import pathlib
import shutil
import sys

import peft
import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import get_cosine_with_min_lr_schedule_with_warmup

assert sys.version_info[:2] == (3, 11), sys.version
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert peft.__version__ == "0.21.2", peft.__version__
assert safetensors.__version__ == "0.8.0", safetensors.__version__

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "tests" / "fixtures" / "models" / "qwen2-lora"
GRADS = ROOT / "tests" / "fixtures" / "gradients" / "qwen2-grads"
OUT = ROOT / "tests" / "fixtures" / "optimizer"

BETAS = (0.9, 0.999)
EPS = 1e-8
MIN_LR_RATE = 0.1
NOISE_SEED = 31
NOISE_SCALE = 0.001
CASES = [
    # Tina's settings (lr 1e-6, clip 1.0, no weight decay, 10% warmup) at the very start of a 1500-step run
    {"name": "tina", "lr": 1e-6, "max_norm": 1.0, "weight_decay": 0.0, "num_training_steps": 1500,
     "num_warmup_steps": math.ceil(0.1 * 1500)},
    # a large lr and a 1-step warmup, so that step 2 moves the parameters visibly
    {"name": "visible", "lr": 1e-3, "max_norm": 1.0, "weight_decay": 0.0, "num_training_steps": 10,
     "num_warmup_steps": 1},
    # no warmup, no clipping in effect, decoupled weight decay
    {"name": "decay_noclip", "lr": 1e-3, "max_norm": 1e9, "weight_decay": 0.01, "num_training_steps": 10,
     "num_warmup_steps": 0},
]


def read(path):
    with safe_open(path, "pt") as f:
        keys = list(f.keys())
        return keys, {k: f.get_tensor(k) for k in keys}


def schedule_factor(step, warmup, total, min_lr_rate, num_cycles=0.5):
    """transformers' _get_cosine_schedule_with_warmup_lr_lambda (the min_lr_rate version), written out."""
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    return max(0, factor * (1 - min_lr_rate) + min_lr_rate)


def replica(keys, params0, grads_per_step, case, dtype, torch_order):
    """The step written out: clip, then AdamW. torch_order=True follows torch's float32 operations (lerp, sqrt(v) /
    sqrt(bc2)); False is the textbook formula. Returns the parameters and (m, v) after each step."""
    b1, b2 = BETAS
    p = {k: params0[k].to(dtype).clone() for k in keys}
    m = {k: torch.zeros_like(p[k]) for k in keys}
    v = {k: torch.zeros_like(p[k]) for k in keys}
    out = []
    for t, grads in enumerate(grads_per_step, start=1):
        g = {k: grads[k].to(dtype) for k in keys}
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g[k]) for k in keys]))
        coef = torch.clamp(case["max_norm"] / (norm + 1e-6), max=1.0)
        lr = case["lr"] * schedule_factor(t - 1, case["num_warmup_steps"], case["num_training_steps"], MIN_LR_RATE)
        for k in keys:
            gk = g[k] * coef
            if case["weight_decay"] != 0:
                p[k] = p[k] * (1 - lr * case["weight_decay"])
            if torch_order:
                m[k] = m[k].lerp(gk, 1 - b1)
                v[k] = v[k] * b2 + (1 - b2) * gk * gk
                denom = v[k].sqrt() / (1 - b2 ** t) ** 0.5 + EPS
                p[k] = p[k] - (lr / (1 - b1 ** t)) * m[k] / denom
            else:
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                p[k] = p[k] - lr * (m[k] / (1 - b1 ** t)) / (torch.sqrt(v[k] / (1 - b2 ** t)) + EPS)
        out.append(({k: p[k].clone() for k in keys}, {k: m[k].clone() for k in keys},
                    {k: v[k].clone() for k in keys}, float(norm), float(coef), lr))
    return out


def run_case(case, keys, params0, grads_per_step, config):
    params = [params0[k].clone().requires_grad_(True) for k in keys]
    optimizer = torch.optim.AdamW(params, lr=case["lr"], betas=BETAS, eps=EPS, weight_decay=case["weight_decay"])
    scheduler = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, num_warmup_steps=case["num_warmup_steps"], num_training_steps=case["num_training_steps"],
        min_lr_rate=MIN_LR_RATE)
    steps = []
    for t, grads in enumerate(grads_per_step, start=1):
        for p, k in zip(params, keys):
            p.grad = grads[k].clone()
        total_norm = torch.nn.utils.clip_grad_norm_(params, case["max_norm"])
        # the coefficient clip_grad_norm_ multiplied the gradients by, computed as torch computes it
        coef = torch.clamp(case["max_norm"] / (total_norm + 1e-6), max=1.0)
        for p, k in zip(params, keys):
            assert torch.equal(p.grad, grads[k] * coef), k
        (lr,) = scheduler.get_last_lr()
        assert lr == optimizer.param_groups[0]["lr"]
        assert lr == case["lr"] * schedule_factor(t - 1, case["num_warmup_steps"], case["num_training_steps"],
                                                   MIN_LR_RATE)
        optimizer.step()
        scheduler.step()
        steps.append({"step": t, "lr": lr, "grad_norm": float(total_norm), "clip_coef": float(coef)})

        folder = OUT / f"{case['name']}-step{t}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapter_config.json").write_bytes(config)
        save_file({k: p.detach().clone().contiguous() for p, k in zip(params, keys)},
                  folder / "adapter_model.safetensors", metadata={"format": "pt"})

    state = {}
    for p, k in zip(params, keys):
        s = optimizer.state[p]
        assert float(s["step"]) == len(grads_per_step)
        assert s["exp_avg"].dtype == torch.float32 and s["exp_avg_sq"].dtype == torch.float32
        state[f"{k}.exp_avg"] = s["exp_avg"].clone().contiguous()
        state[f"{k}.exp_avg_sq"] = s["exp_avg_sq"].clone().contiguous()
    save_file(state, OUT / f"{case['name']}-state.safetensors", metadata={"format": "pt"})

    # the written-out formulas against torch (printed; asserted loosely)
    final = {k: p.detach() for p, k in zip(params, keys)}
    for dtype, torch_order, label in ((torch.float64, False, "float64 textbook"),
                                      (torch.float32, True, "float32 torch order"),
                                      (torch.float32, False, "float32 textbook")):
        rep = replica(keys, params0, grads_per_step, case, dtype, torch_order)
        p2, m2, v2, _, _, _ = rep[-1]
        for (_, _, _, norm, coef, lr), s in zip(rep, steps):
            assert lr == s["lr"]
            assert abs(norm - s["grad_norm"]) <= 1e-5 * s["grad_norm"], (label, norm, s)
            assert abs(coef - s["clip_coef"]) <= 1e-5 * s["clip_coef"], (label, coef, s)
        dp = max(float((p2[k].double() - final[k].double()).abs().max()) for k in keys)
        moved = max(float((final[k].double() - params0[k].double()).abs().max()) for k in keys)
        dm = max(float(((m2[k].double() - state[f"{k}.exp_avg"].double()).abs().max())
                       / state[f"{k}.exp_avg"].abs().max()) for k in keys)
        dv = max(float(((v2[k].double() - state[f"{k}.exp_avg_sq"].double()).abs().max())
                       / state[f"{k}.exp_avg_sq"].abs().max()) for k in keys)
        print(f"  {case['name']:12s} vs {label:20s}: params max|diff| {dp:.2e} (max movement {moved:.2e}); "
              f"exp_avg rel {dm:.2e}; exp_avg_sq rel {dv:.2e}")
        assert dp <= 1e-3 * max(moved, 1e-12) + 1e-7, (label, dp, moved)
        assert dm <= 1e-5 and dv <= 1e-5, (label, dm, dv)
    return steps


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    keys, params0 = read(ADAPTER / "adapter_model.safetensors")
    gkeys, g1 = read(GRADS / "adapter_model.safetensors")
    assert gkeys == keys, "gradient keys differ from the adapter's"
    for k in keys:
        assert params0[k].dtype == torch.float32 and g1[k].dtype == torch.float32, k
        assert params0[k].shape == g1[k].shape, k

    gen = torch.Generator().manual_seed(NOISE_SEED)
    g2 = {}
    for k in keys:  # in key order
        noise = torch.randn(g1[k].shape, generator=gen, dtype=torch.float32)
        g2[k] = (0.5 * g1[k] + NOISE_SCALE * noise).contiguous()
    save_file(g2, OUT / "step2-grads.safetensors", metadata={"format": "pt"})

    config = (ADAPTER / "adapter_config.json").read_bytes()
    record = {
        "parameters": "tests/fixtures/models/qwen2-lora/adapter_model.safetensors (float32, 28 LoRA A/B matrices, "
                      "taken in the file's sorted key order)",
        "gradients": {"step1": "tests/fixtures/gradients/qwen2-grads/adapter_model.safetensors",
                      "step2": "tests/fixtures/optimizer/step2-grads.safetensors "
                               f"(0.5 * step1 + {NOISE_SCALE} * seeded standard normal, float32)"},
        "betas": list(BETAS), "eps": EPS, "min_lr_rate": MIN_LR_RATE, "num_cycles": 0.5,
        "cases": [],
    }
    for case in CASES:
        steps = run_case(case, keys, params0, [g1, g2], config)
        record["cases"].append({**case, "steps": steps})
        for s in steps:
            print(f"{case['name']:12s} step {s['step']}: lr {s['lr']!r} grad_norm {s['grad_norm']!r} "
                  f"clip_coef {s['clip_coef']!r}")
    (OUT / "cases.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
