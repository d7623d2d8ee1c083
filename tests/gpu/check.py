"""The CUDA backend on a real GPU, against transformers + PEFT on the same GPU in the same run (issues 10 and 11).

Run by tests/gpu/run.sh, which builds nothing here: it expects build/cuda (make CUDA=1 BUILD=build/cuda ...). Needs
torch with CUDA, transformers, peft, safetensors; no network. Writes results.json under OUT and prints a summary table
last. Without a GPU, TINA_BUILD=build/emu (make CUDA=emu BUILD=build/emu ...: the CUDA backend through the CUDA
emulator of tests/emu) runs the parity stages tiny, kernels and train_tiny here, transformers on the CPU.

Parity (bf16 everywhere, transformers with sdpa attention):
  - the tiny fixture models (Qwen2 and Llama, tests/fixtures/models, bf16): logits at every position of three prompts,
    with and without their adapter, against tina's own CPU backend (f32: the exact values; relative L2 error per
    position within 1.25 times transformers' own bf16 error, the bound issue 29 set: two bf16 implementations cannot
    agree closer than their own rounding, so the distance to transformers' bf16 is a note); greedy continuations of
    32 tokens against transformers' greedy generate, equal up to the first near-tie (an exact logit gap within twice
    transformers' bf16 error there);
    `tina-sample --forced` log-probs, whose distance from the exact (f32) log-probs must stay within twice
    transformers' own bf16 distance from them.
  - a random-weight model of the real DeepSeek-R1-Distill-Qwen-1.5B shape: logits of a 64-token prompt, with and
    without a random rank-32 adapter on all seven projections, against transformers f32 (within 1.25 times
    transformers bf16's own error).
Kernels (kernels): with TINA_TEST_BACKEND=cuda, build/cuda/tests/test_backend_sample (every draw of the sampling
kernel, greedy, temperature, top-k, top-p, ties, padding, the rows it leaves to the host, against lib/backends/sampler.c's
from the same logits), test_backend_lora (the adapter ops against f64, a decode step's rows and a prefill's, alone
and in groups of one input), test_backend_ops (rmsnorm, matmul, swiglu and their gradients against f64),
test_backend_attention (the cached attention against f64, groups of 1 to 7 query heads, head sizes 16 to 128,
prefill in tiles on the tensor cores, decode over split key ranges, pages shuffled and shared) and test_kv_cache (the
paged cache under the tiny Qwen2: pages shared and copied on write, the page table's uploads); and tina-sample with
CUDA graphs (recorded decode steps) against without, the same rollouts byte for byte.
Benchmarks (the 1.5B shape, greedy, every completion its full length): transformers generate and tina-sample at
batch 1 (256-token prompts, 128 new), 64 and 256 (256 + 256); the GPU's copy bandwidth and bf16 GEMM rate measured
here as the ceilings.
Training (tina-update --device cuda; the loss is GRPO's with beta 0.04, the KL reference the adapter-free model):
  - train_tiny, train_real_shape: the LoRA gradients of one batch (tina-update --shard 0/1, divided by the batch's
    completions) against PEFT's of the same loss in bf16 (the adapter f32, as PEFT keeps it) and in f32 (exact): the
    distance from exact must stay within 1.5 times PEFT bf16's own (relative L2 over every matrix); the CPU backend
    (f32) within 1e-3 of exact. Then one whole step (clipping, AdamW at lr 1e-3) against PEFT's: the adapter's move,
    compared the same way.
  - train_bench: the 1.5B shape, 8 sequences of 512 + 1536 tokens, r 32 alpha 128 on all seven projections, AdamW:
    tokens/s of the step and peak GPU memory of tina-update (activations recomputed layer by layer, the default,
    and kept) against PEFT's step without and with gradient checkpointing.
  - profile: TINA_CUDA_PROFILE=1 (every backend operation waited for and timed) on tina-sample at batch 1 and 256
    and on tina-update's train_bench batch: where the GPU's time goes, op by op.
  - tina_step: one whole Tina-recipe step on the 1.5B shape with random weights (8 prompts x 6 samples, every
    completion forced to 2048 tokens): seconds by stage, and the sampler-vs-trainer log-prob gap.
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
# TINA_BUILD=build/emu: tina's CUDA backend through the CUDA emulator of tests/emu, for the parity stages on a
# machine without a GPU (transformers then runs on the CPU)
BUILD = ROOT / os.environ.get("TINA_BUILD", "build/cuda")
SAMPLE = BUILD / "bin/tina-sample"
UPDATE = BUILD / "bin/tina-update"
BIN = BUILD / "bin"
LOGITS = BUILD / "bench/model_logits"
KERNEL_TESTS = [BUILD / "tests/test_backend_sample", BUILD / "tests/test_backend_attention",
                BUILD / "tests/test_backend_lora", BUILD / "tests/test_backend_ops", BUILD / "tests/test_kv_cache"]
TORCH = "cuda" if torch.cuda.is_available() else "cpu"  # where the references run
FIXTURES = ROOT / "tests/fixtures/models"
TINY_TOKENIZER = ROOT / "data/models/tiny-math-bpe"
REAL = ROOT / "data/models/deepseek-r1-distill-qwen-1.5b"
OUT = pathlib.Path(os.environ.get("OUT", "/tmp/tina-gpu-out"))
WORK = pathlib.Path(os.environ.get("WORK", "/tmp/tina-gpu-work"))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PROMPTS = [[3, 1, 796, 395, 724, 226, 23], [3, 1, 93, 322, 226, 24, 283, 226, 28, 19, 2, 4, 77],
           [3, 1, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 2047]]
BENCH = [(1, 256, 128), (64, 256, 256), (256, 256, 256)]

results = {"gpu": torch.cuda.get_device_name(0) if TORCH == "cuda" else f"none (tina from {BUILD.name})",
           "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
           "checks": [], "notes": [], "bench": [], "ceilings": {}, "train_bench": [], "tina_step": {}, "profile": {}, "stages": {}}


def record(name, value, bound, passed):
    results["checks"].append({"check": name, "value": value, "bound": bound, "passed": bool(passed)})
    print(f"{'ok  ' if passed else 'FAIL'} {name}: {value} (bound {bound})", flush=True)


def note(name, value):
    """A measurement reported without a bound: how far tina's bf16 lies from transformers' bf16 (two roundings of the
    same exact values, neither the reference: the bounds are against the exact f32 values)."""
    results["notes"].append({"note": name, "value": value})
    print(f"note {name}: {value}", flush=True)


def stage(function):
    """Runs one stage; a failure is recorded and the next stage still runs. Its seconds go to results["stages"] (a
    device check must fit its time: the next run's plan starts from these)."""
    t0 = time.perf_counter()
    try:
        function()
    except Exception:
        traceback.print_exc()
        record(f"stage {function.__name__} ran", "raised", "no exception", False)
    results["stages"][function.__name__] = round(time.perf_counter() - t0, 1)
    print(f"stage {function.__name__}: {results['stages'][function.__name__]} s", flush=True)


def free_torch_memory():
    if TORCH == "cuda":
        torch.cuda.empty_cache()


def run(args, env=None):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          env={**os.environ, **env} if env else None)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise RuntimeError(f"{pathlib.Path(str(args[0])).name} exited {done.returncode}")
    return done


