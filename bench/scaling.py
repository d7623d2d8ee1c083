#!/usr/bin/env python3
"""bench/scaling.py: how a GRPO step's time falls with the number of GPUs (SHARDS=N, LAUNCHER=slurm), predicted from
measured single-GPU stage times. Writes the tables of bench/scaling.md to stdout (python3, standard library only).

    python3 bench/scaling.py > bench/scaling.md

A step (pipelines/grpo.mk) is four waits for Slurm, each the longest task of its stage:
  sample   each shard: load the model, prefill its prompts, decode until its longest completion ends;
  reward   (inside the sampling task) CPU, 48,000 pairs/s: negligible here and left out;
  advantage one small job;
  gradients each shard: load the model, forward + backward over its tokens, write its gradient file;
  update   read N gradient files, AdamW, write the adapter and the optimizer state.
One GPU with LAUNCHER=local has no Slurm waits and no gradient files: the baseline.
"""
import math

# ---- measured inputs, and where each comes from ------------------------------------------------------------------
GPU = "H200"
# tina-sample on one H200, the 1.5B shape, bf16 (bench/results/gpu-h200-2026-11-28.json, tina_summary of each batch):
# time per decode step = the model's step + drawing tokens on the CPU, at batch 1 and 256 (256 prompt + 256 new)
STEP_MS = {1: (0.7 / 127 + 0.1 / 128) * 1e3, 256: (2.9 / 255 + 1.9 / 256) * 1e3}
PREFILL_TOKENS_PER_S = 256 * 256 / 1.6  # prefill of 256 prompts of 256 tokens: 1.6 s
LOAD_S = 1.0  # tina-sample's "loading 1.0 s before" (weights from the page cache)
KV_BYTES_PER_TOKEN = 28672  # the same run (bf16 K and V, 28 layers, 2 KV heads of 128)
READ_BYTES_PER_S = 4079e9 / 2  # the same run's device copy, reads + writes: half of it reads
HBM_BYTES = 140 * 2**30  # "this GPU holds 140 GiB"
WEIGHT_BYTES = 3.554e9  # 1,777,088,000 bf16 parameters (tied: no)
# The update on the GPU is issue 11 (not built yet): PEFT's measured LoRA r32 forward + backward + AdamW on one H200,
# 23,970 tokens/s (docs/facts.md section 5), at 4N FLOP a token; GRPO with beta 0.04 adds the base model's forward for
# the KL term (2N): 6N a token.
UPDATE_TOKENS_PER_S = 23970 * 4 / 6
GRAD_FILE_BYTES = 147770480  # rank 32, all seven projections: 36.9 M f32 (tina-adapter init on the real config)
# Slurm: one sbatch --wait round trip for an empty job on the one-node cluster of tests/slurm/run.sh is 2.0 s; on a
# busy cluster the scheduler adds more. Shared filesystem: 1 GB/s for one client (NFS-class; Lustre/GPFS are faster).
JOB_WAIT_S = 5.0
SHARED_FS_BYTES_PER_S = 1e9

# ---- the Tina recipe (docs/facts.md section 1) and what its completions are like ----------------------------------
PROMPTS, G = 8, 6
PROMPT_TOKENS = 200  # open-rs problems with the system prompt: 150-300 tokens (the cap is 512)
MAX_NEW = 3584
MEAN_NEW = 2500  # an assumption: R1-distilled 1.5B answers run long, and a step's longest one meets the cap


def decode_step_s(batch, context):
    """one decode step for `batch` sequences whose keys and values are `context` tokens long"""
    slope = (STEP_MS[256] - STEP_MS[1]) / 255
    fixed = STEP_MS[1] - slope
    kv = KV_BYTES_PER_TOKEN * context * batch / READ_BYTES_PER_S  # at the bandwidth limit: optimistic
    return (fixed + slope * batch) / 1e3 + kv


def max_batch():
    """sequences whose whole KV cache (prompt + MAX_NEW) fits beside the weights, leaving 10% for the rest"""
    return int((0.9 * HBM_BYTES - WEIGHT_BYTES) / (KV_BYTES_PER_TOKEN * (PROMPT_TOKENS + MAX_NEW)))


