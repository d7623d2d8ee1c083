# Tina-LIMR (train_model_limr.yaml): the 1,389 LIMR problems (shipped), G 4, format 1 + accuracy 2,
# schedule 360 stopped at half: the base of Tina's learning-rate and rank ablations.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/limr.jsonl
G ?= 4
TOTAL_STEPS ?= 360
STEPS ?= 180
REWARDS ?= --reward format:1,accuracy:2 --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 10
include pipelines/recipes/tina-common.mk
