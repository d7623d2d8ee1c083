# pipelines/eval.mk: benchmarks x one model (+ adapter) -> rewarded rollouts -> a score table.
#
#   make -f pipelines/eval.mk OUT=evals/NAME MODEL=DIR [ADAPTER=DIR] [SETS="data/sets/aime24.jsonl ..."] [N=4]
#       [DEVICE=cuda]
#
# Writes OUT/<set>.rollouts.jsonl.zst (tina-sample) and OUT/<set>.rewarded.jsonl.zst (tina-reward) per benchmark,
# then OUT/scores.txt (tina-score's table), OUT/scores.json and OUT/protocol.json (the template, suffix and sampling
# that made them). A benchmark is a set, named by its file (data/sets/aime24.jsonl is aime24) whatever the "source"
# of its records: two sets of one source are two rows, a set of several sources one; two sets of one name are
# refused. Run again into the same OUT, it makes again what other settings change, and only that: the rollouts for
# another adapter, N or template; the rewards, not the rollouts, for another GRADER or REWARDS; the scores for
# another K.
# The defaults are Tina's evaluation (scripts/eval/ at c6274cd, lighteval ed084813): temperature 0.6, top-p 0.95,
# 32,768 new tokens with prompt and completion together capped at 32,768 (MAX_MODEL_LEN: its max_model_length=32768,
# vLLM's max_model_len, which ends a completion there; lighteval ed084813 keeps the whole prompt, its context cut of
# max_model_length - max_new_tokens = 0 tokens being input[-0:]), one sample a problem (N=10 stands for the multi-seed
# script's ten seeds), lighteval's query
# before each problem (PREFIX_FILE: MATH_QUERY_TEMPLATE; GPQA_PREFIX_FILE for a set named gpqa*: its letter-choice
# query) and the distill's chat template as lighteval fed it (deepseek-r1-lighteval: two BOS, <think> prefilled);
# tests/cli/lighteval.sh checks the prompts' tokens against lighteval's. The answers are graded as Tina's
# run_eval_custom_tasks.py graded them (GRADER=lighteval: lighteval's extractive match, tina-reward --grader
# lighteval-*): a set named gpqa* by its letters, the LATEX_GOLD_SETS by their gold read as LaTeX (latex_gold_metric),
# the others by their gold read as an expression (expr_gold_metric); GRADER=open-r1 grades every set with open-r1's
# accuracy reward (Math-Verify), as training rewards it. SUFFIX, empty by default, is appended to
# each problem after a space (make drops a value's leading blanks; $(empty) keeps them: SUFFIX='$(empty) Think.'; it
# reaches tina-sample as written, quotes, $ and backticks included, pipelines/safe.mk). DEVICE=cuda samples on the GPU (a build
# with CUDA=1), where tina-sample's --batch auto fills 90% of its memory with the KV cache: at 32,768 new tokens
# that is the protocol's only practical place.

# its settings come from its command line or these defaults, never from the environment (SUFFIX aside: it is text,
# and grpo.mk hands it over there); the safe_* functions: pipelines/safe.mk
include $(dir $(lastword $(MAKEFILE_LIST)))safe.mk
$(call safe_not_from_environment,SETS N TEMPERATURE TOP_P MAX_NEW_TOKENS MAX_PROMPT_TOKENS MAX_MODEL_LEN TEMPLATE PREFIX_FILE \
    GPQA_PREFIX_FILE SOLUTION_GOLD_SETS LATEX_GOLD_SETS GRADER SEED K REWARDS TOKENIZER ADAPTER RUNS_AT_ONCE)
TINA_BIN ?= bin
SETS ?= data/sets/aime24.jsonl data/sets/aime25.jsonl data/sets/amc23.jsonl data/sets/math500.jsonl \
        data/sets/minerva.jsonl
