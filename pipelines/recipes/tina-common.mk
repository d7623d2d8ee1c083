# What every Tina recipe shares, where its configuration says nothing else (pipelines/recipes/TINA.md gives each
# value's source in Tina's code).
RANK ?= 32
ALPHA ?= 128
DROPOUT ?= 0.05
TARGETS ?= all
LR ?= 1e-6
SCHEDULE ?= cosine-min-lr
WARMUP_RATIO ?= 0.1
MIN_LR_RATE ?= 0.1
MAX_GRAD_NORM ?= 1.0
LOSS ?= grpo
ADV_SCALE ?= group
BETA ?= 0.04
EPSILON ?= 0.2
EPSILON_HIGH ?= 0.2
TEMPERATURE ?= 0.7
TOP_P ?= 1.0
SEED ?= 42
BATCH ?= 8
MAX_PROMPT_TOKENS ?= 512
MAX_NEW_TOKENS ?= 3584
# vLLM's cap on prompt + completion (vllm_max_model_len): a completion ends there, before MAX_NEW_TOKENS when the
# prompt is long (tina-sample --max-model-len); empty: no cap
MAX_MODEL_LEN ?= 4608
TEMPLATE ?= tina
