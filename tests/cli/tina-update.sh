#!/usr/bin/env bash
# tina-update as a user drives it on the tiny Qwen2 fixture: steps on a fixed batch raise the log-probs of the
# completion with positive advantage and lower those of the negative one (measured with tina-sample --forced),
# the output folder is complete or absent, runs are reproducible byte for byte (same thread count), and bad input
# writes nothing.
. "$(dirname "$0")/lib.bash"
F=$ROOT/tests/fixtures/models
TOK=$ROOT/data/models/tiny-math-bpe
jq -c '.prompts | to_entries[] | {id: "p\(.key)", prompt_tokens: .value}' "$F/expected.json" > prompts.jsonl
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 prompts.jsonl
cp out rollouts.jsonl
jq -c '. + {advantage: (if .sample == 0 then 1 elif .sample == 1 then -1 else 0 end),
            reward: (if .sample == 0 then 1 else 0 end)}' rollouts.jsonl > advantaged.jsonl

step() { # step N FROM: one update from adapter FROM into stepN
    run tina-update -m "$F/qwen2-f32" -a "$2" -o "step$1" --lr 1e-3 --schedule constant advantaged.jsonl
}
step 1 "$F/qwen2-lora"
check "a step: exit 0" status_is 0
check "a step: a complete adapter folder" [ -f step1/adapter_config.json -a -f step1/adapter_model.safetensors \
    -a -f step1/optimizer.safetensors -a -f step1/trainer_state.json ]
check "metrics: one JSON line with every field" jq_true 'length == 1 and (.[0] | has("step") and has("loss") and
    has("kl") and has("grad_norm") and has("lr") and has("tokens") and has("reward_mean") and has("reward_std") and
    has("frac_zero_std_groups") and has("frac_truncated") and has("completion_len_mean") and has("entropy") and
    has("clip_fraction") and has("logprob_gap_max") and has("logprob_gap_mean") and has("seconds") and
    .load_seconds <= .seconds)'
check "metrics: step 1, 240 completion tokens, the lr asked for" jq_true '.[0].step == 1 and .[0].tokens == 240 and .[0].lr == 0.001'
check "sampler and trainer log-probs agree (gap under 1e-5)" jq_true '.[0].logprob_gap_max < 1e-5'
# ratio 1 at the sampling policy: the loss is -mean(A) + beta kl = 0.04 kl here (the advantages sum to 0)
check "loss at ratio 1 is beta x kl" jq_true '(.[0].loss - 0.04 * .[0].kl | fabs) < 1e-6'
check "trainer_state.json names the step" jq_true '.[0].step == 1' step1/trainer_state.json
for s in 2 3 4; do step $s step$((s - 1)); done
check "steps chain: step 4" jq_true '.[0].step == 4'

# A run's settings continue from step to step (trainer_state.json keeps them) unless given again.
run tina-update -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o sticky1 --lr 5e-3 --schedule constant --beta 0 \
    --max-grad-norm 0.5 --loss dr_grpo advantaged.jsonl
run tina-update -m "$F/qwen2-f32" -a sticky1 -o sticky2 advantaged.jsonl
check "settings continue: a step without options runs at the last step's lr" jq_true '.[0].lr == 0.005 and .[0].kl == 0'
check "settings continue: recorded for the next step" jq_true '.[0] | .schedule == "constant" and .beta == 0 and
    .max_grad_norm == 0.5 and .loss_type == "dr_grpo" and .base_lr == 0.005 and .step == 2' sticky2/trainer_state.json
