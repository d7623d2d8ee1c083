# Tina-OpenR1: OpenR1-Math-220k's problems (import it: data/SOURCES.md), G 8, format 1 + accuracy 2. The run length
# is not stated; the schedule is about twice the steps run, as in every Tina run.
TRAIN ?= data/sets/openr1.jsonl.zst
G ?= 8
BATCH ?= 8
STEPS ?= 750
TOTAL_STEPS ?= 1500
REWARDS ?= --reward format:1,accuracy:2
include pipelines/recipes/tina-common.mk
