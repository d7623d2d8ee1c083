# Tina's learning-rate ablation as Tina ran it: Tina-LIMR at 5e-7, 1e-6 and 5e-6 (train_model_limr_small_lr_ablation,
# limr, limr_large_lr_ablation; pipelines/recipes/TINA.md).
RECIPE ?= tina-limr
GRID := LR=5e-7,1e-6,5e-6