def hf_model(folder, adapter=None, dtype=torch.bfloat16):
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, attn_implementation="sdpa",
                                                 device_map=TORCH).eval()
    return PeftModel.from_pretrained(model, adapter).eval() if adapter else model


def hf_logits(model, tokens):
    with torch.no_grad():
        return model(torch.tensor([tokens], device=TORCH)).logits[0].float().cpu()


def tina_logits(folder, tokens, device, adapter=None):
    out = WORK / "logits.safetensors"
    run([LOGITS, "--device", device] + (["--adapter", adapter] if adapter else []) + [folder, out] + tokens)
    return load_file(out)["logits"]


def relative_l2(got, want):
    return ((got - want).norm(dim=-1) / want.norm(dim=-1)).max().item()


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def tina_sample(args, records, env=None):
    """tina-sample --device cuda over records (env: variables added to the environment); its output records and its
    summary line."""
    inp, out = WORK / "in.jsonl", WORK / "out.jsonl"
    write_jsonl(inp, records)
    done = run([SAMPLE, "--device", "cuda", "-o", out] + args + [inp], env)
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
            note(f"{label}: logits vs transformers bf16, worst relative L2", f"{vs_hf:.2e}")
            bound = 1.25 * hf_error
            record(f"{label}: logits vs tina's CPU backend (f32, exact), worst relative L2 (transformers bf16 vs its "
                   f"f32: {hf_error:.2e})", f"{vs_cpu:.2e}", f"{bound:.2e}", vs_cpu <= bound)
            # greedy: transformers generate against tina-sample -t 0, 32 tokens each
            want = []
            with torch.no_grad():
                for prompt in PROMPTS:
                    ids = torch.tensor([prompt], device=TORCH)
                    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                         max_new_tokens=32, min_new_tokens=32, pad_token_id=0)
                    want.append(out[0, len(prompt):].tolist())
            got, _ = tina_sample(["-m", folder, "--tokenizer", TINY_TOKENIZER, "-t", "0", "--max-new-tokens", "32",
                                  "--ignore-eos", "--batch", "4"] + (["-a", adapter] if adapter else []),
                                 [{"id": str(i), "prompt_tokens": p} for i, p in enumerate(PROMPTS)])
            agree = [next((j for j, (a, b) in enumerate(zip(r["completion_tokens"], w)) if a != b), 32)
                     for r, w in zip(got, want)]
            # where they part, how far apart the two choices are in the exact (f32) logits: a gap within twice
            # transformers' own bf16 error there (each side may err that much on each choice) is a near-tie, which
            # bf16 rounding decides either way; the continuations part there and are not compared further
            margins, near_ties = [], True
            for prompt, r, w, a in zip(PROMPTS, got, want, agree):
                if a < 32:
                    exact = hf_logits(exact_model, prompt + w[:a])[-1]
                    noise = 2 * (hf_logits(model, prompt + w[:a])[-1] - exact).abs().max().item()
                    gap = abs(exact[w[a]] - exact[r["completion_tokens"][a]]).item()
                    near_ties = near_ties and gap <= noise
                    margins.append(f"{gap:.3f} (bf16 noise {noise:.3f})")
            record(f"{label}: greedy tokens equal to transformers' up to the first near-tie (of 32, each prompt)"
                   + (f"; exact logit gap of the two choices where they part: {', '.join(margins)}" if margins else ""),
                   agree, "32 each, or parting at a near-tie", near_ties)
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
            free_torch_memory()


