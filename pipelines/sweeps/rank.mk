# Tina's LoRA rank ablation: rank 4 to 64, the scale alpha/rank held at the recipe's 4 (to hold alpha at 128
# instead: GRID=RANK=4,8,16,32,64 on the command line).
GRID := RANK+ALPHA=4+16,8+32,16+64,32+128,64+256
