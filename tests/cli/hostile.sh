#!/usr/bin/env bash
# Hostile input and faults, a class each (tina(7), "GUARANTEES"): no crash, no hang, no half-written output, no
# shell text run. The inputs are built here, not taken from a list: each case stands for its class.
. "$(dirname "$0")/lib.bash"
M=$ROOT/data/models/tiny-arith
# under AddressSanitizer (make asan's build) a crash is the sanitizer's to report, and an address-space limit
# leaves it no room for its shadow memory
sanitized=$(ldd "$BIN/tina-sample" 2> /dev/null | grep -c libasan)

rollout() { jq -cn --arg answer "$1" --arg completion "$2" '{id: "p", answer: $answer, completion: $completion}'; }
# repeat N TEXT: TEXT N times
repeat() { yes -- "$2" | head -n "$1" | tr -d '\n'; }
# completion ANSWER < TEXT, answer ANSWER_TEXT_FILE COMPLETION: a rollout too long for a command line
completion() { jq -cRs --arg answer "$1" '{id: "p", answer: $answer, completion: .}'; }

# ---- blank lines after the last record ----------------------------------------------------------------------------

rollout 3 '\boxed{3}' > one.jsonl
printf '\n  \n\t\n' >> one.jsonl
run tina-reward -q one.jsonl
check "tina-reward: blank lines after the last record end the input" status_is 0
jq -c '. + {sample: 0, reward: 1}' out > rewarded.jsonl
printf '\n \n' >> rewarded.jsonl
run tina-advantage rewarded.jsonl
check "tina-advantage: blank lines after the last record end the input" status_is 0
jq -c '. + {rewards: {accuracy: 1}, pred: "3"}' rewarded.jsonl > scored.jsonl 2>/dev/null
printf '\n\n' >> scored.jsonl
run tina-score scored.jsonl
check "tina-score: blank lines after the last record end the input" status_is 0
printf '{"text":"1+1="}\n\n' > text.jsonl
run tina-tokenize -t "$M" text.jsonl
check "tina-tokenize: blank lines after the last record end the input" status_is 0

# ---- nesting and repetition: bounded stack, linear time ------------------------------------------------------------

{ { repeat 25000 '{'; printf 1; repeat 25000 '}'; } > deep
  { printf '\\boxed{'; cat deep; printf '}'; } | completion 3
  jq -cRs '{id: "p", answer: ., completion: "\\boxed{3}"}' deep
  repeat 20000 '\boxed{' | completion 3
  repeat 100000 '\boxed{1}' | completion 3
  { repeat 20000 '\left('; printf 3; repeat 20000 '\right)'; } | completion 3; } > deep.jsonl
run tina-reward -q -o deep-out.jsonl deep.jsonl
check "tina-reward: 25,000 nested braces (completion and gold), 20,000 open boxes, 100,000 boxes: scored" \
    jq_true 'length == 5 and all(.rewards.accuracy | . == 0 or . == 1)' deep-out.jsonl

# ---- what a C string or a double cannot hold ------------------------------------------------------------------------

printf '%s\n' '{"id":"a\u0000b","sample":0,"reward":1}' '{"id":"a\u0000c","sample":0,"reward":0}' > nul.jsonl
run tina-advantage nul.jsonl
check "tina-advantage: ids that differ after a \\u0000 are refused, not merged (exit 2, the line named)" \
    sh -c '[ "$0" -eq 2 ] && grep -q "nul.jsonl:1: .*u0000" err' "$status"
printf '{"text":"1+1\\u0000=2"}\n' > nul-text.jsonl
run tina-tokenize -t "$M" nul-text.jsonl
check "tina-tokenize: a text with \\u0000 is refused, not cut short" status_is 2
printf '{"id":"p","sample":0,"rewards":{"accuracy":1e400},"pred":"1"}\n' > huge.jsonl
run tina-score huge.jsonl
check "tina-score: accuracy 1e400 is refused, not counted as right" \
    sh -c '[ "$0" -eq 2 ] && grep -q "accuracy.*beyond" err' "$status"
