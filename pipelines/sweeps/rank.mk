# Tina's LoRA rank ablation as Tina ran it: Tina-LIMR at rank 4, 8, 16, 32 and 128, alpha 4 x rank
# (train_model_limr_{tiny,small,medium}_rank_ablation, limr, limr_large_rank_ablation; pipelines/recipes/TINA.md).
RECIPE ?= tina-limr
GRID := RANK+ALPHA=4+16,8+32,16+64,32+128,128+512
