#!/usr/bin/env bash
# select-prompts.sh FILE STEP BATCH SEED: the BATCH prompt records of training step STEP (from 1). The training set
# is walked epoch by epoch, each epoch in its own seeded order, so every step's prompts are a pure function of
# (FILE, STEP, BATCH, SEED): a resumed run draws exactly what an uninterrupted one drew. An epoch is N / BATCH
# whole steps: the N mod BATCH records left at its end are not drawn in it (a step across two epochs could have
# drawn one record twice, whose two groups of samples tina-advantage refuses). Tina's trainer drew them: its own
# RepeatRandomSampler (grpo_trainer.py:68, TRL 0.15.2's) has no batch size to fall short of, and transformers'
# Trainer steps on an epoch's last, partial accumulation, so each of its epochs ended in a short step of those
# records (its two processes' even batches adding the epoch's first prompt again to an odd count). The difference
# is that one step an epoch; later TRL (RepeatSampler) drops the short chunk, as here.
#
# select-prompts.sh --count FILE: the number of records, as the steps draw them (grpo.mk's STEPS=epoch).
#
# A record is a line with something other than white space on it (a last line without its newline too; a blank
# line, or one that holds only the CR of a CRLF file, is none), with a UTF-8 byte order mark at the file's start
# taken off: drawn into the middle of a step's prompts, its first line would otherwise carry the mark there, where
# no reader takes it for one.
set -euo pipefail
records() { zstdcat -f "$1" | LC_ALL=C sed '1s/^\xEF\xBB\xBF//' | { LC_ALL=C grep '[^[:space:]]' || [ $? -eq 1 ]; }; }
if [ "${1:-}" = --count ]; then records "$2" | wc -l | tr -d ' '; exit 0; fi
file=$1 step=$2 batch=$3 seed=$4
n=$(records "$file" | wc -l)
[ "$n" -gt 0 ] || { echo "select-prompts.sh: $file has no records" >&2; exit 2; }
[ "$n" -ge "$batch" ] || { echo "select-prompts.sh: $file has $n records, fewer than a step's $batch (BATCH)" >&2
    exit 2; }
steps_per_epoch=$(( n / batch ))
epoch=$(( (step - 1) / steps_per_epoch ))
first=$(( (step - 1) % steps_per_epoch * batch ))
# one epoch's order: lines sorted by a hash of (line, epoch, seed): rounds of squaring modulo a prime below 2^26,
# whose products stay exact in awk's doubles (mawk and gawk agree)
order() {
    records "$file" | awk -v e="$1" -v s="$seed" '{
        p = 67108859
        h = (NR * 40503 + e * 69621 + s * 16807 + 12345) % p
        for (i = 0; i < 4; i++) h = (h * h + 2654435 + i) % p
        printf "%d\t%d\t%s\n", h, NR, $0 }' | sort -t "$(printf '\t')" -k1,1n -k2,2n | cut -f3-
}
order "$epoch" | sed -n "$((first + 1)),$((first + batch))p"
