# SmolLM2-135M-Instruct (make smollm2) trained with GRPO-LoRA on GSM8K's training problems, sized for a CPU: 16 prompts
# x G 8 a step, 256 new tokens, LoRA r 16 (alpha 32) on all seven projections, the grpo loss with KL 0.04, AdamW at a
# constant 1e-4, micro-batches of 2048 tokens (their activations fit tina-update's default 2 GB, so the backward
# recomputes nothing: 335 s a step where 8192 took 391). The prompt (the smollm2 chat template and SUFFIX) asks for the
# answer in \boxed{}: eval.mk's "put your final answer within \boxed{}" gets a box from this model in 4 of 800 samples,
# 1 of 128 with a system prompt saying it, this SUFFIX in 31 of 128 (32 training problems x 4, temperature 0.7).
# Rewards: accuracy, and boxed for answering in that format (an instruct model has no think tags for Tina's format
# reward to look for).
#   make -f pipelines/grpo.mk RECIPE=smollm2-gsm8k RUN=runs/smollm2        (3 to 8 minutes a step on 2 cores)
# Held out: the first 200 GSM8K test problems (head -200 data/sets/gsm8k.jsonl > gsm8k200.jsonl), greedy, before
# (no ADAPTER) and after, with the training prompt:
#   make -f pipelines/eval.mk OUT=evals/smollm2-step30 MODEL=~/.cache/tina/smollm2-135m-instruct \
#       ADAPTER=runs/smollm2/step-0030/adapter SETS=gsm8k200.jsonl TEMPLATE=smollm2 N=1 TEMPERATURE=0 \
#       MAX_NEW_TOKENS=256 K=1 \
#       SUFFIX='$(empty) Solve it step by step. Your last line must be: The answer is \boxed{N} (N is the number).'
TRAIN ?= data/sets/gsm8k_train.jsonl.zst
SUFFIX ?= $(empty) Solve it step by step. Your last line must be: The answer is \boxed{N} (N is the number).
BATCH ?= 16
STEPS ?= 30
TOTAL_STEPS ?= 30
REWARDS ?= --reward accuracy:1,boxed:1
MAX_NEW_TOKENS ?= 256
MAX_PROMPT_TOKENS ?= 256
include pipelines/recipes/smollm2-common.mk