printf '{"step":1,"stage":"sample","seconds":1,"devices":1e400,"device":"cpu"}\n' > huge-times.jsonl
run tina-cost huge-times.jsonl
check "tina-cost: devices 1e400 is refused" status_is 2

# ---- outputs: written whole or not at all, and a write that fails is a failure -----------------------------------

printf '{"id":"p","sample":0,"rewards":{"accuracy":1},"pred":"1"}\n' > scored1.jsonl
for args in "tina-score scored1.jsonl" "tina-score --json scored1.jsonl" "tina-score --help" "tina-reward --version" "tina-cost --help"; do
    read -ra words <<< "$args"
    "$BIN/${words[0]}" "${words[@]:1}" > /dev/full 2> err
    status=$?
    check "${words[0]} ${words[1]} > /dev/full: exit 1, not 0" status_is 1
done
"$BIN/tina-adapter" init -m "$M" -o adapter 2> err
"$BIN/tina-adapter" diff -m "$M" -a adapter --against adapter > /dev/full 2> err
status=$?
check "tina-adapter diff > /dev/full: exit 1" status_is 1
echo "an older table" > table.txt
run tina-score -o table.txt missing.jsonl
check "tina-score -o: a failed run leaves the older file as it was" sh -c '[ "$0" -eq 2 ] && [ "$(cat table.txt)" = "an older table" ]' "$status"
printf '{"step":1,"stage":"sample","seconds":1,"devices":1,"device":"cpu"}\n' > times.jsonl
cp table.txt cost.txt
run tina-cost -o cost.txt times.jsonl missing.jsonl
check "tina-cost -o: a failed run leaves the older file as it was" sh -c '[ "$0" -ne 0 ] && [ "$(cat cost.txt)" = "an older table" ]' "$status"
run tina-advantage --stats no-such-folder/stats.json -o adv.jsonl rewarded.jsonl
check "tina-advantage: a --stats path that cannot be written fails the run before its output appears" \
    sh -c '[ "$0" -eq 1 ] && [ ! -e adv.jsonl ]' "$status"
(trap '' XFSZ; ulimit -f 20; exec "$BIN/tina-adapter" init -m "$M" -o too-big) 2> err
status=$?
check "tina-adapter init: a write that fails leaves no folder, not an empty one" \
    sh -c '[ "$0" -eq 1 ] && ! ls -A | grep -q too-big' "$status"
cp -r "$M" base
run tina-adapter merge -m base -a adapter -o ./base/
check "tina-adapter merge onto its own base model is refused" sh -c '[ "$0" -eq 2 ] && cmp -s base/model.safetensors "$1/model.safetensors"' "$status" "$M"

# ---- options: empty lists and items, a field that is not free ----------------------------------------------------

printf '%s\n' '{"id":"p","completion":"\\boxed{2}","answer":"2"}' > c.jsonl
run tina-reward -r '' c.jsonl
check "tina-reward -r '': refused (exit 2)" sh -c '[ "$0" -eq 2 ] && grep -q "empty item" err' "$status"
run tina-reward -r 'accuracy,' c.jsonl
check "tina-reward -r 'accuracy,': refused" status_is 2
run tina-score -k 1,,2 scored1.jsonl
check "tina-score -k 1,,2: refused" status_is 2
run tina-adapter init -m "$M" --targets '' -o no-targets
check "tina-adapter init --targets '': refused, nothing written" sh -c '[ "$0" -eq 2 ] && [ ! -e no-targets ]' "$status"
run tina-adapter init -m "$M" --targets 'q_proj,,v_proj' -o no-targets
check "tina-adapter init --targets 'q_proj,,v_proj': refused" status_is 2
for field in '' prompt_tokens completion_tokens id; do
    run tina-sample -m "$M" --forced --as "$field" one.jsonl
    check "tina-sample --forced --as '$field': refused, a rollout's own field" status_is 2
