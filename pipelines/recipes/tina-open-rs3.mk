# Tina-Open-RS3: open-rs data, G 6, format 1 + cosine 2 (cosine over characters, max length 3584, unclamped).
TRAIN ?= data/sets/open-rs.jsonl.zst
G ?= 6
BATCH ?= 8
STEPS ?= 850
TOTAL_STEPS ?= 1500
REWARDS ?= --reward format:1,cosine:2 --cosine-max-len 3584
SYSTEM_FILE ?= pipelines/recipes/open-rs-system.txt
include pipelines/recipes/tina-common.mk
