#!/usr/bin/env bash
# l1.sh SEED SYSTEM_FILE < SET > SET-l1: each record of a training set with the target length of Tina's L1
# configurations (tina/post_train_hf/preprocess.py, make_conv_for_grpo_l1: a whole number from 100 to 4000 drawn
# once a record) as "target_length", and its own system prompt as "system": SYSTEM_FILE's text, then
# "\nThink for N tokens.". The draw is a hash of (the record's line, SEED) (pipelines/select-prompts.sh's), so the
# same input and seed give the same file anywhere; Tina drew with Python's random after set_seed(42), which this
# does not reproduce. Reads and writes JSON lines, plain or zstd in.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: l1.sh SEED SYSTEM_FILE < SET > OUT" >&2; exit 2; }
seed=$1 system=$2
[ -r "$system" ] || { echo "l1.sh: $system: cannot read the system prompt" >&2; exit 2; }
zstdcat -f | grep . | awk -v s="$seed" '{
    p = 67108859
    h = (NR * 40503 + s * 16807 + 12345) % p
    for (i = 0; i < 4; i++) h = (h * h + 2654435 + i) % p
    printf "%d\t%s\n", 100 + h % 3901, $0 }' |
    jq -R -c --rawfile system "$system" 'index("\t") as $tab | (.[:$tab] | tonumber) as $n
        | (.[$tab + 1:] | fromjson) + {target_length: $n, system: ($system + "\nThink for \($n) tokens.")}'