done

# ---- model data: finite weights, settings within their ranges --------------------------------------------------------

# poke FILE OFFSET BYTES: overwrites the bytes at OFFSET of a safetensors file's data (after its header)
poke() { local n; n=$(od -An -t u8 -N8 "$1" | tr -d ' '); printf "$3" | dd of="$1" bs=1 seek=$((8 + n + $2)) conv=notrunc 2> /dev/null; }
cp -r adapter nan-adapter
poke nan-adapter/adapter_model.safetensors 40 '\xff\xff\xff\x7f'
run tina-adapter copy -m "$M" -a nan-adapter -o nan-copy
check "a NaN in an adapter: refused at load, the tensor named, nothing written" \
    sh -c '[ "$0" -eq 2 ] && grep -q "lora_A.weight\" holds 1 infinite or NaN" err && [ ! -e nan-copy ]' "$status"
cp -r "$M" inf-model
poke inf-model/model.safetensors 400 '\x00\x00\x80\x7f'
printf '{"problem":"1+1"}\n' > prompt.jsonl
run tina-sample -m inf-model prompt.jsonl
check "an infinity in a model: refused at load, the tensor named" sh -c '[ "$0" -eq 2 ] && grep -q "holds 1 infinite" err' "$status"
set_json() { jq -c "$2" "$1" > "$1.new" && mv "$1.new" "$1"; }
for change in '.lora_alpha = 0' '.lora_dropout = 2' '.lora_dropout = -0.5' '.r = 1e300'; do
    rm -rf bad-adapter; cp -r adapter bad-adapter
    set_json bad-adapter/adapter_config.json "$change"
    run tina-sample -m "$M" -a bad-adapter prompt.jsonl
    check "adapter_config.json with $change: refused" status_is 2
done
sed 's/"lora_alpha": *[0-9.e+]*/"lora_alpha": 1e400/' adapter/adapter_config.json > big-alpha.json
rm -rf bad-adapter; cp -r adapter bad-adapter; cp big-alpha.json bad-adapter/adapter_config.json
run tina-sample -m "$M" -a bad-adapter prompt.jsonl
check "adapter_config.json with lora_alpha 1e400: refused" sh -c '[ "$0" -eq 2 ] && grep -q "lora_alpha.*beyond" err' "$status"
for change in '.rms_norm_eps = -1' '.rms_norm_eps = 0'; do
    rm -rf bad-model; cp -r "$M" bad-model
    set_json bad-model/config.json "$change"
    run tina-sample -m bad-model prompt.jsonl
    check "config.json with $change: refused" status_is 2
done
# sizes within config.json's limits whose weights add up past 2^64 bytes (4 x 2^62 + 72,904): the total once wrapped
# to 72,904 bytes, and the 4 MB embedding the file does hold was copied into it
rm -rf wrap-model; mkdir wrap-model
jq '. + {hidden_size: 1048576, num_attention_heads: 1, num_key_value_heads: 1, head_dim: 446,
    num_hidden_layers: 1581, intermediate_size: 927270438, vocab_size: 1, tie_word_embeddings: true} |
    del(.layer_types)' "$M/config.json" > wrap-model/config.json
header='{"model.embed_tokens.weight":{"dtype":"F32","shape":[1,1048576],"data_offsets":[0,4194304]}}'
{ printf "$(printf '\\x%02x' $((${#header} % 256)) $((${#header} / 256)) 0 0 0 0 0 0)"; printf '%s' "$header"
  head -c 4194304 /dev/zero; } > wrap-model/model.safetensors
run tina-sample -m wrap-model --tokenizer "$M" prompt.jsonl
check "config.json whose weights would need more than 2^64 bytes: the missing tensor named, nothing overrun" \
    sh -c '[ "$0" -eq 2 ] && grep -q "missing tensor model.layers.0.input_layernorm.weight" err' "$status"
