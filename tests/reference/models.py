"""Tiny random Qwen2 and Llama models, PEFT adapters and their transformers/PEFT outputs, for tests/unit/test_model.c.

Pinned: python 3.11, torch 2.15.0 (CPU), transformers 5.24.0, peft 0.21.2, safetensors 0.8.0.
Run: python tests/reference/models.py            (phase 1: writes tests/fixtures/models/)
     python tests/reference/models.py --peft-check  (phase 2, after `make`: PEFT loads the adapters tina saved with
                                                      bin/tina-adapter and computes the logits; see check_tina_adapters)

Models use the tiny tokenizer's 2048-token vocabulary: qwen2 (q/k/v bias, GQA 4/2, untied head, rope_theta 10000) and
llama (no bias, GQA 4/1, tied embeddings, rope_theta 500000), every weight random (norms and biases too, so a
mistake in them shows), saved in f32 and in bf16. Adapters: r=8, alpha=32, all seven projections, A and B random.
Outputs, in float32 eager attention: logits at every position of three prompts of unequal length with and without
the adapter (bf16 models computed from their bf16 weights cast to f32), and greedy continuations of 32 tokens.
"""
import json
import pathlib
import subprocess
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "models"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# three prompts of the tiny tokenizer's ids (lengths 7, 13 and 20)
PROMPTS = [[3, 1, 796, 395, 724, 226, 23], [3, 1, 93, 322, 226, 24, 283, 226, 28, 19, 2, 4, 77],
           [3, 1, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 2047]]

CONFIGS = {
    "qwen2": Qwen2Config(vocab_size=2048, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False),
    "llama": LlamaConfig(vocab_size=2048, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=512,
                         rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=True, attention_bias=False),
}


def randomize(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=gen))


def logits_of(model, prompt):
    with torch.no_grad():
        return model(torch.tensor([prompt])).logits[0].float()


def greedy(model, prompt, n=32):
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            ids.append(int(logits_of(model, ids)[-1].argmax()))
    return ids[len(prompt):]


def make():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}
    for arch, config in CONFIGS.items():
        config._attn_implementation = "eager"
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32, attn_implementation="eager")
        randomize(model, seed=1 if arch == "qwen2" else 2)
        model.eval()
        for dtype in ("f32", "bf16"):
            folder = OUT / f"{arch}-{dtype}"
            (model.to(torch.bfloat16) if dtype == "bf16" else model).save_pretrained(folder, safe_serialization=True)
            model = model.float()
        # the adapter, randomised so that it changes the logits
        lora = get_peft_model(AutoModelForCausalLM.from_pretrained(OUT / f"{arch}-f32", attn_implementation="eager"),
                              LoraConfig(r=8, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS,
                                         task_type="CAUSAL_LM"))
        gen = torch.Generator().manual_seed(3)
        with torch.no_grad():
            for name, p in lora.named_parameters():
                if "lora_" in name:
                    p.copy_(0.05 * torch.randn(p.shape, generator=gen))
        lora.save_pretrained(OUT / f"{arch}-lora")
        (OUT / f"{arch}-lora" / "README.md").unlink()  # PEFT's model card: nothing a test reads
        config_path = OUT / f"{arch}-lora" / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text())
        adapter_config["base_model_name_or_path"] = f"tests/fixtures/models/{arch}-f32"  # not this machine's path
        config_path.write_text(json.dumps(adapter_config, indent=2, sort_keys=True) + "\n")
        tensors = {}
        for dtype in ("f32", "bf16"):
            base = AutoModelForCausalLM.from_pretrained(OUT / f"{arch}-{dtype}", torch_dtype=torch.float32,
                                                        attn_implementation="eager").eval()
            adapted = PeftModel.from_pretrained(
                AutoModelForCausalLM.from_pretrained(OUT / f"{arch}-{dtype}", torch_dtype=torch.float32,
                                                     attn_implementation="eager"), OUT / f"{arch}-lora").eval()
            for i, prompt in enumerate(PROMPTS):
                tensors[f"{dtype}.base.{i}"] = logits_of(base, prompt)
                tensors[f"{dtype}.lora.{i}"] = logits_of(adapted, prompt)
            if dtype == "f32":
                expected[arch] = {"greedy_base": [greedy(base, p) for p in PROMPTS],
                                  "greedy_lora": [greedy(adapted, p) for p in PROMPTS]}
        save_file({k: v.contiguous() for k, v in tensors.items()}, OUT / f"{arch}-logits.safetensors")
    expected["prompts"] = PROMPTS
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def check_tina_adapters():
    """PEFT loads the adapters tina wrote (bin/tina-adapter copy of each fixture adapter, and a fresh init) and its
    logits are recorded, so that the C test can compare tina's own logits with them."""
    for arch in CONFIGS:
        tensors = {}
        for name in ("copy", "init"):
            folder = OUT / f"{arch}-lora-tina-{name}"
            adapted = PeftModel.from_pretrained(
                AutoModelForCausalLM.from_pretrained(OUT / f"{arch}-f32", torch_dtype=torch.float32,
                                                     attn_implementation="eager"), folder).eval()
            for i, prompt in enumerate(PROMPTS):
                tensors[f"{name}.{i}"] = logits_of(adapted, prompt)
        save_file(tensors, OUT / f"{arch}-lora-tina-peft-logits.safetensors")


if __name__ == "__main__":
    torch.set_num_threads(2)
    check_tina_adapters() if "--peft-check" in sys.argv else make()
