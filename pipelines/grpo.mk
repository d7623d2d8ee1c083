# pipelines/grpo.mk: the GRPO-LoRA training loop, one folder per step.
#
#   make -f pipelines/grpo.mk RUN=runs/NAME MODEL=DIR TRAIN=FILE [RECIPE=tina-open-rs2] [VAR=value]...
#
# Step s (0001, 0002, ...) writes RUN/step-s/: prompts.jsonl (drawn by pipelines/select-prompts.sh), then
# rollouts.jsonl.zst (tina-sample with step s-1's adapter), rewarded.jsonl.zst (tina-reward), advantaged.jsonl.zst
# (tina-advantage), adapter/ (tina-update) and metrics.json; RUN/metrics.jsonl gathers them. step-0000/adapter is
# the starting adapter (a fresh one, or INIT_ADAPTER). Every file appears only when complete and every stage is
# seeded, so after a kill the same command resumes at the first missing file and ends with the same bytes as an
# uninterrupted run (the tools write atomically; recipes write to .tmp and rename). Variables set on the command line override the recipe's; `make -f pipelines/grpo.mk
# print-VAR` shows one.

TINA_BIN ?= bin
RECIPE ?= tina-open-rs2
include pipelines/recipes/$(RECIPE).mk

# Tina's settings (REFERENCE.md section 1) where the recipe says nothing
include pipelines/recipes/tina-common.mk
STEPS ?= 100
BATCH ?= 8
G ?= 6
TOTAL_STEPS ?= 1500
REWARDS ?= --preset tina
SYSTEM_FILE ?=
SUFFIX ?=
TOKENIZER ?=
MICRO_BATCH_TOKENS ?= 4096
THREADS ?= $(shell nproc)
INIT_ADAPTER ?=
KEEP ?=
EVAL_EVERY ?=
EVAL_SET ?=
EVAL_N ?= 4
EXTRA_UPDATE ?=

