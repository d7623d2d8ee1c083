#!/usr/bin/env bash
# tina-score on records whose numbers are worked out by hand in the comments: pass@1 as the mean over samples,
# the unbiased pass@k, majority vote, the table's order and average, --json, and refusals.
. "$(dirname "$0")/lib.bash"

rec() { # rec SOURCE ID ACCURACY PRED [FINISH]
    jq -cn --arg s "$1" --arg id "$2" --argjson a "$3" --argjson p "$4" --arg f "${5:-stop}" \
        '{source: $s, id: $id, rewards: {accuracy: $a}, pred: $p, completion_tokens: [1, 2, 3], finish_reason: $f}'
}
{
    # aime24: A right 2 of 4 (majority "5", a right one), B right 0 of 4, C right 4 of 4
    rec aime24 A 1 '"5"'; rec aime24 A 1 '"5"'; rec aime24 A 0 '"6"'; rec aime24 A 0 '"7"' length
    rec aime24 B 0 '"1"'; rec aime24 B 0 '"1"'; rec aime24 B 0 '"2"'; rec aime24 B 0 '"1"'
    rec aime24 C 1 '"3"'; rec aime24 C 1 '"3"'; rec aime24 C 1 '"3"'; rec aime24 C 1 '"3"'
    # math500: D right 1 of 4 (majority "b", wrong), E right 3 of 4 (majority "y", right)
    rec math500 D 1 '"a"'; rec math500 D 0 '"b"'; rec math500 D 0 '"b"'; rec math500 D 0 null
    rec math500 E 0 '"x"'; rec math500 E 1 '"y"'; rec math500 E 1 '"y"'; rec math500 E 1 '"y"'
} > rewarded.jsonl

run tina-score --json -k 1,2,4 rewarded.jsonl
check "exit 0" status_is 0
# aime24 pass@1 = (2/4 + 0 + 1) / 3 = 0.5; pass@2 = (1 - C(2,2)/C(4,2) + 0 + 1) / 3 = (5/6 + 1) / 3
check "aime24: pass@1 0.5, pass@2 (5/6 + 1) / 3" \
    jq_true '.[0].benchmarks.aime24 | ."pass@1" == 0.5 and ((."pass@2" - (5/6 + 1) / 3) | fabs) < 1e-12'
# pass@4: A has fewer than 4 wrong -> 1, B 0, C 1 -> 2/3; maj@n: A right, B wrong, C right -> 2/3
check "aime24: pass@4 2/3, maj@n 2/3" \
    jq_true '.[0].benchmarks.aime24 | ((."pass@4" - 2/3) | fabs) < 1e-12 and ((."maj@n" - 2/3) | fabs) < 1e-12'
check "aime24: 3 problems of 4 samples, 1 of 12 truncated, length 3 tokens" \
    jq_true '.[0].benchmarks.aime24 | .problems == 3 and .samples_per_problem == 4 and ((.frac_truncated - 1/12) | fabs) < 1e-12 and .completion_len_mean == 3'
# math500 pass@1 = (1/4 + 3/4) / 2 = 0.5; maj@n: D's majority "b" is wrong, E's "y" right -> 0.5
check "math500: pass@1 0.5, maj@n 0.5 (a null pred does not vote)" \
    jq_true '.[0].benchmarks.math500 | ."pass@1" == 0.5 and ."maj@n" == 0.5'
check "the average is the mean of the benchmarks' pass@1" jq_true '.[0]."average_pass@1" == 0.5'
check "the interval brackets pass@1" jq_true '.[0].benchmarks.aime24.ci95 as $c | $c[0] <= 0.5 and 0.5 <= $c[1]'

run tina-score rewarded.jsonl
check "table: aime24 before math500, then the average" \
    sh -c 'grep -n "^aime24\|^math500\|^average" out | cut -d: -f1 | tr "\n" " " | grep -q "^2 3 4 "'
