"""Golden end-to-end GRPO steps (loss -> autograd -> clip -> AdamW) on the qwen2 fixture model, for bin/tina-update.

Pinned: python 3.11, torch 2.15.0 (CPU), transformers 5.24.0, peft 0.21.2, safetensors 0.8.0 (asserted below).
Run: python tests/reference/update_step.py   (writes tests/fixtures/update/; reads the fixture model
     tests/fixtures/models/qwen2-f32 and adapter qwen2-lora, from tests/reference/models.py)

Model: qwen2-f32 with the PEFT adapter qwen2-lora, float32, eager attention, eval mode (no dropout); only the LoRA A
and B weights require grad. Each sequence prompt_tokens + completion_tokens runs on its own (no padding, positions
0..n-1); the log-prob of completion token j is log_softmax(logits at position len(prompt) + j - 1)[completion[j]].

Rollouts (rollouts.jsonl): prompts p0, p1, p2 of 5, 7, 9 seeded token ids, 4 samples each, completions of 3..8 seeded
token ids (all in [0, 2048)). logprobs = the adapter policy's log-probs + N(0, OLD_SIGMA) noise (float32), so the
importance ratio is not 1 and some tokens clip (both below 1 - eps with A < 0 and above 1 + eps_high with A > 0);
ref_logprobs = the base model's (adapter disabled), exact; advantage = seeded standard normal centred per prompt
(float32 values); reward arbitrary.

One step per case, from the fixture adapter, as TRL's GRPOTrainer and Hugging Face's Trainer do it:
  loss (TRL's _compute_loss, written out in grpo_loss; every completion token in the mask), in float64 from the
      float32 log-probs of the adapter forward with grad
  loss.backward()
  grad_norm = torch.nn.utils.clip_grad_norm_(params, 1.0)   (the norm before clipping)
  torch.optim.AdamW(params, lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0).step()   (step 1, constant lr)
Cases: grpo with beta 0.04, dr_grpo with beta 0 (max_completion_length = the longest completion); eps 0.2 / 0.28.
Written: {case}/ (the updated adapter: adapter_config.json copied, adapter_model.safetensors with the same keys) and
cases.json (loss, grad_norm, clip_coef, kl_mean, clip_fraction, and the tina-update command that reproduces it).
"""
import json
import pathlib
import shutil
import sys

import peft
import safetensors
import torch
import transformers
from peft import PeftModel
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

assert sys.version_info[:2] == (3, 11), sys.version
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert peft.__version__ == "0.21.2", peft.__version__
assert safetensors.__version__ == "0.8.0", safetensors.__version__

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "models" / "qwen2-f32"
ADAPTER = ROOT / "tests" / "fixtures" / "models" / "qwen2-lora"
OUT = ROOT / "tests" / "fixtures" / "update"
REL_MODEL = "tests/fixtures/models/qwen2-f32"
REL_ADAPTER = "tests/fixtures/models/qwen2-lora"
REL_ROLLOUTS = "tests/fixtures/update/rollouts.jsonl"

SEED = 23
VOCAB = 2048
PROMPT_LENGTHS = [5, 7, 9]
SAMPLES = 4
MIN_COMPLETION, MAX_COMPLETION = 3, 8
OLD_SIGMA = 0.2  # 0.05 would put no token outside [0.8, 1.28]: |noise| must exceed about 0.22
EPS_LOW, EPS_HIGH = 0.2, 0.28
LR, BETAS, ADAM_EPS, WEIGHT_DECAY, MAX_GRAD_NORM = 1e-3, (0.9, 0.999), 1e-8, 0.0, 1.0
CASES = [{"name": "grpo", "loss_type": "grpo", "beta": 0.04},
         {"name": "dr_grpo", "loss_type": "dr_grpo", "beta": 0.0}]


def adapter_key(param_name):
    """PEFT's parameter name -> the key in adapter_model.safetensors (PEFT drops the adapter name "default")."""
    assert ".default." in param_name, param_name
    return param_name.replace(".default.", ".")


def f32(x):
    return float(torch.tensor(x, dtype=torch.float32))


def completion_logprobs(model, prompt, completion):
    """float32 log-probs of the completion tokens, (len(completion),), with grad if enabled."""
    ids = torch.tensor(prompt + completion).unsqueeze(0)
    logits = model(input_ids=ids).logits[0].float()
    n = len(prompt)
    rows = logits[n - 1:n - 1 + len(completion)]
    return torch.log_softmax(rows, dim=-1).gather(1, torch.tensor(completion).unsqueeze(1)).squeeze(1)