N ?= 1
TEMPERATURE ?= 0.6
TOP_P ?= 0.95
MAX_NEW_TOKENS ?= 32768
MAX_PROMPT_TOKENS ?= 2048
# vLLM's cap on prompt + completion (tina-sample --max-model-len); empty: none
MAX_MODEL_LEN ?= 32768
TEMPLATE ?= deepseek-r1-lighteval
PREFIX_FILE ?= pipelines/recipes/lighteval-math-prefix.txt
GPQA_PREFIX_FILE ?= pipelines/recipes/lighteval-gpqa-prefix.txt
SUFFIX ?=
# sets graded against the last \boxed{} of their solution, as lighteval's math_500 and minerva tasks are (Tina's
# run_eval_custom_tasks.py: choices=[line["solution"]]); the others against their answer
SOLUTION_GOLD_SETS ?= math500 minerva
# how answers are graded: lighteval (Tina's evaluation: tina-reward --grader lighteval-expr, -latex or -letters per
# set) or open-r1 (tina-reward's default grader, open-r1's accuracy reward, for every set)
GRADER ?= lighteval
# the sets lighteval's latex_gold_metric graded (run_eval_custom_tasks.py: math_500, minerva, olympiadbench), their
# gold read as LaTeX; the others' as an expression (expr_gold_metric: aime24, aime25, amc23); gpqa* by letters
LATEX_GOLD_SETS ?= math500 minerva olympiadbench
SEED ?= 0
K ?= 1
# the rewards tina-reward scores (tina-score reads accuracy; the others stay in the rewarded rollouts)
REWARDS ?= accuracy,format
include pipelines/threads.mk
DEVICE ?= cpu
TOKENIZER ?=
ADAPTER ?=

