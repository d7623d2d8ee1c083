"""The PyTorch side of bench/model.sh: makes the random model (once) and times transformers on it.
Prints one JSON object. Usage: model_peer.py DIR THREADS"""
import json
import os
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, Qwen2Config

folder, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
if not os.path.exists(os.path.join(folder, "model.safetensors")):
    config = Qwen2Config(vocab_size=2048, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=False)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
params = sum(p.numel() for p in model.parameters())
vocab = model.config.vocab_size
REPEATS = 3  # the best of 3 of each workload: another process on the machine only ever slows a run down
prefill = decode = float("inf")
with torch.no_grad():
    ids = (torch.arange(8 * 512) * 7919 % vocab).view(8, 512)
    model(ids, use_cache=True)  # warm up
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        model(ids, use_cache=True, logits_to_keep=1)
        prefill = min(prefill, time.perf_counter() - t0)
    prompt = (torch.arange(32 * 16) * 7919 % vocab).view(32, 16)
    for _ in range(REPEATS):
        cache = model(prompt, use_cache=True, logits_to_keep=1).past_key_values
        t0 = time.perf_counter()
        for step in range(128):
            token = ((step * 31 + torch.arange(32)) % vocab).view(32, 1)
            cache = model(token, past_key_values=cache, use_cache=True).past_key_values
        decode = min(decode, time.perf_counter() - t0)
    n = 1536  # torch's own matmul (MKL or oneDNN on x86) on the square gemm.c is timed on
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b.T
    matmul = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b.T
        matmul = min(matmul, time.perf_counter() - t0)
print(json.dumps({"params": params, "matmul_gflops": 2 * n**3 / matmul / 1e9, "prefill_tokens_per_s": 8 * 512 / prefill, "decode_tokens_per_s": 32 * 128 / decode,
                  "torch": torch.__version__, "transformers": transformers.__version__}))
