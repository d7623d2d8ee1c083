# Tina's CuratedThoughts run (train_model_thoughts.yaml): bethgelab/CuratedThoughts, its
# OpenThoughts-114k-math-default config (66.1k; data/SOURCES.md says how to import it), G 8, one epoch, the seven
# rewards of tina-openr1.
# Every value below is Tina's (pipelines/recipes/TINA.md: each setting with its source in Tina's code at c6274cd;
# tests/cli/recipes.sh checks them).
TRAIN ?= data/sets/curated-thoughts.jsonl.zst
G ?= 8
TOTAL_STEPS ?= epoch
STEPS ?= epoch
REWARDS ?= --reward accuracy:1,format:1,tag_count_tina:1,length:1,reasoning_steps:1,cosine:1,repetition:1 \
    --cosine-max-len 3584 --gold-field solution --gold-parse tina --nulls trl
SYSTEM_FILE ?= pipelines/recipes/open-r1-system.txt
SAVE_EVERY ?= 100
# no vllm_max_model_len in its configuration: vLLM's default, the model's own 131,072 positions, never reached
MAX_MODEL_LEN ?=
include pipelines/recipes/tina-common.mk
