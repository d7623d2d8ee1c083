# Tina-Open-RS1 (train_model_open_rs1.yaml): knoveleng/open-s1 (18.6k; import it: data/SOURCES.md), G 4,
# format 1 + accuracy 2, OPEN_R1's system prompt (Tina picks OPEN_RS only for sets named open-rs).
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/open-s1.jsonl.zst
G ?= 4
TOTAL_STEPS ?= 5000
STEPS ?= 2400
REWARDS ?= --reward format:1,accuracy:2 --gold-field solution --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 100
include pipelines/recipes/tina-common.mk
