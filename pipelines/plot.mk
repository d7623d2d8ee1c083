# pipelines/plot.mk: `make plot RUN=runs/NAME` draws a run's metrics per step (reward, KL, completion length,
# truncated fraction, gradient norm, each reward's mean) into RUN/metrics.png with gnuplot (gnuplot-nox, among make deps' packages).

include $(dir $(lastword $(MAKEFILE_LIST)))safe.mk
# after safe.mk: reading $(RUN) expands it, and safe.mk first refuses a command line's value holding $
ifeq ($(RUN),)
$(error RUN is required)
endif
$(call safe_require,RUN)
$(call safe_file,RUN)
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# a recipe that fails leaves no target behind to pass for a made one
.DELETE_ON_ERROR:
.PHONY: plot

plot: $(RUN)/metrics.png
	@echo "plot: $(RUN)/metrics.png"

# the reward kinds the run's steps recorded, one column each after the fixed six
kinds = $(shell jq -r '.rewards // {} | keys[]' $(RUN)/metrics.jsonl | sort -u)

# (the header is a gnuplot comment: a reader of the table sees its columns, gnuplot skips it)
$(RUN)/metrics.tsv: $(RUN)/metrics.jsonl
	{ printf '# %s\n' "$$(printf '%s\t' step reward_mean kl completion_len_mean frac_truncated grad_norm $(kinds) | sed 's/\t$$//')"; \
	  jq -r --arg kinds '$(kinds)' '[.step, .reward_mean, .kl, .completion_len_mean, .frac_truncated, .grad_norm] + [.rewards as $$r | $$kinds | splits(" ") | select(. != "") | $$r[.] // "NaN"] | @tsv' $<; } > $@.tmp && mv $@.tmp $@

$(RUN)/metrics.png: $(RUN)/metrics.tsv
	gnuplot -e "set terminal png size 1200,800; set output '$@'; set multiplot layout 2,3 title '$(RUN)'; \
	    set xlabel 'step'; set key off; \
	    set title 'reward (mean)'; plot '$<' using 1:2 with lines; \
	    set title 'KL to the base'; plot '$<' using 1:3 with lines; \
	    set title 'completion length (tokens)'; plot '$<' using 1:4 with lines; \
	    set title 'truncated fraction'; set yrange [-0.02:1.02]; plot '$<' using 1:5 with lines; set autoscale y; \
	    set title 'gradient norm'; plot '$<' using 1:6 with lines; \
	    $(if $(strip $(kinds)),set title 'each reward (mean) by step'; unset xlabel; set key below; \
	        plot for [i=1:words('$(strip $(kinds))')] '$<' using 1:(column(6 + i)) with lines title word('$(strip $(kinds))', i);) \
	    unset multiplot"