# an adapter sized from config.json alone (tina-adapter init reads no weights): 4096 x 2^20 layers x (11 x hidden +
# 3 x intermediate) = 2^64 values, which wrapped to none, and A's initialisation wrote past them
rm -rf wrap-config; mkdir wrap-config
jq '. + {hidden_size: 600000004, num_attention_heads: 1, num_key_value_heads: 1, num_hidden_layers: 1048576,
    intermediate_size: 663311516} | del(.layer_types)' "$M/config.json" > wrap-config/config.json
run tina-adapter init -m wrap-config -r 4096 -o wrap-adapter
check "tina-adapter init for a config.json of 2^64 LoRA values: out of memory (exit 1), nothing written" \
    sh -c '[ "$0" -eq 1 ] && grep -q "out of memory (LoRA of" err && [ ! -e wrap-adapter ]' "$status"
rm -rf wide-heads; mkdir wide-heads
jq '. + {num_attention_heads: 1000, num_key_value_heads: 1000, head_dim: 1000000000}' "$M/config.json" \
    > wide-heads/config.json
run tina-adapter init -m wide-heads -r 4 -o wide-adapter
check "config.json of 1000 heads of 1e9: refused (exit 2), not an int overflow" \
    sh -c '[ "$0" -eq 2 ] && grep -q "num_attention_heads x head_dim is 1000000000000" err' "$status"
for change in '.temperature = -1' '.top_p = 7' '.top_p = 0'; do
    rm -rf bad-model; cp -r "$M" bad-model
    [ -e bad-model/generation_config.json ] || echo '{}' > bad-model/generation_config.json
    set_json bad-model/generation_config.json "$change"
    run tina-sample -m bad-model prompt.jsonl
    check "generation_config.json with $change: refused" status_is 2
done

# ---- tina-score: every sample once, and linear in the samples -----------------------------------------------------

printf '%s\n' '{"id":"p","sample":0,"rewards":{"accuracy":1},"pred":"1"}' \
    '{"id":"p","sample":1,"rewards":{"accuracy":0},"pred":"2"}' '{"id":"p","sample":0,"rewards":{"accuracy":1},"pred":"1"}' \
    > twice.jsonl
run tina-score twice.jsonl
check "tina-score: a second record of one (id, sample) is refused at its line" \
    sh -c '[ "$0" -eq 2 ] && grep -q "twice.jsonl:3: id p, sample 0" err' "$status"
# 200,000 samples of one problem, each its own prediction but the last 3: maj@n once took a pass over all votes per
# vote (quadratic: hours here); the majority "x" of 3 votes is right
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "{\"id\":\"p\",\"sample\":%d,\"rewards\":{\"accuracy\":%d},\"pred\":\"%s\"}\n", i, (i >= 199997), (i >= 199997 ? "x" : i) }' > wide.jsonl
run tina-score --json --bootstrap 0 wide.jsonl
check "tina-score: 200,000 samples of one problem, maj@n by the one repeated prediction" \
    jq_true '.[0].benchmarks.all | ."maj@n" == 1 and .samples_per_problem == 200000'

# ---- an address-space limit: a clear error, never a spin ----------------------------------------------------------

"$BIN/tina-sample" -q -m "$M" -n 2 prompt.jsonl | jq -c '. + {advantage: (if .sample == 0 then 1 else -1 end)}' \
    > advantaged.jsonl