def kernels():
    for test, what in zip(KERNEL_TESTS, ["device sampling draws what lib/backends/sampler.c draws from the same logits",
                                         "cached attention (groups 1 to 7, head sizes 16 to 128, prefill tiles, "
                                         "split ranges, shuffled and shared pages) within 1e-2 of f64",
                                         "the adapter ops, a decode step's rows (two kernels, alone and grouped) and "
                                         "a prefill's (cuBLAS), within 1e-2 of f64",
                                         "rmsnorm, matmul (bias, residual), swiglu and their gradients within 1e-2 "
                                         "of f64",
                                         "the paged KV cache: shared prompt pages copied on write, page-table "
                                         "uploads, errors"]):
        done = subprocess.run([str(test)], capture_output=True, text=True,
                              env={**os.environ, "TINA_TEST_BACKEND": "cuda"})
        print(done.stdout + done.stderr, end="")
        lines = re.findall(r"\d+ passed, \d+ failed", done.stdout)
        record(f"{what} ({test.name} on cuda)", lines[-1] if lines else f"exit {done.returncode}", "0 failed",
               done.returncode == 0)
    # decode steps replayed from CUDA graphs against launched one by one: the same kernels, so the same bytes
    prompts = [{"id": str(i), "prompt_tokens": p} for i, p in enumerate(PROMPTS)]
    args = ["-m", FIXTURES / "qwen2-bf16", "-a", FIXTURES / "qwen2-lora", "--tokenizer", TINY_TOKENIZER, "-n", "4",
            "-t", "0.9", "--top-p", "0.95", "--max-new-tokens", "40", "--batch", "12"]
    graphs, graphs_summary = tina_sample(args, prompts)
    plain, _ = tina_sample(args, prompts, {"TINA_CUDA_GRAPHS": "0"})
    same = graphs == plain
    record("CUDA graphs on and off: the same rollouts (qwen2 + adapter, 3 x 4 samples of 40 tokens, top-p 0.95)",
           "same" if same else f"{sum(a != b for a, b in zip(graphs, plain))} of {len(plain)} differ", "same", same)
    print(f"graphs: {graphs_summary}", flush=True)


def make_real_shape():
    folder, adapter = WORK / "distill-random", WORK / "distill-lora"
    if not (folder / "model.safetensors.index.json").exists() and not (folder / "model.safetensors").exists():
        config = Qwen2Config.from_pretrained(REAL)
        torch.manual_seed(0)
        with torch.device(TORCH):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        model.save_pretrained(folder)
        peft = get_peft_model(model, LoraConfig(r=32, lora_alpha=128, lora_dropout=0.0, target_modules=TARGETS,
                                                task_type="CAUSAL_LM"))
        gen = torch.Generator(device=TORCH).manual_seed(1)
        with torch.no_grad():
            for name, p in peft.named_parameters():
                if "lora_B" in name:
                    p.copy_(0.02 * torch.randn(p.shape, generator=gen, device=TORCH))
        peft.save_pretrained(adapter)
        del model, peft
        free_torch_memory()
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
            free_torch_memory()
        got = tina_logits(folder, prompt, "cuda", adapter if with_adapter else None)
        err, hf_error = relative_l2(got, want[torch.bfloat16]), relative_l2(want[torch.bfloat16], want[torch.float32])
        note(f"{label}: logits vs transformers bf16, worst relative L2", f"{err:.2e}")
        exact_error = relative_l2(got, want[torch.float32])
        record(f"{label}: logits vs transformers f32 (exact), worst relative L2 (transformers bf16 vs f32: "
               f"{hf_error:.2e})", f"{exact_error:.2e}", f"{1.25 * hf_error:.2e}", exact_error <= 1.25 * hf_error)


