# Tina's algorithm ablation: TRL's GRPO loss against Dr. GRPO's (no length or std normalisation).
GRID := LOSS=grpo,dr_grpo
