# Tina's LIMR ablation: rank 16, alpha 64 (train_model_limr_medium_rank_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
RANK ?= 16
ALPHA ?= 64
TRAIN ?= data/sets/limr.jsonl
G ?= 4
TOTAL_STEPS ?= 360
STEPS ?= 180
REWARDS ?= --reward format:1,accuracy:2 --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 50
include pipelines/recipes/tina-common.mk
