#!/usr/bin/env bash
# pipelines/grpo.mk and eval.mk on the tiny Qwen2 fixture: a run killed in the middle and started again ends with
# the same adapter bytes as one left alone; the same command again does nothing. (The recipes against Tina's own
# configurations: tests/cli/recipes.sh.)
. "$(dirname "$0")/lib.bash"
F=$ROOT/tests/fixtures/models
for i in $(seq 1 12); do
    jq -cn --argjson i "$i" '{id: "t\($i)", problem: "What is \($i) plus \(2 * $i)?", answer: "\(3 * $i)", solution: "$\(3 * $i)$", source: "toy"}'
done > train.jsonl
grpo() { # grpo RUN: three steps of a small run
    (cd "$ROOT" && make -s -f pipelines/grpo.mk TINA_BIN="$BIN" SAVE_EVERY= RUN="$SCRATCH/$1" MODEL="$F/qwen2-f32" \
        TOKENIZER=data/models/tiny-math-bpe TRAIN="$SCRATCH/train.jsonl" STEPS=3 BATCH=4 G=4 MAX_NEW_TOKENS=12 \
        RANK=4 ALPHA=16 LR=1e-3 SCHEDULE=constant SYSTEM_FILE= THREADS=2 "${@:2}")
}
grpo whole > /dev/null 2> whole.log
check "a run says each step as it ends: rewards, kl, length, seconds, what is left" sh -c '
    [ "$(grep -c "^whole: step [123]/3: reward [-0-9.]*, accuracy [0-9.]*, format [0-9.]*, kl [0-9.e-]*, length [0-9]*, [0-9.]* s" whole.log)" = 3 ] &&
    grep -q "^whole: step 3/3: .* s$" whole.log'
# step 1's forecast: its own seconds S for each of the 2 steps left, in whole minutes up (S as printed, to 0.1 s);
# not a fixed "0h00m": on a loaded machine a step of the tiny run took over 30 s
check "a run's forecast after step 1: two more steps of step 1's seconds" awk '
    function minutes_up(seconds) { return int(seconds / 60) + (int(seconds / 60) < seconds / 60) }
    /^whole: step 1\/3: / { match($0, /, [0-9.]+ s, about [0-9]+h[0-9][0-9]m to go$/); if (!RSTART) exit 1
        split(substr($0, RSTART + 2), f, /[ hm]/); minutes = f[4] * 60 + f[5]; s = f[1]
        found = minutes >= minutes_up(2 * (s - 0.05)) && minutes <= minutes_up(2 * (s + 0.05)) }
    END { exit !found }' whole.log
check "a run: three adapters and three metrics lines" sh -c '[ -f whole/step-0003/adapter/adapter_model.safetensors ] && [ "$(wc -l < whole/metrics.jsonl)" = 3 ]'
check "metrics: steps 1, 2, 3" jq_true 'map(.step) == [1, 2, 3]' whole/metrics.jsonl
check "the stages' .zst outputs are zstd (written as NAME.tmp.zst: the tools compress by the name)" \
    zstd -q -t whole/step-0002/rollouts.jsonl.zst whole/step-0002/rewarded.jsonl.zst whole/step-0002/advantaged.jsonl.zst
zstdcat whole/step-0002/rewarded.jsonl.zst | jq -s '{accuracy: (map(.rewards.accuracy) | add / length), format: (map(.rewards.format) | add / length)}' > step2-rewards.json
check "metrics: each reward's mean over the step's rollouts" \
    jq -e --slurpfile want step2-rewards.json '.rewards == $want[0]' <(sed -n 2p whole/metrics.jsonl) > /dev/null
(cd "$ROOT" && make -s -f pipelines/report.mk TINA_BIN="$BIN" RUN="$SCRATCH/whole") > /dev/null 2> err
check "a run without evaluations has a report: its curves and cost, and says there are no scores" \
    sh -c '[ -s whole/report/curves.png ] && grep -q "^## Cost" whole/report/README.md &&
           grep -q "No checkpoint of this run was evaluated" whole/report/README.md && [ ! -e whole/report/scores.png ]'
# a checkpoint scored by hand, as the report's own page suggests: eval.mk alone times nothing, and tina-cost refuses
# a best step whose evaluation it has no time for
cp -r whole byhand
(cd "$ROOT" && make -s -f pipelines/eval.mk TINA_BIN="$BIN" OUT="$SCRATCH/byhand/step-0003/eval" MODEL="$F/qwen2-f32" \
    ADAPTER="$SCRATCH/byhand/step-0003/adapter" TOKENIZER=data/models/tiny-math-bpe SETS="$SCRATCH/train.jsonl" \
    MAX_NEW_TOKENS=4 THREADS=1) > /dev/null 2>&1
