# Tina's LIMR ablation: rank 8, alpha 32 (train_model_limr_small_rank_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
RANK ?= 8
ALPHA ?= 32
SAVE_EVERY ?= 50
include pipelines/recipes/tina-limr.mk
