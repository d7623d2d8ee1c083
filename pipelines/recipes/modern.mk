# Later practice (TRL >= 0.19, Dr. GRPO, DAPO): no KL term, clip-higher, unnormalised advantages are left to
# tina-advantage's default here, the token-sum loss of Dr. GRPO, truncated completions left out, a constant
# learning rate. A starting point for ablations, not a published recipe.
TRAIN ?= data/sets/open-rs.jsonl.zst
G ?= 8
BATCH ?= 8
STEPS ?= 500
TOTAL_STEPS ?= 500
REWARDS ?= --reward format:1,accuracy:2
LOSS ?= dr_grpo
BETA ?= 0
EPSILON ?= 0.2
EPSILON_HIGH ?= 0.28
SCHEDULE ?= constant
EXTRA_UPDATE ?= --mask-truncated
SYSTEM_FILE ?= pipelines/recipes/open-rs-system.txt
include pipelines/recipes/tina-common.mk
