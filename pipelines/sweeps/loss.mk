# Tina's Dr. GRPO ablation on Open-RS3: as Tina ran it (its scale_reward typo left plain GRPO) against Dr. GRPO as it
# was meant (no std scaling, a token-sum loss; pipelines/recipes/tina-open-rs3-drgrpo-intended.mk).
GRID := RECIPE=tina-open-rs3-drgrpo,tina-open-rs3-drgrpo-intended
