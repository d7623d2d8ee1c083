# Tina's LIMR ablation: rank 128, alpha 512 (train_model_limr_large_rank_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
RANK ?= 128
ALPHA ?= 512
TRAIN ?= data/sets/limr.jsonl
G ?= 4
TOTAL_STEPS ?= 360
STEPS ?= 180
REWARDS ?= --reward format:1,accuracy:2 --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 50
include pipelines/recipes/tina-common.mk