def grpo_loss(logps, olds, refs, advantages, loss_type, beta, max_len):
    """TRL GRPOTrainer._compute_loss over completions of different lengths (mask = every completion token), float64.

    per token: ratio = exp(logp - old); per_token = -min(ratio A, clamp(ratio, 1 - eps_low, 1 + eps_high) A)
               + beta * kl, kl = exp(ref - logp) - (ref - logp) - 1
    grpo: mean over completions of sum_t(per_token) / len;  dr_grpo: sum of per_token / (B * max_completion_length)
    Returns (loss, kl_mean over all tokens, clip_fraction = TRL's clip_ratio/region_mean)."""
    terms, kl_sum, clipped, tokens = [], 0.0, 0, 0
    for logp, old, ref, a in zip(logps, olds, refs, advantages):
        logp = logp.double()
        ratio = torch.exp(logp - old)
        per_token = -torch.min(ratio * a, torch.clamp(ratio, 1 - EPS_LOW, 1 + EPS_HIGH) * a)
        kl = torch.exp(ref - logp) - (ref - logp) - 1
        if beta != 0.0:
            per_token = per_token + beta * kl
        terms.append(per_token.sum() / len(logp) if loss_type == "grpo" else per_token.sum())
        kl_sum += float(kl.detach().sum())
        is_clipped = ((ratio < 1 - EPS_LOW) & (a < 0)) | ((ratio > 1 + EPS_HIGH) & (a > 0))
        clipped += int(is_clipped.sum())
        tokens += len(logp)
    total = torch.stack(terms).sum()
    if loss_type == "grpo":
        loss = total / len(terms)
    elif loss_type == "dr_grpo":
        loss = total / (len(terms) * max_len)
    else:
        raise ValueError(loss_type)
    return loss, kl_sum / tokens, clipped / tokens