for limit in $([ "$sanitized" -gt 0 ] || echo 400000 150000 60000); do
    (ulimit -v "$limit"; exec timeout 120 "$BIN/tina-sample" -q -m "$M" --threads 16 -n 4 prompt.jsonl) > /dev/null 2> err
    status=$?
    check "tina-sample under ulimit -v $limit with 16 threads: done, or exit 1 with a message; in time" \
        sh -c '[ "$0" -eq 0 ] || { [ "$0" -eq 1 ] && [ -s err ]; }' "$status"
    (ulimit -v "$limit"; exec timeout 120 "$BIN/tina-update" -q -m "$M" -a adapter -o "limited-$limit" --threads 16 \
        advantaged.jsonl) > /dev/null 2> err
    status=$?
    check "tina-update under ulimit -v $limit with 16 threads: done, or exit 1 with a message and no output" \
        sh -c '[ "$0" -eq 0 ] && [ -e "$1" ] || { [ "$0" -eq 1 ] && [ -s err ] && [ ! -e "$1" ]; }' "$status" \
        "limited-$limit"
done

# ---- pipelines: values reach the tools as data; one make per run folder; what a kill left is cleaned ---------------

for i in 1 2; do jq -cn --argjson i "$i" '{id: "t\($i)", problem: "What is \($i) plus 1?", answer: "\($i + 1)", solution: "$\($i + 1)$"}'; done \
    > train.jsonl
grpo() { # grpo RUN [VAR=value]...: a one-step run of the tiny fixture
    (cd "$ROOT" && make -s -f pipelines/grpo.mk TINA_BIN="$BIN" RUN="$1" MODEL=tests/fixtures/models/qwen2-f32 \
        TOKENIZER=data/models/tiny-math-bpe TRAIN="$SCRATCH/train.jsonl" STEPS=1 BATCH=2 G=2 MAX_NEW_TOKENS=4 RANK=4 \
        ALPHA=16 SYSTEM_FILE= THREADS=2 "${@:2}")
}
suffix="Let's \`touch ran-backticks\` \$(touch ran-dollar) \$HOME; \$\$x \"quoted\""
grpo "$SCRATCH/literal" SUFFIX="$suffix" > /dev/null 2> err
status=$?
zstdcat literal/step-0001/rollouts.jsonl.zst | head -n 1 |
    "$BIN/tina-tokenize" -q -t "$ROOT/data/models/tiny-math-bpe" --decode --field prompt_tokens > decoded.jsonl
check "grpo.mk: a SUFFIX with quotes, \$, backticks and ; reaches the prompt as written, and runs nothing" \
    sh -c '[ "$0" -eq 0 ] && jq -e --arg s "$1" ".text | contains(\$s)" decoded.jsonl > /dev/null &&
           [ "$(jq -r .SUFFIX literal/settings.json)" = "$1" ] && ! ls -A . "$2" | grep -q ran-' "$status" "$suffix" "$ROOT"
printed=$(cd "$ROOT" && make -s -f pipelines/grpo.mk RUN="$SCRATCH/literal" SUFFIX="$suffix" print-SUFFIX 2> "$SCRATCH/err")
check "grpo.mk print-SUFFIX: the suffix as written, its quotes, \$ and backticks included, and runs nothing" \
    sh -c '[ "$0" = "$1" ] && ! ls -A . "$2" | grep -q ran-' "$printed" "$suffix" "$ROOT"
printed=$(cd "$ROOT" && make -s -f pipelines/eval.mk OUT="$SCRATCH/printed" SUFFIX="x'; touch ran-print; echo '" \
    print-SUFFIX 2> "$SCRATCH/err")
check "eval.mk print-SUFFIX: a quote in the suffix ends nothing" \
    sh -c '[ "$0" = "$1" ] && ! ls -A . "$2" | grep -q ran-' "$printed" "x'; touch ran-print; echo '" "$ROOT"
for bad in 'MODEL=tests/fixtures/models/qwen2-f32`touch ran-model`' 'LR=1e-3;touch ran-lr' "RUN=$SCRATCH/a b" \
    'REWARDS=--preset tina|touch ran-rewards' $'SEED=1\n2' 'RUN=x$(shell touch ran-shell)' \
    'RECIPE=tina-open-rs2$(shell touch ran-recipe)'; do
    grpo "$SCRATCH/refused" "$bad" > /dev/null 2> err
    status=$?
    check "grpo.mk: ${bad%%=*} holding shell text is refused before anything runs (exit 2, named)" \
        sh -c '[ "$0" -eq 2 ] && grep -q "${1%%=*} holds" err && [ ! -e refused ] && ! ls -A . "$2" | grep -q ran-' \
        "$status" "$bad" "$ROOT"