ifeq ($(OUT),)
$(error OUT is required: the evaluation's folder, e.g. OUT=evals/base)
endif
$(call safe_require,TINA_BIN OUT MODEL ADAPTER TOKENIZER N TEMPERATURE TOP_P MAX_NEW_TOKENS MAX_PROMPT_TOKENS MAX_MODEL_LEN TEMPLATE \
    PREFIX_FILE GPQA_PREFIX_FILE SEED K THREADS DEVICE REWARDS GRADER)
$(call safe_require,SETS SOLUTION_GOLD_SETS LATEX_GOLD_SETS,words)
# one word, and not none: grader_of would grade an empty GRADER as lighteval, and protocol.json record it empty
$(if $(filter lighteval open-r1,$(GRADER)),,$(error GRADER=$(GRADER): lighteval or open-r1))
$(call safe_file,OUT SETS)
$(call safe_set_names,SETS)
# the prompt suffix is text: tina-sample gets it from the environment, as written
export TINA_SUFFIX := $(call safe_text,SUFFIX)
# one make at a time in OUT, as grpo.mk in a run's folder; its tools' environment names the folder they write in (a
# run's, when grpo.mk's evaluation)
$(call safe_lock,$(OUT))
TINA_LOCKED_RUN ?= $(OUT)
export TINA_LOCKED_RUN

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# a recipe that fails leaves no target behind to pass for a made one
.DELETE_ON_ERROR:
.PHONY: scores print-% FORCE

# the prefix file of set $(1): GPQA's for a set named gpqa*
prefix_of = $(if $(filter gpqa%,$(call set_name,$(1))),$(GPQA_PREFIX_FILE),$(PREFIX_FILE))
# tina-reward's grader for set $(1): Tina's metric for it (GRADER=lighteval) or open-r1's accuracy
grader_of = $(if $(filter open-r1,$(GRADER)),open-r1,$(if $(filter gpqa%,$(call set_name,$(1))),lighteval-letters,$(if \
    $(filter $(LATEX_GOLD_SETS),$(call set_name,$(1))),lighteval-latex,lighteval-expr)))
rollouts_of = $(OUT)/$(call set_name,$(1)).rollouts.jsonl.zst
rewarded := $(foreach s,$(SETS),$(OUT)/$(call set_name,$(s)).rewarded.jsonl.zst)

scores: $(OUT)/scores.txt

# What made the rollouts, what rewarded them and what made the scores, a file each, made again only when a setting
# changed: an OUT made again with another adapter, N, template, grader or K is made again, not passed as made (make
# sees files, not settings), and no more of it than that setting reaches (regrading a 32,768-token evaluation
# samples nothing); compared as make reads this file, so that make -n shows it too. (SUFFIX is text: it reaches the
# file through the environment, as written.)
sampled_by := $(foreach v,MODEL ADAPTER TOKENIZER N TEMPERATURE TOP_P MAX_NEW_TOKENS MAX_PROMPT_TOKENS MAX_MODEL_LEN TEMPLATE \
    PREFIX_FILE GPQA_PREFIX_FILE SEED,$(v)=$($(v))) SUFFIX=$(TINA_SUFFIX)
rewarded_by := $(foreach v,REWARDS SOLUTION_GOLD_SETS GRADER LATEX_GOLD_SETS,$(v)=$($(v)))
scored_by := K=$(K)
# (GNU make 4.3's $(file <) does not always drop the file's last newline: not when its buffer grew as it read, which
# depends on what else the line expands. Either way the settings are the same.)
define settings_file
$(OUT)/.$(1)-by: export TINA_SETTINGS = $$($(1)_by)
$(1)_recorded := $$(file <$(OUT)/.$(1)-by)
ifneq ([$$($(1)_recorded)],[$$($(1)_by)])
ifneq ([$$($(1)_recorded)],[$$($(1)_by)$$(safe_newline)])
$(OUT)/.$(1)-by: FORCE
endif
endif
endef
$(foreach f,sampled rewarded scored,$(eval $(call settings_file,$(f))))
$(OUT)/.sampled-by $(OUT)/.rewarded-by $(OUT)/.scored-by:
	@mkdir -p $(@D)
	@printf '%s\n' "$$TINA_SETTINGS" > $@.tmp && mv $@.tmp $@

define set
$(call rollouts_of,$(1)): $(1) $(OUT)/.sampled-by
	@mkdir -p $$(@D)
	$(TINA_BIN)/tina-sample -q -m $(MODEL) $(if $(ADAPTER),-a $(ADAPTER)) $(if $(TOKENIZER),--tokenizer $(TOKENIZER)) \
	    -n $(N) -t $(TEMPERATURE) --top-p $(TOP_P) --max-new-tokens $(MAX_NEW_TOKENS) \
	    --max-prompt-tokens $(MAX_PROMPT_TOKENS) $(if $(MAX_MODEL_LEN),--max-model-len $(MAX_MODEL_LEN)) \
	    --template $(TEMPLATE) \
	    $(if $(call prefix_of,$(1)),--prefix-file $(call prefix_of,$(1))) --suffix "$$$$TINA_SUFFIX" --seed $(SEED) \
	    --device $(DEVICE) --threads $$(call threads_each,$(words $(SETS))) -o $$@ $$<
$(OUT)/$(call set_name,$(1)).rewarded.jsonl.zst: $(call rollouts_of,$(1)) $(OUT)/.rewarded-by
	$(TINA_BIN)/tina-reward -q -r $(REWARDS) --grader $(call grader_of,$(1)) \
	    $(if $(filter $(SOLUTION_GOLD_SETS),$(call set_name,$(1))),--gold-field solution) -o $$@ $$<
endef
$(foreach s,$(SETS),$(eval $(call set,$(s))))

# what made the scores, beside them (a report says it with each score)
$(OUT)/protocol.json: $(rewarded)
	jq -n -c --arg template '$(TEMPLATE)' --arg prefix_file '$(PREFIX_FILE)' --arg gpqa_prefix_file '$(GPQA_PREFIX_FILE)' \
	    --arg solution_gold_sets '$(SOLUTION_GOLD_SETS)' --arg rewards '$(REWARDS)' --arg grader '$(GRADER)' \
	    --arg latex_gold_sets '$(LATEX_GOLD_SETS)' \
	    --arg suffix "$$TINA_SUFFIX" --argjson temperature $(TEMPERATURE) \
	    --argjson top_p $(TOP_P) --argjson max_new_tokens $(MAX_NEW_TOKENS) \
	    --argjson max_prompt_tokens $(MAX_PROMPT_TOKENS) --argjson max_model_len '$(or $(MAX_MODEL_LEN),null)' \
	    --argjson n $(N) --argjson seed $(SEED) '$$ARGS.named' \
	    > $@.tmp && mv $@.tmp $@

$(OUT)/scores.json: $(rewarded) $(OUT)/protocol.json $(OUT)/.scored-by
	$(TINA_BIN)/tina-score --by-input --json -k $(K) $(rewarded) -o $@

$(OUT)/scores.txt: $(rewarded) $(OUT)/scores.json $(OUT)/.scored-by
	$(TINA_BIN)/tina-score --by-input -k $(K) $(rewarded) -o $@
	@cat $@
