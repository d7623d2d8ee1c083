# Tina-DeepScaleR (train_model_deepscaler.yaml): the whole DeepScaleR-Preview set (40,315; import it:
# data/SOURCES.md), G 4, format 1 + accuracy 2, schedule 11000 stopped at 5500.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/deepscaler.jsonl.zst
G ?= 4
TOTAL_STEPS ?= 11000
STEPS ?= 5500
REWARDS ?= --reward format:1,accuracy:2 --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 100
include pipelines/recipes/tina-common.mk
