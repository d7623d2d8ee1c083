#!/usr/bin/env bash
# pipelines/sweep.mk and report.mk on the tiny Qwen2 fixture: a 2 x 2 grid (learning rate x loss) of two-step runs,
# every checkpoint evaluated; killed and resumed it ends with the bytes of one left alone; the reports' tables equal
# tina-score's JSON and tina-cost's sums, and every image they show exists and is a PNG.
. "$(dirname "$0")/lib.bash"
F=$ROOT/tests/fixtures/models
for i in $(seq 1 12); do
    jq -cn --argjson i "$i" '{id: "t\($i)", problem: "What is \($i) plus \(2 * $i)?", answer: "\(3 * $i)", solution: "$\(3 * $i)$", source: "toy"}'
done > train.jsonl
printf 'GRID := LR=1e-3,3e-3 LOSS=grpo,dr_grpo\n' > grid.mk
sweep() { # sweep OUT [ARG]...
    (cd "$ROOT" && make -s -f pipelines/sweep.mk SWEEP="$SCRATCH/grid.mk" OUT="$SCRATCH/$1" CKPT_EVERY=1 SAVE_EVERY= \
        TINA_BIN="$BIN" MODEL="$F/qwen2-f32" TOKENIZER=data/models/tiny-math-bpe TRAIN="$SCRATCH/train.jsonl" STEPS=2 \
        BATCH=4 G=4 MAX_NEW_TOKENS=12 RANK=4 ALPHA=16 SCHEDULE=constant SYSTEM_FILE= THREADS=1 \
        REWARDS="-r repetition,cosine" EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=2 \
        EVAL_VARS="MAX_NEW_TOKENS=12 TEMPERATURE=1.0" "${@:2}")
}
runs="lr-1e-3_loss-grpo lr-1e-3_loss-dr-grpo lr-3e-3_loss-grpo lr-3e-3_loss-dr-grpo"
status=0
sweep whole -j2 > /dev/null 2>&1 || status=$?
check "a 2 x 2 sweep: four runs named by their values" \
    sh -c 'for r in $1; do [ -s "whole/$r/step-0002/adapter/adapter_model.safetensors" ] || exit 1; done' - "$runs"
check "... exit 0" [ "$status" = 0 ]
check "every run's settings.json holds its grid values" \
    jq_true 'map([.LR, .LOSS]) == [["1e-3", "dr_grpo"], ["1e-3", "grpo"], ["3e-3", "dr_grpo"], ["3e-3", "grpo"]]' \
        <(cat whole/lr-1e-3_loss-dr-grpo/settings.json whole/lr-1e-3_loss-grpo/settings.json \
              whole/lr-3e-3_loss-dr-grpo/settings.json whole/lr-3e-3_loss-grpo/settings.json)
check "every checkpoint evaluated: steps 0, 1 and 2 of every run" \
    sh -c 'for r in $1; do for s in 0000 0001 0002; do [ -s "whole/$r/step-$s/eval/scores.json" ] || exit 1; done; done' - "$runs"
check "the learning rates differ in the adapters" \
    differ whole/lr-1e-3_loss-grpo/step-0002/adapter/adapter_model.safetensors \
           whole/lr-3e-3_loss-grpo/step-0002/adapter/adapter_model.safetensors
check "sweep.json: the grid's runs and values" \
    jq_true '.[0].runs | map(.name) == ["lr-1e-3_loss-grpo", "lr-1e-3_loss-dr-grpo", "lr-3e-3_loss-grpo", "lr-3e-3_loss-dr-grpo"]' \
        whole/sweep.json
tool_threads() { # tool_threads MAKE-ARGS...: the --threads of every tool the four runs would start, counted (make -n)
    sweep planned -n "$@" 2> /dev/null | grep -o -- '--threads [0-9]*' | sort | uniq -c | tr -s ' '
}
check "THREADS=4 -j2: the tools of the two runs at once get 2 threads each; without -j, one run at a time: all 4" \
    sh -c '[ "$1" = " 28 --threads 2" ] && [ "$2" = " 28 --threads 4" ]' _ \
        "$(tool_threads THREADS=4 -j2)" "$(tool_threads THREADS=4)"
# (shared once among all the runs' shards, not a run's share shared again: that left half of the cores idle)
check "THREADS=8 SHARDS=2 -j4: 4 of the runs' 8 shards at once, 2 threads each; the updates and evaluations 2" \
    [ "$(tool_threads THREADS=8 SHARDS=2 -j4)" = " 52 --threads 2" ]
check "make -n, evaluations included, runs nothing and writes nothing" [ ! -e planned ]

# killed in the middle (the sweep, its runs and their tools), started again: the same bytes
sweep killed -j2 > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -e killed/lr-1e-3_loss-grpo/step-0001/adapter ] && break; sleep 0.05; done
pkill -9 -P "$pid" 2> /dev/null; kill -9 "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
for _ in $(seq 1 100); do pkill -9 -f "$SCRATCH/killed" 2> /dev/null || break; sleep 0.05; done
status=0
sweep killed -j2 > /dev/null 2>&1 || status=$?
check "killed and resumed: the resumed sweep exits 0" [ "$status" = 0 ]
check "killed and resumed: every run's last adapter the same bytes" \
    sh -c 'for r in $1; do cmp -s "whole/$r/step-0002/adapter/adapter_model.safetensors" \
               "killed/$r/step-0002/adapter/adapter_model.safetensors" || exit 1; done' - "$runs"