# ---- training ---------------------------------------------------------------------------------------------------

BETA = 0.04


def train_batch(vocab, prompts, samples, prompt_len, completion_len, seed):
    """Rollouts of random tokens, `samples` a prompt, advantages normalised within each prompt's group."""
    gen = torch.Generator().manual_seed(seed)
    p = torch.randint(0, vocab, (prompts, prompt_len), generator=gen)
    c = torch.randint(0, vocab, (prompts * samples, completion_len), generator=gen)
    a = torch.randn(prompts, samples, generator=gen)
    a = ((a - a.mean(1, keepdim=True)) / (a.std(1, keepdim=True) + 1e-4)).reshape(-1)
    return [{"id": f"p{s // samples}", "sample": s % samples, "prompt_tokens": p[s // samples].tolist(),
             "completion_tokens": c[s].tolist(), "advantage": float(a[s])} for s in range(prompts * samples)]


def without_dropout(adapter):
    """A copy of the adapter with lora_dropout 0: the two sides would draw different masks."""
    copy = WORK / f"{pathlib.Path(adapter).name}-nodrop"
    copy.mkdir(exist_ok=True)
    config = json.loads((pathlib.Path(adapter) / "adapter_config.json").read_text())
    config["lora_dropout"] = 0.0
    (copy / "adapter_config.json").write_text(json.dumps(config))
    (copy / "adapter_model.safetensors").write_bytes((pathlib.Path(adapter) / "adapter_model.safetensors").read_bytes())
    return copy


def peft_trainable(folder, adapter, dtype):
    base = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, attn_implementation="sdpa", device_map=TORCH)
    return PeftModel.from_pretrained(base, adapter, is_trainable=True)  # the adapter in f32, PEFT's default


def completion_logprobs(model, rollouts):
    """Each rollout's completion log-probs (f32 log-softmax of the model's logits), one sequence a call."""
    out = []
    for r in rollouts:
        ids = torch.tensor([r["prompt_tokens"] + r["completion_tokens"]], device=TORCH)
        rows = model(input_ids=ids).logits[0, len(r["prompt_tokens"]) - 1:-1].float()
        target = torch.tensor(r["completion_tokens"], device=TORCH)[:, None]
        out.append(torch.log_softmax(rows, -1).gather(1, target)[:, 0])
    return out


def grpo_loss(logps, rollouts, refs):
    """TRL's GRPO loss (tests/reference/update_step.py): per token -min(ratio A, clamp(ratio, 0.8, 1.2) A) + beta kl,
    a completion's mean, then the mean over completions; f64."""
    terms = []
    for logp, r, ref in zip(logps, rollouts, refs):
        logp, old, a = logp.double(), torch.tensor(r["logprobs"], device=TORCH).double(), r["advantage"]
        ratio = torch.exp(logp - old)
        kl = torch.exp(ref.double() - logp) - (ref.double() - logp) - 1
        terms.append((-torch.min(ratio * a, torch.clamp(ratio, 0.8, 1.2) * a) + BETA * kl).mean())
    return torch.stack(terms).mean()


def adapter_key(name):
    return name.replace(".default.", ".")


def peft_step(folder, adapter, rollouts, dtype, lr=None):
    """PEFT's gradients of the GRPO loss (every matrix, f32, on the host); with lr, also the adapter after clipping
    to norm 1 and one AdamW step."""
    model = peft_trainable(folder, adapter, dtype)
    model.train()
    with torch.no_grad(), model.disable_adapter():
        refs = completion_logprobs(model, rollouts)
    grpo_loss(completion_logprobs(model, rollouts), rollouts, refs).backward()
    params = {adapter_key(n): p for n, p in model.named_parameters() if p.requires_grad}
    grads = {k: p.grad.float().cpu().clone() for k, p in params.items()}  # before clipping scales them in place
    after = None
    if lr:
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        torch.optim.AdamW(list(params.values()), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0).step()
        after = {k: p.detach().float().cpu().clone() for k, p in params.items()}
    del model
    free_torch_memory()
    return grads, after


