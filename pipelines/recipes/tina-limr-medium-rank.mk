# Tina's LIMR ablation: rank 16, alpha 64 (train_model_limr_medium_rank_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
RANK ?= 16
ALPHA ?= 64
SAVE_EVERY ?= 50
include pipelines/recipes/tina-limr.mk