def command(case):
    return (f"tina-update -m {REL_MODEL} -a {REL_ADAPTER} -o OUT --lr 1e-3 --schedule constant --max-grad-norm 1 "
            f"--epsilon 0.2 --epsilon-high 0.28 --loss {case['loss_type']} --beta {case['beta']:g} {REL_ROLLOUTS}")


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager"),
        ADAPTER, is_trainable=True)
    model.eval()  # dropout off (the adapter's lora_dropout is 0 anyway)
    lora = {}
    for pname, p in model.named_parameters():
        p.requires_grad_("lora_A" in pname or "lora_B" in pname)
        if p.requires_grad:
            assert p.dtype == torch.float32
            lora[adapter_key(pname)] = p
    with safe_open(ADAPTER / "adapter_model.safetensors", "pt") as f:
        keys = list(f.keys())
        initial = {k: f.get_tensor(k) for k in keys}
    assert sorted(lora) == keys, (sorted(lora), keys)
    for k in keys:
        assert torch.equal(lora[k].detach(), initial[k]), k
    params = [lora[k] for k in keys]  # the file's (sorted) key order

    # the rollouts
    gen = torch.Generator().manual_seed(SEED)
    records = []
    for i, plen in enumerate(PROMPT_LENGTHS):
        prompt = torch.randint(0, VOCAB, (plen,), generator=gen).tolist()
        lengths = torch.randint(MIN_COMPLETION, MAX_COMPLETION + 1, (SAMPLES,), generator=gen).tolist()
        adv = torch.randn(SAMPLES, generator=gen, dtype=torch.float64)
        adv = adv - adv.mean()
        rewards = torch.rand(SAMPLES, generator=gen, dtype=torch.float64)
        for s in range(SAMPLES):
            completion = torch.randint(0, VOCAB, (lengths[s],), generator=gen).tolist()
            noise = torch.randn(lengths[s], generator=gen, dtype=torch.float32)
            with torch.no_grad():
                policy = completion_logprobs(model, prompt, completion)
                with model.disable_adapter():
                    ref = completion_logprobs(model, prompt, completion)
            old = policy + OLD_SIGMA * noise
            records.append({
                "id": f"p{i}", "sample": s, "prompt_tokens": prompt, "completion_tokens": completion,
                "logprobs": [float(x) for x in old.tolist()], "ref_logprobs": [float(x) for x in ref.tolist()],
                "advantage": f32(float(adv[s])) + 0.0, "reward": round(float(rewards[s]), 4),
                "finish_reason": "length" if lengths[s] == MAX_COMPLETION else "stop",
                "_policy": policy,
            })
    all_lengths = [len(r["completion_tokens"]) for r in records]
    assert min(all_lengths) == MIN_COMPLETION and max(all_lengths) == MAX_COMPLETION, all_lengths
    max_len = max(all_lengths)
    with open(OUT / "rollouts.jsonl", "w") as f:
        for r in records:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}) + "\n")

    olds = [torch.tensor(r["logprobs"], dtype=torch.float32).double() for r in records]
    refs = [torch.tensor(r["ref_logprobs"], dtype=torch.float32).double() for r in records]
    advantages = [r["advantage"] for r in records]

    # the clipping the noise causes (with the policy's log-probs, which the step's forward reproduces)
    low = high = kept = 0
    for r, old, a in zip(records, olds, advantages):
        ratio = torch.exp(r["_policy"].double() - old)
        low += int(((ratio < 1 - EPS_LOW) & (a < 0)).sum())
        high += int(((ratio > 1 + EPS_HIGH) & (a > 0)).sum())
        kept += int((((ratio < 1 - EPS_LOW) & (a > 0)) | ((ratio > 1 + EPS_HIGH) & (a < 0))).sum())
    assert low > 0 and high > 0 and kept > 0, (low, high, kept)

    config = (ADAPTER / "adapter_config.json").read_bytes()
    doc = {
        "model": REL_MODEL, "adapter": REL_ADAPTER, "rollouts": REL_ROLLOUTS,
        "completions": len(records), "completion_tokens": sum(all_lengths), "max_completion_length": max_len,
        "epsilon_low": EPS_LOW, "epsilon_high": EPS_HIGH, "lr": LR, "schedule": "constant", "step": 1,
        "betas": list(BETAS), "eps": ADAM_EPS, "weight_decay": WEIGHT_DECAY, "max_grad_norm": MAX_GRAD_NORM,
        "old_logprob_noise_sigma": OLD_SIGMA,
        "clipped_tokens": {"low": low, "high": high, "out_of_range_unclipped": kept},
        "kl_mean": "sum over all completion tokens of kl / tokens, kl = exp(ref - logp) - (ref - logp) - 1 with logp "
                   "the adapter's log-probs before the step (recorded for beta 0 too)",
        "clip_fraction": "tokens with (ratio < 1 - eps_low and A < 0) or (ratio > 1 + eps_high and A > 0), over all "
                         "completion tokens: TRL's clip_ratio/region_mean",
        "cases": [],
    }
    for case in CASES:
        with torch.no_grad():
            for k in keys:
                lora[k].copy_(initial[k])
        model.zero_grad(set_to_none=True)
        optimizer = torch.optim.AdamW(params, lr=LR, betas=BETAS, eps=ADAM_EPS, weight_decay=WEIGHT_DECAY)
        logps = []
        for r in records:
            logp = completion_logprobs(model, r["prompt_tokens"], r["completion_tokens"])
            assert torch.equal(logp.detach(), r["_policy"]), "forward not deterministic"
            logps.append(logp)
        loss, kl_mean, clip_fraction = grpo_loss(logps, olds, refs, advantages, case["loss_type"], case["beta"],
                                                 max_len)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        clip_coef = torch.clamp(MAX_GRAD_NORM / (grad_norm + 1e-6), max=1.0)
        for p in params:
            assert p.grad is not None and torch.isfinite(p.grad).all()
        optimizer.step()

        folder = OUT / case["name"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapter_config.json").write_bytes(config)
        updated = {k: lora[k].detach().clone().contiguous() for k in keys}
        save_file(updated, folder / "adapter_model.safetensors", metadata={"format": "pt"})
        moved = max(float((updated[k] - initial[k]).abs().max()) for k in keys)
        entry = {**case, "max_completion_length": max_len, "loss": float(loss.detach()),
                 "grad_norm": float(grad_norm), "clip_coef": float(clip_coef), "kl_mean": kl_mean,
                 "clip_fraction": clip_fraction, "max_abs_change": moved,
                 "expected_adapter": f"tests/fixtures/update/{case['name']}", "command": command(case)}
        doc["cases"].append(entry)
        print(f"{case['name']:8s} loss {entry['loss']!r} grad_norm {entry['grad_norm']!r} kl_mean {kl_mean!r} "
              f"clip_fraction {clip_fraction!r} max|change| {moved:.3e}")
    print(f"{len(records)} completions, {sum(all_lengths)} tokens; clipped low {low}, high {high}; "
          f"out of range but unclipped {kept}")
    (OUT / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