check "settings continue: said on stderr" stderr_has "continuing the run of sticky1: loss_type dr_grpo, beta 0, base_lr 0.005, schedule constant, max_grad_norm 0.5"
run tina-update -m "$F/qwen2-f32" -a sticky2 -o sticky3 --lr 1e-3 --schedule cosine-min-lr --beta 0 advantaged.jsonl
check "settings continue: another value is refused, naming both" eval '[ $status = 2 ] && [ ! -e sticky3 ] &&
    stderr_has "--lr 0.001 (the run'"'"'s 0.005), --schedule cosine-min-lr (the run'"'"'s constant); give --override-settings"'
run tina-update -m "$F/qwen2-f32" -a sticky2 -o sticky3 --lr 1e-3 --schedule cosine-min-lr --beta 0 \
    --override-settings advantaged.jsonl
check "settings continue: --override-settings changes them" jq_true '.[0] | .base_lr == 0.001 and .schedule ==
    "cosine-min-lr" and .beta == 0 and .loss_type == "dr_grpo"' sticky3/trainer_state.json
check "settings continue: the override said on stderr" stderr_has "overriding the run's settings: --lr 0.001"
run tina-update -q -m "$F/qwen2-f32" -a sticky3 -o sticky4 advantaged.jsonl
check "settings continue: -q says nothing" [ ! -s err ]
jq -c '.total_steps = 0' sticky3/trainer_state.json > bad-state.json && cp -r sticky3 bad-state && mv bad-state.json bad-state/trainer_state.json
run tina-update -m "$F/qwen2-f32" -a bad-state -o never advantaged.jsonl
check "settings continue: a value out of range is refused, naming the file" eval '[ $status = 2 ] && stderr_has "bad-state/trainer_state.json" && [ ! -e never ]'

run tina-update -q --progress -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o progressed --micro-batch-tokens 64 advantaged.jsonl
check "--progress: rollouts through the step of the batch's, the token rate and an ETA" \
    grep -q '^tina-update: \[#*\] 12/12 rollouts, .* tokens/s, ETA' err
run tina-update -q -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o unprogressed advantaged.jsonl
check "no --progress, stderr not a terminal: nothing" [ ! -s err ]

run tina-update -q -m "$F/qwen2-f32" --init-adapter --rank 4 --alpha 16 --lr 0 -o fresh-here advantaged.jsonl
run tina-adapter init -m "$F/qwen2-f32" -r 4 --alpha 16 -o fresh-there
run tina-adapter diff -m "$F/qwen2-f32" -a fresh-here --against fresh-there
check "--init-adapter's defaults make tina-adapter init's adapter (seed 42)" jq_true '.[0].max_abs_diff == 0'

sums() { # per sample, the summed log-probs of the fixed completions under adapter $1
    run tina-sample -m "$F/qwen2-f32" -a "$1" --tokenizer "$TOK" --forced rollouts.jsonl
    jq -s -c 'group_by(.sample) | map(map(.logprobs | add) | add)' out
}
before=$(sums "$F/qwen2-lora")
after=$(sums step4)
check "advantage +1: its completions became more likely" jq -e -n --argjson b "$before" --argjson a "$after" '$a[0] > $b[0] + 1'
check "advantage -1: its completions became less likely" jq -e -n --argjson b "$before" --argjson a "$after" '$a[1] < $b[1] - 1'
check "advantage 0: the others moved less" jq -e -n --argjson b "$before" --argjson a "$after" \
    '(($a[2] - $b[2]) | fabs) < (($a[0] - $b[0]) | fabs) and (($a[3] - $b[3]) | fabs) < (($a[1] - $b[1]) | fabs)'
echo "note: 4 steps: log-prob sums of sample 0 $(jq -n --argjson b "$before" '$b[0]') -> $(jq -n --argjson a "$after" '$a[0]'), sample 1 $(jq -n --argjson b "$before" '$b[1]') -> $(jq -n --argjson a "$after" '$a[1]')"

# One full step against PyTorch + PEFT (tests/reference/update_step.py): old log-probs perturbed so that tokens clip
# both ways, KL from the records' ref_logprobs; grpo with beta 0.04 and dr_grpo with beta 0.
U=$ROOT/tests/fixtures/update
for loss in grpo dr_grpo; do
    beta=0.04; [ "$loss" = dr_grpo ] && beta=0
    run tina-update -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o "torch-$loss" --lr 1e-3 --schedule constant \
        --max-grad-norm 1 --epsilon 0.2 --epsilon-high 0.28 --loss "$loss" --beta "$beta" "$U/rollouts.jsonl"
    cp out "metrics-$loss"
    run tina-adapter diff -m "$F/qwen2-f32" -a "torch-$loss" --against "$U/$loss"
    check "$loss step: the new adapter within 1e-5 of PyTorch's" jq_true '.[0].max_abs_diff < 1e-5'
    echo "note: $loss step vs PyTorch + PEFT: max abs difference $(jq .max_abs_diff out) (moves of about 1e-3)"
    # the loss is a mean of advantage x ratio terms of order 1 that nearly cancel (about 4e-3 here): f32 log-probs
    # agree with PyTorch's to about 2e-6 (test_train), so it agrees to that times the mean |advantage|, not relatively
    check "$loss step: loss and grad norm as PyTorch's" jq -e -n --slurpfile m "metrics-$loss" \
        --slurpfile c "$U/cases.json" --arg loss "$loss" '($c[0].cases[] | select(.name == $loss)) as $w |
        ($m[0].loss - $w.loss | fabs) <= 1e-5 * ($w.loss | fabs) + 5e-7 and
        ($m[0].grad_norm - $w.grad_norm | fabs) <= 1e-5 * $w.grad_norm'
done

# Reproducible: the same step again gives the same bytes (adapter and optimizer state)
run tina-update -m "$F/qwen2-f32" -a step1 -o again2 --lr 1e-3 --schedule constant advantaged.jsonl
check "the same step twice: identical adapter bytes" cmp -s step2/adapter_model.safetensors again2/adapter_model.safetensors
check "the same step twice: identical optimizer state" cmp -s step2/optimizer.safetensors again2/optimizer.safetensors
run tina-update -m "$F/qwen2-f32" -a step1 -o recomputed --activation-memory 0 --lr 1e-3 --schedule constant advantaged.jsonl
check "activations recomputed layer by layer instead of kept: identical adapter bytes" \
    cmp -s step2/adapter_model.safetensors recomputed/adapter_model.safetensors
# The gradients' sums are fixed (gemm.h): one rollout a micro-batch, one thread, or AVX2 kernels where the CPU has
# AVX-512 give the same bytes. TINA_CPU=generic (no vector code: a CPU without AVX2) rounds its exponentials and
# dot products otherwise: the same step to f32 rounding.
run tina-update -m "$F/qwen2-f32" -a step1 -o tiny-batches --micro-batch-tokens 16 --lr 1e-3 --schedule constant advantaged.jsonl
check "--micro-batch-tokens 16 (a rollout a micro-batch): identical adapter bytes" \
    cmp -s step2/adapter_model.safetensors tiny-batches/adapter_model.safetensors
run tina-update -m "$F/qwen2-f32" -a step1 -o one-thread --threads 1 --lr 1e-3 --schedule constant advantaged.jsonl
check "--threads 1: identical adapter bytes" cmp -s step2/adapter_model.safetensors one-thread/adapter_model.safetensors
if [ "${TINA_CPU:-}" != generic ]; then # (make test runs this script under TINA_CPU=generic too)
    TINA_CPU=avx2 run tina-update -m "$F/qwen2-f32" -a step1 -o avx2 --lr 1e-3 --schedule constant advantaged.jsonl
    check "TINA_CPU=avx2: identical adapter bytes" cmp -s step2/adapter_model.safetensors avx2/adapter_model.safetensors
fi
run tina-update -m "$F/qwen2-f32" -a step1 -o vector --lr 1e-3 --schedule constant advantaged.jsonl
cp out metrics-vector
TINA_CPU=generic run tina-update -m "$F/qwen2-f32" -a step1 -o generic --lr 1e-3 --schedule constant advantaged.jsonl
check "TINA_CPU=generic: the loss and grad norm within 1e-5 of the default kernels'" jq -e -n --slurpfile a out \
    --slurpfile b metrics-vector '($a[0].loss - $b[0].loss | fabs) <= 1e-5 * ($b[0].loss | fabs) + 1e-7 and
        ($a[0].grad_norm - $b[0].grad_norm | fabs) <= 1e-5 * $b[0].grad_norm'

# A fresh adapter: B = 0, so the first step's gradient reaches B only and the lr warms up from 0 (Tina's schedule)
run tina-update -m "$F/qwen2-f32" --init-adapter --rank 4 --alpha 16 -o fresh advantaged.jsonl
check "--init-adapter: a step with Tina's schedule (lr 0 at step 1)" jq_true '.[0].step == 1 and .[0].lr == 0'
check "--init-adapter: the adapter has rank 4" jq_true '.[0].r == 4' fresh/adapter_config.json

# Data parallelism: three shards' gradient files (--shard K/3, one per prompt) applied together (--apply-grads) give
# the one-process step, for every loss type, with LoRA dropout on (each rollout's masks come from its id and sample)
for k in 0 1 2; do jq -c "select(.id == \"p$k\")" advantaged.jsonl > "shard$k.jsonl"; done
run tina-update -m "$F/qwen2-f32" --init-adapter --rank 8 --alpha 32 --dropout 0.3 --lr 1e-3 --schedule constant \
    -o dropping advantaged.jsonl
check "an adapter with LoRA dropout 0.3 (and B no longer 0)" jq_true '.[0].lora_dropout == 0.3' dropping/adapter_config.json
for loss in grpo bnpo dr_grpo dapo; do
    # (each loss from the same trained adapter: a deliberate change of the run's settings)
    common=(-m "$F/qwen2-f32" -a dropping --lr 1e-3 --schedule constant --loss "$loss" --beta 0.04 --override-settings)
    run tina-update "${common[@]}" -o "one-$loss" advantaged.jsonl
    cp out "one-$loss.json"
    for k in 0 1 2; do run tina-update "${common[@]}" --shard "$k/3" -o "g$k-$loss.safetensors" "shard$k.jsonl"; done
    check "$loss: --shard K/3 writes a gradient file" [ -s "g2-$loss.safetensors" ]
    run tina-update "${common[@]}" --apply-grads -o "three-$loss" "g2-$loss.safetensors" "g0-$loss.safetensors" \
        "g1-$loss.safetensors"
    cp out "three-$loss.json"
    run tina-adapter diff -m "$F/qwen2-f32" -a "three-$loss" --against "one-$loss"
    check "$loss: 3 shards applied = 1 process (adapter within 1e-6 relative L2 of the step)" \
        jq_true '.[0].rel_l2 < 1e-6'
    echo "note: $loss: 3 shards vs 1 process: adapter relative L2 difference $(jq .rel_l2 out), max abs $(jq .max_abs_diff out)"
    # the forward's f32 log-probs differ by ~1e-7 with the micro-batch's company, and the k3 KL is a sum of terms
    # that nearly cancel: metrics agree to 1e-5
    check "$loss: 3 shards applied = 1 process (metrics)" jq -e -n --slurpfile a "one-$loss.json" \
        --slurpfile b "three-$loss.json" '$a[0] as $x | $b[0] as $y | $x.tokens == $y.tokens and
        $x.rollouts == $y.rollouts and
        ([$x.loss, $x.kl, $x.grad_norm, $x.entropy, $x.reward_mean, $x.reward_std] | to_entries | all(.value as $v |
            ([$y.loss, $y.kl, $y.grad_norm, $y.entropy, $y.reward_mean, $y.reward_std][.key] - $v | fabs)
                <= 1e-5 * ($v | fabs) + 1e-9))'
done
run tina-update "${common[@]}" --apply-grads -o three-again g0-dapo.safetensors g1-dapo.safetensors g2-dapo.safetensors
check "the same shards applied again: identical adapter bytes" \
    cmp -s three-dapo/adapter_model.safetensors three-again/adapter_model.safetensors
run tina-update "${common[@]}" --micro-batch-tokens 16 -o small-batches advantaged.jsonl
run tina-adapter diff -m "$F/qwen2-f32" -a small-batches --against one-dapo
check "dropout masks do not depend on the micro-batches" jq_true '.[0].rel_l2 < 1e-6'
run tina-update "${common[@]}" --seed 5 -o other-masks advantaged.jsonl
run tina-adapter diff -m "$F/qwen2-f32" -a other-masks --against one-dapo
check "... while another --seed draws other masks (dropout is on)" jq_true '.[0].rel_l2 > 1e-4'
applied() { # NAME MESSAGE FILE...: --apply-grads refuses these gradient files
    local name=$1 message=$2; shift 2
    run tina-update "${common[@]}" --apply-grads -o refused "$@"
    check "$name: exit 2, nothing written" sh -c '[ $0 -eq 2 ] && [ ! -e refused ]' "$status"
    check "$name: said" stderr_has "$message"
}
applied "a shard missing" "but 2 gradient files are given" g0-dapo.safetensors g1-dapo.safetensors
applied "a shard twice" "shard 1 is given twice" g0-dapo.safetensors g1-dapo.safetensors g1-dapo.safetensors
applied "another loss's shard" "computed for another loss settings" g0-dapo.safetensors g1-grpo.safetensors \
    g2-dapo.safetensors
run tina-update -m "$F/qwen2-f32" -a step1 --lr 1e-3 --schedule constant --loss dapo --beta 0.04 --override-settings --shard 0/3 \
    -o other-adapter.safetensors shard0.jsonl
applied "another adapter's shard" "computed for another adapter" other-adapter.safetensors g1-dapo.safetensors \
    g2-dapo.safetensors
run tina-update "${common[@]}" --apply-grads -o refused advantaged.jsonl
check "rollouts given to --apply-grads: exit 2" status_is 2
run tina-update "${common[@]}" --shard 3/3 -o x.safetensors shard0.jsonl
check "--shard 3/3: usage error" status_is 2

# Safety
run tina-update -m "$F/qwen2-f32" -a step1 -o step2 advantaged.jsonl
check "output exists: exit 2" status_is 2
check "output exists: said" stderr_has "already exists"
"$BIN/tina-update" -m "$F/qwen2-f32" -a step1 -o full advantaged.jsonl > /dev/full 2> err
status=$?
check "stdout on a full disk: exit 1, saying so, and no step written (nor left half-written)" \
    eval '[ "$status" -eq 1 ] && stderr_has "cannot write to stdout: No space left on device" && [ "$(grep -c . err)" -le 2 ] && [ -z "$(ls -A | grep full)" ]'
run tina-update -m "$F/qwen2-f32" -a step1 -o full advantaged.jsonl
check "stdout on a full disk: the same step runs again" eval '[ "$status" -eq 0 ] && [ -s full/trainer_state.json ]'
for _ in 1 2 3 4 5 6 7 8; do cat advantaged.jsonl; done > big.jsonl
"$BIN/tina-update" -m "$F/qwen2-f32" -a step1 -o killed --lr 1e-3 big.jsonl > /dev/null 2>&1 &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "kill -9 during a step: the output is absent or complete" \
    sh -c '[ ! -e killed ] || [ -f killed/trainer_state.json -a -f killed/adapter_model.safetensors ]'
jq -c '. + {advantage: null}' advantaged.jsonl > none.jsonl
run tina-update -m "$F/qwen2-f32" -a step1 -o none none.jsonl
check "no usable rollout: exit 2, nothing written" sh -c '[ $0 -eq 2 ] && [ ! -e none ]' "$status"
check "... and the message is about usable rollouts" stderr_has "no usable rollouts (12 skipped"
jq -c 'del(.advantage)' advantaged.jsonl > rewarded-only.jsonl
run tina-update -m "$F/qwen2-f32" -a step1 -o none rewarded-only.jsonl
check "rewarded rollouts without advantages: exit 2, 'run tina-advantage first'" \
    sh -c '[ $0 -eq 2 ] && [ ! -e none ] && grep -q "no rollout has an \"advantage\" (12 read): run tina-advantage" err' \
    "$status"
head -c 100 advantaged.jsonl > broken.jsonl
run tina-update -m "$F/qwen2-f32" -a step1 -o broken broken.jsonl
check "broken JSON: exit 2 with file and line" stderr_has "broken.jsonl:1:"
# the sample keys a rollout's dropout masks: -1 was cast to uint64_t, which has no such value (undefined behaviour)
for sample in -1 1e300 0.5; do
    jq -c --argjson s "$sample" 'if .sample == 2 then .sample = $s else . end' advantaged.jsonl > odd-sample.jsonl
    run tina-update -m "$F/qwen2-f32" -a step1 -o odd-sample odd-sample.jsonl
    check "sample $sample: exit 2 with file, line and field, nothing written" \
        sh -c '[ $0 -eq 2 ] && [ ! -e odd-sample ] && grep -q "odd-sample.jsonl:3: field \"sample\" is" err' "$status"
done
run tina-update -m "$F/qwen2-f32" -o x advantaged.jsonl
check "no adapter: usage error" status_is 2
run tina-update -m "$F/qwen2-f32" -a step1 -o x --threads 0 advantaged.jsonl
check "--threads 0: a usage error, as tina-sample's (all threads is the default)" \
    eval '[ "$status" -eq 2 ] && stderr_has "--threads" && [ ! -e x ]'
run tina-update -m "$F/qwen2-f32" --init-adapter --rank 4 --alpha 1e7 -o x advantaged.jsonl
check "--init-adapter --alpha 1e7: a usage error, nothing written (the next step could not load it)" \
    eval '[ "$status" -eq 2 ] && stderr_has "--alpha" && [ ! -e x ]'
run tina-update --help
check "--help lists the loss types" grep -q "dr_grpo" out
# a CPU-only build, or a CUDA build on a machine without a GPU (as CI's)
run tina-update -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o on-gpu --device cuda advantaged.jsonl
check "--device cuda without a GPU or a CUDA build: exit 2, the reason, nothing written" \
    sh -c '[ $0 -eq 2 ] && [ ! -e on-gpu ]' "$status"
check "... the reason" stderr_has "tina-update: --device cuda: "
finish
