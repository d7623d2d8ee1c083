"""The CUDA backend on a real GPU, against transformers + PEFT on the same GPU in the same run (issue 10).

Run by tests/gpu/run.sh, which builds nothing here: it expects build/cuda (make CUDA=1 BUILD=build/cuda ...). Needs
torch with CUDA, transformers, peft, safetensors; no network. Writes results.json under OUT and prints a summary table
last.

Parity (bf16 everywhere, transformers with sdpa attention):
  - the tiny fixture models (Qwen2 and Llama, tests/fixtures/models, bf16): logits at every position of three prompts,
    with and without their adapter, against transformers (relative L2 error per position, bound 1e-2) and against
    tina's own CPU backend (same bound); greedy continuations of 32 tokens against transformers' greedy generate;
    `tina-sample --forced` log-probs, whose distance from the exact (f32) log-probs must stay within twice
    transformers' own bf16 distance from them.
  - a random-weight model of the real DeepSeek-R1-Distill-Qwen-1.5B shape: logits of a 64-token prompt, with and
    without a random rank-32 adapter on all seven projections.
Benchmarks (the 1.5B shape, greedy, every completion its full length): transformers generate and tina-sample at
batch 1 (256-token prompts, 128 new), 64 and 256 (256 + 256); the GPU's copy bandwidth and bf16 GEMM rate measured
here as the ceilings.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import traceback

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, Qwen2Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "build/cuda/bin/tina-sample"
LOGITS = ROOT / "build/cuda/bench/model_logits"
FIXTURES = ROOT / "tests/fixtures/models"
TINY_TOKENIZER = ROOT / "data/models/tiny-math-bpe"
REAL = ROOT / "data/models/deepseek-r1-distill-qwen-1.5b"
OUT = pathlib.Path(os.environ.get("OUT", "/tmp/tina-gpu-out"))
WORK = pathlib.Path(os.environ.get("WORK", "/tmp/tina-gpu-work"))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PROMPTS = [[3, 1, 796, 395, 724, 226, 23], [3, 1, 93, 322, 226, 24, 283, 226, 28, 19, 2, 4, 77],
           [3, 1, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 2047]]
BENCH = [(1, 256, 128), (64, 256, 256), (256, 256, 256)]

results = {"gpu": torch.cuda.get_device_name(0), "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
           "checks": [], "bench": [], "ceilings": {}}


def record(name, value, bound, passed):
    results["checks"].append({"check": name, "value": value, "bound": bound, "passed": bool(passed)})
    print(f"{'ok  ' if passed else 'FAIL'} {name}: {value} (bound {bound})", flush=True)


def stage(function):
    """Runs one stage; a failure is recorded and the next stage still runs."""
    try:
        function()
    except Exception:
        traceback.print_exc()
        record(f"stage {function.__name__} ran", "raised", "no exception", False)


def run(args):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise RuntimeError(f"{pathlib.Path(str(args[0])).name} exited {done.returncode}")
    return done


def hf_model(folder, adapter=None, dtype=torch.bfloat16):
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, attn_implementation="sdpa",
                                                 device_map="cuda").eval()
    return PeftModel.from_pretrained(model, adapter).eval() if adapter else model


def hf_logits(model, tokens):
    with torch.no_grad():
        return model(torch.tensor([tokens], device="cuda")).logits[0].float().cpu()


def tina_logits(folder, tokens, device, adapter=None):
    out = WORK / "logits.safetensors"
    run([LOGITS, "--device", device] + (["--adapter", adapter] if adapter else []) + [folder, out] + tokens)
    return load_file(out)["logits"]


def relative_l2(got, want):
    return ((got - want).norm(dim=-1) / want.norm(dim=-1)).max().item()


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def tina_sample(args, records):
    """tina-sample --device cuda over records; its output records and its summary line."""
    inp, out = WORK / "in.jsonl", WORK / "out.jsonl"
    write_jsonl(inp, records)
    done = run([SAMPLE, "--device", "cuda", "-o", out] + args + [inp])
    return [json.loads(line) for line in out.read_text().splitlines()], done.stderr.strip().splitlines()[-1]


def tiny():
    for arch in ("qwen2", "llama"):
        folder = FIXTURES / f"{arch}-bf16"
        for adapter in (None, FIXTURES / f"{arch}-lora"):
            label = f"{arch} {'+ adapter' if adapter else 'base'}"
            model, exact_model = hf_model(folder, adapter), hf_model(folder, adapter, torch.float32)
            vs_hf = vs_cpu = hf_error = 0.0
            for prompt in PROMPTS:
                gpu = tina_logits(folder, prompt, "cuda", adapter)
                want = hf_logits(model, prompt)
                vs_hf = max(vs_hf, relative_l2(gpu, want))
                vs_cpu = max(vs_cpu, relative_l2(gpu, tina_logits(folder, prompt, "cpu", adapter)))
                hf_error = max(hf_error, relative_l2(want, hf_logits(exact_model, prompt)))
            record(f"{label}: logits vs transformers bf16, worst relative L2", f"{vs_hf:.2e}", 1e-2, vs_hf < 1e-2)
            bound = 1.25 * hf_error
            record(f"{label}: logits vs tina's CPU backend (f32, exact), worst relative L2 (transformers bf16 vs its "
                   f"f32: {hf_error:.2e})", f"{vs_cpu:.2e}", f"{bound:.2e}", vs_cpu <= bound)
            # greedy: transformers generate against tina-sample -t 0, 32 tokens each
            want = []
            with torch.no_grad():
                for prompt in PROMPTS:
                    ids = torch.tensor([prompt], device="cuda")
                    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                         max_new_tokens=32, min_new_tokens=32, pad_token_id=0)
                    want.append(out[0, len(prompt):].tolist())
            got, _ = tina_sample(["-m", folder, "--tokenizer", TINY_TOKENIZER, "-t", "0", "--max-new-tokens", "32",
                                  "--ignore-eos", "--batch", "4"] + (["-a", adapter] if adapter else []),
                                 [{"id": str(i), "prompt_tokens": p} for i, p in enumerate(PROMPTS)])
            agree = [next((j for j, (a, b) in enumerate(zip(r["completion_tokens"], w)) if a != b), 32)
                     for r, w in zip(got, want)]
            # where they part, how far apart the two choices are in the exact (f32) logits: a near-tie is bf16 noise
            margins = []
            for prompt, r, w, a in zip(PROMPTS, got, want, agree):
                if a < 32:
                    exact = hf_logits(exact_model, prompt + w[:a])[-1]
                    margins.append(f"{abs(exact[w[a]] - exact[r['completion_tokens'][a]]).item():.3f} of "
                                   f"{exact.std().item():.2f}")
            record(f"{label}: greedy tokens equal to transformers' before the first difference (of 32, each prompt)"
                   + (f"; exact logit gap of the two choices there: {', '.join(margins)} (std of the logits)"
                      if margins else ""), agree, "32 each", all(a == 32 for a in agree))
            # forced log-probs of transformers' greedy completions, against the exact (f32) ones
            bf16_error = tina_error = 0.0
            rollouts = [{"id": str(i), "prompt_tokens": p, "completion_tokens": w}
                        for i, (p, w) in enumerate(zip(PROMPTS, want))]
            forced, _ = tina_sample(["-m", folder, "--tokenizer", TINY_TOKENIZER, "--forced"]
                                    + (["-a", adapter] if adapter else []), rollouts)
            for r, f in zip(rollouts, forced):
                full, n = r["prompt_tokens"] + r["completion_tokens"], len(r["prompt_tokens"])
                target = torch.tensor(full[n:])

                def logprobs(m):
                    lp = torch.log_softmax(hf_logits(m, full)[n - 1:-1], dim=-1)
                    return lp.gather(1, target[:, None])[:, 0].double()
                exact = logprobs(exact_model)
                bf16_error = max(bf16_error, (logprobs(model) - exact).abs().max().item())
                tina_error = max(tina_error, (torch.tensor(f["logprobs"]).double() - exact).abs().max().item())
            bound = 2 * bf16_error + 1e-3
            record(f"{label}: --forced log-probs vs exact f32, max abs (transformers bf16: {bf16_error:.2e})",
                   f"{tina_error:.2e}", f"{bound:.2e}", tina_error <= bound)
            del model, exact_model
            torch.cuda.empty_cache()


def make_real_shape():
    folder, adapter = WORK / "distill-random", WORK / "distill-lora"
    if not (folder / "model.safetensors.index.json").exists() and not (folder / "model.safetensors").exists():
        config = Qwen2Config.from_pretrained(REAL)
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        model.save_pretrained(folder)
        peft = get_peft_model(model, LoraConfig(r=32, lora_alpha=128, lora_dropout=0.0, target_modules=TARGETS,
                                                task_type="CAUSAL_LM"))
        gen = torch.Generator(device="cuda").manual_seed(1)
        with torch.no_grad():
            for name, p in peft.named_parameters():
                if "lora_B" in name:
                    p.copy_(0.02 * torch.randn(p.shape, generator=gen, device="cuda"))
        peft.save_pretrained(adapter)
        del model, peft
        torch.cuda.empty_cache()
    return folder, adapter


def real_shape():
    folder, adapter = make_real_shape()
    prompt = torch.randint(0, 151643, (64,), generator=torch.Generator().manual_seed(2)).tolist()
    for with_adapter in (False, True):
        label = f"1.5B shape {'+ r32 adapter' if with_adapter else 'base'}, 64 tokens"
        want = {}
        for dtype in (torch.bfloat16, torch.float32):
            model = hf_model(folder, adapter if with_adapter else None, dtype)
            want[dtype] = hf_logits(model, prompt)
            del model
            torch.cuda.empty_cache()
        got = tina_logits(folder, prompt, "cuda", adapter if with_adapter else None)
        err, hf_error = relative_l2(got, want[torch.bfloat16]), relative_l2(want[torch.bfloat16], want[torch.float32])
        record(f"{label}: logits vs transformers bf16, worst relative L2", f"{err:.2e}", 1e-2, err < 1e-2)
        exact_error = relative_l2(got, want[torch.float32])
        record(f"{label}: logits vs transformers f32 (exact), worst relative L2 (transformers bf16 vs f32: "
               f"{hf_error:.2e})", f"{exact_error:.2e}", f"{1.25 * hf_error:.2e}", exact_error <= 1.25 * hf_error)


def median_ms(fn, repeat=10):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def ceilings():
    n = 1 << 30  # 2 GiB of bf16 a side
    x, y = torch.randn(n, dtype=torch.bfloat16, device="cuda"), torch.empty(n, dtype=torch.bfloat16, device="cuda")
    ms = median_ms(lambda: y.copy_(x))
    results["ceilings"]["copy_GBps"] = 2 * 2 * n / ms / 1e6
    del x, y
    a = torch.randn(8192, 8192, dtype=torch.bfloat16, device="cuda")
    b = torch.randn(8192, 8192, dtype=torch.bfloat16, device="cuda")
    ms = median_ms(lambda: a @ b)
    results["ceilings"]["bf16_gemm_TFLOPs"] = 2 * 8192 ** 3 / ms / 1e9
    del a, b
    torch.cuda.empty_cache()
    print(f"ceilings: copy {results['ceilings']['copy_GBps']:.0f} GB/s, "
          f"bf16 GEMM {results['ceilings']['bf16_gemm_TFLOPs']:.0f} TFLOP/s", flush=True)


def bench():
    folder, _ = make_real_shape()
    model = hf_model(folder)
    weight_bytes = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n) * 2
    results["weight_bytes_per_token"] = weight_bytes
    config = model.config
    kv_bytes = 2 * config.num_hidden_layers * config.num_key_value_heads * (config.hidden_size //
                                                                             config.num_attention_heads) * 2
    results["kv_bytes_per_token"] = kv_bytes
    for batch, prompt_len, new in BENCH:
        prompts = torch.randint(0, 151643, (batch, prompt_len), generator=torch.Generator().manual_seed(batch))
        ids = prompts.cuda()
        with torch.no_grad():
            model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=4,
                           min_new_tokens=4, pad_token_id=0)  # warm-up
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=new, min_new_tokens=new, pad_token_id=0)
            torch.cuda.synchronize()
            hf_seconds = time.perf_counter() - t0
        hf_tokens = (out.shape[1] - prompt_len) * batch
        got, summary = tina_sample(["-m", folder, "--tokenizer", REAL, "-t", "0", "--max-new-tokens", new,
                                    "--max-prompt-tokens", prompt_len, "--ignore-eos", "--batch", batch],
                                   [{"id": str(i), "prompt_tokens": p} for i, p in enumerate(prompts.tolist())])
        rate = float(re.search(r"\(([0-9.]+) tokens/s", summary).group(1))  # its own clock, loading left out
        row = {"batch": batch, "prompt": prompt_len, "new": new, "transformers_tokens_per_s": hf_tokens / hf_seconds,
               "tina_tokens_per_s": rate, "tina_tokens": sum(len(r["completion_tokens"]) for r in got),
               "tina_summary": summary}
        row["ratio"] = row["tina_tokens_per_s"] / row["transformers_tokens_per_s"]
        results["bench"].append(row)
        print(f"bench batch {batch}: transformers {row['transformers_tokens_per_s']:.0f} tokens/s, "
              f"tina {row['tina_tokens_per_s']:.0f} tokens/s ({row['ratio']:.2f}x); {summary}", flush=True)
    del model
    torch.cuda.empty_cache()


def summary():
    print("\n## tina CUDA backend on", results["gpu"], results["date"], "(torch", results["torch"] + ")")
    print("\n| check | value | bound | |\n|---|---|---|---|")
    for c in results["checks"]:
        print(f"| {c['check']} | {c['value']} | {c['bound']} | {'ok' if c['passed'] else 'FAIL'} |")
    ceil = results["ceilings"]
    if ceil:
        print(f"\nceilings measured here: copy {ceil['copy_GBps']:.0f} GB/s (read + write), "
              f"bf16 GEMM 8192^3 {ceil['bf16_gemm_TFLOPs']:.0f} TFLOP/s")
    if results["bench"]:
        print("\n| batch | prompt + new | transformers tokens/s | tina tokens/s | tina / transformers |\n|---|---|---|---|---|")
        for r in results["bench"]:
            print(f"| {r['batch']} | {r['prompt']} + {r['new']} | {r['transformers_tokens_per_s']:.0f} | "
                  f"{r['tina_tokens_per_s']:.0f} | {r['ratio']:.2f}x |")
        one = results["bench"][0]
        if ceil:
            limit = ceil["copy_GBps"] * 1e9 / 2 / results["weight_bytes_per_token"]  # reading only: half the copy's bytes/s
            print(f"\nbatch 1: weights {results['weight_bytes_per_token'] / 1e9:.2f} GB a token; the read-bandwidth limit "
                  f"is {limit:.0f} tokens/s; tina {one['tina_tokens_per_s']:.0f} = "
                  f"{100 * one['tina_tokens_per_s'] / limit:.0f}% of it")
        free = torch.cuda.mem_get_info()[1]
        print(f"KV cache: {results['kv_bytes_per_token']} bytes a token (bf16): {int(64e9 // results['kv_bytes_per_token'])} "
              f"tokens in 64 GB; this GPU holds {free / 2**30:.0f} GiB")
    failed = sum(not c["passed"] for c in results["checks"])
    print(f"\n{len(results['checks']) - failed} passed, {failed} failed")
    return failed


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    for part in sys.argv[1:] or ["tiny", "real_shape", "ceilings", "bench"]:
        stage(globals()[part])
        (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    sys.exit(1 if summary() else 0)


if __name__ == "__main__":
    main()
