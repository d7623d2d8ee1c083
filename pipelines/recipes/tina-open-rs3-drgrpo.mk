# Tina's Dr. GRPO ablation as it ran (train_model_open_rs3_drgrpo_ablation.yaml): its `scale_reward: false`
# names no setting (the field is scale_rewards), TRL's parser drops it without a word, and the run was plain
# Open-RS3. For Dr. GRPO as the configuration meant it: RECIPE=tina-open-rs3-drgrpo-intended.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/open-rs.jsonl.zst
G ?= 6
TOTAL_STEPS ?= 1500
STEPS ?= 850
REWARDS ?= --reward format:1,cosine:2 --cosine-max-len 3584 --gold-field solution --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-rs-system.txt
SAVE_EVERY ?= 50
include pipelines/recipes/tina-common.mk
