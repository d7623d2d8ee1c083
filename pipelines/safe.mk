# pipelines/safe.mk: what a pipeline pastes into its shell commands can hold nothing the shell would read as code.
#
# A makefile's recipes are shell text with the variables' values pasted in. So every value that is pasted (paths,
# numbers, names, option lists) is checked when make reads the makefile: it may hold letters, digits and
# . _ / + = : , @ % ~ - (and spaces, for the lists of words), nothing else; a quote, $, a backtick, ;, |, &, <, >,
# (, ), *, ?, a tab or a newline stops make with the variable named, before anything runs. The paths that name make's
# own files (RUN, OUT, TRAIN, SETS, ...) may not hold : = or % either (safe_file). Free text (the prompt
# suffix) is never pasted: it reaches the tools through the environment, as written.

# The pipelines name their files from the repository's root (pipelines/, data/, bin/), whence they run: each
# includes this file first, by its own path, so that a make started elsewhere stops here with this message rather
# than on the first include
ifeq ($(wildcard pipelines/safe.mk),)
$(error $(firstword $(MAKEFILE_LIST)) runs from tina's repository root, $(abspath $(dir $(lastword \
    $(MAKEFILE_LIST)))..): cd there (RUN, MODEL, TRAIN and the other paths then from there, or absolute) and make \
    -f pipelines/$(notdir $(firstword $(MAKEFILE_LIST))))
endif

# A command line's value is make's text, and make expands it where it is read: RUN='$(shell touch x)' ran touch at
# the first $(RUN), before safe_require saw what it expanded to (the value holds $, refused as any $ is). So every
# command-line value holding $ stops make here, before any is read; but SUFFIX, text that is never expanded
# (safe_text)
$(foreach v,$(filter-out SUFFIX,$(.VARIABLES)),$(if $(and $(filter command,$(origin $(v))),\
    $(findstring $$,$(value $(v)))),$(error $(v) holds '$$', which the pipelines do not pass to a shell (only \
    letters, digits and . _ / + = : , @ % ~ -; make would expand it, and run its $$(shell ...)))))

safe_characters := a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V W \
    X Y Z 0 1 2 3 4 5 6 7 8 9 . _ / + = : , @ % ~ -
define safe_newline


endef
safe_tab := $(subst ,,	)
# what is left of $(1) once the characters of $(2) are taken out
safe_strip = $(if $(2),$(call safe_strip,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
# $(call safe_unsafe,VALUE[,WORDS]): what of VALUE a shell command cannot hold as it is (a space counts unless WORDS),
# or nothing
safe_leftover = $(call safe_strip,$(1),$(safe_characters))
safe_unsafe = $(or $(if $(findstring $(safe_newline),$(1)),a newline),$(if $(findstring $(safe_tab),$(1)),a tab), \
    $(strip $(if $(2),$(call safe_leftover,$(1)),$(subst $(strip) ,' ',$(call safe_leftover,$(strip $(1)))))))
# $(call safe_require,NAMES[,WORDS]): make stops on the first of the variables NAMES whose value is not safe
# (no line break inside a call's arguments: a continued line is a space, and a space as WORDS allows spaces)
safe_require = $(foreach v,$(1),$(if $(call safe_unsafe,$($(v)),$(2)),$(error $(v) holds $(call \
    safe_unsafe,$($(v)),$(2)), which the pipelines do not pass to a shell (only letters, digits and . _ / + = : , @ \
    % ~ -$(if $(2), and spaces)))))

# $(call safe_file,NAMES): make stops on the first of the variables NAMES (paths that name the files of make's own
# rules: a run's folder, an evaluation's, a training or benchmark set) that holds ':', '=' or '%', which make reads
# in a rule's file names as its syntax: a rule, a variable, a pattern (whose files make deletes when it is done with
# them, as intermediates: a run's rollouts and metrics, an evaluation's scores)
safe_file = $(foreach v,$(1),$(foreach c,: = %,$(if $(findstring $(c),$($(v))),$(error $(v) holds '$(c)', which \
    make reads in the names of its rules' files (a run's, an evaluation's or a set's path: letters, digits and \
    . _ / + , @ ~ -)))))

# $(call set_name,PATH): a benchmark set's name, its file's less the folder, .zst, then .jsonl or .json (aime24 for
# data/sets/aime24.jsonl.zst, gsm8k.test for gsm8k.test.jsonl); eval.mk names the set's files by it, and
# tina-score --by-input the set's row of the scores, by the same rule.
# $(call safe_set_names,NAME): make stops when two sets of the list in variable NAME have one name
set_name = $(patsubst %.json,%,$(patsubst %.jsonl,%,$(patsubst %.zst,%,$(notdir $(1)))))
safe_set_names = $(foreach n,$(sort $(call set_names_of,$($(1)))),$(if $(word 2,$(filter $(n),$(call set_names_of,\
    $($(1))))),$(error $(1) has two sets named $(n) (eval.mk would write both into $(n).rewarded.jsonl.zst and score \
    them as one benchmark): rename one)))
set_names_of = $(foreach s,$(1),$(call set_name,$(s)))

# $(call safe_text,NAME): the variable's text as written, "$" included, not expanded by make, but for "$(empty)",
# which is dropped: make drops a value's leading blanks, and SUFFIX='$(empty) Think.' keeps its space
safe_text = $(subst $$(empty),,$(value $(1)))

# $(call safe_lock,FOLDER): one make at a time in FOLDER (pipelines/lock.sh). The first one started takes
# FOLDER/.lock and removes what a killed make left half-written there; another one stops here, naming the holder
# (exit 2). Not for print-* goals, nor for make -n, nor for the sub-makes and Slurm tasks of the make that holds it
# (TINA_LOCKED_RUN names its folder).
safe_lock = $(if $(filter $(1),$(TINA_LOCKED_RUN))$(safe_dry_run)$(filter print-%,$(MAKECMDGOALS)),,\
    $(call safe_refuse,$(shell pipelines/lock.sh $(1) $$PPID)))
safe_refuse = $(if $(1),$(error $(1)))
# "n" under make -n (MAKEFLAGS' first word holds the one-letter flags), else nothing
safe_dry_run = $(findstring n,$(firstword -$(MAKEFLAGS)))

# $(call safe_not_from_environment,NAMES): forget what the environment says of NAMES, so that the makefile's defaults
# hold unless its command line says otherwise. A calling make exports its own command line's variables to every
# command (MAKEFLAGS= does not stop that): a training run's TEMPERATURE, SEED or REWARDS would become an evaluation's.
safe_not_from_environment = $(foreach v,$(1),$(if $(filter environment,$(origin $(v))),$(eval undefine $(v))))

# print-VAR: a setting as the makefile resolved it (make -f pipelines/grpo.mk print-LR); through the environment,
# never pasted: SUFFIX is text, shown as written, and its quotes would end the shell's
print-%: export TINA_PRINT = $(if $(filter SUFFIX,$*),$(call safe_text,SUFFIX),$($*))
print-%:
	@printf '%s\n' "$$TINA_PRINT"
