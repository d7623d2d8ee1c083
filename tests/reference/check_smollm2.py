"""tina against transformers on a real pretrained model, SmolLM2-135M-Instruct (tests/reference/get_smollm2.py writes
it): the checks of the "real model" issue that need the model, so run by hand or by `make check-real`, not in CI.

Pinned: python 3.11, torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3 (asserted below).
Run: python tests/reference/check_smollm2.py MODEL_DIR TINA_BIN WORK_DIR

1. Tokenizer: every record of tests/fixtures/tokenizer/corpus.jsonl.zst (41,243 texts: the benchmark and training
   sets and a stress set) encoded by tina-tokenize and by tokenizers with the model's tokenizer.json: ids equal.
2. Greedy: the first 20 GSM8K test problems (data/sets/gsm8k.jsonl) in the smollm2 chat template with eval.mk's
   suffix; tina-sample --temperature 0 and transformers' greedy generate (f32, one prompt at a time, 128 new tokens,
   stopping at <|im_end|>) give the same tokens.
3. Log-probs: those real completions scored by tina-sample --forced and by transformers (f32, eager attention, one
   sequence at a time): max abs difference under 1e-4; and against the log-probs tina-sample recorded while
   sampling, under 1e-4 too (decoding sums in the row tiles, the forced pass through sgemm: over 30 layers and a
   49,152-token softmax they part by about 1e-5, where the tiny fixtures stay within 1e-5).
Prints one line per check and a JSON summary last; exits 1 if a check fails.
"""
import json
import math
import pathlib
import subprocess
import sys
import time

import tokenizers
import torch
import transformers
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

assert sys.version_info[:2] == (3, 11), sys.version
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert tokenizers.__version__ == "0.23.3", tokenizers.__version__

ROOT = pathlib.Path(__file__).resolve().parents[2]
SUFFIX = " Please reason step by step, and put your final answer within \\boxed{}."
PROMPTS, NEW_TOKENS, EOS = 20, 128, 2


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, **kw)


def read_jsonl(path):
    """JSON lines; texts with ill-formed UTF-8 (tina passes the corpus's raw bytes through) kept as escapes."""
    text = pathlib.Path(path).read_bytes().decode("utf-8", "surrogateescape")
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def corpus_texts():
    raw = run("zstd", "-dc", ROOT / "tests/fixtures/tokenizer/corpus.jsonl.zst").stdout
    for line in raw.decode("utf-8", "surrogateescape").split("\n"):  # not splitlines: U+2028 is no line end here
        if line.strip():
            record = json.loads(line)
            yield record["id"], record["text"].encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_tokenizer(model, tina, work):
    reference = Tokenizer.from_file(str(model / "tokenizer.json"))
    out = work / "corpus-tokens.jsonl"
    run(tina / "tina-tokenize", "-q", "-t", model, "--no-special-tokens", "-o", out,
        ROOT / "tests/fixtures/tokenizer/corpus.jsonl.zst")
    got = {r["id"]: r["tokens"] for r in read_jsonl(out)}
    cases = tokens = mismatches = 0
    for record_id, text in corpus_texts():
        want = reference.encode(text, add_special_tokens=False).ids
        cases += 1
        tokens += len(want)
        if got.get(record_id) != want:
            mismatches += 1
            if mismatches <= 5:
                print(f"  tokenizer mismatch: {record_id}", file=sys.stderr)
    return {"cases": cases, "tokens": tokens, "mismatches": mismatches}


def prompts(work):
    problems = read_jsonl(ROOT / "data/sets/gsm8k.jsonl")[:PROMPTS]
    path = work / "gsm8k-20.jsonl"
    path.write_text("".join(json.dumps({"id": p["id"], "problem": p["problem"], "answer": p["answer"]}) + "\n"
                            for p in problems))
    return path


