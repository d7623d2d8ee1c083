# Tina-STILL (train_model_still.yaml): STILL-3-Preview-RL-Data (about 33k; import it: data/SOURCES.md), G 4,
# length 1 + accuracy 2, schedule 7500 stopped at 3750.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/still3.jsonl.zst
G ?= 4
TOTAL_STEPS ?= 7500
STEPS ?= 3750
REWARDS ?= --reward length:1,accuracy:2 --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 10
include pipelines/recipes/tina-common.mk
