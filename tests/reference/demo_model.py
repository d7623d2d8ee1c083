"""The demo's embedded default model: a tiny Qwen2 taught synthetic arithmetic word problems, deliberately weakly.

Pinned: python 3.11, torch 2.15.0 (CPU), transformers 5.24.0, tokenizers 0.23.3, safetensors 0.8.0 (asserted below).
Run: python tests/reference/demo_model.py            (writes data/demo/{train,heldout}.jsonl and data/models/tiny-arith/)
     python tests/reference/demo_model.py --data-only  (only the two prompt sets)
     python tests/reference/demo_model.py --checkpoints DIR --steps N  (exploration: a copy every 100 steps in DIR)

Why: tina's demo runs GRPO-LoRA on a CPU in minutes, so it needs a model that is small, fast, and bad in ways RL can
fix. This one answers 1-2 step sums, differences and products of small numbers, but was trained on a mix of
completion styles (with and without "\\n</think>\\n", with and without \\boxed{}) and stopped early, so at
temperature 0.7 it is right only part of the time and follows tina's format only part of the time: both the
accuracy and the format reward have room to rise, and the groups of samples have the variance GRPO needs.

Problems come from generate(seed, n): three disjoint streams, one seed each: the held-out set (data/demo/heldout.jsonl,
seed HELDOUT_SEED), the GRPO training set (data/demo/train.jsonl, seed TRAIN_SEED, held-out problems removed) and the
supervised fine-tuning data (seed SFT_SEED, the problems of both sets removed), so no held-out problem is ever trained
on, and the GRPO set is unseen by the SFT too.

Prompts are rendered exactly as `tina-sample --template tina` renders a "problem" (lib/text/chat.c): the BOS text, no
system prompt, "<｜User｜>", the problem, "<｜Assistant｜>", encoded without the post-processor's BOS. The loss is
plain next-token cross-entropy on the completion tokens (and the EOS) only.
"""
import argparse
import json
import pathlib
import random
import shutil
import sys
import time

import safetensors
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, Qwen2Config

assert sys.version_info[:2] == (3, 11), sys.version
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert tokenizers.__version__ == "0.23.3", tokenizers.__version__
assert safetensors.__version__ == "0.8.0", safetensors.__version__

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "data" / "models" / "tiny-math-bpe"
OUT = ROOT / "data" / "models" / "tiny-arith"
DEMO = ROOT / "data" / "demo"
SOURCE = "demo-arith"

HELDOUT_SEED, TRAIN_SEED, SFT_SEED, STYLE_SEED, TORCH_SEED = 1001, 1002, 1003, 1004, 1005
N_HELDOUT, N_TRAIN, N_SFT = 200, 2000, 40000

BOS, USER, ASSISTANT, EOS_ID = "<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", 0

CONFIG = Qwen2Config(vocab_size=2048, hidden_size=128, intermediate_size=384, num_hidden_layers=4,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                     rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                     bos_token_id=3, eos_token_id=0, pad_token_id=0, use_sliding_window=False)

# training: AdamW, linear warm-up then a constant rate (so stopping at step k gives the same model whatever the
# planned length), batches of BATCH completions, stopped after STEPS steps
STEPS, BATCH, LR, WARMUP, WEIGHT_DECAY, CLIP = 2000, 16, 3e-3, 30, 0.01, 1.0

# completion styles and their shares of the SFT data: only "full" is tina's format with a boxed answer
STYLES = {"full": 0.30, "no_close": 0.25, "no_box": 0.20, "plain": 0.25}

NAMES = [("Tom", "he"), ("Anna", "she"), ("Ben", "he"), ("Mia", "she"), ("Sam", "he"), ("Lily", "she"),
         ("Max", "he"), ("Emma", "she"), ("Leo", "he"), ("Zoe", "she"), ("Jack", "he"), ("Nina", "she")]
OBJECTS = ["apples", "pencils", "marbles", "stickers", "books", "cookies", "cards", "coins", "flowers", "shells",
           "stamps", "balloons"]


def _pick_two_names(rng):
    a, b = rng.sample(NAMES, 2)
    return a, b