def check_greedy(model, tina, work, hf):
    out = work / "tina-greedy.jsonl"
    t0 = time.perf_counter()
    run(tina / "tina-sample", "-q", "-m", model, "--template", "smollm2", "--suffix", SUFFIX, "-t", "0",
        "--max-new-tokens", NEW_TOKENS, "-o", out, prompts(work))
    tina_seconds = time.perf_counter() - t0
    records = read_jsonl(out)
    same, hf_tokens, hf_seconds = 0, 0, 0.0
    for r in records:
        ids = torch.tensor([r["prompt_tokens"]])
        t0 = time.perf_counter()
        with torch.no_grad():
            generated = hf.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=EOS,
                                    pad_token_id=EOS)[0, ids.shape[1]:].tolist()
        hf_seconds += time.perf_counter() - t0
        hf_tokens += len(generated)
        if generated == r["completion_tokens"]:
            same += 1
        else:
            first = next((i for i, (a, b) in enumerate(zip(generated, r["completion_tokens"])) if a != b),
                         min(len(generated), len(r["completion_tokens"])))
            print(f"  greedy differs: {r['id']} at token {first} of {len(generated)}", file=sys.stderr)
    tina_tokens = sum(len(r["completion_tokens"]) for r in records)
    return records, {"prompts": len(records), "identical": same, "tina_tokens_per_s": tina_tokens / tina_seconds,
                     "transformers_tokens_per_s": hf_tokens / hf_seconds}


def check_logprobs(model, tina, work, hf, sampled):
    out = work / "tina-forced.jsonl"
    run(tina / "tina-sample", "-q", "-m", model, "--forced", "-o", out, work / "tina-greedy.jsonl")
    forced = {r["id"]: r["logprobs"] for r in read_jsonl(out)}
    worst_hf = worst_sampled = 0.0
    tokens = 0
    for r in sampled:
        ids = r["prompt_tokens"] + r["completion_tokens"]
        with torch.no_grad():
            logits = hf(torch.tensor([ids])).logits[0].double()
        logp = torch.log_softmax(logits, dim=-1)
        n = len(r["prompt_tokens"])
        want = [logp[n - 1 + i, t].item() for i, t in enumerate(r["completion_tokens"])]
        got = forced[r["id"]]
        tokens += len(want)
        worst_hf = max([worst_hf] + [abs(a - b) for a, b in zip(got, want)])
        worst_sampled = max([worst_sampled] + [abs(a - b) for a, b in zip(got, r["logprobs"])])
    return {"sequences": len(sampled), "tokens": tokens, "max_abs_vs_transformers": worst_hf,
            "max_abs_vs_sampling": worst_sampled}


def main():
    model, tina, work = (pathlib.Path(a) for a in sys.argv[1:4])
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    hf = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, attn_implementation="eager").eval()
    summary = {"tokenizer": check_tokenizer(model, tina, work)}
    print(f"tokenizer: {summary['tokenizer']['cases']} texts, {summary['tokenizer']['tokens']} tokens, "
          f"{summary['tokenizer']['mismatches']} mismatches")
    sampled, summary["greedy"] = check_greedy(model, tina, work, hf)
    g = summary["greedy"]
    print(f"greedy: {g['identical']} of {g['prompts']} completions identical to transformers' generate "
          f"({NEW_TOKENS} new tokens at most); tina {g['tina_tokens_per_s']:.0f} tokens/s one batch, transformers "
          f"{g['transformers_tokens_per_s']:.0f} one prompt at a time")
    summary["logprobs"] = check_logprobs(model, tina, work, hf, sampled)
    lp = summary["logprobs"]
    print(f"log-probs: {lp['tokens']} completion tokens, tina --forced vs transformers max abs "
          f"{lp['max_abs_vs_transformers']:.2e}, vs tina's sampling {lp['max_abs_vs_sampling']:.2e}")
    ok = (summary["tokenizer"]["mismatches"] == 0 and g["identical"] == g["prompts"]
          and lp["max_abs_vs_transformers"] < 1e-4 and lp["max_abs_vs_sampling"] < 1e-4
          and not math.isnan(lp["max_abs_vs_transformers"]))
    summary["passed"] = ok
    print(json.dumps(summary))
    sys.exit(0 if ok else 1)


main()
