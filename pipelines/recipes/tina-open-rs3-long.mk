# Tina's long-completion ablation (train_model_open_rs3_long_completion_ablation.yaml): Open-RS3 with up to
# 8,960 new tokens. Its scale_reward: false is dropped as in tina-open-rs3-drgrpo; its vLLM kept the configuration's
# 4,608-token cap on prompt and completion together, so Tina's completions stopped there, and so do these
# (MAX_MODEL_LEN, from tina-common.mk; MAX_MODEL_LEN= lifts the cap for the run the configuration meant).
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
MAX_NEW_TOKENS ?= 8960
include pipelines/recipes/tina-open-rs3.mk