def tina_update(folder, adapter, rollouts, device, extra, out):
    inp = WORK / "train.jsonl"
    write_jsonl(inp, rollouts)
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return run([UPDATE, "-q", "-m", folder, "-a", adapter, "-o", out, "--device", device, "--beta", BETA] + extra
               + [inp])


def tina_gradients(folder, adapter, rollouts, device):
    out = WORK / f"grads-{device}.safetensors"
    tina_update(folder, adapter, rollouts, device, ["--shard", "0/1"], out)
    return {k: v / len(rollouts) for k, v in load_file(out).items()}  # sums over the completions: GRPO's mean


def distance(got, want):
    """relative L2 over every matrix together, and the worst matrix's"""
    diff = sum(((got[k] - want[k]) ** 2).sum().item() for k in want)
    norm = sum((want[k] ** 2).sum().item() for k in want)
    worst = max(((got[k] - want[k]).norm() / want[k].norm().clamp_min(1e-30)).item() for k in want)
    return (diff / norm) ** 0.5, worst


def train_parity(label, folder, adapter, rollouts):
    adapter = without_dropout(adapter)
    exact_model = peft_trainable(folder, adapter, torch.float32)
    with torch.no_grad():
        for r, lp in zip(rollouts, completion_logprobs(exact_model, rollouts)):
            r["logprobs"] = lp.tolist()  # the sampling policy: the exact one, so that every ratio is about 1
    del exact_model
    free_torch_memory()
    exact, exact_after = peft_step(folder, adapter, rollouts, torch.float32, lr=1e-3)
    bf16, bf16_after = peft_step(folder, adapter, rollouts, torch.bfloat16, lr=1e-3)
    gpu, cpu = tina_gradients(folder, adapter, rollouts, "cuda"), tina_gradients(folder, adapter, rollouts, "cpu")
    hf_error, _ = distance(bf16, exact)
    gpu_error, gpu_worst = distance(gpu, exact)
    record(f"{label}: LoRA gradients, tina cuda vs PEFT f32 (exact), relative L2 (worst matrix {gpu_worst:.2e}; PEFT "
           f"bf16 vs f32: {hf_error:.2e})", f"{gpu_error:.2e}", f"{1.5 * hf_error:.2e}", gpu_error <= 1.5 * hf_error)
    vs_bf16, _ = distance(gpu, bf16)
    record(f"{label}: LoRA gradients, tina cuda vs PEFT bf16, relative L2", f"{vs_bf16:.2e}", f"{2 * hf_error:.2e}",
           vs_bf16 <= 2 * hf_error)
    cpu_error, _ = distance(cpu, exact)
    record(f"{label}: LoRA gradients, tina cpu (f32) vs PEFT f32, relative L2", f"{cpu_error:.2e}", 1e-3,
           cpu_error <= 1e-3)
    # one whole step: clipping and AdamW, the adapter's move against PEFT's
    before = load_file(pathlib.Path(adapter) / "adapter_model.safetensors")
    tina_update(folder, adapter, rollouts, "cuda", ["--lr", "1e-3", "--schedule", "constant", "--max-grad-norm", "1"],
                WORK / "stepped")
    after = load_file(WORK / "stepped/adapter_model.safetensors")
    moved = {k: after[k] - before[k] for k in before}
    want = {k: exact_after[k] - before[k] for k in before}
    hf_moved = {k: bf16_after[k] - before[k] for k in before}
    step_hf, _ = distance(hf_moved, want)
    step_error, _ = distance(moved, want)
    record(f"{label}: one AdamW step, the adapter's move, tina cuda vs PEFT f32, relative L2 (PEFT bf16 vs f32: "
           f"{step_hf:.2e})", f"{step_error:.2e}", f"{1.5 * step_hf + 1e-3:.2e}", step_error <= 1.5 * step_hf + 1e-3)


def train_tiny():
    for arch in ("qwen2", "llama"):
        rollouts = train_batch(2048, 4, 2, 12, 20, seed=3)
        train_parity(f"{arch} training", FIXTURES / f"{arch}-bf16", FIXTURES / f"{arch}-lora", rollouts)


def train_real_shape():
    folder, adapter = make_real_shape()
    train_parity("1.5B shape training, 2 x (64 + 64) tokens", folder, adapter, train_batch(151643, 1, 2, 64, 64, 4))