def make_problem(rng):
    """One problem: (kind, problem text, integer answer, short reasoning lines)."""
    (name, he), (name2, _) = _pick_two_names(rng)
    He = he.capitalize()
    obj = rng.choice(OBJECTS)
    kind = rng.choice(["add", "add", "sub", "sub", "mul", "add_sub", "mul_add", "more_than"])
    t = rng.randrange(3)
    if kind == "add":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        n = a + b
        problem = [f"{name} has {a} {obj} and buys {b} more. How many {obj} does {he} have now?",
                   f"{name} had {a} {obj}. {He} found {b} more. How many {obj} does {he} have?",
                   f"There are {a} {obj} in a box. {name} puts in {b} more. How many {obj} are in the box?"][t]
        steps = [f"{a} + {b} = {n}."]
    elif kind == "sub":
        n, b = rng.randint(1, 9), rng.randint(2, 9)
        a = n + b
        problem = [f"{name} has {a} {obj} and gives {b} to {name2}. How many {obj} does {he} have left?",
                   f"{name} had {a} {obj}. {He} lost {b} of them. How many {obj} does {he} have now?",
                   f"There are {a} {obj} on a table. {name} takes {b} away. How many {obj} are left?"][t]
        steps = [f"{a} - {b} = {n}."]
    elif kind == "mul":
        a, b = rng.randint(2, 6), rng.randint(2, 9)
        n = a * b
        problem = [f"{name} buys {a} bags of {obj}. Each bag has {b} {obj}. How many {obj} does {he} buy?",
                   f"There are {a} boxes with {b} {obj} in each box. How many {obj} are there in total?",
                   f"{name} has {a} friends and gives each friend {b} {obj}. How many {obj} does {he} give away?"][t]
        steps = [f"{a} * {b} = {n}."]
    elif kind == "add_sub":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        c = rng.randint(1, min(9, a + b - 1))
        n = a + b - c
        problem = [f"{name} has {a} {obj}, buys {b} more, and then gives {c} to {name2}. "
                   f"How many {obj} does {he} have now?",
                   f"{name} had {a} {obj}. {He} found {b} more and lost {c}. How many {obj} does {he} have?",
                   f"There are {a} {obj} in a box. {name} puts in {b} more and takes out {c}. "
                   f"How many {obj} are in the box?"][t]
        steps = [f"{a} + {b} = {a + b}.", f"{a + b} - {c} = {n}."]
    elif kind == "mul_add":
        a, b, c = rng.randint(2, 6), rng.randint(2, 9), rng.randint(2, 9)
        n = a * b + c
        problem = [f"{name} buys {a} bags of {obj} with {b} {obj} in each bag. {He} already had {c} {obj}. "
                   f"How many {obj} does {he} have now?",
                   f"There are {a} boxes with {b} {obj} in each box and {c} more {obj} on the table. "
                   f"How many {obj} are there in total?",
                   f"{name} has {c} {obj} and gets {a} packs of {b} {obj}. How many {obj} does {he} have?"][t]
        steps = [f"{a} * {b} = {a * b}.", f"{a * b} + {c} = {n}."]
    else:  # more_than
        a, b = rng.randint(2, 9), rng.randint(1, 9)
        n = a + (a + b)
        problem = [f"{name} has {a} {obj}. {name2} has {b} more {obj} than {name}. "
                   f"How many {obj} do they have together?",
                   f"{name} collected {a} {obj} and {name2} collected {b} more than {name}. "
                   f"How many {obj} did they collect in all?",
                   f"{name} has {a} {obj}, and {name2} has {b} more. How many {obj} do the two have together?"][t]
        steps = [f"{a} + {b} = {a + b}.", f"{a} + {a + b} = {n}."]
    return kind, problem, n, steps


def generate(seed, n, exclude=frozenset()):
    """n distinct problems from the stream of this seed, none whose text is in exclude: dicts in tina's schema."""
    rng, seen, out = random.Random(seed), set(exclude), []
    while len(out) < n:
        kind, problem, answer, steps = make_problem(rng)
        if problem in seen:
            continue
        seen.add(problem)
        out.append({"id": f"{SOURCE}-{seed}-{len(out):05d}", "problem": problem, "answer": str(answer),
                    "source": SOURCE, "_kind": kind, "_steps": steps})
    return out


