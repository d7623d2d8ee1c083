# Tina's format-only ablation (train_model_open_rs3_format_ablation.yaml): open-rs, G 6, no accuracy: format,
# tag count, length, reasoning steps and repetition, 1 each.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/open-rs.jsonl.zst
G ?= 6
TOTAL_STEPS ?= 1500
STEPS ?= 850
REWARDS ?= --reward format:1,tag_count_tina:1,length:1,reasoning_steps:1,repetition:1 --gold-field solution --gold-parse tina
SYSTEM_FILE ?= pipelines/recipes/open-rs-system.txt
SAVE_EVERY ?= 50
include pipelines/recipes/tina-common.mk
