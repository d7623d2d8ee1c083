# SmolLM2-135M-Instruct (make smollm2) trained with GRPO-LoRA on the demo's arithmetic word problems
# (data/demo/train.jsonl: one- and two-step sums, differences and products of small numbers; data/demo/heldout.jsonl
# is a disjoint set never trained on). `make smollm2-demo` runs it: the base evaluated, trained, evaluated again.
# The prompt asks for the answer "as \boxed{number}": of 25 held-out problems x 4 samples at temperature 0.7, the
# base boxes 34% of its answers with it but only 12% hold a number (the rest copy the placeholder), where " Put the
# final answer in \boxed{}." gives 4% and a system prompt 1-2%.
# Rewards that copying the prompt cannot earn: accuracy (the last box equals the gold) at 2, boxed_number (the last
# box holds a number) at 1; tina-reward's plain `boxed` paid the GSM8K run for a copied \boxed{N}
# (bench/runs/smollm2-gsm8k). 8 prompts x G 8 a step, 128 new tokens: about 80 s a step on 2 cores. Held-out
# accuracy 2.0% -> 40.9% in 50 steps (bench/runs/smollm2-arith).
TRAIN ?= data/demo/train.jsonl
SUFFIX ?= $(empty) Give the final answer as \boxed{number}.
BATCH ?= 8
STEPS ?= 50
TOTAL_STEPS ?= 50
REWARDS ?= --reward accuracy:2,boxed_number:1
MAX_NEW_TOKENS ?= 128
MAX_PROMPT_TOKENS ?= 128
include pipelines/recipes/smollm2-common.mk
