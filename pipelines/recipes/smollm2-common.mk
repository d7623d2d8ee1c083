# What the SmolLM2 recipes share: SmolLM2-135M-Instruct (make smollm2) with its chat template, G 8, LoRA r 16 (alpha
# 32) on all seven projections, AdamW at a constant 1e-4, micro-batches of 2048 tokens (their activations fit
# tina-update's default 2 GB, so the backward recomputes nothing), and checkpoints scored with the recipe's own
# prompt (the model never sees Tina's). Then Tina's defaults for the rest (grpo loss, KL 0.04, temperature 0.7).
TINA_CACHE ?= $(HOME)/.cache/tina
MODEL ?= $(TINA_CACHE)/smollm2-135m-instruct
TEMPLATE ?= smollm2
G ?= 8
RANK ?= 16
ALPHA ?= 32
DROPOUT ?= 0
LR ?= 1e-4
SCHEDULE ?= constant
WARMUP_RATIO ?= 0
MICRO_BATCH_TOKENS ?= 2048
EVAL_PROTOCOL ?= recipe
include pipelines/recipes/tina-common.mk
