# Tina-STILL: STILL-3-Preview-RL-Data (about 33k problems, not shipped: import it, see data/SOURCES.md), G 4,
# length 1 + accuracy 2.
TRAIN ?= data/sets/still3.jsonl.zst
G ?= 4
BATCH ?= 8
STEPS ?= 750
TOTAL_STEPS ?= 1500
REWARDS ?= --reward length:1,accuracy:2
include pipelines/recipes/tina-common.mk
