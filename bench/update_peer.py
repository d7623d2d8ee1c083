"""The PyTorch side of bench/update.sh: makes the workload both sides train on, then times one training update in
PyTorch + PEFT. Writes the LoRA adapter (r 32, alpha 128, all seven projections, B random so that A gets gradients
too; PEFT layout) to ADAPTER_DIR and the 32 rollouts (8 prompts x 4 samples, 64 prompt + 192 completion tokens,
seeded ids and advantages, logprobs from this forward so that tina's ratio is 1) to ROLLOUTS_JSONL, then times
the step TRL 0.15's GRPOTrainer takes with beta 0: 4 micro-batches of 8 sequences, per-token loss
-exp(logp - logp.detach()) * advantage, token mean per sequence, mean over sequences, backward accumulated,
clip_grad_norm_(1.0), torch.optim.AdamW(lr=1e-6).step(). f32, gradient checkpointing off, best of 2 steps.
Prints one JSON object. Usage: update_peer.py MODEL_DIR ADAPTER_DIR ROLLOUTS_JSONL THREADS"""
import json
import resource
import sys
import time

import peft
import torch
import transformers
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

folder, adapter_dir, rollouts_path, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
PROMPTS, SAMPLES, PROMPT_LEN, COMPLETION_LEN, MICRO = 8, 4, 64, 192, 8
torch.set_num_threads(threads)

model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
torch.manual_seed(0)  # PEFT draws lora_A from the global generator
# lora_dropout 0: tina does not apply dropout in training (tina-update(1), LIMITS), so neither side pays for it
model = get_peft_model(model, LoraConfig(r=32, lora_alpha=128, lora_dropout=0.0, task_type="CAUSAL_LM",
                                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                         "up_proj", "down_proj"]))
gen = torch.Generator().manual_seed(7)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.copy_(0.01 * torch.randn(p.shape, generator=gen))
model.save_pretrained(adapter_dir)
lora_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
base_params = sum(p.numel() for p in model.parameters()) - lora_params

vocab = model.config.vocab_size
n = PROMPTS * SAMPLES
prompts = torch.randint(0, vocab, (PROMPTS, PROMPT_LEN), generator=gen).repeat_interleave(SAMPLES, dim=0)
completions = torch.randint(0, vocab, (n, COMPLETION_LEN), generator=gen)
ids = torch.cat([prompts, completions], dim=1)
mask = torch.ones_like(ids)
advantages = torch.randn(PROMPTS, SAMPLES, generator=gen)
advantages = ((advantages - advantages.mean(1, keepdim=True)) / (advantages.std(1, keepdim=True) + 1e-4)).view(n)


def token_logps(ids, mask):  # TRL 0.15's _get_per_token_logps: the completion tokens' log-probs
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=COMPLETION_LEN + 1).logits[:, :-1]
    return torch.gather(logits.log_softmax(-1), 2, ids[:, -COMPLETION_LEN:, None]).squeeze(2)


model.train()  # as the trainer runs it (no dropout here)
with torch.no_grad():
    old = torch.cat([token_logps(ids[i:i + MICRO], mask[i:i + MICRO]) for i in range(0, n, MICRO)])
with open(rollouts_path, "w") as f:
    for s in range(n):
        f.write(json.dumps({"id": f"p{s // SAMPLES}", "sample": s % SAMPLES, "prompt_tokens": prompts[s].tolist(),
                            "completion_tokens": completions[s].tolist(), "logprobs": old[s].tolist(),
                            "advantage": advantages[s].item()}) + "\n")

trainable = [p for p in model.parameters() if p.requires_grad]
# weight_decay 0: tina-update's default and TRL's (TrainingArguments); torch's own default would be 0.01
optimizer = torch.optim.AdamW(trainable, lr=1e-6, weight_decay=0.0)


def step():
    optimizer.zero_grad(set_to_none=True)
    micro_batches = n // MICRO
    for i in range(0, n, MICRO):
        logp = token_logps(ids[i:i + MICRO], mask[i:i + MICRO])
        per_token = -(torch.exp(logp - logp.detach()) * advantages[i:i + MICRO, None])  # beta 0: no KL term
        loss = per_token.mean(dim=1).mean() / micro_batches  # token mean per sequence (no padding), mean over all
        loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    optimizer.step()
    return norm.item()


times, norms = [], []
for _ in range(2):
    t0 = time.perf_counter()
    norms.append(step())
    times.append(time.perf_counter() - t0)
seconds = min(times)
tokens = n * (PROMPT_LEN + COMPLETION_LEN)
print(json.dumps({"seconds": seconds, "all_seconds": times, "tokens": tokens, "tokens_per_s": tokens / seconds,
                  "grad_norm": norms[0], "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "base_params": base_params, "lora_params": lora_params, "torch": torch.__version__,
                  "transformers": transformers.__version__, "peft": peft.__version__}))
