#!/usr/bin/env bash
# tina-advantage, driven as a user would: expected advantages are worked out by hand in the comments, and every
# bad input must exit 2 with its file and line and leave no output file.
. "$(dirname "$0")/lib.bash"

records() { printf '%s\n' "$@"; }

# ---- the advantage formulas ----------------------------------------------------------------------------------

# Group a: rewards 0, 2, 4. Mean 2; Bessel variance (4 + 0 + 4) / 2 = 4, std 2.
records '{"id":"a","sample":0,"reward":0}' '{"id":"a","sample":1,"reward":2}' '{"id":"a","sample":2,"reward":4}' \
    > a.jsonl

run tina-advantage --eps 0 a.jsonl
check "eps 0: (r - 2) / 2 is exactly -1, 0, 1" jq_true 'map(.advantage) == [-1, 0, 1]'
check "exit status 0 on success" status_is 0

run tina-advantage a.jsonl
check "default eps 1e-4: +-2 / 2.0001" \
    jq_true 'map(.advantage) | (.[0] + 2 / 2.0001 | fabs) < 1e-12 and .[1] == 0 and (.[2] - 2 / 2.0001 | fabs) < 1e-12'

# Binary rewards 1, 0, 0, 1: mean 1/2, variance (4 x 1/4) / 3 = 1/3; A = +-0.5 / (sqrt(1/3) + 1e-4).
records '{"id":"b","sample":0,"reward":1}' '{"id":"b","sample":1,"reward":0}' '{"id":"b","sample":2,"reward":0}' \
    '{"id":"b","sample":3,"reward":1}' > b.jsonl
run tina-advantage b.jsonl
check "binary group: +-0.5 / (sqrt(1/3) + 1e-4)" \
    jq_true '(0.5 / ((1/3 | sqrt) + 0.0001)) as $a | map(.advantage) | map(fabs - $a | fabs < 1e-12) | all'
check "binary group: signs follow the rewards" jq_true 'map(.advantage > 0) == [true, false, false, true]'

# Batch scale over groups a and c (1, 1): batch rewards 0 2 4 1 1, mean 1.6,
# Bessel variance (2.56 + 0.16 + 5.76 + 0.36 + 0.36) / 4 = 2.3; group a gets (r - 2) / sqrt(2.3), group c 0.
records '{"id":"c","sample":0,"reward":1}' '{"id":"c","sample":1,"reward":1}' > c.jsonl
run tina-advantage --scale batch --eps 0 a.jsonl c.jsonl
check "batch: group mean, batch std" \
    jq_true '(2 / (2.3 | sqrt)) as $a | map(.advantage) | (.[0] + $a | fabs) < 1e-12 and .[1] == 0 and (.[2] - $a | fabs) < 1e-12 and .[3] == 0 and .[4] == 0'

run tina-advantage --scale none a.jsonl
check "none: r - mean (Dr. GRPO), eps unused" jq_true 'map(.advantage) == [-2, 0, 2]'

# Nulls: rewards 1, null, 0 -> statistics over {1, 0}: mean 1/2, std sqrt(1/2); the null gets 0.
records '{"id":"n","sample":0,"reward":1}' '{"id":"n","sample":1,"reward":null}' '{"id":"n","sample":2,"reward":0}' \
    > n.jsonl
run tina-advantage --eps 0 n.jsonl
check "null reward: advantage 0, left out of the group's statistics" \
    jq_true '(0.5 / (0.5 | sqrt)) as $a | map(.advantage) | (.[0] - $a | fabs) < 1e-12 and .[1] == 0 and (.[2] + $a | fabs) < 1e-12'
check "null reward: the record is kept with reward null" jq_true '.[1].reward == null and length == 3'

records '{"id":"s","sample":0,"reward":1}' '{"id":"s","sample":1,"reward":null}' > small.jsonl
run tina-advantage small.jsonl
check "fewer than 2 usable rewards: all 0" jq_true 'map(.advantage) == [0, 0]'

