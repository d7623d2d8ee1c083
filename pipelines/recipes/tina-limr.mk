# Tina-LIMR: the 1,389 LIMR problems, G 4, format 1 + accuracy 2. The run length is not stated; the schedule is
# about twice the steps run, as in every Tina run.
TRAIN ?= data/sets/limr.jsonl
G ?= 4
BATCH ?= 8
STEPS ?= 750
TOTAL_STEPS ?= 1500
REWARDS ?= --reward format:1,accuracy:2
include pipelines/recipes/tina-common.mk