# and step 2's on that set and another: its row has a column more than step 3's
head -n 4 train.jsonl > few.jsonl
(cd "$ROOT" && make -s -f pipelines/eval.mk TINA_BIN="$BIN" OUT="$SCRATCH/byhand/step-0002/eval" MODEL="$F/qwen2-f32" \
    ADAPTER="$SCRATCH/byhand/step-0002/adapter" TOKENIZER=data/models/tiny-math-bpe \
    SETS="$SCRATCH/train.jsonl $SCRATCH/few.jsonl" MAX_NEW_TOKENS=4 THREADS=1) > /dev/null 2>&1
(cd "$ROOT" && make -s -f pipelines/report.mk TINA_BIN="$BIN" RUN="$SCRATCH/byhand") > /dev/null 2> err
check "checkpoints evaluated by hand (eval.mk alone): the report has their scores and the run's cost" \
    sh -c 'grep -Eq "^\| 3( \(best\))? \| - \| 0\.0 \| 0\.0 \|$" byhand/report/README.md &&
           grep -q "^3 steps trained" byhand/report/README.md'
check "the report's columns: the sets the run was scored on (not Tina's six unscored), step 3's row lined up under them" \
    sh -c 'grep -q "^| step | few | train | average |$" byhand/report/README.md &&
           grep -Eq "^\| 2( \(best\))? \| 0\.0 \| 0\.0 \| 0\.0 \|$" byhand/report/README.md'
rm -rf whole/report
touch marker
grpo whole > /dev/null 2>&1
check "the same command again does nothing (but take the run's lock)" [ -z "$(rewritten_since_marker whole)" ]

# killed during step 2's sampling or update, then resumed
grpo killed > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -e killed/step-0001/adapter ] && break; sleep 0.05; done
sleep 0.2
pkill -9 -P "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
# everything of that run, down to the tools the sub-makes started (their arguments name the run's folder): a tool
# left running would race the resumed run for the same step (seen once under ASan, where tools run slowly)
for _ in $(seq 1 100); do
    pkill -9 -f "$SCRATCH/killed" 2>/dev/null || break
    sleep 0.05
done
steps_before=$(ls -d killed/step-*/adapter 2>/dev/null | wc -l)
grpo killed > /dev/null 2>&1
check "killed after $steps_before adapters, resumed: the same final adapter bytes" \
    cmp -s whole/step-0003/adapter/adapter_model.safetensors killed/step-0003/adapter/adapter_model.safetensors
check "resumed: the same optimizer state" \
    cmp -s whole/step-0003/adapter/optimizer.safetensors killed/step-0003/adapter/optimizer.safetensors
check "resumed: the same metrics (but for wall times)" sh -c 'jq -c "del(.seconds, .load_seconds, .stage_seconds)" whole/metrics.jsonl > a; jq -c "del(.seconds, .load_seconds, .stage_seconds)" killed/metrics.jsonl > b; cmp -s a b'

grpo pruned KEEP=1 EVAL_EVERY=3 EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 EVAL_VARS="MAX_NEW_TOKENS=12" > /dev/null 2>&1
check "EVAL_EVERY=3: step 3's adapter scored as the run goes (eval.mk)" jq_true '.[0].benchmarks.train.problems == 12' pruned/step-0003/eval/scores.json
check "EVAL_EVERY=3: and step 0, the base model" [ -s pruned/step-0000/eval/scores.json ]
check "a checkpoint's protocol beside its scores: Tina's by default (EVAL_VARS applied)" jq_true '.[0] | .template ==
    "deepseek-r1-lighteval" and .temperature == 0.6 and .max_new_tokens == 12 and .n == 1 and .suffix == ""
    and .prefix_file == "pipelines/recipes/lighteval-math-prefix.txt"' \
    pruned/step-0003/eval/protocol.json
# a training run's command line reaches every command's environment; none of it may become the evaluation's
grpo leak STEPS=1 EVAL_EVERY=1 EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 EVAL_VARS="MAX_NEW_TOKENS=12" TEMPERATURE=0.9 \
    SEED=7 REWARDS="-r repetition,cosine" > /dev/null 2>&1
check "Tina's protocol whatever the run's TEMPERATURE, SEED and REWARDS (eval.mk takes no setting from the environment)" \
    jq_true '.[0] | .temperature == 0.6 and .seed == 0 and .rewards == "accuracy,format" and .max_new_tokens == 12' \
    leak/step-0001/eval/protocol.json
