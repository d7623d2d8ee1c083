# pipelines/grpo.mk: the GRPO-LoRA training loop, one folder per step.
#
#   make -f pipelines/grpo.mk RUN=runs/NAME MODEL=DIR TRAIN=FILE [RECIPE=tina-open-rs2] [VAR=value]...
#
# Step s (0001, 0002, ...) writes RUN/step-s/: prompts.jsonl (drawn by pipelines/select-prompts.sh), then
# rollouts.jsonl.zst (tina-sample with step s-1's adapter), rewarded.jsonl.zst (tina-reward), advantaged.jsonl.zst
# (tina-advantage), adapter/ (tina-update) and metrics.json; RUN/metrics.jsonl gathers them. step-0000/adapter is
# the starting adapter (a fresh one, or INIT_ADAPTER). Every file appears only when complete and every stage is
# seeded, so after a kill the same command resumes at the first missing file and ends with the same bytes as an
# uninterrupted run (the tools write atomically; recipes write to .tmp and rename). Variables set on the command
# line override the recipe's; `make -f pipelines/grpo.mk print-VAR` shows one.
#
# SHARDS=N splits each step's prompts into N contiguous shards (RUN/step-s/shard-K/): N tina-sample and N
# tina-reward, their outputs concatenated in shard order (the same rollouts as one process: each sample has its own
# RNG stream), one tina-advantage, then N tina-update --shard K/N and one --apply-grads. With `make -j N` the shards
# run at once, sharing THREADS (the run's cores: N at once get THREADS/N each); GPUS=1 gives shard K the GPU
# CUDA_VISIBLE_DEVICES=K.
#
# LAUNCHER=slurm runs the stages as Slurm jobs and waits for them (pipelines/slurm-job.sh; man tina-cluster): each
# step's sampling and rewards as one job array over the shards, its gradients as another, tina-advantage and the
# update (--apply-grads with shards) as single jobs; a task makes its files with this makefile and LAUNCHER=local, so
# it runs exactly the local commands. Only the shards whose files are missing are submitted again on a resume.
# PARTITION, ACCOUNT, TIME_LIMIT, GPUS_PER_TASK (--gres gpu:N), CPUS_PER_TASK and SBATCH_FLAGS shape the jobs; the
# run folder, the model and bin/ must be on a filesystem the nodes share. Logs: RUN/slurm/.

TINA_BIN ?= bin
RECIPE ?= tina-open-rs2
include $(dir $(lastword $(MAKEFILE_LIST)))safe.mk
include pipelines/recipes/$(RECIPE).mk

# Tina's settings (docs/facts.md section 1) where the recipe says nothing
include pipelines/recipes/tina-common.mk
STEPS ?= 100
BATCH ?= 8
G ?= 6
TOTAL_STEPS ?= 1500
REWARDS ?= --preset tina
# advantages: group (divided by the group's std, Tina's), batch or none (Dr. GRPO's): tina-advantage --scale
ADV_SCALE ?= group
SYSTEM_FILE ?=
SUFFIX ?=
TOKENIZER ?=
MICRO_BATCH_TOKENS ?= 4096
include pipelines/threads.mk
INIT_ADAPTER ?=
KEEP ?=
# SAVE_EVERY=k keeps the adapters of steps 0, k, 2k, ..., those EVAL_EVERY evaluates, and the last; a step's
# optimizer state goes once the next step is made (a resume needs only the last step's); unset, every step keeps
# both (0.44 GB a step on the 1.5B: man tina(7), DISK USE)
SAVE_EVERY ?=
EVAL_EVERY ?=
EVAL_SETS ?=
EVAL_N ?= 1
EVAL_VARS ?=
# how checkpoints are evaluated: tina (Tina's protocol, eval.mk's defaults) or recipe (the prompt, template and
# sampling the run trains with, graded by open-r1's accuracy as its reward is: for a model that never saw Tina's
# prompt, such as the demo's)
EVAL_PROTOCOL ?= tina
EXTRA_UPDATE ?=
SHARDS ?= 1
GPUS ?=
# DEVICE: where tina-sample runs (cpu, or cuda); UPDATE_DEVICE: where tina-update runs (cpu by default: its CUDA
# backward passes tests/gpu/check.py's parity against PEFT on the CUDA emulator, bench/results/emu-2026-11-29.md,
# and has yet to on a GPU; UPDATE_DEVICE=cuda takes it there)
DEVICE ?= cpu
UPDATE_DEVICE ?= cpu
LAUNCHER ?= local
PARTITION ?=
ACCOUNT ?=
TIME_LIMIT ?=
GPUS_PER_TASK ?=
CPUS_PER_TASK ?=
SBATCH_FLAGS ?=

