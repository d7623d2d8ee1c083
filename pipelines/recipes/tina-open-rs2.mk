# Tina-Open-RS2 (the paper's best: AIME24 43.33 at step 450): open-rs data, G 6, format 1 + accuracy 2.
# Every value from docs/facts.md section 1; tests/cli/pipeline.sh checks them.
TRAIN ?= data/sets/open-rs.jsonl.zst
G ?= 6
BATCH ?= 8
STEPS ?= 850
TOTAL_STEPS ?= 1500
REWARDS ?= --reward format:1,accuracy:2
SYSTEM_FILE ?= pipelines/recipes/open-rs-system.txt
include pipelines/recipes/tina-common.mk
