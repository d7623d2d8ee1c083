# The demo: Tina's recipe scaled down to the embedded tiny-arith model and its synthetic problems, so that a CPU
# shows GRPO-LoRA working in minutes (format 1 + accuracy 2, grpo loss, KL 0.04, LoRA on all seven projections).
TRAIN ?= data/demo/train.jsonl
G ?= 8
BATCH ?= 16
STEPS ?= 120
TOTAL_STEPS ?= 120
REWARDS ?= --reward format:1,accuracy:2
MAX_NEW_TOKENS ?= 96
MAX_PROMPT_TOKENS ?= 128
RANK ?= 16
ALPHA ?= 32
DROPOUT ?= 0
LR ?= 5e-4
SCHEDULE ?= constant
WARMUP_RATIO ?= 0
MICRO_BATCH_TOKENS ?= 8192
# its checkpoints are scored with its own prompt: the model never sees Tina's
EVAL_PROTOCOL ?= recipe
include pipelines/recipes/tina-common.mk
