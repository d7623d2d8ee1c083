# pipelines/report.mk: a run's (or a sweep's) report, a Markdown page with its plots.
#
#   make report RUN=runs/NAME          -> RUN/report/README.md: settings, the score of every evaluated checkpoint in
#                                         Tina's layout (best marked), curves, cost (tina-cost)
#   make report SWEEP=FILE [OUT=DIR]   -> OUT/report/README.md: each run's report, then the runs side by side (the
#                                         paper's ablation table) and one plot per metric overlaying them
#
# PRICE (default 1.0) is the price of a device-hour. Needs jq and gnuplot (make deps).

TINA_BIN ?= bin
PRICE ?= 1.0
include $(dir $(lastword $(MAKEFILE_LIST)))safe.mk
$(call safe_require,TINA_BIN PRICE RUN SWEEP OUT)
$(call safe_file,RUN SWEEP OUT)
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# a recipe that fails leaves no target behind to pass for a made one
.DELETE_ON_ERROR:
.PHONY: report

# Tina's six benchmarks, in the paper's order, those a run was scored on; others it was scored on follow
BENCHMARKS := aime24 aime25 amc23 math500 gpqa minerva

# $(call each_score,RUN): a shell loop over the run's evaluated checkpoints, f their scores.json and step the number;
# its body follows, then "done"
each_score = for f in $(1)/step-*/eval/scores.json; do [ -e "$$f" ] || continue; \
    step=$$(basename "$$(dirname "$$(dirname "$$f")")"); step=$$((10\#$${step\#step-}));

# $(call scores_tsv,RUN,COLUMNS): step, the pass@1 (% or "-") of each benchmark of the file COLUMNS (the run's
# columns, so that a checkpoint scored on other sets than the rest still lines up), the average, one line per
# evaluated checkpoint
scores_tsv = $(call each_score,$(1)) jq -r --argjson step "$$step" --arg cols "$$(cat $(2))" \
    '[$$step] + [($$cols | split(" "))[] as $$b | .benchmarks[$$b]["pass@1"] // null | if . == null then "-" \
    else 100 * . end] + [100 * .["average_pass@1"]] | @tsv' "$$f"; done

# $(call protocols_md,RUN): a Markdown line per evaluation protocol (eval.mk's protocol.json) with the steps it scored
protocols_md = $(call each_score,$(1)) p=$$(dirname "$$f")/protocol.json; \
    jq -n -c --argjson step "$$step" --slurpfile p <(cat "$$p" 2> /dev/null || echo null) \
        '{step: $$step, p: $$p[0]}'; done | jq -s -r '$(protocols_jq)'

# (jq programs as variables: a recipe keeps the backslash of a line continued inside quotes)
protocols_jq := group_by(.p) | .[] | "- step\(if length > 1 then "s" else "" end) \(map(.step | tostring) | join(", ")): \
    \(.[0].p | if . == null then "unknown (scored before eval.mk wrote protocol.json)" else "template `\(.template)`, \
    suffix `\(.suffix)`, temperature \(.temperature), top-p \(.top_p), \(.n) sample(s) a problem, up to \
    \(.max_new_tokens) new tokens" end)"
columns_jq := ($$fixed | split(" ")) as $$six | (map(.benchmarks | keys[]) | unique) as $$have \
    | ($$six - ($$six - $$have)) + ($$have - $$six) | join(" ")
# a run's best row (step, its own columns HAVE, average) under the sweep's columns WANT, "-" where it has none, after
# the run's name, settings, last average and cost
realign_awk := BEGIN { OFS = "\t"; n = split(have, h, " "); for (i = 1; i <= n; i++) at[h[i]] = i + 1 } \
    { row = $$1; m = split(want, w, " "); for (i = 1; i <= m; i++) row = row OFS (w[i] in at ? $$(at[w[i]]) : "-"); \
      print run, values, last, cost, row OFS $$NF }
metrics_jq := [.step, .reward_mean, (.rewards.accuracy // "NaN"), (.rewards.format // "NaN"), .completion_len_mean, \
    .frac_truncated, .kl, .entropy, .lr] + [.rewards as $$r | $$kinds | splits(" ") | select(. != "") | $$r[.] // "NaN"] \
    | @tsv

ifneq ($(RUN),)
R := $(RUN)/report
report: $(R)/README.md
	@echo "report: $<"

$(R)/scores.tsv: $(wildcard $(RUN)/step-*/eval/scores.json) $(R)/columns.txt
	@mkdir -p $(@D)
	$(call scores_tsv,$(RUN),$(R)/columns.txt) | sort -n > $@.tmp && mv $@.tmp $@

# the benchmarks the scores were taken on: those of Tina's six the run was scored on, in the paper's order, then
# any other
$(R)/columns.txt: $(wildcard $(RUN)/step-*/eval/scores.json)
	@mkdir -p $(@D)
	cat $^ /dev/null | jq -s -r --arg fixed '$(BENCHMARKS)' '$(columns_jq)' > $@.tmp && mv $@.tmp $@

# the rewards the run's steps recorded, each a column after the fixed nine
$(R)/rewards.txt: $(RUN)/metrics.jsonl
	@mkdir -p $(@D)
	jq -r '.rewards // {} | keys[]' $< | sort -u | tr '\n' ' ' > $@.tmp && mv $@.tmp $@

# (the header is a gnuplot comment: a reader of the table sees its columns, gnuplot skips it)
$(R)/metrics.tsv: $(RUN)/metrics.jsonl $(R)/rewards.txt
	{ printf '# %s\n' "$$(printf '%s\t' step reward_mean accuracy format completion_len_mean frac_truncated kl \
	      entropy lr $$(cat $(R)/rewards.txt) | sed 's/\t$$//')"; \
	  jq -r --arg kinds "$$(cat $(R)/rewards.txt)" '$(metrics_jq)' $<; } > $@.tmp && mv $@.tmp $@

# the best checkpoint's row of scores.tsv (in step order): the highest average, the earliest of equals
$(R)/best.tsv: $(R)/scores.tsv
	awk -F'\t' 'NR == 1 || $$NF > best { best = $$NF; row = $$0 } END { print row }' $< > $@.tmp && mv $@.tmp $@

# tina-cost's table for the page, its JSON for a sweep's table; up to the best checkpoint when its evaluation was
# timed (one evaluated by hand, with eval.mk alone, was not, and tina-cost refuses a best step it cannot cost)
$(R)/cost.%: $(R)/best.tsv
	best=$$(cut -f1 $<); [ -z "$$best" ] || [ -e $(RUN)/step-$$(printf %04d $$best)/times/eval.json ] || best=; \
	cat $(RUN)/step-*/times/*.json | $(TINA_BIN)/tina-cost --price-per-gpu-hour $(PRICE) \
	    $${best:+--best-step $$best} $(if $(filter json,$*),--json) > $@.tmp && mv $@.tmp $@

$(R)/curves.png: $(R)/metrics.tsv $(R)/rewards.txt
	kinds="$$(cat $(R)/rewards.txt)"; gnuplot -e "set terminal pngcairo noenhanced size 1500,1100 font ',10'; \
	    set output '$@'; set multiplot layout 3,3 title 'run $(notdir $(RUN)): training, per step'; set xlabel 'step'; set key off; \
	    set grid; \
	    set title 'total reward (the rewards weighted), mean of the step'; set ylabel 'reward'; plot '$<' using 1:2 with lines lw 2; \
	    set yrange [0:1]; set title 'accuracy reward'; set ylabel 'fraction correct'; plot '$<' using 1:3 with lines lw 2; \
	    set title 'format reward'; set ylabel 'fraction well-formed'; plot '$<' using 1:4 with lines lw 2; \
	    set title 'truncated completions'; set ylabel 'fraction'; plot '$<' using 1:6 with lines lw 2; \
	    set autoscale y; set title 'completion length'; set ylabel 'tokens'; plot '$<' using 1:5 with lines lw 2; \
	    set title 'KL to the base model'; set ylabel 'KL (k3, per token)'; plot '$<' using 1:7 with lines lw 2; \
	    set title 'entropy'; set ylabel 'nats per token'; plot '$<' using 1:8 with lines lw 2; \
	    set title 'learning rate'; set ylabel 'lr'; set format y '%.3g'; plot '$<' using 1:9 with lines lw 2; \
	    set format y '%g'; set title 'each reward (mean of the step)'; set ylabel 'reward'; set key top left; \
	    plot for [i=1:words('$$kinds')] '$<' using 1:(column(9 + i)) with lines lw 2 title word('$$kinds', i); \
	    unset multiplot"

$(R)/scores.png: $(R)/scores.tsv $(R)/columns.txt
	cols="$$(cat $(R)/columns.txt)"; gnuplot -e "set terminal pngcairo noenhanced size 1000,600 font ',10'; set output '$@'; \
	    set title 'run $(notdir $(RUN)): checkpoints, pass@1 (%)'; set xlabel 'step'; set ylabel 'pass@1 (%)'; \
	    set grid; set key outside right; set datafile missing '-'; set yrange [0:*]; \
	    plot for [i=1:words('$$cols')] '$<' using 1:(column(i + 1)) with linespoints title word('$$cols', i), \
	         '$<' using 1:(column(words('$$cols') + 2)) with linespoints lw 3 title 'average'"

# (a run without evaluations has curves and cost, and no scores to plot)
evaluated := $(wildcard $(RUN)/step-*/eval/scores.json)
$(R)/README.md: $(RUN)/settings.json $(R)/scores.tsv $(R)/best.tsv $(R)/columns.txt $(R)/cost.txt $(R)/cost.json \
        $(R)/curves.png $(if $(evaluated),$(R)/scores.png)
	{ echo "# Run $(notdir $(RUN))"; echo; \
	  echo "## Settings"; echo; echo "| setting | value |"; echo "|---|---|"; \
	  jq -r 'to_entries[] | select(.value != "") | "| \(.key) | `\(.value)` |"' $(RUN)/settings.json; echo; \
	  echo "## Checkpoints (pass@1, %)"; echo; \
	  if [ ! -s $(R)/scores.tsv ]; then echo "No checkpoint of this run was evaluated (EVAL_EVERY, or make -f \
	      pipelines/eval.mk on a step's adapter, writes step-N/eval/scores.json)."; echo; else \
	  cols=($$(cat $(R)/columns.txt)); echo "| step | $$(sed 's/ / | /g' $(R)/columns.txt) | average |"; \
	  printf '|---%.0s' $$(seq 1 $$(( $${#cols[@]} + 2 ))); echo '|'; \
	  awk -F'\t' -v best="$$(cut -f1 $(R)/best.tsv)" '{ line = "| " $$1 (($$1 == best) ? " (best)" : ""); \
	      for (i = 2; i <= NF; i++) line = line " | " ($$i == "-" ? "-" : sprintf("%.1f", $$i)); print line " |" }' \
	      $(R)/scores.tsv; echo; \
	  echo "Step 0 is the base model (the adapter's B is 0). pass@1: the mean over each problem's samples (tina-score)."; \
	  echo; echo "Scored with:"; $(call protocols_md,$(RUN)); \
	  echo; echo "![pass@1 of each checkpoint](scores.png)"; echo; fi; \
	  echo "## Training curves"; echo; echo "![training curves](curves.png)"; echo; \
	  echo "## Cost (device-hours at $(PRICE) each)"; echo; echo '```'; cat $(R)/cost.txt; echo '```'; \
	} > $@.tmp && mv $@.tmp $@
else ifneq ($(SWEEP),)
OUT ?= sweeps/$(basename $(notdir $(SWEEP)))
R := $(OUT)/report
runs = $(shell jq -r '.runs[].name' $(OUT)/sweep.json)

report: $(R)/README.md
	@echo "report: $(R)/README.md"

# each run's own report first (its scores and cost)
$(R)/runs.tsv: $(OUT)/sweep.json FORCE
	@mkdir -p $(@D)
	for run in $(runs); do MAKEFLAGS= $(MAKE) -s -f pipelines/report.mk TINA_BIN=$(TINA_BIN) PRICE=$(PRICE) SWEEP= \
	    RUN=$(OUT)/$$run > /dev/null; done
	for f in $(foreach r,$(runs),$(OUT)/$(r)/step-*/eval/scores.json); do [ ! -e "$$f" ] || cat "$$f"; done \
	    | jq -s -r --arg fixed '$(BENCHMARKS)' '$(columns_jq)' > $(R)/columns.txt
	for run in $(runs); do \
	    values=$$(jq -r --arg run $$run '.runs[] | select(.name == $$run) | .settings | to_entries \
	        | map("\(.key)=\(.value)") | join(" ")' $(OUT)/sweep.json); \
	    awk -F'\t' -v run=$$run -v values="$$values" \
	        -v last="$$(tail -n 1 $(OUT)/$$run/report/scores.tsv | awk -F'\t' '{ print $$NF }')" \
	        -v cost="$$(jq -r '[.total.device_hours, .total.cost] | @tsv' $(OUT)/$$run/report/cost.json)" \
	        -v have="$$(cat $(OUT)/$$run/report/columns.txt)" -v want="$$(cat $(R)/columns.txt)" \
	        '$(realign_awk)' $(OUT)/$$run/report/best.tsv; \
	done > $@.tmp && mv $@.tmp $@

# a metric of every run per step, one column per run
$(R)/%.tsv: $(R)/runs.tsv
	for run in $(runs); do jq -r '[.step, (.$* // "NaN")] | @tsv' $(OUT)/$$run/metrics.jsonl > $@.$$run; done
	paste $(foreach r,$(runs),$@.$(r)) | awk -F'\t' '{ line = $$1; for (i = 2; i <= NF; i += 2) line = line "\t" $$i; \
	    print line }' > $@.tmp && mv $@.tmp $@ && rm -f $(foreach r,$(runs),$@.$(r))

# the overlay plots: a metric of metrics.jsonl each, with its title and unit
overlays := reward_mean completion_len_mean kl entropy
title_reward_mean := mean reward of the step
title_completion_len_mean := mean completion length
title_kl := KL to the base model (k3, per token)
title_entropy := entropy of the policy
unit_reward_mean := reward
unit_completion_len_mean := tokens
unit_kl := KL
unit_entropy := nats per token
$(R)/%.png: $(R)/%.tsv
	gnuplot -e "set terminal pngcairo noenhanced size 1000,600 font ',10'; set output '$@'; set grid; set key outside right; \
	    set title '$(notdir $(OUT)): $(title_$*), per step'; set xlabel 'step'; set ylabel '$(unit_$*)'; \
	    plot for [i=1:words('$(runs)')] '$<' using 1:(column(i + 1)) with lines lw 2 title word('$(runs)', i)"

$(R)/checkpoints.png: $(R)/runs.tsv
	gnuplot -e "set terminal pngcairo noenhanced size 1000,600 font ',10'; set output '$@'; set grid; set key outside right; \
	    set title '$(notdir $(OUT)): average pass@1 of each checkpoint'; set xlabel 'step'; set ylabel 'pass@1 (%)'; \
	    set yrange [0:*]; \
	    plot $(foreach r,$(runs),'$(OUT)/$(r)/report/scores.tsv' using 1:(column(words('$(shell cat $(OUT)/$(r)/report/columns.txt 2>/dev/null)') + 2)) with linespoints lw 2 title '$(r)',)"

$(R)/README.md: $(R)/runs.tsv $(R)/checkpoints.png $(foreach p,$(overlays),$(R)/$(p).png)
	{ echo "# Sweep $(notdir $(OUT))"; echo; \
	  echo "$$(jq -r '"Grid from \(.sweep), recipe \(.recipe), every \(.ckpt_every) steps evaluated."' $(OUT)/sweep.json)"; \
	  echo "Each run's own report: RUN/report/README.md."; echo; \
	  echo "The best checkpoint of each run (the highest average pass@1, %), as the paper's ablation tables show it:"; \
	  echo; cols=$$(cat $(R)/columns.txt); \
	  echo "| run | settings | best step | $${cols// / | } | average | last checkpoint's average | device-hours | cost |"; \
	  printf '|---%.0s' $$(seq 1 $$(( $$(wc -w <<< "$$cols") + 7 ))); echo '|'; \
	  awk -F'\t' '{ line = sprintf("| [%s](../%s/report/README.md) | %s | %s", $$1, $$1, $$2, $$6); \
	      for (i = 7; i <= NF; i++) line = line " | " ($$i == "-" ? "-" : sprintf("%.1f", $$i)); \
	      printf "%s | %.1f | %.4f | %.2f |\n", line, $$3, $$4, $$5 }' $(R)/runs.tsv; echo; \
	  echo "![average pass@1 of each checkpoint](checkpoints.png)"; echo; \
	  $(foreach p,$(overlays),echo "![$(p)]($(p).png)"; echo;) \
	} > $@.tmp && mv $@.tmp $@
endif

.PHONY: FORCE
