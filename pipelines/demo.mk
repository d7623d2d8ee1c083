# pipelines/demo.mk: `make demo`. The embedded tiny-arith model (data/models/tiny-arith, deliberately weak) is
# evaluated on held-out problems, trained with GRPO-LoRA by grpo.mk's demo recipe, and evaluated again; a
# before/after table ends it. Held-out problems never appear in training (data/demo/README in the model card).

TINA_BIN ?= bin
DEMO ?= runs/demo
MODEL ?= data/models/tiny-arith
HELDOUT ?= data/demo/heldout.jsonl
EVAL_N ?= 4
include $(dir $(lastword $(MAKEFILE_LIST)))safe.mk
include pipelines/threads.mk
$(call safe_require,TINA_BIN DEMO MODEL HELDOUT EVAL_N THREADS)
$(call safe_file,DEMO)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# a recipe that fails leaves no target behind to pass for a made one
.DELETE_ON_ERROR:
.PHONY: demo

# (STEPS given to this make is the run's; a sub-make of $(shell) would not see it)
steps := $(or $(STEPS),$(shell make -s -f pipelines/grpo.mk RUN=$(DEMO) RECIPE=demo print-STEPS))
last := $(shell printf %04d $(steps))
score_heldout = $(TINA_BIN)/tina-sample -q -m $(MODEL) $(1) -n $(EVAL_N) -t 0.7 --max-new-tokens 96 --template tina \
    --seed 7 --threads $(THREADS) $(HELDOUT) | $(TINA_BIN)/tina-reward -q -r accuracy,format -o $(2)

demo: $(DEMO)/before.rewarded.jsonl.zst $(DEMO)/after.rewarded.jsonl.zst
	@echo
	@echo "GRPO-LoRA on the embedded tiny-arith model, held-out problems ($(EVAL_N) samples each, temperature 0.7):"
	@printf '%-8s %10s %10s\n' "" accuracy format
	@for when in before after; do \
	    zstdcat $(DEMO)/$$when.rewarded.jsonl.zst | jq -s -r --arg w $$when \
	        '"\($$w | .[0:8] + "        " | .[0:8]) \(map(.rewards.accuracy) | add / length * 100 | . * 10 | round / 10 | tostring | "          " + . | .[-9:])% \(map(.rewards.format) | add / length * 100 | . * 10 | round / 10 | tostring | "          " + . | .[-9:])%"'; \
	done
	@echo "run: $(DEMO) (metrics.jsonl, every step's rollouts; open them with zstdcat and jq)"
	@$(MAKE) -s -f pipelines/plot.mk RUN=$(DEMO)

$(DEMO)/before.rewarded.jsonl.zst:
	@mkdir -p $(@D)
	@echo "evaluating the base model on $(HELDOUT)"
	$(call score_heldout,,$@)

# (after the first evaluation, not beside it: under make -j each would take THREADS, and the run's make, taking its
# folder, clears what is half-written there: the evaluation's output was)
$(DEMO)/step-$(last)/adapter/adapter_config.json: | $(DEMO)/before.rewarded.jsonl.zst
	@echo "training: $(steps) GRPO steps"
	$(MAKE) -s -f pipelines/grpo.mk RUN=$(DEMO) RECIPE=demo MODEL=$(MODEL) TINA_BIN=$(TINA_BIN) THREADS=$(THREADS)

$(DEMO)/after.rewarded.jsonl.zst: $(DEMO)/step-$(last)/adapter/adapter_config.json
	@echo "evaluating the trained adapter on $(HELDOUT)"
	$(call score_heldout,-a $(DEMO)/step-$(last)/adapter,$@)