# under make -j a checkpoint's evaluation and the next step would each take THREADS (and on a GPU each tina-sample
# 90% of the free memory): the evaluation runs between the steps
grpo between STEPS=2 EVAL_EVERY=1 EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 EVAL_VARS="MAX_NEW_TOKENS=12" -j2 \
    > /dev/null 2>&1
starts_after() { # starts_after EARLIER LATER...: every stage of the LATER times files started after EARLIER's ended
    local end; end=$(date -r "$1" +%s.%N)
    for f in "${@:2}"; do # (a times file is written as its stage ends)
        jq -e --argjson before "$end" --argjson ended "$(date -r "$f" +%s.%N)" '$ended - .seconds > $before' "$f" ||
            return 1
    done
}
check "make -j2, EVAL_EVERY=1: checkpoint 0 evaluated before step 1 starts" \
    starts_after between/step-0000/times/eval.json between/step-0001/times/*.json
check "make -j2, EVAL_EVERY=1: checkpoint 1 evaluated before step 2 starts" \
    starts_after between/step-0001/times/eval.json between/step-0002/times/*.json
grpo recipe-eval STEPS=1 EVAL_EVERY=1 EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 EVAL_PROTOCOL=recipe TEMPERATURE=0.9 \
    SUFFIX='$(empty) Answer: $x' > /dev/null 2>&1
check "EVAL_PROTOCOL=recipe: checkpoints scored with the run's own prompt and sampling" jq_true '.[0] | .template ==
    "tina" and .temperature == 0.9 and .max_new_tokens == 12 and .suffix == " Answer: $x"' \
    recipe-eval/step-0001/eval/protocol.json
(cd "$ROOT" && make -s -f pipelines/report.mk TINA_BIN="$BIN" RUN="$SCRATCH/recipe-eval") > /dev/null 2>&1
check "the report says which protocol made each score" \
    grep -qF -- '- steps 0, 1: template `tina`, suffix ` Answer: $x`, temperature 0.9' recipe-eval/report/README.md
check "every stage timed: sample, reward, advantage, update, eval" \
    sh -c 'for s in sample reward advantage update eval; do [ -s pruned/step-0003/times/$s.json ] || exit 1; done'
check "metrics: each stage's seconds, the device and the rollouts' tokens" \
    jq_true '.[0] | (.stage_seconds | keys) == ["advantage", "reward", "sample", "update"] and (.device | length) > 0 and .rollout_tokens.completion == 192' <(sed -n 3p pruned/metrics.jsonl)
check "settings.json: the run's resolved settings" jq_true '.[0] | .LR == "1e-3" and .RANK == "4" and .G == "4" and .RECIPE == "tina-open-rs2"' pruned/settings.json
grpo changed STEPS=1 > /dev/null 2>&1
temperature=$(jq -r .TEMPERATURE changed/settings.json)
grpo changed STEPS=2 TEMPERATURE=0.9 > /dev/null 2> err
check "started again with other settings: it says which, settings.json holds the new, the history the old" eval '
    grep -qx "changed: settings changed since the run last started: STEPS 1 -> 2, TEMPERATURE $temperature -> 0.9" err &&
    jq -e ".STEPS == \"2\" and .TEMPERATURE == \"0.9\"" changed/settings.json &&
    jq -e -s "length == 1 and .[0].STEPS == \"1\" and .[0].TEMPERATURE == \"$temperature\"" changed/settings-history.jsonl'
grpo changed STEPS=2 TEMPERATURE=0.9 > /dev/null 2> err
check "started again with the same settings: nothing said, the history as it was" \
    eval '! grep -q "settings changed" err && [ "$(wc -l < changed/settings-history.jsonl)" = 1 ]'
check "KEEP=1: old rollouts pruned, the last kept" sh -c '[ ! -e pruned/step-0001/rollouts.jsonl.zst ] && [ -e pruned/step-0003/rollouts.jsonl.zst ]'
check "KEEP=1: the same adapters" cmp -s whole/step-0003/adapter/adapter_model.safetensors pruned/step-0003/adapter/adapter_model.safetensors

# SAVE_EVERY=2: steps 0 and 2 keep their adapters, and the last step its optimizer state; stopped after step 2 and
# taken on to step 3, the same final bytes
grpo saved SAVE_EVERY=2 STEPS=2 > /dev/null 2>&1
grpo saved SAVE_EVERY=2 > /dev/null 2>&1
check "SAVE_EVERY=2: adapters of steps 0, 2 and the last (3); step 1's gone" sh -c '[ -e saved/step-0000/adapter/adapter_model.safetensors ] &&
    [ ! -e saved/step-0001/adapter/adapter_model.safetensors ] && [ -e saved/step-0002/adapter/adapter_model.safetensors ] &&
    [ -e saved/step-0003/adapter/adapter_model.safetensors ] && [ -e saved/step-0001/adapter/trainer_state.json ]'
check "SAVE_EVERY=2: only the last step keeps its optimizer state" sh -c \
    '[ "$(ls saved/step-*/adapter/optimizer.safetensors)" = saved/step-0003/adapter/optimizer.safetensors ]'
