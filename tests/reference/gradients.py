"""Golden LoRA gradients (PEFT) and GRPO loss values and gradients (TRL's formulas), for tina's backward pass and loss.

Pinned: python 3.11, torch 2.15.0 (CPU), transformers 5.24.0, peft 0.21.2, safetensors 0.8.0 (asserted below).
Run: python tests/reference/gradients.py   (writes tests/fixtures/gradients/; reads the fixture models
     and adapters that tests/reference/models.py wrote to tests/fixtures/models/)

Part 1, LoRA gradients, for qwen2 and llama: the f32 fixture model with its fixture adapter (PEFT, float32, eager
attention, eval mode so no dropout; only the LoRA A and B weights require grad). Four sequences of 9, 16, 5 and 150
random token ids, each run on its own (no padding, positions 0..n-1). For sequence s and position t in 0..n-2,
logp[s][t] = log_softmax(logits[t])[tokens[t+1]]; with seeded standard-normal coefficients c[s][t] the loss is
L = sum_s sum_t c[s][t] * logp[s][t] (float32). Written: {name}.json (tokens, coefficients, logprobs, loss) and
{name}-grads/, an adapter directory (the fixture adapter's adapter_config.json and an adapter_model.safetensors with
dL/dA and dL/dB under the adapter's own keys), so the C side reads the expected gradients with its adapter loader.

Part 2, the GRPO loss, on made-up per-token arrays (no model): loss.json. The loss, written out in grpo_loss below,
follows TRL's GRPOTrainer._compute_loss (TRL 1.x, token-level importance sampling, one process, no gradient
accumulation, no vLLM correction, no entropy mask) and, for old_logp == logp and loss_type grpo, TRL 0.15.2's loss
(checked against its formula, written out in trl_0_15_2_loss). Computed in float64; inputs are float32 values.
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
MODELS = ROOT / "tests" / "fixtures" / "models"
OUT = ROOT / "tests" / "fixtures" / "gradients"
VOCAB = 2048
LENGTHS = [9, 16, 5, 150]  # 150: several of the training attention's 64-query blocks, the last one partial


# ---------------------------------------------------------------------------------------------------------------
# Part 1: LoRA gradients


def adapter_key(param_name):
    """PEFT's parameter name -> the key in adapter_model.safetensors (PEFT drops the adapter name "default")."""
    assert ".default." in param_name, param_name
    return param_name.replace(".default.", ".")


def lora_gradients(name, seed):
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(MODELS / f"{name}-f32", dtype=torch.float32,
                                             attn_implementation="eager"),
        MODELS / f"{name}-lora", is_trainable=True)
    model.eval()  # dropout off (the adapter's lora_dropout is 0 anyway)
    lora_params = {}
    for pname, p in model.named_parameters():
        p.requires_grad_("lora_A" in pname or "lora_B" in pname)
        if p.requires_grad:
            assert p.dtype == torch.float32
            lora_params[adapter_key(pname)] = p

    gen = torch.Generator().manual_seed(seed)
    tokens = [torch.randint(0, VOCAB, (n,), generator=gen) for n in LENGTHS]
    coefficients = [torch.randn(n - 1, generator=gen, dtype=torch.float32) for n in LENGTHS]

    model.zero_grad(set_to_none=True)
    total = torch.zeros((), dtype=torch.float32)
    logprobs = []
    for ids, c in zip(tokens, coefficients):
        logits = model(input_ids=ids.unsqueeze(0)).logits[0].float()  # (n, V), positions 0..n-1
        logp = torch.log_softmax(logits[:-1], dim=-1).gather(1, ids[1:].unsqueeze(1)).squeeze(1)  # (n-1,)
        logprobs.append(logp.detach().clone())
        total = total + (c * logp).sum()  # per-sequence sum, then the sequences in order
    total.backward()

    # the gradients, under exactly the adapter file's keys and shapes
    with safe_open(MODELS / f"{name}-lora" / "adapter_model.safetensors", "pt") as f:
        keys = sorted(f.keys())
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
    assert sorted(lora_params) == keys, (sorted(lora_params), keys)
    grads = {}
    for k in keys:
        g = lora_params[k].grad
        assert g is not None and tuple(g.shape) == shapes[k] and g.dtype == torch.float32, k
        assert torch.isfinite(g).all() and g.abs().max() > 0, k
        grads[k] = g.detach().clone().contiguous()

    folder = OUT / f"{name}-grads"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MODELS / f"{name}-lora" / "adapter_config.json", folder / "adapter_config.json")
    save_file(grads, folder / "adapter_model.safetensors", metadata={"format": "pt"})

    record = {
        "model": f"tests/fixtures/models/{name}-f32",
        "adapter": f"tests/fixtures/models/{name}-lora",
        "loss_definition": "sum over s, t in 0..n-2 of coefficients[s][t] * logprobs[s][t], "
                           "logprobs[s][t] = log_softmax(logits of tokens[s] at position t)[tokens[s][t+1]]",
        "tokens": [t.tolist() for t in tokens],
        "coefficients": [[float(x) for x in c.tolist()] for c in coefficients],
        "logprobs": [[float(x) for x in lp.tolist()] for lp in logprobs],
        "loss": float(total.detach()),
    }
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")

    # how far float32 is from float64 here (printed, for choosing the C test's tolerance; not part of the fixture)
    model64 = model.double()
    model64.zero_grad(set_to_none=True)
    total64 = torch.zeros((), dtype=torch.float64)
    for ids, c in zip(tokens, coefficients):
        logits = model64(input_ids=ids.unsqueeze(0)).logits[0]
        logp = torch.log_softmax(logits[:-1], dim=-1).gather(1, ids[1:].unsqueeze(1)).squeeze(1)
        total64 = total64 + (c.double() * logp).sum()
    total64.backward()
    worst = 0.0
    for pname, p in model64.named_parameters():
        if p.requires_grad:
            g32, g64 = grads[adapter_key(pname)].double(), p.grad
            worst = max(worst, float((g32 - g64).abs().max() / g64.abs().max()))
    print(f"{name}: loss {record['loss']!r} (float64 {float(total64.detach())!r}); "
          f"float32 vs float64 gradients: max |diff| / max |grad| per tensor = {worst:.2e}")