def peak_gpu_memory_of(args):
    """runs args, polling the GPU's used memory; returns (completed process, peak GiB above what was used before)"""
    import threading
    torch.cuda.empty_cache()
    base = torch.cuda.mem_get_info()
    used0, peak, done = base[1] - base[0], [0], threading.Event()

    def poll():
        while not done.is_set():
            free, total = torch.cuda.mem_get_info()
            peak[0] = max(peak[0], total - free - used0)
            time.sleep(0.02)
    thread = threading.Thread(target=poll)
    thread.start()
    try:
        result = run(args)
    finally:
        done.set()
        thread.join()
    return result, peak[0] / 2**30


def train_bench():
    folder, adapter = make_real_shape()
    rollouts = train_batch(151643, 4, 2, 512, 1536, seed=5)
    tokens = sum(len(r["prompt_tokens"]) + len(r["completion_tokens"]) for r in rollouts)
    for r in rollouts:
        r["logprobs"] = [-1.0] * len(r["completion_tokens"])  # a ratio the clip leaves alone is not needed to time
    # PEFT: TRL's step (the reference forward without the adapter, the policy's forward and backward over the whole
    # batch, clipping, AdamW), best of 2, without and with gradient checkpointing
    for checkpointing in (False, True):
        model = peft_trainable(folder, adapter, torch.bfloat16)
        if checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-6)
        ids = torch.tensor([r["prompt_tokens"] + r["completion_tokens"] for r in rollouts], device="cuda")
        n = len(rollouts[0]["prompt_tokens"])
        best = float("inf")
        torch.cuda.reset_peak_memory_stats()
        for _ in range(2):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            with torch.no_grad(), model.disable_adapter():
                ref = torch.log_softmax(model(input_ids=ids).logits[:, n - 1:-1].float(), -1)
                ref = ref.gather(2, ids[:, n:, None])[..., 0]
            logp = torch.log_softmax(model(input_ids=ids).logits[:, n - 1:-1].float(), -1).gather(2, ids[:, n:, None])[..., 0]
            a = torch.tensor([r["advantage"] for r in rollouts], device="cuda")[:, None]
            kl = torch.exp(ref - logp) - (ref - logp) - 1
            loss = (-(torch.exp(logp - logp.detach()) * a) + BETA * kl).mean(1).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
            del ref, logp, kl, loss
        peak = torch.cuda.max_memory_allocated() / 2**30
        row = {"side": f"PEFT{' + gradient checkpointing' if checkpointing else ''}", "tokens": tokens,
               "seconds": best, "tokens_per_s": tokens / best, "peak_GiB": peak}
        results["train_bench"].append(row)
        print(f"train bench {row['side']}: {row['tokens_per_s']:.0f} tokens/s, peak {peak:.1f} GiB", flush=True)
        del model, optimizer, params, ids
        torch.cuda.empty_cache()
    write_jsonl(WORK / "bench.jsonl", rollouts)
    for label, memory in (("tina (layers recomputed)", "2048"), ("tina (activations kept)", "100000")):
        best, peak = float("inf"), 0.0
        for _ in range(2):
            subprocess.run(["rm", "-rf", str(WORK / "bench-step")], check=True)
            done, gib = peak_gpu_memory_of([UPDATE, "-q", "-m", folder, "-a", adapter, "-o", WORK / "bench-step",
                                            "--device", "cuda", "--beta", BETA, "--micro-batch-tokens", tokens,
                                            "--activation-memory", memory, WORK / "bench.jsonl"])
            metrics = json.loads(done.stdout)
            best, peak = min(best, metrics["seconds"] - metrics["load_seconds"]), max(peak, gib)
        row = {"side": label, "tokens": tokens, "seconds": best, "tokens_per_s": tokens / best, "peak_GiB": peak}
        results["train_bench"].append(row)
        print(f"train bench {label}: {row['tokens_per_s']:.0f} tokens/s, peak {peak:.1f} GiB", flush=True)