def sample_s(sequences):
    """one task: prefill, then rounds of at most max_batch() sequences, each decoding to the cap"""
    if sequences == 0:
        return 0.0
    rounds = math.ceil(sequences / max_batch())
    per_round = math.ceil(sequences / rounds)
    decode = MAX_NEW * decode_step_s(per_round, PROMPT_TOKENS + MEAN_NEW / 2)
    return sequences * PROMPT_TOKENS / PREFILL_TOKENS_PER_S + rounds * decode


def step_s(prompts, gpus, slurm=True):
    """(total, {stage: seconds}) for one step on `gpus` shards; a shard holds whole prompts"""
    shards = min(gpus, prompts)  # more shards than prompts leaves some empty
    widest = math.ceil(prompts / shards) * G  # the largest shard's sequences
    tokens = widest * (PROMPT_TOKENS + MEAN_NEW)
    sharded = gpus > 1
    wait = JOB_WAIT_S if slurm else 0.0
    stages = {
        "sample": wait + LOAD_S + sample_s(widest),
        "advantage": wait,
        "gradients": wait + LOAD_S + tokens / UPDATE_TOKENS_PER_S
        + (GRAD_FILE_BYTES / SHARED_FS_BYTES_PER_S if sharded else 0.0),
        "update": wait + (gpus * GRAD_FILE_BYTES + 3 * GRAD_FILE_BYTES) / SHARED_FS_BYTES_PER_S if sharded
        else 3 * GRAD_FILE_BYTES / SHARED_FS_BYTES_PER_S,
    }
    return sum(stages.values()), stages


def efficiency(prompts, gpus):
    one, _ = step_s(prompts, 1, slurm=False)
    many, _ = step_s(prompts, gpus)
    return one / (gpus * many), one / many


def smallest_batch(gpus, target):
    prompts = 1
    while efficiency(prompts, gpus)[0] < target and prompts < 1 << 20:
        prompts *= 2
    return prompts