# ---------------------------------------------------------------------------------------------------------------
# Part 2: the GRPO loss

B, TM = 4, 6  # batch, max completion length (TRL's max_completion_length, which dr_grpo divides by)
ROW_LENGTHS = [6, 4, 1, 5]  # completion mask: 1 up to and including the first EOS, 0 after
LOSS_TYPES = ["grpo", "bnpo", "dr_grpo", "dapo"]
BETAS = [0.0, 0.04]
EPS_LOW, EPS_HIGH = 0.2, 0.28


def grpo_loss(logp, old_logp, ref_logp, mask, advantages, loss_type, beta, eps_low, eps_high, max_len):
    """TRL GRPOTrainer._compute_loss, written out. Returns (loss, per-token kl, clipped-token indicator).

    per token: ratio = exp(logp - old_logp); clipped = clamp(ratio, 1 - eps_low, 1 + eps_high)
               per_token = -min(ratio * A, clipped * A)
               beta != 0: kl = exp(ref_logp - logp) - (ref_logp - logp) - 1; per_token += beta * kl
    aggregation:
      grpo:    mean over sequences of sum_t(per_token * mask) / sum_t(mask)
      bnpo:    sum(per_token * mask) / sum(mask)
      dr_grpo: sum(per_token * mask) / (B * max_completion_length)
      dapo:    sum(per_token * mask) / num_items_in_batch, the number of completion tokens in the whole generation
               batch over all processes (divided by num_processes, times grad_accum / steps_per_generation); with one
               process and no accumulation that is sum(mask), so dapo equals bnpo here.
    (TRL clamps each mask sum to at least 1; every row here has at least one token.)
    """
    A = advantages.unsqueeze(1)
    ratio = torch.exp(logp - old_logp)
    clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)
    per_token = -torch.min(ratio * A, clipped * A)
    kl = torch.exp(ref_logp - logp) - (ref_logp - logp) - 1
    if beta != 0.0:
        per_token = per_token + beta * kl
    if loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    elif loss_type in ("bnpo", "dapo"):
        loss = (per_token * mask).sum() / mask.sum().clamp(min=1.0)
    elif loss_type == "dr_grpo":
        loss = (per_token * mask).sum() / (per_token.size(0) * max_len)
    else:
        raise ValueError(loss_type)
    # TRL's clip_ratio/region_mean: the clipped term is the one min() takes and it differs from the unclipped one
    is_clipped = ((ratio < 1 - eps_low) & (A < 0)) | ((ratio > 1 + eps_high) & (A > 0))
    return loss, kl.detach(), is_clipped


def trl_0_15_2_loss(logp, ref_logp, mask, advantages, beta):
    """TRL 0.15.2 GRPOTrainer.compute_loss (default beta 0.04; no clipping, ratio exp(logp - logp.detach()))."""
    per_token_kl = torch.exp(ref_logp - logp) - (ref_logp - logp) - 1
    per_token_loss = torch.exp(logp - logp.detach()) * advantages.unsqueeze(1)
    per_token_loss = -(per_token_loss - beta * per_token_kl)
    return ((per_token_loss * mask).sum(dim=1) / mask.sum(dim=1)).mean()


def f32(x):
    """float64 tensor holding float32 values (so that a float32 reader gets the inputs exactly)."""
    return x.float().double()


def nested(x):
    return [[v + 0.0 for v in row] for row in x.tolist()]  # + 0.0: no -0.0 in the file


