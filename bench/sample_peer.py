"""The transformers side of bench/sample.sh: generate with sampling on the same random model and prompts, timed.
Prints one JSON object. Usage: sample_peer.py MODEL_DIR PROMPTS_JSONL SAMPLES NEW_TOKENS THREADS"""
import json
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

folder, prompts_path, samples, new_tokens, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
prompts = [json.loads(line)["prompt_tokens"] for line in open(prompts_path)]
ids = torch.tensor(prompts)  # all prompts have the same length: no padding needed
torch.manual_seed(42)
with torch.no_grad():
    model.generate(ids[:2], do_sample=True, max_new_tokens=4, min_new_tokens=4, pad_token_id=0)  # warm up
    t0 = time.perf_counter()
    out = model.generate(ids, do_sample=True, temperature=0.7, top_p=1.0, top_k=0, num_return_sequences=samples,
                         max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=0)
    seconds = time.perf_counter() - t0
tokens = (out.shape[1] - ids.shape[1]) * out.shape[0]
print(json.dumps({"seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds, "torch": torch.__version__,
                  "transformers": transformers.__version__}))
