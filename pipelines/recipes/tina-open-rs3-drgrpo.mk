# Tina's Dr. GRPO ablation as it ran (train_model_open_rs3_drgrpo_ablation.yaml): its `scale_reward: false`
# names no setting (the field is scale_rewards), TRL's parser drops it without a word, and the run was plain
# Open-RS3. For Dr. GRPO as the configuration meant it: RECIPE=tina-open-rs3-drgrpo-intended.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
include pipelines/recipes/tina-open-rs3.mk
