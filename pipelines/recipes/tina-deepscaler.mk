# Tina-DeepScaleR: DeepScaleR-Preview (40,315 problems; data/sets/ ships its AIME and MATH parts), G 4,
# format 1 + accuracy 2.
TRAIN ?= data/sets/deepscaler_math.jsonl.zst
G ?= 4
BATCH ?= 8
STEPS ?= 750
TOTAL_STEPS ?= 1500
REWARDS ?= --reward format:1,accuracy:2
include pipelines/recipes/tina-common.mk
