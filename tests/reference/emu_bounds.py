"""The bounds of tests/emu/cli.sh: how far transformers and PEFT in bf16 are from themselves in f32 on its inputs.

Pinned: python 3.11, torch 2.15.0 (CPU), transformers 5.24.0, peft 0.21.2 (asserted below).
Run: python tests/reference/emu_bounds.py   (prints the numbers tests/emu/cli.sh writes down)

Inputs: the bf16 tiny fixture models (tests/fixtures/models/{qwen2,llama}-bf16, from tests/reference/models.py) with
and without their adapters (lora_dropout set to 0), and the 12 rollouts of tests/fixtures/update/rollouts.jsonl, each
sequence on its own. Printed:
  - forced log-probs: the largest |bf16 - f32| of transformers' log-probs of every completion token (sdpa
    attention, the log-softmax in f32 from the model's logits);
  - LoRA gradients: the relative L2 distance, over every A and B matrix together, of PEFT's bf16 gradients (the
    adapter in f32, as PEFT keeps it) from its f32 ones, of the GRPO loss with beta 0.04 and the importance ratio
    clipped to [0, 11] (tina-update --epsilon 1 --epsilon-high 10: in effect unclipped, as a clip edge flips under
    bf16 noise), the KL reference the adapter-free model's.
"""
import json
import pathlib
import sys
import tempfile

import peft
import torch
import transformers
from peft import PeftModel
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/models"
BETA, RATIO_MAX = 0.04, 11.0

assert sys.version_info[:2] == (3, 11), sys.version
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert peft.__version__ == "0.21.2", peft.__version__


def model(arch, adapter, dtype, trainable=False):
    base = AutoModelForCausalLM.from_pretrained(FIXTURES / f"{arch}-bf16", dtype=dtype, attn_implementation="sdpa")
    return PeftModel.from_pretrained(base, adapter, is_trainable=trainable) if adapter else base.eval()


def logprobs(m, rollouts):
    out = []
    for r in rollouts:
        ids = torch.tensor([r["prompt_tokens"] + r["completion_tokens"]])
        rows = m(input_ids=ids).logits[0, len(r["prompt_tokens"]) - 1:-1].float()
        out.append(torch.log_softmax(rows, -1).gather(1, torch.tensor(r["completion_tokens"])[:, None])[:, 0])
    return out


def gradients(arch, adapter, rollouts, dtype):
    m = model(arch, adapter, dtype, trainable=True)
    with torch.no_grad(), m.disable_adapter():
        refs = logprobs(m, rollouts)
    terms = []
    for logp, r, ref in zip(logprobs(m, rollouts), rollouts, refs):
        logp, ref, a = logp.double(), ref.double(), r["advantage"]
        ratio = torch.exp(logp - torch.tensor(r["logprobs"]).double())
        kl = torch.exp(ref - logp) - (ref - logp) - 1
        terms.append((-torch.min(ratio * a, torch.clamp(ratio, 0.0, RATIO_MAX) * a) + BETA * kl).mean())
    torch.stack(terms).mean().backward()
    return {n: p.grad.double() for n, p in m.named_parameters() if p.requires_grad}


def main():
    rollouts = [json.loads(line) for line in (ROOT / "tests/fixtures/update/rollouts.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory() as work:
        for arch in ("qwen2", "llama"):
            adapter = pathlib.Path(work) / f"{arch}-lora"  # the fixture adapter without dropout
            adapter.mkdir()
            config = json.loads((FIXTURES / f"{arch}-lora/adapter_config.json").read_text())
            (adapter / "adapter_config.json").write_text(json.dumps({**config, "lora_dropout": 0.0}))
            (adapter / "adapter_model.safetensors").write_bytes(
                (FIXTURES / f"{arch}-lora/adapter_model.safetensors").read_bytes())
            for with_adapter in (None, adapter):
                with torch.no_grad():
                    bf16 = logprobs(model(arch, with_adapter, torch.bfloat16), rollouts)
                    exact = logprobs(model(arch, with_adapter, torch.float32), rollouts)
                worst = max((x.double() - y.double()).abs().max().item() for x, y in zip(bf16, exact))
                print(f"{arch} {'+ adapter' if with_adapter else 'base'}: forced log-probs, transformers bf16 vs f32, "
                      f"max abs {worst:.3e}")
            bf16, exact = gradients(arch, adapter, rollouts, torch.bfloat16), gradients(arch, adapter, rollouts,
                                                                                       torch.float32)
            diff = sum(((bf16[k] - exact[k]) ** 2).sum().item() for k in exact)
            norm = sum((exact[k] ** 2).sum().item() for k in exact)
            print(f"{arch}: LoRA gradients, PEFT bf16 vs f32, relative L2 {(diff / norm) ** 0.5:.3e}")


if __name__ == "__main__":
    main()