done
# ':', '=' and '%' are safe in a shell but are make's syntax in a rule's file names: a run named with '%' had make
# delete its rollouts and metrics as intermediate files; ':' and '=' stopped make with its own riddle
for bad in "RUN=$SCRATCH/run:1" "RUN=$SCRATCH/lr=1e-3" "RUN=$SCRATCH/100%" "TRAIN=$SCRATCH/a:b.jsonl" \
    "EVAL_SETS=$SCRATCH/x=1.jsonl"; do
    grpo "$SCRATCH/named" "$bad" > /dev/null 2> err
    status=$?
    check "grpo.mk: ${bad%%=*} ${bad##*/} (make's syntax in a file name) is refused (exit 2, named)" \
        sh -c '[ "$0" -eq 2 ] && grep -q "${1%%=*} holds .\(:\|=\|%\)., which make reads" err && [ ! -e named ] &&
            ! ls "$2" | grep -q "run\|lr\|100"' "$status" "$bad" "$SCRATCH"
done
# make expands a command line's value where it reads it: its $(shell ...) ran before any check, even where a makefile
# reads the value first (sweep.mk's SWEEP, plot.mk's RUN)
for mk in "sweep.mk SWEEP" "plot.mk RUN" "eval.mk OUT"; do
    read -r file var <<< "$mk"
    (cd "$ROOT" && make -s -f "pipelines/$file" "$var=x\$(shell touch $SCRATCH/ran-$var)") > /dev/null 2> err
    status=$?
    check "$file: a $var holding \$(shell ...) is refused (exit 2, named) and runs nothing" \
        sh -c '[ "$0" -eq 2 ] && grep -q "$1 holds .\$." err && ! ls -A . "$2" | grep -q ran-' "$status" "$var" "$ROOT"
done
# the root Makefile's plot, tensorboard and report pasted RUN into their commands, and make expands a command line's
# values into every recipe's environment
for goal in plot tensorboard report; do
    for bad in "RUN=x;touch $SCRATCH/ran-$goal-semicolon" "RUN=x\$(shell touch $SCRATCH/ran-$goal-shell)"; do
        (cd "$ROOT" && make -s "$goal" "$bad") > /dev/null 2> err
        status=$?
        check "make $goal: a RUN holding ${bad:5:1} is refused (exit 2, named) and runs nothing" \
            sh -c '[ "$0" -eq 2 ] && grep -q "RUN holds" err && ! ls -A . "$1" | grep -q ran-' "$status" "$ROOT"
    done
done
(cd "$ROOT" && make -s -f pipelines/plot.mk "RUN=a b") > /dev/null 2> err
check "a RUN holding a space: the message names the space" stderr_has "RUN holds ' ', which"
(cd "$ROOT" && make -s -f pipelines/eval.mk TINA_BIN="$BIN" OUT="$SCRATCH/e%" MODEL=m SETS=data/demo/heldout.jsonl) \
    > /dev/null 2> err
status=$?
check "eval.mk: an OUT holding '%' is refused (exit 2, named)" \
    sh -c '[ "$0" -eq 2 ] && grep -q "OUT holds .%., which make reads" err && [ ! -e "e%" ]' "$status"
mkdir -p locked/step-0001
(exec -a make sleep 60) &
holder=$!
echo "$(hostname) $holder" > locked/.lock
grpo "$SCRATCH/locked" > /dev/null 2> err
status=$?
check "grpo.mk: a second make in a run folder stops (exit 2), naming the process that holds it" \
    sh -c '[ "$0" -eq 2 ] && grep -q "in use by process $1" err && [ ! -e locked/step-0001/prompts.jsonl ]' \
    "$status" "$holder"
