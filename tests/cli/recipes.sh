#!/usr/bin/env bash
# The recipes against pipelines/recipes/TINA.md (Tina's configurations, setting by setting, made from Tina's own code
# by tests/reference/tina_recipes.py): each Tina recipe's resolved settings.json holds every value its section of
# the table gives. Then every recipe dry-runs (make -n), and runs two steps on the tiny model with its own settings
# but for the model, the data and the lengths.
. "$(dirname "$0")/lib.bash"
F=$ROOT/tests/fixtures/models
TABLE=$ROOT/pipelines/recipes/TINA.md

# settings RECIPE: the recipe's settings.json, as grpo.mk records it when a run starts
settings() {
    rm -rf "settings-$1"
    (cd "$ROOT" && make -s -f pipelines/grpo.mk RUN="$SCRATCH/settings-$1" MODEL=m RECIPE="$1" \
        "$SCRATCH/settings-$1/settings.json") && cat "settings-$1/settings.json"
}

# the table's rows with a variable: "recipe<TAB>VARIABLE<TAB>value"
awk -F' [|] ' '/^## `/ { split($0, a, "`"); recipe = a[2] }
    /^[|] / && $4 ~ /^`[A-Z_]+`$/ { gsub(/`/, "", $4); v = $5; sub(/ [|]$/, "", v); gsub(/^`|`$/, "", v);
                                     print recipe "\t" $4 "\t" v }' "$TABLE" > rows.tsv
recipes=$(cut -f 1 rows.tsv | sort -u)
check "TINA.md: a section for each of Tina's configurations but FastCuRL's (20)" [ "$(wc -l <<<"$recipes")" = 20 ]
check "TINA.md: every section's recipe is a file" sh -c 'for r in $1; do [ -f "$0/pipelines/recipes/$r.mk" ] || exit 1; done' \
    "$ROOT" "$recipes"
# mismatches RECIPE JSON: each value of RECIPE's section that JSON does not hold (numbers compared as numbers)
mismatches() {
    grep "^$1	" rows.tsv | while IFS=$'\t' read -r _ var want; do
        jq -e -r --arg var "$var" --arg want "$want" '.[$var] as $have | ($have // "") as $h
            | if ($h | test("^-?[0-9.]+(e-?[0-9]+)?$")) and ($want | test("^-?[0-9.]+(e-?[0-9]+)?$"))
              then ($h | tonumber) == ($want | tonumber) else $h == $want end' "$2" > /dev/null \
            || echo "$var is '$(jq -r --arg var "$var" '.[$var]' "$2")', TINA.md says '$want'"
    done
}
for recipe in $recipes; do
    settings "$recipe" > "$recipe.json" 2> err
    bad=$(mismatches "$recipe" "$recipe.json")
    check "$recipe: settings.json holds every value of its TINA.md section${bad:+ ($bad)}" [ -s "$recipe.json" -a -z "$bad" ]
done
settings modern > modern.json 2> err
check "modern: settings.json records the update's extra options (EXTRA_UPDATE: --mask-truncated)" \
    jq_true '.[0].EXTRA_UPDATE == "--mask-truncated"' modern.json
jq '.LR = "1e-5" | .REWARDS = "--reward format:1"' tina-limr.json > doctored.json
check "a recipe that strays from the table fails it (LR and REWARDS changed: two mismatches)" \
    [ "$(mismatches tina-limr doctored.json | wc -l)" = 2 ]

check "the recipes' training sets are named in data/SOURCES.md (where they come from; the import command if any)" \
    sh -c 'for r in $1; do t=$(jq -r .TRAIN "$r.json"); [ -e "$0/$t" ] || grep -qF "$t" "$0/data/SOURCES.md" || { echo "$r: $t"; exit 1; }; done' \
    "$ROOT" "$recipes"
last_byte() { tail -c 1 "$1" | od -An -c | tr -d ' '; }
first_byte() { head -c 1 "$1" | od -An -c | tr -d ' '; }
P=$ROOT/pipelines/recipes
check "the system prompts are Tina's strings, first and last newline included (tina/utils/prompt.py)" sh -c '
    [ "$1" = "\\n\\n" ] && [ "$2" = "\\n\\n" ] && grep -q "put your final answer within \\\\boxed{{}} \.$" "$0/open-rs-system.txt" &&
    [ "$(tail -n 3 "$0/open-r1-system.txt")" = "<answer>
...
</answer>" ]' "$P" "$(first_byte "$P/open-rs-system.txt")$(last_byte "$P/open-rs-system.txt")" \
    "$(first_byte "$P/open-r1-system.txt")$(last_byte "$P/open-r1-system.txt")"

# the system prompt reaches tina-sample as the file, bytes and all
mkdir -p dry/step-0000/adapter dry/step-0001
touch dry/step-0000/adapter/adapter_config.json train-dry.jsonl
echo '{}' > dry/step-0001/prompts.jsonl
(cd "$ROOT" && make -n -f pipelines/grpo.mk RUN="$SCRATCH/dry" MODEL=m STEPS=1 TRAIN="$SCRATCH/train-dry.jsonl" \
    RECIPE=tina-limr SUFFIX='$(empty) Think.' "$SCRATCH/dry/step-0001/advantaged.jsonl.zst") > dry-run.txt 2>&1
check "tina-limr: tina-sample gets the OPEN_R1 system prompt's file, and the suffix (from the environment)" \
    grep -qF -- "--system-file pipelines/recipes/open-r1-system.txt --suffix \"\$TINA_SUFFIX\"" dry-run.txt
check "tina-limr: advantages scaled by the group's std (Tina's scale_rewards)" grep -qF -- "--scale group" dry-run.txt

# a step's own make lays out that step's rules alone (laying out all of a 5,500-step recipe's took 30 s a make)
(cd "$ROOT" && make -n -f pipelines/grpo.mk RUN="$SCRATCH/one" MODEL=m RECIPE=tina-deepscaler STEPS=3) > one.txt 2>&1
check "a step's make is told its step (STEP_ONLY=0003 for step 3's files)" \
    grep -qF -- "-f pipelines/grpo.mk STEP_ONLY=0003 $SCRATCH/one/step-0003/advantaged.jsonl.zst" one.txt
check "with STEP_ONLY=0002, make has no rule for step 3's files" sh -c '! (cd "$0" && make -n -f pipelines/grpo.mk \
    RUN="$1/one" MODEL=m RECIPE=tina-deepscaler STEP_ONLY=0002 "$1/one/step-0003/prompts.jsonl") > /dev/null 2>&1' \
    "$ROOT" "$SCRATCH"
check "with STEP_ONLY=0002, step 2's files dry-run (the adapter before them taken as made)" sh -c '(cd "$0" &&
    make -n -f pipelines/grpo.mk RUN="$1/one" MODEL=m RECIPE=tina-deepscaler STEP_ONLY=0002 \
    "$1/one/step-0002/advantaged.jsonl.zst") | grep -qF -- "-a $1/one/step-0001/adapter"' "$ROOT" "$SCRATCH"

# every recipe, Tina's and the others, dry-runs its first two steps (make -n runs the sub-make of each step's update,
# a make a step: all 850 of a Tina run would only take long)
all=$(cd "$ROOT/pipelines/recipes" && ls *.mk | sed 's/\.mk$//' | grep -v -- '-common$')
check "make -n: every recipe ($(wc -w <<<"$all"))" sh -c 'for r in $1; do
        (cd "$0" && make -n -f pipelines/grpo.mk RUN="$2/n-$r" MODEL=m RECIPE=$r STEPS=2 > /dev/null 2>&1) || { echo $r; exit 1; }
    done' "$ROOT" "$all" "$SCRATCH"

# two steps of each Tina recipe on the tiny model: its own settings but for the model, the data and the lengths
# (TOTAL_STEPS=epoch counts the tiny set: 12 problems, BATCH 2)
for i in $(seq 1 12); do
    jq -cn --argjson i "$i" '{id: "t\($i)", problem: "What is \($i) plus \(2 * $i)?", answer: "\(3 * $i)",
        solution: "$\(3 * $i)$", source: "toy"}'
done > train.jsonl
# the L1 recipes' set: each record with its target length and system prompt (data/import/l1.sh)
"$ROOT/data/import/l1.sh" 42 "$ROOT/pipelines/recipes/open-r1-system.txt" < train.jsonl > train-l1.jsonl
check "l1.sh: a target length from 100 to 4000 on every record, and its 'Think for N tokens.' system prompt" \
    jq -e -s --rawfile system "$ROOT/pipelines/recipes/open-r1-system.txt" 'length == 12 and all(.[];
        .target_length >= 100 and .target_length <= 4000 and .system == $system + "\nThink for \(.target_length) tokens.")' \
    train-l1.jsonl
check "l1.sh: the same file again for the same seed, another for another seed" sh -c '
    "$0/data/import/l1.sh" 42 "$0/pipelines/recipes/open-r1-system.txt" < train.jsonl | cmp -s - train-l1.jsonl &&
    ! "$0/data/import/l1.sh" 7 "$0/pipelines/recipes/open-r1-system.txt" < train.jsonl | cmp -s - train-l1.jsonl' "$ROOT"
for recipe in $recipes tina-open-rs3-drgrpo-intended; do
    train=train.jsonl
    [ "${recipe#tina-l1-}" = "$recipe" ] || train=train-l1.jsonl
    (cd "$ROOT" && make -s -f pipelines/grpo.mk TINA_BIN="$BIN" RUN="$SCRATCH/run-$recipe" RECIPE="$recipe" \
        MODEL="$F/qwen2-f32" TOKENIZER=data/models/tiny-math-bpe TRAIN="$SCRATCH/$train" STEPS=2 BATCH=2 \
        MAX_NEW_TOKENS=8 MAX_PROMPT_TOKENS=256 THREADS=2) > /dev/null 2> "$recipe.log"
    check "$recipe: two steps on the tiny model" sh -c '[ "$(jq -s "map(.step)" "$0/metrics.jsonl" | tr -d " \n")" = "[1,2]" ]' \
        "run-$recipe"
done
check "tina-openr1: TOTAL_STEPS=epoch is one pass over the 12 problems at BATCH 2 (6)" \
    jq -e '.TOTAL_STEPS == "6" and .STEPS == "2"' run-tina-openr1/settings.json
check "tina-open-rs3-drgrpo-intended: no std scaling, bnpo" \
    jq -e '.ADV_SCALE == "none" and .LOSS == "bnpo"' run-tina-open-rs3-drgrpo-intended/settings.json
check "tina-openr1: the seven rewards on every rollout" sh -c \
    'zstdcat run-tina-openr1/step-0001/rewarded.jsonl.zst | jq -e ".rewards | keys | length == 7" > /dev/null'
finish
