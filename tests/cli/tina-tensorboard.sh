#!/usr/bin/env bash
# tina-tensorboard against TensorBoard's own reader: tests/reference/tensorboard_events.py wrote a three-step run's
# metrics with it and read the file back with TensorBoard 2.20's EventAccumulator (which checks every frame's CRC);
# here tina must still write those bytes, and what TensorBoard read must hold every number of the metrics (as an
# f32) at its step, with the run's own time. Then refusals.
. "$(dirname "$0")/lib.bash"
T=$ROOT/tests/fixtures/tensorboard
run tina-tensorboard -o logs "$T/metrics.jsonl"
check "a run's metrics: exit 0, one event file" sh -c '[ "$0" = 0 ] && [ "$(ls logs)" = events.out.tfevents.0.tina ]' "$status"
check "the bytes TensorBoard read back (tests/reference/tensorboard_events.py)" \
    cmp -s logs/events.out.tfevents.0.tina "$T/events.out.tfevents.0.tina"
# every number of the metrics, flattened as tina tags it: [tag, step, value]
jq -c '.step as $s | [paths(numbers) as $p | select($p != ["step"]) | [($p | map(tostring) | join("/")), $s,
    getpath($p)]][]' "$T/metrics.jsonl" | sort > want.jsonl
jq -c 'to_entries[] | .key as $tag | .value[] | [$tag, .[0], .[2]]' "$T/read-back.json" | sort > read.jsonl
check "TensorBoard read every number, and only those ($(wc -l < want.jsonl) scalars)" \
    sh -c '[ "$(cut -d, -f1,2 want.jsonl)" = "$(cut -d, -f1,2 read.jsonl)" ] && [ -s want.jsonl ]'
check "each value as an f32 of the metric's (relative 1e-7)" jq -e -n --slurpfile w want.jsonl --slurpfile r read.jsonl \
    '[$w, $r] | transpose | all(.[0][2] as $a | .[1][2] as $b | ($a - $b | fabs) <= 1e-7 * ($a | fabs) + 1e-45)'
check "the wall time of a step is the run's seconds up to it" jq -e -n --slurpfile m "$T/metrics.jsonl" \
    --slurpfile r "$T/read-back.json" '[$m[] | .seconds] as $s | [range(0; $s | length) as $i | $s[:$i + 1] | add]
    as $t | $r[0].loss | map(.[1]) as $got | [$got, $t] | transpose | all((.[0] - .[1]) | fabs < 1e-9)'
run tina-tensorboard -o logs "$T/metrics.jsonl"
check "again: the same file, replaced whole" cmp -s logs/events.out.tfevents.0.tina "$T/events.out.tfevents.0.tina"

run tina-tensorboard "$T/metrics.jsonl"
check "no -o: exit 2, saying what it is" sh -c '[ "$0" = 2 ] && grep -q "output is required" err' "$status"
printf '{"step":1,"loss":1}\n{"loss":2}\n' > no-step.jsonl
run tina-tensorboard -o bad no-step.jsonl
check "a line without a step: exit 2, naming the line, no folder" \
    sh -c '[ "$0" = 2 ] && grep -q "no-step.jsonl:2: field \"step\"" err && [ ! -e bad ]' "$status"
printf '{"step":2,"loss":1}\n{"step":1,"loss":2}\n' > backwards.jsonl
run tina-tensorboard -o bad backwards.jsonl
check "steps that do not increase: exit 2, naming both" \
    sh -c '[ "$0" = 2 ] && grep -q "backwards.jsonl:2: step 1 after step 2" err && [ ! -e bad ]' "$status"
touch a-file
run tina-tensorboard -o a-file "$T/metrics.jsonl"
check "-o a file, not a folder: exit 2 (bad usage, as every tool's), saying so" \
    eval '[ "$status" -eq 2 ] && stderr_has "a-file: exists and is not a folder" && [ ! -s a-file ]'
finish