check "SAVE_EVERY=2, stopped after step 2 and continued: the same adapter and optimizer state" sh -c \
    'cmp -s whole/step-0003/adapter/adapter_model.safetensors saved/step-0003/adapter/adapter_model.safetensors &&
     cmp -s whole/step-0003/adapter/optimizer.safetensors saved/step-0003/adapter/optimizer.safetensors'
check "SAVE_EVERY=2: metrics of every step" jq_true 'map(.step) == [1, 2, 3]' saved/metrics.jsonl
touch marker
status=0
grpo saved SAVE_EVERY=2 EVAL_EVERY=1 EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 > /dev/null 2> err || status=$?
check "EVAL_EVERY=1 added to the SAVE_EVERY=2 run: exit 2, naming step 1 (pruned), nothing made or removed" \
    eval '[ "$status" = 2 ] && stderr_has "EVAL_EVERY=1 evaluates step-0001, whose adapter weights SAVE_EVERY=2 has removed" &&
        [ -z "$(rewritten_since_marker saved)" ] && [ ! -e saved/step-0000/eval ]'
grpo saved SAVE_EVERY=2 EVAL_EVERY=2 EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 EVAL_VARS="MAX_NEW_TOKENS=4" \
    > /dev/null 2>&1
check "EVAL_EVERY=2 added to it: the kept steps 0 and 2 evaluated" \
    eval '[ -s saved/step-0000/eval/scores.json ] && [ -s saved/step-0002/eval/scores.json ]'
# INIT_ADAPTER: a trained step's adapter starts a new run, its weights without its trainer state and moments
grpo from-trained STEPS=1 INIT_ADAPTER="$SCRATCH/whole/step-0003/adapter" > /dev/null 2>&1
check "INIT_ADAPTER, a run's step 3: a new run's step 1 (not step 4), from step 3's weights" eval '
    jq -e ".step == 1" from-trained/metrics.jsonl && [ ! -e from-trained/step-0000/adapter/trainer_state.json ] &&
    [ ! -e from-trained/step-0000/adapter/optimizer.safetensors ] &&
    "$BIN/tina-adapter" diff -m "$F/qwen2-f32" -a from-trained/step-0000/adapter --against whole/step-0003/adapter |
        jq -e ".max_abs_diff == 0"'
# PEFT's adapter of rank 8, alpha 32, dropout 0 on all seven projections, under the command line's RANK=4 ALPHA=16,
# and its dropout and targets written otherwise (0.0; in another order)
grpo from-peft INIT_ADAPTER="$F/qwen2-lora" DROPOUT=0.0 TARGETS=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj \
    "$SCRATCH/from-peft/settings.json" > /dev/null 2> err
check "INIT_ADAPTER: settings.json records the adapter's rank, alpha, dropout and targets, not the recipe's" \
    jq_true '.[0] | .RANK == "8" and .ALPHA == "32" and .DROPOUT == "0" and (.TARGETS | split(",") | sort) ==
        ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]' from-peft/settings.json
check "INIT_ADAPTER: the command line's RANK and ALPHA that do not apply are said, once each; 0.0 and reordered targets not" \
    eval '[ "$(grep -c "RANK=4 does not apply: the run starts from INIT_ADAPTER, whose RANK is 8" err)" = 1 ] &&
        [ "$(grep -c "ALPHA=16 does not apply" err)" = 1 ] && ! grep -q "DROPOUT\|TARGETS" err'
check "INIT_ADAPTER, a run's step of rank 4 and alpha 16: settings.json records them" \
    jq_true '.[0] | .RANK == "4" and .ALPHA == "16"' from-trained/settings.json
status=0
grpo from-pruned STEPS=1 INIT_ADAPTER="$SCRATCH/saved/step-0001/adapter" > /dev/null 2> err || status=$?
check "INIT_ADAPTER whose weights SAVE_EVERY pruned: refused, naming the file; no step 0 left behind" \
    eval '[ "$status" != 0 ] && stderr_has "adapter_model.safetensors" && [ ! -e from-pruned/step-0000/adapter ]'

