# Tina's learning-rate ablation around the recipe's 1e-6.
GRID := LR=5e-7,1e-6,2e-6,5e-6
