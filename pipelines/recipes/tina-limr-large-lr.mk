# Tina's LIMR ablation: learning rate 5e-6 (train_model_limr_large_lr_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
LR ?= 5e-6
TRAIN ?= data/sets/limr.jsonl
G ?= 4
TOTAL_STEPS ?= 360
STEPS ?= 180
REWARDS ?= --reward format:1,accuracy:2 --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 10
include pipelines/recipes/tina-common.mk