# Against TRL's formulas computed by torch (tests/reference/advantages.py): 120 groups of 6, all three scales.
FIXTURES=$ROOT/tests/fixtures/advantages
for scale in group batch none; do
    run tina-advantage --scale "$scale" "$FIXTURES/rewarded.jsonl"
    check "--scale $scale matches the torch reference within 1e-12" \
        [ "$(jq -r .advantage out | paste -d ' ' - "$FIXTURES/expected-$scale.txt" |
             awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-12) bad++ } END { print NR " " bad + 0 }')" = "720 0" ]
done

# ---- options ---------------------------------------------------------------------------------------------------

run tina-advantage --drop-zero-std a.jsonl c.jsonl small.jsonl b.jsonl
check "--drop-zero-std omits flat and small groups, keeps order" jq_true 'map(.id) == ["a","a","a","b","b","b","b"]'
check "--drop-zero-std: the summary counts what was dropped" stderr_has "2 dropped"

run tina-advantage --stats stats.json a.jsonl c.jsonl n.jsonl small.jsonl
check "--stats writes the summary as JSON" jq_true \
    '.[0] | .groups == 4 and .records == 10 and .null_rewards == 2 and .zero_std_groups == 1 and .small_groups == 1 and .frac_zero_std_groups == 0.25 and .dropped_groups == 0 and .scale == "group" and .eps == 0.0001' \
    stats.json
# usable rewards 0 2 4 1 1 1 0 1: mean 10/8 = 1.25
check "--stats: reward mean over usable rewards" jq_true '.[0].reward_mean == 1.25' stats.json
check "summary line on stderr" stderr_has "tina-advantage: 4 groups (25.0% zero-std, 1 with fewer than 2 usable rewards, 0 dropped), 10 records (2 null rewards), reward mean 1.25"

run tina-advantage -q a.jsonl
check "-q: no summary" [ ! -s err ]
run tina-advantage -q --progress a.jsonl
check "--progress reports on stderr even when it is not a terminal" grep -q '^tina-advantage: 3 records, ' err

run tina-advantage --group-size 3 a.jsonl
check "--group-size: a group of the right size passes" status_is 0
run tina-advantage -G 4 a.jsonl
check "--group-size: a short group is bad input" status_is 2
check "--group-size: message names group and size" stderr_has 'a.jsonl:3: group "a" has 3 samples (expected 4, from --group-size)'

# ---- streams ---------------------------------------------------------------------------------------------------

# Unknown fields pass through byte for byte and in order: odd spacing, number spellings, escapes, nesting.
echo '{"z": 1.50, "id":"p","sample":0, "u":"\u00e9\n\"}", "n":{"a":[1,{"b":null}]}, "reward":1E0, "e":-0.0}' > odd.jsonl
echo '{"id":"p","sample":1,"reward":0}' >> odd.jsonl
run tina-advantage --eps 0 odd.jsonl
check "unknown fields pass through unchanged and in order" \
    [ "$(head -n 1 out)" = '{"z": 1.50, "id":"p","sample":0, "u":"\u00e9\n\"}", "n":{"a":[1,{"b":null}]}, "reward":1E0, "e":-0.0,"advantage":0.7071067811865475}' ]

cp out once.jsonl
run tina-advantage --eps 0 once.jsonl
check "an existing advantage is replaced in place (re-running is idempotent)" \
    [ "$(head -n 1 out)" = '{"z": 1.50, "id":"p","sample":0, "u":"\u00e9\n\"}", "n":{"a":[1,{"b":null}]}, "reward":1E0, "e":-0.0,"advantage":0.7071067811865475}' ]