def tina_step():
    """One Tina-recipe step with the tools alone: sample (8 x 6, 2048 new tokens each), reward, advantage, update."""
    folder, _ = make_real_shape()
    adapter = WORK / "step-adapter"
    subprocess.run(["rm", "-rf", str(adapter)], check=True)
    run([BIN / "tina-adapter", "init", "-m", folder, "-o", adapter, "-r", "32", "--alpha", "128", "--dropout",
         "0.05", "--targets", "all", "--seed", "42"])
    problems = [{"id": f"q{i}", "problem": f"What is {i} plus {i + 1}?", "answer": str(2 * i + 1)} for i in range(8)]
    write_jsonl(WORK / "problems.jsonl", problems)
    seconds = {}

    def timed(stage, args):
        t0 = time.perf_counter()
        done = run(args)
        seconds[stage] = time.perf_counter() - t0
        return done
    timed("sample", [SAMPLE, "-q", "-m", folder, "-a", adapter, "--tokenizer", REAL, "--device", "cuda", "-n", "6",
                     "-t", "0.7", "--max-new-tokens", "2048", "--ignore-eos", "--max-prompt-tokens", "512", "-o",
                     WORK / "rollouts.jsonl.zst", WORK / "problems.jsonl"])
    timed("reward", [BIN / "tina-reward", "-q", "--reward", "format:1,accuracy:2", "-o", WORK / "rewarded.jsonl.zst",
                     WORK / "rollouts.jsonl.zst"])
    timed("advantage", [BIN / "tina-advantage", "-q", "-G", "6", "-o", WORK / "advantaged.jsonl.zst",
                        WORK / "rewarded.jsonl.zst"])
    # random weights earn no reward: seeded advantages instead, so that the update has a policy term to work on
    advantaged = subprocess.run(["zstdcat", str(WORK / "advantaged.jsonl.zst")], capture_output=True, text=True,
                                check=True).stdout.splitlines()
    gen = torch.Generator().manual_seed(6)
    records = [dict(json.loads(line), advantage=float(torch.randn(1, generator=gen))) for line in advantaged]
    write_jsonl(WORK / "advantaged.jsonl", records)
    subprocess.run(["rm", "-rf", str(WORK / "step-1")], check=True)
    done = timed("update", [UPDATE, "-q", "-m", folder, "-a", adapter, "-o", WORK / "step-1", "--device", "cuda",
                            "--micro-batch-tokens", "16384", WORK / "advantaged.jsonl"])
    metrics = json.loads(done.stdout)
    total = sum(seconds.values())
    results["tina_step"] = {"seconds": seconds, "total": total, "tokens": metrics["tokens"],
                            "update_load_seconds": metrics["load_seconds"],
                            "logprob_gap_max": metrics["logprob_gap_max"],
                            "logprob_gap_mean": metrics["logprob_gap_mean"]}
    print(f"tina step: {json.dumps(results['tina_step'])}", flush=True)
    record("a whole Tina step (8 x 6 x 2048 tokens, 1.5B shape): seconds, every stage's process with its loading",
           f"{total:.1f}", 15, total <= 15)
    record("sampler vs trainer log-probs (both cuda), mean abs gap", f"{metrics['logprob_gap_mean']:.2e}", 2e-2,
           metrics["logprob_gap_mean"] <= 2e-2)


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
        if batch == 1:  # what the recorded decode steps (CUDA graphs) bring, in the same run
            _, plain = tina_sample(["-m", folder, "--tokenizer", REAL, "-t", "0", "--max-new-tokens", new,
                                    "--max-prompt-tokens", prompt_len, "--ignore-eos", "--batch", batch],
                                   [{"id": str(i), "prompt_tokens": p} for i, p in enumerate(prompts.tolist())],
                                   {"TINA_CUDA_GRAPHS": "0"})
            row["tina_without_graphs_tokens_per_s"] = float(re.search(r"\(([0-9.]+) tokens/s", plain).group(1))
        row["ratio"] = row["tina_tokens_per_s"] / row["transformers_tokens_per_s"]
        results["bench"].append(row)
        print(f"bench batch {batch}: transformers {row['transformers_tokens_per_s']:.0f} tokens/s, "
              f"tina {row['tina_tokens_per_s']:.0f} tokens/s ({row['ratio']:.2f}x); {summary}", flush=True)
    del model
    torch.cuda.empty_cache()


def profile_table(stderr):
    """the TINA_CUDA_PROFILE table at the end of a tool's stderr"""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("TINA_CUDA_PROFILE:")), None)
    return "\n".join(lines[start:]) if start is not None else "(no profile printed)"