def loss_cases(seed):
    gen = torch.Generator().manual_seed(seed)
    logp = f32(-0.05 - 3.0 * torch.rand((B, TM), generator=gen, dtype=torch.float64))
    ref_logp = f32(logp + 0.3 * torch.randn((B, TM), generator=gen, dtype=torch.float64))
    old_noisy = f32(logp + 0.3 * torch.randn((B, TM), generator=gen, dtype=torch.float64))
    advantages = f32(torch.randn((B,), generator=gen, dtype=torch.float64))
    mask = torch.zeros((B, TM), dtype=torch.float64)
    for b, n in enumerate(ROW_LENGTHS):
        mask[b, :n] = 1.0

    cases = []
    for loss_type in LOSS_TYPES:
        for beta in BETAS:
            for which, old_logp in (("ratio_one", logp.clone()), ("clipping", old_noisy)):
                leaf = logp.clone().requires_grad_(True)
                loss, kl, is_clipped = grpo_loss(leaf, old_logp, ref_logp, mask, advantages, loss_type, beta,
                                                 EPS_LOW, EPS_HIGH, TM)
                (grad,) = torch.autograd.grad(loss, leaf)
                assert (grad[mask == 0] == 0).all()
                kl_mean = float((kl * mask).sum() / mask.sum())
                clip_fraction = float((is_clipped.double() * mask).sum() / mask.sum())

                # the brief's definition of the clip fraction agrees with TRL's region clip
                A = advantages.unsqueeze(1)
                ratio = torch.exp(logp - old_logp)
                clamped = torch.clamp(ratio, 1 - EPS_LOW, 1 + EPS_HIGH)
                chose_clipped = (clamped * A < ratio * A)
                assert (chose_clipped == is_clipped).all()

                if which == "ratio_one":
                    assert clip_fraction == 0.0
                    if loss_type == "grpo":  # TRL 0.15.2: its loss and the gradient its formula gives
                        leaf2 = logp.clone().requires_grad_(True)
                        loss015 = trl_0_15_2_loss(leaf2, ref_logp, mask, advantages, beta)
                        (grad015,) = torch.autograd.grad(loss015, leaf2)
                        dkl = -torch.exp(ref_logp - logp) + 1
                        formula = -(A - beta * dkl) * mask / mask.sum(-1, keepdim=True) / B
                        assert torch.allclose(loss, loss015, rtol=0, atol=1e-15), (loss, loss015)
                        assert torch.allclose(grad, formula, rtol=1e-14, atol=1e-16), (grad, formula)
                        assert torch.allclose(grad015, formula, rtol=1e-14, atol=1e-16)
                else:
                    assert clip_fraction > 0
                    assert (((ratio < 1 - EPS_LOW) & (A < 0)) & (mask > 0)).any(), "no low-clipped token"
                    assert (((ratio > 1 + EPS_HIGH) & (A > 0)) & (mask > 0)).any(), "no high-clipped token"
                    out_unclipped = ((ratio < 1 - EPS_LOW) & (A > 0)) | ((ratio > 1 + EPS_HIGH) & (A < 0))
                    assert (out_unclipped & (mask > 0)).any(), "no out-of-range token where min keeps the ratio"

                cases.append({
                    "name": f"{loss_type}-beta{beta}-{which}",
                    "loss_type": loss_type, "beta": beta, "epsilon_low": EPS_LOW, "epsilon_high": EPS_HIGH,
                    "max_completion_length": TM,
                    "logp": nested(logp), "old_logp": nested(old_logp), "ref_logp": nested(ref_logp),
                    "mask": nested(mask), "advantages": [v + 0.0 for v in advantages.tolist()],
                    "loss": float(loss.detach()), "grad": nested(grad), "kl_mean": kl_mean, "clip_fraction": clip_fraction,
                })
    # dapo equals bnpo with one process
    by_name = {c["name"]: c for c in cases}
    for c in cases:
        if c["loss_type"] == "dapo":
            twin = by_name[c["name"].replace("dapo", "bnpo", 1)]
            assert c["loss"] == twin["loss"] and c["grad"] == twin["grad"]
    return cases


def main():
    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    lora_gradients("qwen2", seed=11)
    lora_gradients("llama", seed=12)
    cases = loss_cases(seed=14)
    doc = {
        "definition": grpo_loss.__doc__.strip(),
        "grad": "d loss / d logp, shape (B, Tm), with logp a float64 leaf and old_logp, ref_logp, mask, advantages "
                "constants; zero where mask is 0",
        "kl_mean": "sum(kl * mask) / sum(mask), kl = exp(ref_logp - logp) - (ref_logp - logp) - 1 (recorded for "
                   "beta 0 too, though TRL logs it only when beta != 0)",
        "clip_fraction": "sum(mask * clipped) / sum(mask), clipped = (ratio < 1 - eps_low and A < 0) or "
                         "(ratio > 1 + eps_high and A > 0): TRL's clip_ratio/region_mean",
        "cases": cases,
    }
    (OUT / "loss.json").write_text(json.dumps(doc, indent=1) + "\n")
    for c in cases:
        print(f"{c['name']:28s} loss {c['loss']!r} kl_mean {c['kl_mean']!r} clip_fraction {c['clip_fraction']!r}")


if __name__ == "__main__":
    main()
