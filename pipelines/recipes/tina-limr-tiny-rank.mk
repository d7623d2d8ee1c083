# Tina's LIMR ablation: rank 4, alpha 16 (train_model_limr_tiny_rank_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
RANK ?= 4
ALPHA ?= 16
SAVE_EVERY ?= 50
include pipelines/recipes/tina-limr.mk