def profile():
    """Where the GPU's time goes, op by op (TINA_CUDA_PROFILE=1: each operation waited for and timed): tina-sample
    at batch 1 and 256 as in bench, and tina-update on train_bench's batch."""
    folder, adapter = make_real_shape()

    def profiled(label, args):
        results["profile"][label] = profile_table(run(args, {"TINA_CUDA_PROFILE": "1"}).stderr)
        print(f"{label}:\n{results['profile'][label]}", flush=True)
    for batch, prompt_len, new in (BENCH[0], BENCH[-1]):
        prompts = torch.randint(0, 151643, (batch, prompt_len), generator=torch.Generator().manual_seed(batch))
        write_jsonl(WORK / "profile.jsonl",
                    [{"id": str(i), "prompt_tokens": p} for i, p in enumerate(prompts.tolist())])
        profiled(f"tina-sample batch {batch} ({prompt_len} + {new})",
                 [SAMPLE, "--device", "cuda", "-o", WORK / "profile-out.jsonl", "-m", folder, "--tokenizer", REAL,
                  "-t", "0", "--max-new-tokens", new, "--max-prompt-tokens", prompt_len, "--ignore-eos", "--batch",
                  batch, WORK / "profile.jsonl"])
    rollouts = train_batch(151643, 4, 2, 512, 1536, seed=5)
    tokens = sum(len(r["prompt_tokens"]) + len(r["completion_tokens"]) for r in rollouts)
    write_jsonl(WORK / "profile-train.jsonl", rollouts)
    subprocess.run(["rm", "-rf", str(WORK / "profile-step")], check=True)
    profiled("tina-update 8 x 2048 tokens",
             [UPDATE, "-q", "-m", folder, "-a", adapter, "-o", WORK / "profile-step", "--device", "cuda", "--beta",
              BETA, "--micro-batch-tokens", tokens, WORK / "profile-train.jsonl"])


def summary():
    print("\n## tina CUDA backend on", results["gpu"], results["date"], "(torch", results["torch"] + ")")
    print("\n| check | value | bound | |\n|---|---|---|---|")
    for c in results["checks"]:
        print(f"| {c['check']} | {c['value']} | {c['bound']} | {'ok' if c['passed'] else 'FAIL'} |")
    for n in results["notes"]:
        print(f"| {n['note']} | {n['value']} | none (a note) | |")
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
        if "tina_without_graphs_tokens_per_s" in one:
            print(f"\nbatch 1 without CUDA graphs (TINA_CUDA_GRAPHS=0): {one['tina_without_graphs_tokens_per_s']:.0f} "
                  f"tokens/s, with: {one['tina_tokens_per_s']:.0f}")
        if ceil:
            limit = ceil["copy_GBps"] * 1e9 / 2 / results["weight_bytes_per_token"]  # reading only: half the copy's bytes/s
            print(f"\nbatch 1: weights {results['weight_bytes_per_token'] / 1e9:.2f} GB a token; the read-bandwidth limit "
                  f"is {limit:.0f} tokens/s; tina {one['tina_tokens_per_s']:.0f} = "
                  f"{100 * one['tina_tokens_per_s'] / limit:.0f}% of it")
        free = torch.cuda.mem_get_info()[1]
        print(f"KV cache: {results['kv_bytes_per_token']} bytes a token (bf16): {int(64e9 // results['kv_bytes_per_token'])} "
              f"tokens in 64 GB; this GPU holds {free / 2**30:.0f} GiB")
    if results["train_bench"]:
        print("\n| update, 8 x (512 + 1536) tokens, 1.5B shape | tokens/s | peak GPU memory GiB |\n|---|---|---|")
        for r in results["train_bench"]:
            print(f"| {r['side']} | {r['tokens_per_s']:.0f} | {r['peak_GiB']:.1f} |")
        peft = next((r for r in results["train_bench"] if r["side"] == "PEFT"), None)
        for r in results["train_bench"]:
            if peft and r["side"].startswith("tina"):
                print(f"{r['side']}: {r['tokens_per_s'] / peft['tokens_per_s']:.2f}x PEFT's tokens/s")
    step = results["tina_step"]
    if step:
        hours = step["total"] * 450 / 3600
        print(f"\nTina step: {', '.join(f'{k} {v:.1f} s' for k, v in step['seconds'].items())}; total "
              f"{step['total']:.1f} s; 450 steps {hours:.2f} GPU-hours, ${2 * hours:.2f} at $2/GPU-hour")
    for label, table in results["profile"].items():
        print(f"\nprofile, {label} (the 8 costliest operations):\n" + "\n".join(table.splitlines()[:10]))
    print("\nseconds by stage: " + ", ".join(f"{k} {v}" for k, v in results["stages"].items()))
    failed = sum(not c["passed"] for c in results["checks"])
    print(f"\n{len(results['checks']) - failed} passed, {failed} failed")
    return failed


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    for part in sys.argv[1:] or ["tiny", "kernels", "real_shape", "train_tiny", "train_real_shape", "ceilings",
                                 "bench", "profile", "train_bench", "tina_step"]:
        stage(globals()[part])
        (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    sys.exit(1 if summary() else 0)


if __name__ == "__main__":
    main()
