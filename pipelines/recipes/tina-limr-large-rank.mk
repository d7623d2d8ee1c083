# Tina's LIMR ablation: rank 128, alpha 512 (train_model_limr_large_rank_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
RANK ?= 128
ALPHA ?= 512
SAVE_EVERY ?= 50
include pipelines/recipes/tina-limr.mk