# killed the moment tina-update has written step 2's adapter (its make and the recipe's shell killed by the tool,
# which then ends), before the stage's time is recorded and the adapter renamed into place: the resumed make makes
# step 2's update again, times it, and still removes what step 2 makes unneeded
mkdir cutting-bin && ln -s "$BIN"/* cutting-bin/ && rm cutting-bin/tina-update
printf '#!/usr/bin/env bash\n"%s/tina-update" "$@" || exit\ncase "$*" in *-o\\ */step-0002/adapter*)
    kill -9 "$(cut -d" " -f4 /proc/$PPID/stat)" "$PPID";; esac\n' "$BIN" > cutting-bin/tina-update
chmod +x cutting-bin/tina-update
grpo cut TINA_BIN="$SCRATCH/cutting-bin" SAVE_EVERY=2 KEEP=1 > /dev/null 2>&1
for _ in $(seq 1 100); do pgrep -f "$SCRATCH/cut/" > /dev/null || break; sleep 0.05; done
cut_before=$(ls -d cut/step-*/adapter | wc -l)
grpo cut SAVE_EVERY=2 KEEP=1 > /dev/null 2>&1
check "killed once step 2's adapter was written, resumed: SAVE_EVERY=2 KEEP=1 prune step 1, the same last adapter" \
    sh -c '[ "$0" = 2 ] && [ "$(ls cut/step-*/adapter/optimizer.safetensors)" = cut/step-0003/adapter/optimizer.safetensors ] &&
        [ ! -e cut/step-0001/adapter/adapter_model.safetensors ] && [ ! -e cut/step-0001/rollouts.jsonl.zst ] &&
        [ ! -e cut/step-0002/rollouts.jsonl.zst ] &&
        cmp -s whole/step-0003/adapter/adapter_model.safetensors cut/step-0003/adapter/adapter_model.safetensors' \
    "$cut_before"
check "killed once step 2's adapter was written, resumed: every step's update timed (tina-cost counts it)" \
    [ "$(ls cut/step-*/times/update.json | wc -l)" = 3 ]

# a recipe's "epoch" and the same given on the command line (where make ignores the makefile's own assignments)
grpo epoch STEPS=epoch TOTAL_STEPS=epoch > /dev/null 2>&1
check "STEPS=epoch TOTAL_STEPS=epoch on the command line: one pass over the 12 problems at BATCH 4, three steps" \
    sh -c 'jq -e -s "map(.step) == [1, 2, 3]" epoch/metrics.jsonl && jq -e ".total_steps == 3" \
        epoch/step-0003/adapter/trainer_state.json && jq -e ".STEPS == \"3\" and .TOTAL_STEPS == \"3\"" epoch/settings.json'
head -c -1 train.jsonl > unterminated.jsonl
{ echo; sed 'a\\' train.jsonl; } > spaced.jsonl
check "an epoch counts the records select-prompts.sh draws from: a last line without its newline, not blank lines" \
    [ "$(grpo epoch TRAIN="$SCRATCH/unterminated.jsonl" STEPS=epoch print-STEPS) $(grpo epoch \
        TRAIN="$SCRATCH/spaced.jsonl" STEPS=epoch print-STEPS)" = "3 3" ]
# ten records at BATCH 4: an epoch is two steps; the two records left at its end are not drawn in it (as later
# TRL's RepeatSampler drops a short last chunk; Tina's trainer took them as a short step, select-prompts.sh). A step across the epochs drew one record twice, and tina-advantage refused
# the two groups of its samples at step 3.
head -n 10 train.jsonl > ten.jsonl
drawn() { "$ROOT/pipelines/select-prompts.sh" ten.jsonl "$1" 4 42 | jq -r .id; }
check "10 records at BATCH 4: each of steps 1-6 draws 4 distinct records" \
    [ "$(for s in 1 2 3 4 5 6; do drawn "$s" | sort -u | wc -l; done | paste -sd' ')" = "4 4 4 4 4 4" ]
check "10 records at BATCH 4: an epoch's two steps draw 8 distinct records" [ "$({ drawn 3; drawn 4; } | sort -u | wc -l)" = 8 ]
check "BATCH above the set's records: refused, saying so" \
    eval '! "$ROOT/pipelines/select-prompts.sh" ten.jsonl 1 11 42 2> err > /dev/null &&
        grep -q "has 10 records, fewer than a step.s 11 (BATCH)" err'