check "table: pass@16 is left out where n is 4 ('-')" sh -c 'grep "^aime24" out | grep -q " -"'
check "table: aime24 pass@1 50.00" sh -c 'grep "^aime24" out | grep -q "50.00"'
run tina-score --seed 3 --json rewarded.jsonl
cp out seeded
run tina-score --seed 3 --json rewarded.jsonl
check "the bootstrap repeats with its seed" cmp -s out seeded

rec aime24 F 1 '"9"' >> ragged.jsonl; cat rewarded.jsonl >> ragged.jsonl
run tina-score ragged.jsonl
check "ragged sample counts: exit 2" status_is 2
check "ragged: says so" stderr_has "--allow-ragged"
run tina-score --allow-ragged --json ragged.jsonl
check "--allow-ragged: scored" jq_true '.[0].benchmarks.aime24.problems == 4'
jq -c '.rewards.accuracy = null' rewarded.jsonl > nulls.jsonl
run tina-score nulls.jsonl
check "a null accuracy: exit 2 with file and line, the gold's fault" \
    eval '[ "$status" -eq 2 ] && stderr_has "nulls.jsonl:1:" && stderr_has "null: the gold answer does not parse"'
jq -c '.rewards.accuracy = null | .answer = ""' rewarded.jsonl > empty-gold.jsonl
run tina-score empty-gold.jsonl
check "a null accuracy beside the record's gold: the gold shown (an empty one)" \
    stderr_has 'null: the gold answer does not parse, "answer" ""'
jq -c '.rewards.accuracy = true' rewarded.jsonl > bools.jsonl
run tina-score bools.jsonl
check "an accuracy that is not a number: exit 2, saying so (not that the gold does not parse)" \
    eval '[ "$status" -eq 2 ] && stderr_has "bools.jsonl:1: no rewards.accuracy (not a number"'
# --by-input: each file one benchmark, named by its file; the records' source does not count
jq -c 'select(.source == "aime24")' rewarded.jsonl > easy.rewarded.jsonl
jq -c 'select(.source == "aime24") | .rewards.accuracy = 0' rewarded.jsonl | zstd -q > hard.rewarded.jsonl.zst
jq -c 'select(.source == "math500")' rewarded.jsonl > gsm8k.test.json
run tina-score --by-input --json easy.rewarded.jsonl hard.rewarded.jsonl.zst gsm8k.test.json
check "--by-input: a benchmark a file, named less .rewarded.jsonl.zst and .json" \
    jq_true '.[0].benchmarks | keys == ["easy", "gsm8k.test", "hard"]'
check "--by-input: the same records of one source score apart (easy 0.5, hard 0)" \
    jq_true '.[0].benchmarks | .easy."pass@1" == 0.5 and .hard."pass@1" == 0 and .hard.problems == 3'
run tina-score --json --allow-ragged easy.rewarded.jsonl hard.rewarded.jsonl.zst
check "the same two files by source: one benchmark, their samples together" \
    jq_true '.[0].benchmarks | keys == ["aime24"] and .aime24.samples_per_problem == 8'
run_with easy.rewarded.jsonl tina-score --by-input --json
check "--by-input: standard input is the benchmark stdin" jq_true '.[0].benchmarks | keys == ["stdin"]'
run tina-score --by-input --by source easy.rewarded.jsonl
check "--by-input with --by: exit 2" status_is 2
check "--by-input with --by: says they exclude each other" stderr_has "--by and --by-input exclude each other"
cp easy.rewarded.jsonl a-benchmark-with-a-long-name.jsonl
run tina-score --by-input a-benchmark-with-a-long-name.jsonl hard.rewarded.jsonl.zst
check "table: the names' column as wide as the longest name (each row's pass@1 under its heading)" \
    eval '[ "$(awk '\''NR == 1 { p = index($0, "pass@1") + 1 } NR > 1 { print substr($0, p, 5) }'\'' out \
        | paste -sd/)" = "50.00/ 0.00/25.00" ]'
run tina-score --help
check "--help: usage, exit 0" status_is 0
finish