cat a.jsonl b.jsonl > ab.jsonl
run tina-advantage ab.jsonl
cp out plain.out
zstd -q -c ab.jsonl > ab.jsonl.zst
run tina-advantage ab.jsonl.zst -o out.jsonl.zst
check "zstd in, zstd out: exit 0" status_is 0
check "zstd in, zstd out: output is zstd" [ "$(head -c 4 out.jsonl.zst | od -An -tx1 | tr -d ' ')" = 28b52ffd ]
check "zstd in, zstd out: same records as plain" [ "$(zstd -dc out.jsonl.zst)" = "$(cat plain.out)" ]
cp ab.jsonl.zst disguised.jsonl
run tina-advantage disguised.jsonl
check "zstd is recognised by content, not by name" [ "$(cat out)" = "$(cat plain.out)" ]

run_with ab.jsonl tina-advantage
check "stdin when no input is named" [ "$(cat out)" = "$(cat plain.out)" ]
run_with b.jsonl tina-advantage a.jsonl -
check "'-' is stdin among other inputs" [ "$(cat out)" = "$(cat plain.out)" ]

records '{"id":7,"sample":0,"reward":1}' '{"id":7,"sample":1,"reward":0}' '{"id":8,"sample":0,"reward":1}' > num.jsonl
run tina-advantage num.jsonl
check "numeric ids group like strings" jq_true 'map(.advantage != 0) == [true, true, false]'

head -c 3000000 /dev/zero | tr '\0' 'x' > big.txt
{ printf '{"id":"L","sample":0,"completion":"'; cat big.txt; printf '","reward":1}\n'; echo '{"id":"L","sample":1,"reward":0}'; } > long.jsonl
run tina-advantage long.jsonl
check "a 3 MB record passes through whole" jq_true '.[0].completion | length == 3000000'

run tina-advantage a.jsonl -o result.jsonl
check "-o writes the file, stdout stays empty" eval '[ -s result.jsonl ] && [ ! -s out ]'
check "-o leaves no temporary file behind" [ "$(ls -a | grep -c '\.tmp-')" -eq 0 ]

: > empty.jsonl
run tina-advantage empty.jsonl
check "empty input: empty output, exit 0" eval '[ "$status" -eq 0 ] && [ ! -s out ]'

# ---- bad input: exit 2, FILE:LINE in the message, no output file ------------------------------------------------

bad_input() { # NAME FILE EXPECTED-MESSAGE
    rm -f result.jsonl
    echo keep > kept.jsonl
    run tina-advantage "$2" -o result.jsonl
    check "$1: exit 2" status_is 2
    check "$1: message" stderr_has "$3"
    check "$1: no output file" [ ! -e result.jsonl ]
    run tina-advantage "$2" -o kept.jsonl
    check "$1: an existing output file is left as it was" [ "$(cat kept.jsonl)" = keep ]
}

records '{"id":"a","sample":0,"reward":1}' '{"id":"a","sample":1,"reward":' > t.jsonl
bad_input "not JSON" t.jsonl "tina-advantage: t.jsonl:2: not valid JSON"
records '{"id":"a","sample":0,"reward":1}' '[1]' > t.jsonl
bad_input "not an object" t.jsonl "t.jsonl:2: not a JSON object"
records '{"id":"a","sample":0,"reward":1}' '' '{"id":"a","sample":1}' > t.jsonl
bad_input "missing reward (blank lines count)" t.jsonl 't.jsonl:3: field "reward" is missing'
records '{"id":"a","sample":0,"reward":"1"}' > t.jsonl
bad_input "reward not a number" t.jsonl 't.jsonl:1: field "reward" is not a number'
records '{"sample":0,"reward":1}' > t.jsonl
bad_input "missing id" t.jsonl 't.jsonl:1: field "id" is missing'
records '{"id":["a"],"sample":0,"reward":1}' > t.jsonl
bad_input "id of the wrong type" t.jsonl 't.jsonl:1: field "id" is not a string or a number'
records '{"id":"a","reward":1}' > t.jsonl
bad_input "missing sample" t.jsonl 't.jsonl:1: field "sample" is missing'
records '{"id":"a","sample":-1,"reward":1}' > t.jsonl
bad_input "negative sample" t.jsonl 't.jsonl:1: field "sample" is -1 (expected an integer'
records '{"id":"a","sample":0.5,"reward":1}' > t.jsonl
bad_input "fractional sample" t.jsonl 't.jsonl:1: field "sample" is 0.5 (expected an integer'
records '{"id":"a","sample":0,"reward":1}' '{"id":"a","sample":1,"reward":1}' '{"id":"a","sample":0,"reward":0}' \
    '{"id":"b","sample":0,"reward":0}' > t.jsonl