grpo ten TRAIN="$SCRATCH/ten.jsonl" STEPS=3 > /dev/null 2>&1
check "10 records at BATCH 4: a run's step 3, the second epoch's first, made" jq_true 'map(.step) == [1, 2, 3]' ten/metrics.jsonl
# a training set saved on Windows: a byte order mark, CRLF line ends, a last blank line of CRLF and one of spaces.
# Drawn into the middle of a step's prompts, the first line kept its mark there (tina-sample refused it: step 1
# failed, or step 300); the blank lines were records, so steps had fewer prompts than BATCH and an epoch more steps
{ printf '\357\273\277'; sed 's/$/\r/' train.jsonl; printf '\r\n  \n'; } > windows.jsonl
grpo windows TRAIN="$SCRATCH/windows.jsonl" STEPS=1 BATCH=12 > /dev/null 2>&1
check "a training set with a BOM, CRLF and blank lines: step 1 trains on its 12 records" \
    [ -s windows/step-0001/adapter/adapter_model.safetensors ]
check "a training set with a BOM, CRLF and blank lines: no record drawn keeps the BOM, none is blank" \
    sh -c '[ "$(grep -c "[^[:space:]]" windows/step-0001/prompts.jsonl)" = 12 ] &&
        [ "$(wc -l < windows/step-0001/prompts.jsonl)" = 12 ] && ! grep -q "$(printf "\357\273\277")" windows/step-0001/prompts.jsonl'
check "a training set with a BOM, CRLF and blank lines: an epoch of its 12 records at BATCH 7 is one step" \
    [ "$(grpo windows2 TRAIN="$SCRATCH/windows.jsonl" STEPS=epoch BATCH=7 print-STEPS)" = 1 ]

# SHARDS=3: each step's 4 prompts in 3 shards, sampled, rewarded and differentiated apart (make -j3), joined again;
# rewards that vary between samples (the toy's accuracy and format are flat), so that the adapter moves
grpo moving REWARDS="-r repetition,cosine" > /dev/null 2>&1
grpo sharded REWARDS="-r repetition,cosine" SHARDS=3 -j3 > /dev/null 2>&1
check "SHARDS=3: shard folders, a gradient file each" [ -s sharded/step-0002/shard-2/grads.safetensors ]
check "SHARDS=3: step 1's rollouts are the one-process run's (but for the run's name in policy)" \
    cmp -s <(zstdcat moving/step-0001/rollouts.jsonl.zst | jq -c 'del(.policy)') \
           <(zstdcat sharded/step-0001/rollouts.jsonl.zst | jq -c 'del(.policy)')
# The shards' gradients are summed in shard order, not in one chain: each step equals the one-process step to f32
# rounding (tina(7)). Step 1 has the same inputs in both runs; later steps sample with adapters that differ by that
# rounding, and a token at a near-tie can go the other way (TINA_CPU=generic meets one at step 2), after which the
# runs part: they are compared per step on the same inputs in tina-update.sh, not here.
check "SHARDS=3: step 1's gradient norm within 1e-6 of the one-process run's" \
    jq -e -n --slurpfile a moving/metrics.jsonl --slurpfile b sharded/metrics.jsonl \
        '($a[0].grad_norm - $b[0].grad_norm | fabs) <= 1e-6 * $a[0].grad_norm'
"$BIN/tina-adapter" diff -m "$F/qwen2-f32" -a moving/step-0003/adapter --against moving/step-0000/adapter > moved.json
check "the varying rewards move the adapter" jq_true '.[0].rel_l2 > 1e-3' moved.json
"$BIN/tina-adapter" diff -m "$F/qwen2-f32" -a moving/step-0001/adapter --against moving/step-0000/adapter > moved1.json
# AdamW divides each gradient component by its own size: where a component is near 0, f32 rounding in the gradient
# (1e-7 relative) becomes a visible difference in the step, most of all in the first step from B = 0
"$BIN/tina-adapter" diff -m "$F/qwen2-f32" -a sharded/step-0001/adapter --against moving/step-0001/adapter > diff.json
check "SHARDS=3: step 1's adapter within 1e-4 relative L2 of the one-process run's" jq_true '.[0].rel_l2 != null and .[0].rel_l2 < 1e-4' diff.json
echo "note: SHARDS=3 vs 1, step 1: adapter relative L2 difference $(jq .rel_l2 diff.json), of a move of $(jq .rel_l2 moved1.json)"
touch marker
grpo sharded REWARDS="-r repetition,cosine" SHARDS=3 -j3 > /dev/null 2>&1
check "SHARDS=3: the same command again does nothing" [ -z "$(rewritten_since_marker sharded)" ]
thread_counts() { # the --threads of the commands on standard input, counted: " 6 --threads 2"
    grep -o -- '--threads [0-9]*' | sort | uniq -c | tr -s ' '
}
shard_threads() { # shard_threads MAKE-ARGS...: the --threads of each command of a sharded run's first step (make -n)
    grpo planned SHARDS=3 THREADS=6 STEPS=1 -n "$@" 2> /dev/null | thread_counts
}
check "SHARDS=3 -j3: the shards that run at once share THREADS (3 samplers and 3 gradient shards of 2, the update 6)" \
    [ "$(shard_threads -j3)" = "$(printf ' 6 --threads 2\n 1 --threads 6')" ]