def main():
    print("# Scaling a GRPO step over GPUs: a model from measured stage times\n")
    print(f"`python3 bench/scaling.py` (the inputs and their sources are at its top). One {GPU} per shard; the "
          "baseline is one GPU with LAUNCHER=local (no Slurm waits, no gradient files); the others LAUNCHER=slurm "
          f"with {JOB_WAIT_S:.0f} s of scheduling per job and a shared filesystem of "
          f"{SHARED_FS_BYTES_PER_S / 1e9:.0f} GB/s. Decode step: {STEP_MS[1]:.2f} ms at batch 1 and "
          f"{STEP_MS[256]:.2f} ms at batch 256 (tina-sample on an H200, model + drawing), linear between, plus the KV "
          f"cache read at {READ_BYTES_PER_S / 1e12:.2f} TB/s; update {UPDATE_TOKENS_PER_S:,.0f} tokens/s (PEFT's "
          "measured LoRA step scaled by 4/6 for the KL reference forward: tina-update on a GPU is issue 11); "
          f"completions {MEAN_NEW} tokens on average, the longest of a shard at the cap of {MAX_NEW}; "
          f"{max_batch()} sequences fit in one GPU's memory at once.\n")

    print(f"## The Tina recipe: {PROMPTS} prompts x {G} samples a step\n")
    print("| GPUs | step (s) | sample | advantage | gradients | update | speed-up | efficiency |")
    print("|---|---|---|---|---|---|---|---|")
    one, stages = step_s(PROMPTS, 1, slurm=False)
    print(f"| 1 (local) | {one:.1f} | " + " | ".join(f"{stages[k]:.1f}" for k in stages) + " | 1.00 | 100% |")
    for gpus in (1, 2, 4, 8, 16, 32, 64):
        total, stages = step_s(PROMPTS, gpus)
        eff, speed = efficiency(PROMPTS, gpus)
        print(f"| {gpus} | {total:.1f} | " + " | ".join(f"{stages[k]:.1f}" for k in stages)
              + f" | {speed:.2f} | {100 * eff:.0f}% |")

    print("\n## Efficiency by batch (prompts a step, G = 6)\n")
    gpu_counts = (2, 8, 16, 64)
    print("| prompts | sequences | 1 GPU step (s) | " + " | ".join(f"{g} GPUs" for g in gpu_counts) + " |")
    print("|---|---|---|" + "---|" * len(gpu_counts))
    for prompts in (8, 32, 128, 256, 512, 1024, 4096):
        one, _ = step_s(prompts, 1, slurm=False)
        cells = []
        for gpus in gpu_counts:
            eff, speed = efficiency(prompts, gpus)
            cells.append(f"{100 * eff:.0f}% ({speed:.1f}x)")
        print(f"| {prompts} | {prompts * G} | {one:.0f} | " + " | ".join(cells) + " |")
    print("\nEach cell: efficiency = one GPU's step time / (GPUs x the step time), and the speed-up.\n")
    for target in (0.5, 0.8):
        print(f"- Smallest batch (a power of 2) for {100 * target:.0f}% efficiency: "
              + ", ".join(f"{g} GPUs: {smallest_batch(g, target)} prompts" for g in (8, 64)) + ".")
    slope = (STEP_MS[256] - STEP_MS[1]) / 255
    print(f"""
## What it says

- Tina's own batch does not shard: 48 sequences a step, and a decode step costs {STEP_MS[1] - slope:.2f} ms whatever the
  batch plus {slope * 1e3:.0f} us a sequence, so a GPU decoding 6 sequences takes almost as long per token as one decoding 48:
  the sampling stage, {100 * step_s(PROMPTS, 1, slurm=False)[1]["sample"] / step_s(PROMPTS, 1, slurm=False)[0]:.0f}% of the step, barely shrinks, while each Slurm stage adds its scheduling wait and each
  shard its model load and gradient file. One GPU with LAUNCHER=local is the fastest way to run the recipe as
  published; more GPUs pay only as more runs (a sweep: one run per GPU) or as a larger batch.
- Sharding pays once each GPU decodes about {(STEP_MS[1] - slope) / slope:.0f} sequences or more (where the per-sequence
  cost equals the fixed cost of a step): 128 prompts x 6 for 8 GPUs at 50%, 2048 prompts for 64 GPUs.
- At 64 GPUs the update reads 64 gradient files of {GRAD_FILE_BYTES / 1e6:.0f} MB from the shared filesystem
  ({64 * GRAD_FILE_BYTES / SHARED_FS_BYTES_PER_S:.1f} s at 1 GB/s): beyond that, sum the shards a node at a time first.
- Doubtful inputs: the update rate (PEFT's, until tina-update runs on a GPU), the mean completion length (an
  assumption), the scheduling wait (a cluster's own), and decode at batches above 256 (extrapolated from 1 and 256).

## A peer: verl on 32-128 GPUs

verl's own scaling table (docs/advance/fully_async.md, volcengine/verl at b178a3cd): Qwen2.5-Math-7B, DAPO, 512
prompts x 16 samples a step (8,192 responses up to 28K tokens), vLLM + FSDP2 on H20s, synchronous colocated mode:
400 steps took 3d 17h 5m on 32 GPUs, 1d 17h 32m on 64 and 1d 16h 48m on 128 (step 790, 365 and 356 s). From 64 to
128 GPUs the run got 2% faster, at 64 responses a GPU: small batches a GPU, where a decode step's cost is mostly
the fixed cost of reading the weights, the regime this model describes (the 32 -> 64 step more than halves, which no
fixed workload does: the response lengths of those runs differed). This model, at the same 8,192 sequences a step
but tina's 1.5B and Tina's lengths: {step_s(8192 // G, 64)[0]:.0f} s on 64 GPUs, {step_s(8192 // G, 128)[0]:.0f} s on 128
({step_s(8192 // G, 64)[0] / step_s(8192 // G, 128)[0]:.2f}x for twice the GPUs).""")


if __name__ == "__main__":
    main()
