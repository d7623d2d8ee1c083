# Tina's LIMR ablation: learning rate 5e-6 (train_model_limr_large_lr_ablation.yaml), else Tina-LIMR.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
LR ?= 5e-6
include pipelines/recipes/tina-limr.mk