check "SHARDS=3 -j2: 3 threads a shard; without -j, one shard at a time: all 6" \
    sh -c '[ "$1" = " 6 --threads 3" ] && [ "$2" = " 7 --threads 6" ]' _ \
        "$(shard_threads -j2 | head -1)" "$(shard_threads)"

evaluate() { # evaluate BIN [VAR=value]...
    (cd "$ROOT" && make -s -f pipelines/eval.mk TINA_BIN="$1" OUT="$SCRATCH/eval" MODEL="$F/qwen2-f32" \
        ADAPTER="$SCRATCH/whole/step-0003/adapter" TOKENIZER=data/models/tiny-math-bpe SETS="$SCRATCH/train.jsonl" \
        N=2 MAX_NEW_TOKENS=8 THREADS=2 "${@:2}")
}
cp train.jsonl other.jsonl
check "eval.mk SETS of two, THREADS=4 -j2: the two samplers at once get 2 threads each" \
    [ "$(cd "$ROOT" && make -n -s -j2 -f pipelines/eval.mk TINA_BIN="$BIN" OUT="$SCRATCH/planned-eval" \
        MODEL="$F/qwen2-f32" SETS="$SCRATCH/train.jsonl $SCRATCH/other.jsonl" THREADS=4 | thread_counts)" \
        = " 2 --threads 2" ]
