#!/usr/bin/env bash
# pipelines/step-line.sh RUN STEP STEPS: one line on stderr for a finished step of a run, from its metrics.json: the
# rewards (the total and each reward's mean), the KL, the completions' mean length, the step's wall seconds (its
# stages added up) and, from the mean of the steps made so far, when the run should end. What a user watches.
set -euo pipefail
[ $# = 3 ] || { echo "usage: step-line.sh RUN STEP STEPS" >&2; exit 2; }
run=$1 step=$2 steps=$3
made=$(cat "$run"/step-*/metrics.json 2> /dev/null | jq -s '[.[] | .stage_seconds // {} | add // 0] | add / length')
jq -r --arg run "${run##*/}" --argjson step "$((10#$step))" --argjson steps "$steps" --argjson mean "$made" '
    def num($d): if . == null then "-" else (. * pow(10; $d) | round) / pow(10; $d) | tostring end;
    ((.stage_seconds // {} | add) // 0) as $seconds | (($steps - $step) * $mean / 60 | ceil) as $minutes
    | "\($run): step \($step)/\($steps): reward \(.reward_mean | num(3))"
      + ([.rewards // {} | to_entries[] | ", \(.key) \(.value | num(3))"] | add // "")
      + ", kl \(.kl | num(5)), length \(.completion_len_mean | num(0)), \($seconds | num(if $seconds < 1 then 2 else 1 end)) s"
      + (if $step < $steps then ", about \($minutes / 60 | floor)h\($minutes % 60 | tostring | ("0" * (2 - length)) + .)m"
         + " to go" else "" end)' "$run/step-$step/metrics.json" >&2