bad_input "duplicate sample" t.jsonl 't.jsonl:3: sample 0 appears twice in group "a" (first at line 1)'
records '{"id":"a","sample":0,"reward":1}' '{"id":"b","sample":0,"reward":1}' '{"id":"a","sample":1,"reward":0}' > t.jsonl
bad_input "split group" t.jsonl 't.jsonl:3: group "a" is split'
records '{"id":"a","sample":0,"reward":1e308}' '{"id":"a","sample":1,"reward":-1e308}' > t.jsonl
bad_input "rewards too large for finite advantages" t.jsonl "is not finite"
printf 'not zstd at all' | gzip -c > t.jsonl.gz
bad_input "gzip input" t.jsonl.gz "t.jsonl.gz: gzip-compressed input is not supported"
head -c 20 ab.jsonl.zst > t.zst
bad_input "truncated zstd" t.zst "t.zst: truncated zstd stream"
bad_input "missing input" no-such-file.jsonl "no-such-file.jsonl: cannot open: No such file or directory"

records '{"id":"a","sample":0,"reward":1}' '{"id":"a","sample":1,"reward":x}' > t.jsonl
run tina-advantage a.jsonl t.jsonl
check "the line number is counted in the input that has the error" stderr_has "t.jsonl:2: not valid JSON"

run tina-advantage a.jsonl -o no/such/folder/out.jsonl
check "unwritable output: runtime failure, exit 1" status_is 1
check "unwritable output: message names the file" stderr_has "no/such/folder/out.jsonl: cannot create output file"

# ---- usage --------------------------------------------------------------------------------------------------

bad_usage() { # NAME EXPECTED-MESSAGE ARG...
    local name=$1 message=$2; shift 2
    run tina-advantage "$@" a.jsonl
    check "$name: exit 2" status_is 2
    check "$name: message" stderr_has "$message"
    check "$name: points to --help" stderr_has "Try 'tina-advantage --help'"
}
bad_usage "unknown option" "unknown option '--bogus'" --bogus
bad_usage "an abbreviation of two options" "option '--s' is ambiguous: --scale, --stats" --s batch
bad_usage "unknown scale" "--scale: 'z' is not one of: group, batch, none" --scale z
bad_usage "negative eps" "--eps: '-1' is not a number" --eps -1
bad_usage "eps not a number" "--eps: '1e-4x' is not a number" --eps 1e-4x
bad_usage "group size 0" "--group-size: '0' is not an integer" -G 0
run tina-advantage a.jsonl --eps
check "option without its value: exit 2" status_is 2
check "option without its value: message" stderr_has "option '--eps' needs a value"
# getopt is still inside "-zq" when it stops at -z, so the element before it is not the culprit: the message named
# that one ("unknown option '--drop-zero-std'", or the program's path when there was none)
bad_usage "an unknown short option inside a group" "unknown option '-z'" --drop-zero-std -zq
bad_usage "an unknown short option first in a group" "unknown option '-z'" -zq
bad_usage "a value for an option that takes none" "option '--quiet' takes no value" --quiet=1
run tina-advantage a.jsonl -qG
check "a grouped short option without its value: that option named" stderr_has "option '-G' needs a value"

run tina-advantage --help
check "--help: exit 0 and usage on stdout" status_is 0
check "--help: exit 0 and usage on stdout (what it says)" grep -q '^Usage: tina-advantage' out
run tina-advantage --version
check "--version names the tool and version" grep -q '^tina-advantage [0-9][0-9.]* (' out

finish