ifeq ($(RUN),)
$(error RUN is required: the run's folder, e.g. RUN=runs/first)
endif
ifeq ($(MODEL)$(if $(filter-out print-%,$(or $(MAKECMDGOALS),train)),,printing),)
$(error MODEL is required: the base model's folder (config.json and its safetensors), e.g. MODEL=models/1.5b)
endif
$(call safe_require,RUN MODEL TRAIN TOKENIZER STEPS BATCH G TOTAL_STEPS RANK ALPHA DROPOUT TARGETS INIT_ADAPTER SEED \
    LOSS ADV_SCALE BETA EPSILON EPSILON_HIGH LR SCHEDULE WARMUP_RATIO MIN_LR_RATE MAX_GRAD_NORM MICRO_BATCH_TOKENS \
    TEMPERATURE TOP_P MAX_NEW_TOKENS MAX_PROMPT_TOKENS MAX_MODEL_LEN TEMPLATE SYSTEM_FILE SHARDS DEVICE UPDATE_DEVICE \
    LAUNCHER EVAL_EVERY EVAL_N THREADS RUNS_AT_ONCE KEEP SAVE_EVERY TINA_BIN RECIPE GPUS PARTITION ACCOUNT TIME_LIMIT \
    GPUS_PER_TASK CPUS_PER_TASK EVAL_PROTOCOL)
$(call safe_file,RUN TRAIN EVAL_SETS)
$(call safe_set_names,EVAL_SETS)
$(if $(filter-out tina recipe,$(EVAL_PROTOCOL)),$(error EVAL_PROTOCOL=$(EVAL_PROTOCOL): tina or recipe))
$(if $(filter-out group batch none,$(ADV_SCALE)),$(error ADV_SCALE=$(ADV_SCALE): group, batch or none))
# TOTAL_STEPS=epoch (and STEPS=epoch): one pass over TRAIN, BATCH prompts a step (a Tina configuration without
# max_steps), counted when the training set is there, by select-prompts.sh as it draws them (a last line without
# its newline counts, blank lines do not) (override: given on the command line, a plain assignment would leave
# "epoch" for tina-update and step-line.sh)
ifneq ($(filter epoch,$(TOTAL_STEPS) $(STEPS)),)
epoch_steps := $(if $(wildcard $(TRAIN)),$(shell echo $$(( $$(pipelines/select-prompts.sh --count $(TRAIN)) / $(BATCH) ))))
ifneq ($(epoch_steps),)
override TOTAL_STEPS := $(patsubst epoch,$(epoch_steps),$(TOTAL_STEPS))
override STEPS := $(patsubst epoch,$(epoch_steps),$(STEPS))
endif
endif
$(call safe_require,REWARDS EXTRA_UPDATE EVAL_SETS EVAL_VARS SBATCH_FLAGS,words)
# INIT_ADAPTER's rank, alpha, dropout and targets are the run's (the recipe's or the command line's would be recorded
# for an adapter they did not make; a value given on the command line that differs is said, by the run's make, not
# again by each step's): read from the run's copy once made, so that a run resumes where INIT_ADAPTER has gone since
init_config := $(if $(INIT_ADAPTER),$(firstword $(wildcard $(RUN)/step-0000/adapter/adapter_config.json \
    $(INIT_ADAPTER)/adapter_config.json)))
ifneq ($(init_config),)
init_shape := $(shell jq -r '[.r, .lora_alpha, .lora_dropout, (.target_modules | if type == "array" then join(",") \
    else . end)] | map(tostring) | join(" ")' $(init_config))
$(foreach i,1 2 3 4,$(eval init_$(word $(i),RANK ALPHA DROPOUT TARGETS) := $(word $(i),$(init_shape))))
# (the same value written otherwise is the same: 0.0 and 0, targets in another order)
init_differs = $(if $(filter TARGETS,$(1)),$(filter-out $(init_targets),$(targets))$(filter-out $(targets),\
    $(init_targets)),$(shell awk 'BEGIN { exit ARGV[1] + 0 == ARGV[2] + 0 }' '$(init_$(1))' '$($(1))' && echo yes))
comma := ,
targets = $(subst $(comma), ,$(TARGETS))
init_targets = $(subst $(comma), ,$(init_TARGETS))
$(foreach v,RANK ALPHA DROPOUT TARGETS,$(if $(and $(filter command line,$(origin $(v))),$(if $(STEP_ONLY),,yes),\
    $(call init_differs,$(v))),$(warning $(v)=$($(v)) does not apply: the run starts from INIT_ADAPTER, whose $(v) \
    is $(init_$(v)))))
override RANK := $(init_RANK)
override ALPHA := $(init_ALPHA)
override DROPOUT := $(init_DROPOUT)
override TARGETS := $(init_TARGETS)
$(call safe_require,RANK ALPHA DROPOUT TARGETS)
endif
# the prompt suffix is text: the tools get it from the environment, as written
export TINA_SUFFIX := $(call safe_text,SUFFIX)

# One make at a time in a run's folder (safe_lock); its own sub-makes and Slurm tasks know the run is theirs
$(call safe_lock,$(RUN))
export TINA_LOCKED_RUN := $(RUN)
ifeq ($(filter local slurm,$(LAUNCHER)),)
$(error LAUNCHER is local or slurm, not '$(LAUNCHER)')
endif

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# a recipe that fails leaves no target behind to pass for a made one
.DELETE_ON_ERROR:
.PHONY: train print-% FORCE

# (STEPS still "epoch": TRAIN is not there, and step 1's prompts say so)
numbers := $(shell seq -f %04g 1 $(patsubst epoch,1,$(STEPS)))
# (inside the step rules, which make expands twice: $$$$ reaches the shell as one $)
system = $(if $(SYSTEM_FILE),--system-file $(SYSTEM_FILE)) $(if $(TINA_SUFFIX),--suffix "$$$$TINA_SUFFIX") \
    $(if $(TOKENIZER),--tokenizer $(TOKENIZER))
adapter_of = $(RUN)/step-$(1)/adapter/adapter_config.json
shards := $(shell seq 0 $$(( $(SHARDS) - 1 )))
sharded := $(filter-out 1,$(SHARDS))
# shard K's environment: its own GPU when there are GPUs
on_shard = $(if $(GPUS),CUDA_VISIBLE_DEVICES=$(1))

slurm := $(filter slurm,$(LAUNCHER))
sbatch_options = $(if $(PARTITION),--partition $(PARTITION)) $(if $(ACCOUNT),--account $(ACCOUNT)) \
    $(if $(TIME_LIMIT),--time $(TIME_LIMIT)) $(if $(GPUS_PER_TASK),--gres gpu:$(GPUS_PER_TASK)) \
    $(if $(CPUS_PER_TASK),--cpus-per-task $(CPUS_PER_TASK)) $(SBATCH_FLAGS)
# $(call job,NAME,TARGETS[,ARRAY[,STEP]]): a Slurm job (an array over the indices ARRAY, "%a" in TARGETS standing for
# each) makes TARGETS with this makefile, LAUNCHER=local; TARGETS of step STEP with that step's rules alone (STEP_ONLY
# reaches the job's make in the environment, which sbatch exports)
job = $(if $(4),STEP_ONLY=$(4)) pipelines/slurm-job.sh --name tina-$(1) --logs $(RUN)/slurm $(if $(3),--array $(3)) \
    -- $(sbatch_options) -- pipelines/grpo.mk $(2)
# (inside the step rules) $(call shard_jobs,STEP,FILE,NAME): one array job making step STEP's shard-K/FILE for each
# shard K that lacks it
shard_jobs = missing=$$$$(for k in $(shards); do [ -e $(RUN)/step-$(1)/shard-$$$$k/$(2) ] || echo $$$$k; done); \
    [ -z "$$$$missing" ] || $(call job,$(3)-$(1),$(RUN)/step-$(1)/shard-%a/$(2),"$$$$missing",$(1))

# (inside the step rules, after a command started with start=$$$$(date +%s.%N))
# $(call record_time,STEP,STAGE[,FOLDER[,DEVICE]]): the stage's wall seconds and device (DEVICE's by default) in
# RUN/step-STEP/times/STAGE[-shard-K].json, for tina-cost. A stage's command writes NAME.tmp (NAME.tmp.zst for a
# .zst target: the tools compress by the name), renamed to its target once its time is recorded: a make killed
# between the two made the stage again, where a target already in place would have been passed as made with its
# time lost
record_time = pipelines/stage-time.sh \
    $(RUN)/step-$(1)/times/$(2)$(if $(filter shard-%,$(notdir $(3))),-$(notdir $(3))).json $(1) $(2) $$$$start \
    $(or $(4),$(DEVICE))

train: $(RUN)/settings.json $(RUN)/metrics.jsonl

# every setting the run's commands use, resolved (the recipe's, then the command line's), recorded when the run
# starts: a report never has to guess what a run was. A run started again with other settings (more STEPS, another
# TEMPERATURE) says which changed; settings.json then holds the new ones, settings-history.jsonl each earlier set.
settings := RECIPE MODEL TRAIN TOKENIZER STEPS BATCH G TOTAL_STEPS RANK ALPHA DROPOUT TARGETS INIT_ADAPTER SEED LOSS \
    ADV_SCALE SAVE_EVERY BETA EPSILON EPSILON_HIGH LR SCHEDULE WARMUP_RATIO MIN_LR_RATE MAX_GRAD_NORM MICRO_BATCH_TOKENS TEMPERATURE TOP_P \
    MAX_NEW_TOKENS MAX_PROMPT_TOKENS MAX_MODEL_LEN TEMPLATE SYSTEM_FILE REWARDS EXTRA_UPDATE SHARDS DEVICE UPDATE_DEVICE \
    LAUNCHER EVAL_EVERY EVAL_SETS EVAL_N EVAL_VARS EVAL_PROTOCOL
$(RUN)/settings.json: FORCE
	@mkdir -p $(@D)
	jq -n '$$ARGS.named' $(foreach v,$(settings),--arg $(v) '$($(v))') --arg SUFFIX "$$TINA_SUFFIX" > $@.tmp
	if [ ! -e $@ ]; then mv $@.tmp $@; elif cmp -s $@.tmp $@; then rm $@.tmp; else \
	    echo "$(notdir $(RUN)): settings changed since the run last started:" $$(jq -n -r --slurpfile was $@ \
	        --slurpfile now $@.tmp '$$was[0] as $$was | $$now[0] | to_entries | map(select(.value != $$was[.key]) \
	        | "\(.key) \($$was[.key] // "" | if . == "" then "(none)" else . end) -> \(if .value == "" then "(none)" \
	        else .value end)") | join(", ")') >&2; \
	    jq -c . $@ >> $(RUN)/settings-history.jsonl && mv $@.tmp $@; fi

# a training set that is not there: where it comes from (make would only say it has no rule for it)
$(TRAIN):
	@echo "grpo.mk: TRAIN=$@ is not there; data/SOURCES.md says where each training set comes from and how" \
	    "data/import/import.sh makes it" >&2; exit 2

# INIT_ADAPTER: its weights and configuration, checked against MODEL, start a new run (step 1, fresh optimizer
# moments and schedule): its folder's trainer state and optimizer moments, when it was a step's, would have had
# tina-update continue that run instead
$(RUN)/step-0000/adapter/adapter_config.json:
	@mkdir -p $(RUN)/step-0000
	rm -rf $(RUN)/step-0000/adapter.tmp
	$(if $(INIT_ADAPTER),$(TINA_BIN)/tina-adapter copy -m $(MODEL) -a $(INIT_ADAPTER) -o $(RUN)/step-0000/adapter.tmp, \
	    $(TINA_BIN)/tina-adapter init -m $(MODEL) -o $(RUN)/step-0000/adapter.tmp -r $(RANK) --alpha $(ALPHA) \
	        --dropout $(DROPOUT) --targets $(TARGETS) --seed $(SEED))
	mv $(RUN)/step-0000/adapter.tmp $(RUN)/step-0000/adapter

# (inside the step rules) tina-update's settings, shared by a whole step and its shards
update_flags = --loss $(LOSS) --beta $(BETA) --epsilon $(EPSILON) --epsilon-high $(EPSILON_HIGH) --lr $(LR) \
    --schedule $(SCHEDULE) --warmup-ratio $(WARMUP_RATIO) --min-lr-rate $(MIN_LR_RATE) --total-steps $(TOTAL_STEPS) \
    --max-grad-norm $(MAX_GRAD_NORM) --micro-batch-tokens $(MICRO_BATCH_TOKENS) --seed $(SEED) \
    --device $(UPDATE_DEVICE) \
    $(EXTRA_UPDATE)

# Rollouts and rewards of a step's prompts in folder $(1) (the step's, or a shard's) with step $(2)'s adapter, seeded
# by step $(3); a sharded step's own files are its shards' joined in shard order (with Slurm, the shards' sampling
# and rewards are one array job, whose tasks make each shard's files as below).
define sample_rule
$(if $(and $(sharded),$(filter-out $(RUN)/step-$(3)/shard-%,$(1))),
$(1)/rollouts.jsonl.zst: $(foreach k,$(shards),$(1)/shard-$(k)/$(if $(slurm),prompts.jsonl,rollouts.jsonl.zst)) \
        $(if $(slurm),$(call adapter_of,$(2)))
	$(if $(slurm),$(call shard_jobs,$(3),rewarded.jsonl.zst,sample))
	zstdcat $(foreach k,$(shards),$(1)/shard-$(k)/rollouts.jsonl.zst) | zstd -q -o $$@.tmp && mv $$@.tmp $$@

$(1)/rewarded.jsonl.zst: $(if $(slurm),,$(foreach k,$(shards),$(1)/shard-$(k)/rewarded.jsonl.zst)) \
        | $(1)/rollouts.jsonl.zst
	$(if $(slurm),$(call shard_jobs,$(3),rewarded.jsonl.zst,sample))
	zstdcat $(foreach k,$(shards),$(1)/shard-$(k)/rewarded.jsonl.zst) | zstd -q -o $$@.tmp && mv $$@.tmp $$@
,
$(1)/rollouts.jsonl.zst: $(1)/prompts.jsonl $(call adapter_of,$(2))
	$(if $(slurm),$(call job,sample-$(3),$$@,,$(3)),
	start=$$$$(date +%s.%N); \
	$(if $(filter shard-%,$(notdir $(1))),$(call on_shard,$(patsubst shard-%,%,$(notdir $(1))))) \
	$(TINA_BIN)/tina-sample -q -m $(MODEL) \
	    -a $(RUN)/step-$(2)/adapter -n $(G) -t $(TEMPERATURE) --top-p $(TOP_P) --max-new-tokens $(MAX_NEW_TOKENS) \
	    --max-prompt-tokens $(MAX_PROMPT_TOKENS) $(if $(MAX_MODEL_LEN),--max-model-len $(MAX_MODEL_LEN)) \
	    --template $(TEMPLATE) $(system) \
	    --seed $$$$(( $(SEED) * 100003 + 10#$(3) )) --device $(DEVICE) \
	    --threads $$(call threads_each,$(if $(filter shard-%,$(notdir $(1))),$(SHARDS),1)) $$< -o $$@.tmp.zst; \
	$(call record_time,$(3),sample,$(1)); mv $$@.tmp.zst $$@)

$(1)/rewarded.jsonl.zst: $(1)/rollouts.jsonl.zst
	$(if $(slurm),$(call job,reward-$(3),$$@,,$(3)),start=$$$$(date +%s.%N); \
	$(TINA_BIN)/tina-reward -q $(REWARDS) $$< -o $$@.tmp.zst; $(call record_time,$(3),reward,$(1)); \
	mv $$@.tmp.zst $$@)
)
endef

# Shard $(3) of step $(1): a contiguous slice of the step's prompts, its rollouts and rewards, then its slice of the
# step's advantaged rollouts (the same records, in the same order) and their gradient sums. (It starts with an empty
# line: foreach joins the shards' rules with a space.)
define shard_rules

$(RUN)/step-$(1)/shard-$(3)/prompts.jsonl: $(RUN)/step-$(1)/prompts.jsonl
	@mkdir -p $$(@D)
	awk -v k=$(3) -v n=$(SHARDS) -v total=$$$$(grep -c . $$<) 'int((NR - 1) * n / total) == k' $$< > $$@.tmp \
	    && mv $$@.tmp $$@

$(call sample_rule,$(RUN)/step-$(1)/shard-$(3),$(2),$(1))

$(RUN)/step-$(1)/shard-$(3)/advantaged.jsonl.zst: $(RUN)/step-$(1)/advantaged.jsonl.zst \
        $(foreach k,$(shards),$(RUN)/step-$(1)/shard-$(k)/rollouts.jsonl.zst)
	before=0; for k in $(wordlist 1,$(3),$(shards)); do \
	    before=$$$$(( before + $$$$(zstdcat $(RUN)/step-$(1)/shard-$$$$k/rollouts.jsonl.zst | wc -l) )); done; \
	mine=$$$$(zstdcat $(RUN)/step-$(1)/shard-$(3)/rollouts.jsonl.zst | wc -l); \
	zstdcat $$< | awk -v a=$$$$before -v b=$$$$mine 'NR > a && NR <= a + b' | zstd -q -o $$@.tmp && mv $$@.tmp $$@

$(RUN)/step-$(1)/shard-$(3)/grads.safetensors: $(RUN)/step-$(1)/shard-$(3)/advantaged.jsonl.zst $(call adapter_of,$(2))
	rm -f $$@
	start=$$$$(date +%s.%N); \
	$(call on_shard,$(3)) $(TINA_BIN)/tina-update -q -m $(MODEL) -a $(RUN)/step-$(2)/adapter $(update_flags) \
	    --threads $$(call threads_each,$(SHARDS)) --shard $(3)/$(SHARDS) -o $$@.tmp $$< > /dev/null; \
	$(call record_time,$(1),gradients,shard-$(3),$(UPDATE_DEVICE)); mv $$@.tmp $$@
endef

# One step: $(1) its number, $(2) the previous one's
define step
$(RUN)/step-$(1)/prompts.jsonl: | $(TRAIN)
	@mkdir -p $$(@D)
	pipelines/select-prompts.sh $(TRAIN) $$$$((10#$(1))) $(BATCH) $(SEED) > $$@.tmp && mv $$@.tmp $$@

$(call sample_rule,$(RUN)/step-$(1),$(2),$(1))

$(RUN)/step-$(1)/advantaged.jsonl.zst: $(RUN)/step-$(1)/rewarded.jsonl.zst
	$(if $(slurm),$(call job,advantage-$(1),$$@,,$(1)),start=$$$$(date +%s.%N); \
	$(TINA_BIN)/tina-advantage -q -G $(G) --scale $(ADV_SCALE) $$< -o $$@.tmp.zst; \
	$(call record_time,$(1),advantage); mv $$@.tmp.zst $$@)

$(call adapter_of,$(1)): $(call adapter_of,$(2)) $(if $(and $(filter $(2),$(checkpoints)),$(if $(slurm),,yes)),\
        | $(RUN)/step-$(2)/eval/scores.json)
	$$(MAKE) -s -f pipelines/grpo.mk STEP_ONLY=$(1) \
	    $(if $(or $(slurm),$(filter 1,$(SHARDS))),$(RUN)/step-$(1)/advantaged.jsonl.zst,\
	        $(foreach k,$(shards),$(RUN)/step-$(1)/shard-$(k)/grads.safetensors))
	$(if $(slurm),$(if $(sharded),$(call shard_jobs,$(1),grads.safetensors,gradients)
	)$(call job,update-$(1),$$@,,$(1)),
	rm -rf $(RUN)/step-$(1)/.adapter.tmp.tmp-* $(RUN)/step-$(1)/adapter.tmp $(RUN)/step-$(1)/adapter
	start=$$$$(date +%s.%N); \
	$(TINA_BIN)/tina-update -q -m $(MODEL) -a $(RUN)/step-$(2)/adapter -o $(RUN)/step-$(1)/adapter.tmp $(update_flags) \
	    --threads $$(call threads_each,1) $(if $(filter 1,$(SHARDS)),$(RUN)/step-$(1)/advantaged.jsonl.zst,\
	        --apply-grads $(foreach k,$(shards),$(RUN)/step-$(1)/shard-$(k)/grads.safetensors)) > /dev/null; \
	$(call record_time,$(1),update,,$(if $(filter 1,$(SHARDS)),$(UPDATE_DEVICE),cpu)); \
	mv $(RUN)/step-$(1)/adapter.tmp $(RUN)/step-$(1)/adapter)

$(if $(filter 1,$(SHARDS)),,$(foreach k,$(shards),$(call shard_rules,$(1),$(2),$(k))))

# the trainer's metrics; each reward's mean over the step's rollouts ("rewards"; from rewarded.jsonl.zst while it is
# kept; a reward with no verdict, such as accuracy on an unparseable gold, counts in none) and their token counts;
# each stage's wall seconds (its shards' added up) and the devices they ran on, from times/. Then what the step
# made unneeded goes (KEEP, SAVE_EVERY), before metrics.json appears: in the adapter's rule, a make killed after
# tina-update wrote the adapter found that rule done on resuming, and those files stayed for good.
$(RUN)/step-$(1)/metrics.json: $(call adapter_of,$(1))
	{ cat $(RUN)/step-$(1)/times/*.json 2> /dev/null || true; } | jq -s -c 'map(select(.stage != "eval")) \
	    | if length == 0 then {} else {stage_seconds: (group_by(.stage) | map({key: .[0].stage, \
	        value: (map(.seconds) | add)}) | from_entries), device: (map(.device) | unique | join("; "))} end' > $$@.times
	{ jq -c '.metrics' $(RUN)/step-$(1)/adapter/trainer_state.json; \
	  if [ -e $(RUN)/step-$(1)/rewarded.jsonl.zst ]; then zstdcat $(RUN)/step-$(1)/rewarded.jsonl.zst; fi; } \
	    | jq -s -c --slurpfile times $$@.times '.[0] + (.[1:] | if length == 0 then {} else {rewards: \
	        (map(.rewards | to_entries[]) | group_by(.key) | map({key: .[0].key, value: (map(.value | numbers) \
	        | if length == 0 then null else add / length end)}) | from_entries), \
	        rollout_tokens: {prompt: (map(.prompt_tokens | length) | add), \
	        completion: (map(.completion_tokens | length) | add)}} end) + $$$$times[0]' > $$@.tmp
	rm -f $$@.times
	$(if $(KEEP),old=$(RUN)/step-$$$$(printf %04d $$$$((10#$(1) - $(KEEP)))); \
	    rm -rf $$$$old/rollouts.jsonl.zst $$$$old/rewarded.jsonl.zst $$$$old/advantaged.jsonl.zst $$$$old/shard-*)
	$(if $(SAVE_EVERY),previous=$$$$((10#$(1) - 1)); old=$(RUN)/step-$$$$(printf %04d $$$$previous)/adapter; \
	    rm -f $$$$old/optimizer.safetensors; \
	    [ $$$$((previous % $(SAVE_EVERY))) -eq 0 ] $(if $(EVAL_EVERY),|| [ $$$$((previous % $(EVAL_EVERY))) -eq 0 ]) \
	        || rm -f $$$$old/adapter_model.safetensors)
	mv $$@.tmp $$@
	pipelines/step-line.sh $(RUN) $(1) $(STEPS)
endef

# "0001:0000 0002:0001 ...": each step with the one before it, from one shell. The make of one step's files
# (STEP_ONLY, from the step's rule or job) lays out that step alone: every step's own make laid out all of a 5,500-step
# recipe's steps again (0.9 s each time; 30 s while THREADS ran nproc at each use).
pairs := $(if $(STEP_ONLY),$(STEP_ONLY):$(shell printf %04d $$((10#$(STEP_ONLY) - 1))),\
    $(shell for ((i = 1; i <= $(patsubst epoch,1,$(STEPS)); i++)); do printf '%04d:%04d ' $$i $$((i - 1)); done))
# (not for print-* and settings.json: reading or recording a recipe's settings need not lay out its steps)
printing := $(and $(MAKECMDGOALS),$(if $(filter-out print-% $(RUN)/settings.json,$(MAKECMDGOALS)),,yes))
# the steps whose adapters are evaluated (EVAL_EVERY; step 0 is the base model)
checkpoints := $(if $(printing),,$(if $(EVAL_EVERY),0000 $(shell seq -f %04g $(EVAL_EVERY) $(EVAL_EVERY) $(patsubst epoch,1,$(STEPS)))))
$(if $(printing),,$(foreach p,$(pairs),$(eval $(call step,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p)))))))
# (a step's make reads the adapter before it, which the driver made first: or, in a dry run, would have)
$(if $(STEP_ONLY),$(eval $(call adapter_of,$(word 2,$(subst :, ,$(pairs)))):))

# A step's adapter depends on the previous adapter alone and makes its step's files with a sub-make: the chain
# of steps stays a chain for make (a rule per file would give it two paths to every earlier step), and pruned
# rollouts (KEEP) are never wanted again once their adapter exists.

# A checkpoint's evaluation (EVAL_EVERY steps, and step 0: the base model) is pipelines/eval.mk's, with its own
# settings (Tina's protocol) but for EVAL_SETS, EVAL_N, EVAL_VARS ("MAX_NEW_TOKENS=1024 SUFFIX=...") and DEVICE (it
# samples where the training samples): none of the training's other command-line settings reach it (MAKEFLAGS
# holds them; it keeps only make -n, and make -n, which runs a line that calls make, records no time). Here (not with
# Slurm, whose jobs have nodes of their own) it runs between its step and the next, which waits for it: beside a step
# under make -j, each would take THREADS (tests/cli/pipeline.sh's tiny run on 2 cores: an update of 0.13 s took 8 s
# beside an evaluation) and, on a GPU, 90% of the memory left.
define eval_rule
$(RUN)/step-$(1)/eval/scores.json: $(call adapter_of,$(1))
	$(if $(slurm),$(call job,eval-$(1),$$@),start=$$$$(date +%s.%N); \
	$(if $(filter recipe,$(EVAL_PROTOCOL)),SUFFIX="$$$$TINA_SUFFIX") MAKEFLAGS=$$(safe_dry_run) \
	    $$(MAKE) -s -f pipelines/eval.mk \
	    TINA_BIN=$(TINA_BIN) OUT=$(RUN)/step-$(1)/eval MODEL=$(MODEL) \
	    ADAPTER=$(RUN)/step-$(1)/adapter $(if $(EVAL_SETS),SETS='$(EVAL_SETS)') N=$(EVAL_N) THREADS=$$(call threads_each,1) \
	    DEVICE=$(DEVICE) $(if $(TOKENIZER),TOKENIZER=$(TOKENIZER)) $(if $(filter recipe,$(EVAL_PROTOCOL)),\
	        TEMPLATE=$(TEMPLATE) PREFIX_FILE= GPQA_PREFIX_FILE= TEMPERATURE=$(TEMPERATURE) TOP_P=$(TOP_P) \
	        MAX_NEW_TOKENS=$(MAX_NEW_TOKENS) MAX_MODEL_LEN=$(MAX_MODEL_LEN) \
	        MAX_PROMPT_TOKENS=$(MAX_PROMPT_TOKENS) GRADER=open-r1) $(EVAL_VARS) $$@ \
	$$(if $$(safe_dry_run),,; $(call record_time,$(1),eval)))
endef
# a checkpoint not yet evaluated whose weights SAVE_EVERY pruned (EVAL_EVERY added when the run is resumed):
# tina-sample would fail on its adapter folder without saying why
pruned_checkpoints := $(strip $(foreach s,$(checkpoints),$(if $(wildcard $(RUN)/step-$(s)/eval/scores.json \
    $(RUN)/step-$(s)/adapter/adapter_model.safetensors),,$(if $(wildcard $(call adapter_of,$(s))),$(s)))))
ifneq ($(pruned_checkpoints),)
$(error EVAL_EVERY=$(EVAL_EVERY) evaluates step-$(firstword $(pruned_checkpoints))$(if $(word 2,$(pruned_checkpoints)), \
    (and $(words $(wordlist 2,$(words $(pruned_checkpoints)),$(pruned_checkpoints))) more)), whose adapter weights \
    SAVE_EVERY=$(SAVE_EVERY) has removed: evaluate the steps it kept (EVAL_EVERY a multiple of $(SAVE_EVERY)), or \
    a checkpoint with eval.mk)
endif
$(foreach s,$(checkpoints),$(eval $(call eval_rule,$(s))))
evals := $(foreach s,$(checkpoints),$(RUN)/step-$(s)/eval/scores.json)

$(RUN)/metrics.jsonl: $(foreach s,$(numbers),$(RUN)/step-$(s)/metrics.json) $(evals)
	cat $(foreach s,$(numbers),$(RUN)/step-$(s)/metrics.json) > $@.tmp && mv $@.tmp $@
