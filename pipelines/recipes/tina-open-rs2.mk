# Tina-Open-RS2 (train_model_open_rs2.yaml; the paper's best: AIME24 43.33 at step 450): knoveleng/open-rs
# (7,000; import it: data/SOURCES.md), G 6, format 1 + accuracy 2, schedule 1500 stopped at 850.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/open-rs.jsonl.zst
G ?= 6
TOTAL_STEPS ?= 1500
STEPS ?= 850
REWARDS ?= --reward format:1,accuracy:2 --gold-field solution --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-rs-system.txt
SAVE_EVERY ?= 50
include pipelines/recipes/tina-common.mk
