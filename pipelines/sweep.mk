# pipelines/sweep.mk: a grid of GRPO runs, each a pipelines/grpo.mk run with some settings changed, every checkpoint
# evaluated (pipelines/eval.mk every CKPT_EVERY steps, and step 0).
#
#   make -f pipelines/sweep.mk SWEEP=pipelines/sweeps/NAME.mk MODEL=DIR [OUT=sweeps/NAME] [CKPT_EVERY=50] \
#       [VAR=value]... [-j N]
#
# The sweep file sets GRID, its axes (pipelines/sweep-points.sh): "LR=5e-7,1e-6" each, their cross product the runs;
# "RANK+ALPHA=4+16,8+32" moves settings together. RECIPE (the sweep file's, default tina-open-rs2) and every variable
# on the command line (MODEL, STEPS, LAUNCHER, SHARDS, EVAL_SETS, EVAL_VARS, ...) go to every run; the grid's values
# come last. Run NAME is OUT/NAME, named from its grid values ("rank-16", "lr-5e-7_loss-grpo"), with the settings.json
# of a grpo.mk run; OUT/sweep.json lists the runs and their values. Kill it and start it again: every run resumes
# where it stopped. `make -j N` runs N runs at once, sharing THREADS
# (pipelines/threads.mk); LAUNCHER=slurm submits their stages as Slurm jobs, each task with the cores it sees.
# `make report SWEEP=...` compares the runs.

include $(dir $(lastword $(MAKEFILE_LIST)))safe.mk
# after safe.mk: reading $(SWEEP) expands it, and safe.mk first refuses a command line's value holding $
ifeq ($(SWEEP),)
$(error SWEEP is required: a grid, e.g. SWEEP=pipelines/sweeps/rank.mk)
endif
include $(SWEEP)
RECIPE ?= tina-open-rs2
OUT ?= sweeps/$(basename $(notdir $(SWEEP)))
CKPT_EVERY ?= 50
include pipelines/threads.mk
$(call safe_require,SWEEP OUT RECIPE CKPT_EVERY THREADS)
$(call safe_require,GRID,words)
$(call safe_file,SWEEP OUT)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# a recipe that fails leaves no target behind to pass for a made one
.DELETE_ON_ERROR:

points := $(shell pipelines/sweep-points.sh $(GRID))
ifeq ($(points),)
$(error $(SWEEP): GRID gives no runs)
endif
name_of = $(firstword $(subst :, ,$(1)))
runs := $(foreach p,$(points),$(call name_of,$(p)))

.PHONY: sweep $(addprefix run-,$(runs)) print-%
sweep: $(OUT)/sweep.json $(addprefix run-,$(runs))

define run_rule
run-$(call name_of,$(1)): $(OUT)/sweep.json
	$$(MAKE) -f pipelines/grpo.mk RUN=$(OUT)/$(call name_of,$(1)) RECIPE=$(RECIPE) EVAL_EVERY=$(CKPT_EVERY) \
	    $(if $(filter slurm,$(LAUNCHER)),,THREADS=$(THREADS) RUNS_AT_ONCE=$(words $(runs))) \
	    $(wordlist 2,100,$(subst :, ,$(1))) train
endef
$(foreach p,$(points),$(eval $(call run_rule,$(p))))

$(OUT)/sweep.json: $(SWEEP)
	@mkdir -p $(@D)
	pipelines/sweep-points.sh --json $(GRID) | jq -s -c --arg sweep '$(SWEEP)' --arg recipe '$(RECIPE)' \
	    --arg ckpt '$(CKPT_EVERY)' '{sweep: $$sweep, recipe: $$recipe, ckpt_every: ($$ckpt | tonumber), runs: .}' \
	    > $@.tmp && mv $@.tmp $@
