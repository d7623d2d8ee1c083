# pipelines/smollm2-demo.mk: `make smollm2-demo`. A real pretrained model learning on a CPU: SmolLM2-135M-Instruct
# (make smollm2) trained with GRPO-LoRA by the smollm2-arith recipe on the demo's arithmetic word problems, its
# held-out problems (data/demo/heldout.jsonl, never trained on) scored by eval.mk with the recipe's own prompt before
# training (step 0), half way and after; a table with 95% intervals ends it.

TINA_BIN ?= bin
RUN ?= runs/smollm2-arith
TINA_CACHE ?= $(HOME)/.cache/tina
MODEL ?= $(TINA_CACHE)/smollm2-135m-instruct
HELDOUT ?= data/demo/heldout.jsonl
EVAL_N ?= 4
include $(dir $(lastword $(MAKEFILE_LIST)))safe.mk
include pipelines/threads.mk
$(call safe_require,TINA_BIN RUN TINA_CACHE MODEL HELDOUT EVAL_N THREADS)
$(call safe_file,RUN HELDOUT)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.PHONY: smollm2-demo

# (STEPS given to this make is the run's; a sub-make of $(shell) would not see it)
steps := $(or $(STEPS),$(shell make -s -f pipelines/grpo.mk RUN=$(RUN) RECIPE=smollm2-arith print-STEPS))
# evaluated every half run (the whole run when the number of steps is odd): step 0 is the base model
half := $(shell echo $$(( $(steps) % 2 ? $(steps) : $(steps) / 2 )))
checkpoints := 0 $(filter-out $(steps),$(half)) $(steps)
grpo = $(MAKE) -s -f pipelines/grpo.mk RUN=$(RUN) RECIPE=smollm2-arith MODEL=$(MODEL) TINA_BIN=$(TINA_BIN) \
    THREADS=$(THREADS) EVAL_EVERY=$(half) EVAL_SETS=$(HELDOUT) EVAL_N=$(EVAL_N) \
    EVAL_VARS="REWARDS=accuracy,boxed_number K=1,$(EVAL_N)"

smollm2-demo:
	@test -f $(MODEL)/model.safetensors || { echo "smollm2-demo: no model in $(MODEL): run make smollm2" >&2; exit 2; }
	@echo "GRPO-LoRA on SmolLM2-135M-Instruct, $(steps) steps (about 80 s a step on 2 cores), with held-out" \
	    "evaluations at steps $(checkpoints)"
	$(grpo)
	@echo
	@echo "SmolLM2-135M-Instruct on $(HELDOUT) ($(EVAL_N) samples a problem, the recipe's prompt and temperature):"
	@printf '%-6s %-24s %14s %12s %10s\n' step "accuracy [95% interval]" "number boxed" "tokens" truncated
	@for s in $(checkpoints); do \
	    d=$(RUN)/step-$$(printf %04d $$s)/eval; \
	    jq -r --arg s $$s '.benchmarks[] | [$$s, "\(."pass@1" * 1000 | round / 10)% [\(.ci95[0] * 1000 | round / 10), \(.ci95[1] * 1000 | round / 10)]", (.completion_len_mean * 10 | round / 10), "\(.frac_truncated * 1000 | round / 10)%"] | @tsv' \
	        $$d/scores.json | while IFS=$$'\t' read -r step acc tokens truncated; do \
	    boxed=$$(zstdcat $$d/*.rewarded.jsonl.zst | jq -s 'map(.rewards.boxed_number) | add / length * 1000 | round / 10'); \
	    printf '%-6s %-24s %13s%% %12s %10s\n' "$$step" "$$acc" "$$boxed" "$$tokens" "$$truncated"; done; \
	done
	@echo "run: $(RUN) (metrics.jsonl; make report RUN=$(RUN) for its page)"
	@$(MAKE) -s -f pipelines/plot.mk RUN=$(RUN)
