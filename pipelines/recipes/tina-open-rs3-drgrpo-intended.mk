# Dr. GRPO on Open-RS3 as Tina's ablation meant it (not as it ran: RECIPE=tina-open-rs3-drgrpo): advantages not
# divided by the group's std, and the loss a token sum over the batch divided by its tokens. Tina's trainer, with
# scale_rewards off, divides each micro-batch's token sum by that micro-batch's tokens (grpo_trainer.py:734); tina's
# bnpo divides by the whole batch's: the same where the micro-batches hold equally many tokens.
ADV_SCALE ?= none
LOSS ?= bnpo
include pipelines/recipes/tina-open-rs3.mk
