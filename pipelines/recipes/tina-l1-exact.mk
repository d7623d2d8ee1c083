# Tina's L1-Exact configuration (train_model_l1_exact.yaml) as it evidently meant to run: its data set is commented out
# of Tina's map and its reward cannot take the per-record target as committed (TINA.md). DeepScaleR with a target
# length a record (data/import/l1.sh writes it and each record's "Think for N tokens." system prompt; data/SOURCES.md),
# G 4, the length_l1_exact reward alone, schedule 11000 stopped at 5500.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/deepscaler-l1.jsonl.zst
G ?= 4
TOTAL_STEPS ?= 11000
STEPS ?= 5500
REWARDS ?= --reward length_l1_exact:1 --gold-parse tina
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 100
include pipelines/recipes/tina-common.mk