grpo "$SCRATCH/locked" -n -s > /dev/null 2> err
status=$?
check "grpo.mk: make -n -s (a dry run, whatever other flags) neither waits for the lock nor takes it" \
    sh -c '[ "$0" -eq 0 ] && [ "$(cat locked/.lock)" = "$(hostname) $1" ]' "$status" "$holder"
(cd "$ROOT" && make -s -f pipelines/eval.mk TINA_BIN="$BIN" OUT="$SCRATCH/locked" MODEL=m SETS=data/demo/heldout.jsonl) \
    > /dev/null 2> err
status=$?
check "eval.mk: the same lock (exit 2, the holder named)" \
    sh -c '[ "$0" -eq 2 ] && grep -q "in use by process $1" err' "$status" "$holder"
kill "$holder"; wait "$holder" 2> /dev/null
echo "another-host 1" > locked/.lock
grpo "$SCRATCH/locked" > /dev/null 2> err
status=$?
check "grpo.mk: a lock taken on another host (a shared folder) is not taken over: exit 2, what to do said" \
    sh -c '[ "$0" -eq 2 ] && grep -q "process 1 on another-host; if that run is gone, remove" err' "$status"
echo "$(hostname) $holder" > locked/.lock
mkdir -p locked/step-0001/shard-1 # (a sharded run's, killed: this run, of one shard, writes nothing there)
touch locked/step-0001/.rollouts.jsonl.zst.tmp-AbC123 locked/step-0001/prompts.jsonl.tmp \
    locked/step-0001/shard-1/rewarded.jsonl.zst.tmp.zst
mkdir -p locked/step-0000/adapter.tmp locked/step-0001/.adapter.tmp-XyZ789
# a kill -9 of the make alone: what it started runs on, writing into the folder
TINA_LOCKED_RUN="$SCRATCH/locked" sleep 60 &
survivor=$!
grpo "$SCRATCH/locked" > /dev/null 2> err
status=$?
check "grpo.mk: the holder gone but a process it started still running: exit 2, naming it; its files left alone" \
    eval '[ "$status" -eq 2 ] && stderr_has "processes it started still run ($survivor)" &&
        [ -e locked/step-0001/prompts.jsonl.tmp ] && [ "$(cat locked/.lock)" = "$(hostname) $holder" ]'
kill "$survivor"; wait "$survivor" 2> /dev/null
grpo "$SCRATCH/locked" > /dev/null 2> err
status=$?
check "grpo.mk: the holder gone, the run takes the lock over, removes the killed run's temporary files and ends" \
    sh -c '[ "$0" -eq 0 ] && [ -z "$(find locked -name "*.tmp" -o -name "*.tmp.zst" -o -name "*.tmp-*")" ] &&
        [ -e locked/metrics.jsonl ]' "$status"

# ---- a crash while writing leaves no temporary file ----------------------------------------------------------------

mkfifo slow
(exec "$BIN/tina-reward" -q -o crashed.jsonl < slow) 2>/dev/null &
pid=$!
exec 3>slow
rollout 3 '\boxed{3}' >&3
for _ in $(seq 1 100); do compgen -G '.crashed.jsonl.tmp-*' > /dev/null && break; sleep 0.05; done
kill -SEGV "$pid"
exec 3>&-
wait "$pid" 2>/dev/null
status=$?
check "a tool killed by SIGSEGV while writing: the signal's status (139; the sanitizer's report and 1 under it)" \
    sh -c '[ "$0" -eq 139 ] || { [ "$1" -gt 0 ] && [ "$0" -eq 1 ]; }' "$status" "$sanitized"
check "... and neither its output nor a temporary file is left" sh -c '! ls -A | grep -q crashed'

finish
