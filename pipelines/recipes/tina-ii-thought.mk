# Tina's II-Thought run (train_model_2thought.yaml): Intelligent-Internet/II-Thought-RL-v0-Math-50K (53.3k;
# data/SOURCES.md says how to import it), G 4, format 1 + accuracy 2, schedule 13320 stopped at 6660.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/ii-thought.jsonl.zst
G ?= 4
TOTAL_STEPS ?= 13320
STEPS ?= 6660
REWARDS ?= --reward format:1,accuracy:2 --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 100
include pipelines/recipes/tina-common.mk