ifeq ($(RUN),)
$(error RUN is required: the run's folder, e.g. RUN=runs/first)
endif

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.PHONY: train print-%

numbers := $(shell seq -f %04g 1 $(STEPS))
# (inside the step rules, which make expands twice: $$$$ reaches the shell as one $)
system = $(if $(SYSTEM_FILE),--system "$$$$(cat $(SYSTEM_FILE))") $(if $(SUFFIX),--suffix '$(SUFFIX)') \
    $(if $(TOKENIZER),--tokenizer $(TOKENIZER))
adapter_of = $(RUN)/step-$(1)/adapter/adapter_config.json

train: $(RUN)/metrics.jsonl

print-%:
	@echo '$($*)'

$(RUN)/step-0000/adapter/adapter_config.json:
	@mkdir -p $(RUN)/step-0000
	rm -rf $(RUN)/step-0000/adapter.tmp
	$(if $(INIT_ADAPTER),cp -r $(INIT_ADAPTER) $(RUN)/step-0000/adapter.tmp, \
	    $(TINA_BIN)/tina-adapter init -m $(MODEL) -o $(RUN)/step-0000/adapter.tmp -r $(RANK) --alpha $(ALPHA) \
	        --dropout $(DROPOUT) --targets $(TARGETS) --seed $(SEED))
	mv $(RUN)/step-0000/adapter.tmp $(RUN)/step-0000/adapter

# One step: $(1) its number, $(2) the previous one's
define step
$(RUN)/step-$(1)/prompts.jsonl: | $(TRAIN)
	@mkdir -p $$(@D)
	pipelines/select-prompts.sh $(TRAIN) $$$$((10#$(1))) $(BATCH) $(SEED) > $$@.tmp && mv $$@.tmp $$@

$(RUN)/step-$(1)/rollouts.jsonl.zst: $(RUN)/step-$(1)/prompts.jsonl $(call adapter_of,$(2))
	$(TINA_BIN)/tina-sample -q -m $(MODEL) -a $(RUN)/step-$(2)/adapter -n $(G) -t $(TEMPERATURE) --top-p $(TOP_P) \
	    --max-new-tokens $(MAX_NEW_TOKENS) --max-prompt-tokens $(MAX_PROMPT_TOKENS) --template $(TEMPLATE) \
	    $(system) --seed $$$$(( $(SEED) * 100003 + 10#$(1) )) --threads $(THREADS) $$< -o $$@

$(RUN)/step-$(1)/rewarded.jsonl.zst: $(RUN)/step-$(1)/rollouts.jsonl.zst
	$(TINA_BIN)/tina-reward -q $(REWARDS) $$< -o $$@

$(RUN)/step-$(1)/advantaged.jsonl.zst: $(RUN)/step-$(1)/rewarded.jsonl.zst
	$(TINA_BIN)/tina-advantage -q -G $(G) $$< -o $$@

$(call adapter_of,$(1)): $(call adapter_of,$(2))
	$$(MAKE) -s -f pipelines/grpo.mk $(RUN)/step-$(1)/advantaged.jsonl.zst
	rm -rf $(RUN)/step-$(1)/adapter.tmp-* $(RUN)/step-$(1)/adapter
	$(TINA_BIN)/tina-update -q -m $(MODEL) -a $(RUN)/step-$(2)/adapter -o $(RUN)/step-$(1)/adapter \
	    --loss $(LOSS) --beta $(BETA) --epsilon $(EPSILON) --epsilon-high $(EPSILON_HIGH) --lr $(LR) \
	    --schedule $(SCHEDULE) --warmup-ratio $(WARMUP_RATIO) --min-lr-rate $(MIN_LR_RATE) \
	    --total-steps $(TOTAL_STEPS) --max-grad-norm $(MAX_GRAD_NORM) --micro-batch-tokens $(MICRO_BATCH_TOKENS) \
	    --seed $(SEED) --threads $(THREADS) $(EXTRA_UPDATE) $(RUN)/step-$(1)/advantaged.jsonl.zst > /dev/null
	$(if $(KEEP),for f in rollouts rewarded advantaged; do \
	    rm -f $(RUN)/step-$$$$(printf %04d $$$$((10#$(1) - $(KEEP))))/$$$$f.jsonl.zst; done)

# the trainer's metrics, and each reward's mean over the step's rollouts ("rewards"; from rewarded.jsonl.zst while
# it is kept; a reward with no verdict, such as accuracy on an unparseable gold, counts in none)
$(RUN)/step-$(1)/metrics.json: $(call adapter_of,$(1))
	{ jq -c '.metrics' $(RUN)/step-$(1)/adapter/trainer_state.json; \
	  if [ -e $(RUN)/step-$(1)/rewarded.jsonl.zst ]; then zstdcat $(RUN)/step-$(1)/rewarded.jsonl.zst; fi; } \
	    | jq -s -c '.[0] + (.[1:] | if length == 0 then {} else {rewards: (map(.rewards | to_entries[]) \
	        | group_by(.key) | map({key: .[0].key, value: (map(.value | numbers) \
	        | if length == 0 then null else add / length end)}) | from_entries)} end)' > $$@.tmp && mv $$@.tmp $$@

$(RUN)/step-$(1)/eval.json: $(call adapter_of,$(1))
	$(TINA_BIN)/tina-sample -q -m $(MODEL) -a $(RUN)/step-$(1)/adapter -n $(EVAL_N) -t $(TEMPERATURE) \
	    --max-new-tokens $(MAX_NEW_TOKENS) --template $(TEMPLATE) $(system) --threads $(THREADS) $(EVAL_SET) \
	    | $(TINA_BIN)/tina-reward -q $(REWARDS) | $(TINA_BIN)/tina-score --json > $$@.tmp && mv $$@.tmp $$@
endef

# "0001:0000 0002:0001 ...": each step with the one before it, from one shell (each make reads this file again)
pairs := $(shell for ((i = 1; i <= $(STEPS); i++)); do printf '%04d:%04d ' $$i $$((i - 1)); done)
# (not for print-*: reading a recipe's settings need not lay out 850 steps)
printing := $(and $(MAKECMDGOALS),$(if $(filter-out print-%,$(MAKECMDGOALS)),,yes))
$(if $(printing),,$(foreach p,$(pairs),$(eval $(call step,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p)))))))

# A step's adapter depends on the previous adapter alone and makes its step's files with a sub-make: the chain
# of steps stays a chain for make (a rule per file would give it two paths to every earlier step), and pruned
# rollouts (KEEP) are never wanted again once their adapter exists.

evals := $(if $(printing),,$(if $(EVAL_EVERY),$(foreach s,\
    $(shell seq -f %04g $(EVAL_EVERY) $(EVAL_EVERY) $(STEPS)),$(RUN)/step-$(s)/eval.json)))

$(RUN)/metrics.jsonl: $(foreach s,$(numbers),$(RUN)/step-$(s)/metrics.json) $(evals)
	cat $(foreach s,$(numbers),$(RUN)/step-$(s)/metrics.json) > $@.tmp && mv $@.tmp $@