check "killed and resumed: every checkpoint's scores the same" \
    sh -c 'for r in $1; do for s in 0000 0001 0002; do cmp -s "whole/$r/step-$s/eval/scores.json" \
               "killed/$r/step-$s/eval/scores.json" || exit 1; done; done' - "$runs"
touch marker
sweep whole -j2 > /dev/null 2>&1
check "the same command again does nothing (but take the run's lock)" [ -z "$(rewritten_since_marker whole)" ]

# the reports
(cd "$ROOT" && make -s -f pipelines/report.mk TINA_BIN="$BIN" SWEEP="$SCRATCH/grid.mk" OUT="$SCRATCH/whole" \
    PRICE=2 > "$SCRATCH/out" 2> "$SCRATCH/err")
r=whole/lr-3e-3_loss-grpo
check "a run's report and a sweep's" eval '[ -s "$r/report/README.md" ] && [ -s whole/report/README.md ]'
# the run's table: one row per checkpoint, the train set's pass@1 and the average in %, as tina-score says
for s in 0 1 2; do
    want=$(jq -r '[.benchmarks.train["pass@1"], .["average_pass@1"]] | map(100 * . | . * 10 | round / 10
        | tostring | if test("\\.") then . else . + ".0" end) | join(" | ")' "$r/step-000$s/eval/scores.json")
    check "run report: step $s's row is tina-score's pass@1 ($want)" grep -Eq "^\| $s( \(best\))? \| $want \|$" "$r/report/README.md"
done
best=$(for s in 0 1 2; do jq -r --arg s "$s" '"\(.["average_pass@1"]) \($s)"' "$r/step-000$s/eval/scores.json"; done \
    | sort -k1,1gr -k2,2n | head -n 1 | cut -d' ' -f2)
check "run report: the best checkpoint (step $best, the highest average, the earliest of equals) marked" \
    grep -q "^| $best (best) |" "$r/report/README.md"
cat "$r"/step-*/times/*.json | "$BIN/tina-cost" --price-per-gpu-hour 2 --best-step "$best" > cost-want.txt
check "run report: the cost table is tina-cost's, up to the best checkpoint" \
    sh -c 'sed -n "/^\`\`\`$/,/^\`\`\`$/p" "$1" | sed "1d;\$d" | cmp -s - cost-want.txt' - "$r/report/README.md"
check "sweep report: a row per run" [ "$(grep -c '^| \[lr-' whole/report/README.md)" = 4 ]
cells=$(grep "^| $best (best) |" "$r/report/README.md" | sed 's/^| [0-9]* (best) | //; s/ |$//')
check "sweep report: each run's best checkpoint and its scores as its own report's ($cells)" \
    grep -qF "| [lr-3e-3_loss-grpo](../lr-3e-3_loss-grpo/report/README.md) | LR=3e-3 LOSS=grpo | $best | $cells |" \
        whole/report/README.md
# runs scored on different sets: one run's checkpoints also scored on a set "extra" (pass@1 1) by hand
cp -a whole mixed && rm -rf mixed/report mixed/*/report
for f in mixed/lr-1e-3_loss-dr-grpo/step-*/eval/scores.json; do
    jq '.benchmarks.extra = {"pass@1": 1} | .["average_pass@1"] = (.benchmarks | map(.["pass@1"]) | add / length)' \
        "$f" > scores.tmp && mv scores.tmp "$f"
done
(cd "$ROOT" && make -s -f pipelines/report.mk TINA_BIN="$BIN" SWEEP="$SCRATCH/grid.mk" OUT="$SCRATCH/mixed" \
    PRICE=2 > /dev/null 2>&1)
check "sweep report, runs scored on different sets: the columns are every run's sets" \
    grep -q '^| run | settings | best step | extra | train | average |' mixed/report/README.md
check "... a run not scored on one shows - under it, the run scored on it its score, each under its own column" \
    sh -c 'grep -Eq "^\| \[lr-1e-3_loss-grpo\]\([^)]*\) \| [^|]* \| [0-9] \| - \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$" "$1" &&
           grep -Eq "^\| \[lr-1e-3_loss-dr-grpo\]\([^)]*\) \| [^|]* \| [0-9] \| 100\.0 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$" "$1"' \
        - mixed/report/README.md
check "every image the reports show exists and is a PNG" \
    sh -c 'for page in whole/report/README.md whole/*/report/README.md; do
               for png in $(grep -o "([a-z_]*\.png)" "$page" | tr -d "()"); do
                   f="$(dirname "$page")/$png"
                   [ "$(head -c 8 "$f" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] || { echo "$f"; exit 1; }
               done; done'
finish
