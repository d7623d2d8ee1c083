# Tina-Open-RS3 (train_model_open_rs3.yaml): open-rs, G 6, format 1 + cosine 2 (cosine over characters,
# max length 3584 from the launch script, unclamped).
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/open-rs.jsonl.zst
G ?= 6
TOTAL_STEPS ?= 1500
STEPS ?= 850
REWARDS ?= --reward format:1,cosine:2 --cosine-max-len 3584 --gold-field solution --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-rs-system.txt
SAVE_EVERY ?= 50
include pipelines/recipes/tina-common.mk