def completion(record, style):
    """The SFT target in one of the STYLES; only "full" is '<think>\\n...\\n</think>\\n\\nThe answer is \\boxed{N}.'"""
    steps, n = "\n".join(record["_steps"]), record["answer"]
    if style == "full":
        return f"<think>\n{steps}\n</think>\n\nThe answer is \\boxed{{{n}}}."
    if style == "no_close":  # never closes the thought: no format reward, but the answer is boxed
        return f"<think>\n{steps}\n\nThe answer is \\boxed{{{n}}}."
    if style == "no_box":  # tina's format, but the answer is not boxed: no accuracy reward
        return f"<think>\n{steps}\n</think>\n\nThe answer is {n}."
    return f"{steps}\nThe answer is {n}."  # plain: neither


def prompt_text(problem):
    """What `tina-sample --template tina` renders for a record with "problem" and no system prompt (lib/text/chat.c)."""
    return f"{BOS}{USER}{problem}{ASSISTANT}"


def public(record):
    return {k: record[k] for k in ("id", "problem", "answer", "source")}


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(public(r), ensure_ascii=False) + "\n" for r in records))


def make_data():
    heldout = generate(HELDOUT_SEED, N_HELDOUT)
    held = {r["problem"] for r in heldout}
    train = generate(TRAIN_SEED, N_TRAIN, exclude=held)
    sft = generate(SFT_SEED, N_SFT, exclude=held | {r["problem"] for r in train})
    write_jsonl(DEMO / "heldout.jsonl", heldout)
    write_jsonl(DEMO / "train.jsonl", train)
    assert not held & {r["problem"] for r in train} and not held & {r["problem"] for r in sft}
    return heldout, train, sft


def encode_sft(tokenizer, sft):
    rng = random.Random(STYLE_SEED)
    names, weights = list(STYLES), list(STYLES.values())
    examples = []
    for r in sft:
        style = rng.choices(names, weights)[0]
        p = tokenizer.encode(prompt_text(r["problem"]), add_special_tokens=False).ids
        c = tokenizer.encode(completion(r, style), add_special_tokens=False).ids + [EOS_ID]
        examples.append((p, c))
    return examples


def batches(examples, gen):
    """Endless shuffled batches: (input ids, labels with -100 outside the completions, attention mask)."""
    while True:
        order = torch.randperm(len(examples), generator=gen).tolist()
        for i in range(0, len(order) - BATCH + 1, BATCH):
            chunk = [examples[j] for j in order[i:i + BATCH]]
            width = max(len(p) + len(c) for p, c in chunk)
            ids = torch.full((BATCH, width), EOS_ID, dtype=torch.long)
            labels = torch.full((BATCH, width), -100, dtype=torch.long)
            mask = torch.zeros((BATCH, width), dtype=torch.long)
            for row, (p, c) in enumerate(chunk):
                seq = p + c
                ids[row, :len(seq)] = torch.tensor(seq)
                labels[row, len(p):len(seq)] = torch.tensor(c)
                mask[row, :len(seq)] = 1
            yield ids, labels, mask


def save(model, folder):
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(TOKENIZER / name, folder / name)
    generation = {"bos_token_id": 3, "eos_token_id": 0, "pad_token_id": 0, "do_sample": True}
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")


def train(sft, steps, checkpoints=None):
    torch.set_num_threads(2)
    torch.manual_seed(TORCH_SEED)
    tokenizer = Tokenizer.from_file(str(TOKENIZER / "tokenizer.json"))
    examples = encode_sft(tokenizer, sft)
    model = AutoModelForCausalLM.from_config(CONFIG, dtype=torch.float32, attn_implementation="sdpa")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP))
    gen = torch.Generator().manual_seed(TORCH_SEED)
    model.train()
    start, running = time.time(), None
    for step, (ids, labels, mask) in zip(range(1, steps + 1), batches(examples, gen)):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} (ema {running:.4f}) {time.time() - start:.0f}s", flush=True)
        if checkpoints and step % 100 == 0:
            model.eval()
            save(model, pathlib.Path(checkpoints) / f"step{step}")
            model.train()
    model.eval()
    print(f"trained {steps} steps in {time.time() - start:.0f}s", flush=True)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-only", action="store_true")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--checkpoints", help="exploration: save a model every 100 steps under this folder")
    args = ap.parse_args()
    heldout, train_set, sft = make_data()
    print(f"wrote {len(heldout)} held-out and {len(train_set)} training prompts to {DEMO}", flush=True)
    if args.data_only:
        return
    model = train(sft, args.steps, args.checkpoints)
    if not args.checkpoints:
        save(model, OUT)
        print(f"wrote {OUT}", flush=True)


if __name__ == "__main__":
    main()