# a sampler killed while it writes (SIGKILL, which no handler sees): the evaluation fails, keeps nothing half-made
mkdir dying-bin && ln -s "$BIN"/* dying-bin/ && rm dying-bin/tina-sample
cat > dying-bin/tina-sample << END
#!/usr/bin/env bash
# (its prompts, the last argument, through a pipe this script holds open: it is still writing when it is killed,
# however fast it samples, and no process of the evaluation outlives it)
mkfifo "$SCRATCH/prompts.fifo"
"$BIN/tina-sample" "\${@:1:\$#-1}" "$SCRATCH/prompts.fifo" &
exec 3> "$SCRATCH/prompts.fifo"
rm "$SCRATCH/prompts.fifo"
cat "\${@: -1}" >&3
for _ in \$(seq 1 2000); do ls -a "$SCRATCH/eval" 2> /dev/null | grep -q '[.]tmp-' && break; sleep 0.005; done
kill -9 \$! \$\$
END
chmod +x dying-bin/tina-sample
status=0
evaluate "$SCRATCH/dying-bin" > /dev/null 2>&1 || status=$?
check "eval.mk: a sampler killed while writing fails the evaluation and leaves no rollouts or rewarded file" \
    sh -c '[ "$1" != 0 ] && ! [ -e eval/train.rollouts.jsonl.zst ] && ! [ -e eval/train.rewarded.jsonl.zst ]' - "$status"
left=$(find eval -name '*.tmp' -o -name '*.tmp-*' | wc -l)
evaluate "$BIN" > /dev/null 2>&1
check "eval.mk: the evaluation again removes the $left temporary file(s) the killed one left" \
    sh -c '[ "$0" -gt 0 ] && [ -z "$(find eval -name "*.tmp" -o -name "*.tmp-*")" ]' "$left"
check "eval.mk: a score table and its JSON" sh -c '[ -s eval/scores.txt ] && jq -e ".benchmarks.train.problems == 12" eval/scores.json > /dev/null'
# a set with an empty gold: tina-score refuses its null accuracy (tina-score(1)); the refusal left scores.json.tmp
jq -c 'if .id == "t1" then .answer = "" else . end' train.jsonl > emptygold.jsonl
(cd "$ROOT" && make -s -f pipelines/eval.mk TINA_BIN="$BIN" OUT="$SCRATCH/eval-emptygold" MODEL="$F/qwen2-f32" \
    TOKENIZER=data/models/tiny-math-bpe SETS="$SCRATCH/emptygold.jsonl" N=1 MAX_NEW_TOKENS=4 THREADS=2) > out 2> err
status=$?
check "eval.mk, a set with an empty gold: tina-score refuses it" sh -c '[ "$0" != 0 ]' "$status"
check "... and leaves no scores behind, whole or temporary" \
    [ -z "$(find eval-emptygold -name 'scores*')" ]
status=0
touch marker
evaluate "$BIN" > /dev/null 2>&1
check "eval.mk again, the same settings: nothing made again" [ -z "$(rewritten_since_marker eval)" ]
# make sees files, not settings: the same OUT with another N (or adapter, template, K) was passed as made
evaluate "$BIN" N=1 > /dev/null 2>&1
check "eval.mk again with N=1 into the same OUT: sampled again, 12 rollouts (not N=2's 24), its protocol n 1" \
    eval '[ "$(zstdcat eval/train.rewarded.jsonl.zst | wc -l)" = 12 ] && jq -e ".n == 1" eval/protocol.json'
cp eval/train.rewarded.jsonl.zst n1.jsonl.zst
evaluate "$BIN" N=1 K=1,2 > /dev/null 2>&1
check "eval.mk again with another K: scored again (pass@2, null for one sample), not sampled again" \
    eval 'cmp -s n1.jsonl.zst eval/train.rewarded.jsonl.zst && jq -e ".benchmarks.train | has(\"pass@2\")" eval/scores.json'
# (with a tina-sample that fails if it runs)
mkdir no-sampler-bin && ln -s "$BIN"/* no-sampler-bin/ && rm no-sampler-bin/tina-sample
printf '#!/bin/sh\necho "tina-sample ran" >&2\nexit 1\n' > no-sampler-bin/tina-sample && chmod +x no-sampler-bin/tina-sample
touch marker
status=0
evaluate "$SCRATCH/no-sampler-bin" N=1 K=1,2 GRADER=open-r1 > /dev/null 2>&1 || status=$?
changed=$(rewritten_since_marker eval)
check "eval.mk again with another GRADER: rewarded and scored again, not sampled again (regrading samples nothing)" \
    sh -c '[ "$1" = 0 ] && printf "%s\n" "$0" | grep -q train.rewarded.jsonl.zst &&
           jq -e ".grader == \"open-r1\"" eval/protocol.json > /dev/null' "$changed" "$status"

evaluate "$BIN" OUT="$SCRATCH/two-sets" SETS="$SCRATCH/train.jsonl $SCRATCH/other.jsonl" N=1 > /dev/null 2>&1
check "eval.mk: two sets of one source are two benchmarks, named by their files" \
    jq_true '.[0].benchmarks | keys == ["other", "train"] and .train.problems == 12 and .other.problems == 12' \
    two-sets/scores.json
mkdir again && cp train.jsonl again/
evaluate "$BIN" OUT="$SCRATCH/same-name" SETS="$SCRATCH/train.jsonl $SCRATCH/again/train.jsonl" > /dev/null 2> err
status=$?
check "eval.mk: two sets of one name: exit 2, naming it, nothing made" \
    sh -c '[ "$0" -eq 2 ] && grep -q "SETS has two sets named train" err && [ ! -e same-name ]' "$status"

# every pipeline started from another folder (its paths are the repository root's)
check "a pipeline started outside the repository root: exit 2, naming the root and how to run it (all seven)" \
    sh -c 'for f in grpo eval sweep report demo smollm2-demo plot; do
        make -s -f "$0/pipelines/$f.mk" RUN=x OUT=x SWEEP=x > /dev/null 2> elsewhere.err; [ $? = 2 ] &&
        grep -q "pipelines/$f.mk runs from tina.s repository root, $0: cd there" elsewhere.err || exit 1; done' "$ROOT"
# what a new user forgets: the model, the training set
(cd "$ROOT" && make -s -f pipelines/grpo.mk RUN="$SCRATCH/no-model" RECIPE=tina-open-rs2) > /dev/null 2> err
status=$?
check "grpo.mk without MODEL: exit 2, saying what MODEL is, nothing made" \
    sh -c '[ "$0" -eq 2 ] && grep -q "MODEL is required: the base model" err && [ ! -e no-model ]' "$status"
grpo no-train TRAIN="$SCRATCH/missing.jsonl" > /dev/null 2> err
status=$?
check "grpo.mk with a training set that is not there: exit 2, naming data/SOURCES.md and the importer" \
    sh -c '[ "$0" -ne 0 ] && grep -q "missing.jsonl is not there; data/SOURCES.md" err && ! ls no-train/step-0001/prompts.jsonl 2> /dev/null' "$status"

finish
