#!/usr/bin/env bash
# The CUDA backend's tools through the CUDA emulator (make CUDA=emu; TINA_BIN=build/emu/bin), on the tiny fixtures:
# what tests/gpu/check.py checks on a GPU that needs no Python here. Bounds come from transformers and PEFT on the
# same inputs (tests/reference/emu_bounds.py, torch 2.15.0 on the CPU): tina's bf16 CUDA backend must stay as close
# to tina's f32 CPU backend (which agrees with transformers and PEFT in f32 to about 1e-6, tests/cli/tina-update.sh
# and test_train) as a bf16 transformers or PEFT stays to its own f32.
TEST_NAME=cuda-emu
. "$(dirname "$0")/../cli/lib.bash"
F=$ROOT/tests/fixtures/models
TOK=$ROOT/data/models/tiny-math-bpe
# the 12 rollouts of tests/fixtures/update (3 prompts, completions of 3 to 8 tokens), their references dropped so
# that each backend computes its own
jq -c 'del(.ref_logprobs)' "$ROOT/tests/fixtures/update/rollouts.jsonl" > rollouts.jsonl
jq -c '{id, prompt_tokens}' rollouts.jsonl | jq -s -c 'unique_by(.id)[]' > prompts.jsonl

# No GPU: a usage error with a message, never a crash
TINA_EMU_DEVICES=0 run tina-sample -m "$F/qwen2-bf16" --tokenizer "$TOK" --device cuda prompts.jsonl
check "no device: exit 2" status_is 2
check "no device: says so" stderr_has "--device cuda: no usable GPU here"

# Decode steps recorded as a graph and replayed against launched one by one: the same bytes
sample=(-m "$F/qwen2-bf16" -a "$F/qwen2-lora" --tokenizer "$TOK" --device cuda -n 4 -t 0.9 --top-p 0.95
    --max-new-tokens 24 --batch 12)
TINA_EMU_STATS=1 run tina-sample "${sample[@]}" prompts.jsonl
cp out graphs.jsonl
check "graphs: 3 x 4 rollouts" jq_true 'length == 12 and all(.[]; (.completion_tokens | length) == 24)' graphs.jsonl
stats=$(grep '^cuda-emu: ' err)
check "graphs: a decode step recorded once, replayed for the others" [ "$(echo "$stats" |
    sed -n 's/.* \([0-9]*\) captures recorded, 0 invalidated; \([0-9]*\) graph launches.*/\1 \2/p')" = "1 21" ]
TINA_CUDA_GRAPHS=0 run tina-sample "${sample[@]}" prompts.jsonl
check "graphs off: the same rollouts, byte for byte" cmp -s out graphs.jsonl

# A KV cache too small for the 12 sequences at once: some are preempted, their caches rebuilt on the device; a
# rebuilt cache rounds as a prefill, so tokens may part from the roomy run's at near-ties, but every log-prob must be
# the model's for the tokens drawn: within the forced bound below (qwen2 + adapter: 2 x 1.910e-2 + 1e-3) of the f32
# CPU's on the same tokens
run tina-sample "${sample[@]}" --max-prompt-tokens 16 --kv-tokens 64 prompts.jsonl
check "preempted on the device: 3 x 4 rollouts of 24 tokens" \
    jq_true 'length == 12 and all(.[]; (.completion_tokens | length) == 24)'
check "preempted on the device: said so" grep -Eq "; [1-9][0-9]* sequences preempted for want of it" err
jq -c 'del(.ref_logprobs)' out > preempted.jsonl
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" --forced preempted.jsonl
gap=$(jq -n --slurpfile a out --slurpfile b preempted.jsonl \
    '[range($a | length) as $i | range($a[$i].logprobs | length) as $j | $a[$i].logprobs[$j] - $b[$i].logprobs[$j] |
      fabs] | max')
check "preempted on the device: log-probs within $gap of the CPU's on the same tokens (bound 3.92e-2)" \
    awk -v g="$gap" 'BEGIN { exit !(g != "" && g <= 2 * 1.910e-2 + 1e-3) }'

# Forced log-probs, bf16 on the device against f32 on the CPU: within twice transformers' bf16 distance from its
# f32 on the same tokens, plus 1e-3 (transformers: qwen2 1.396e-2, + adapter 1.910e-2, llama 1.814e-2, + adapter
# 2.124e-2)
forced_gap() { # MODEL [ADAPTER]: the largest |cuda - cpu| of the completion tokens' log-probs
    local adapter=()
    [ -n "${2:-}" ] && adapter=(-a "$F/$2")
    run tina-sample -m "$F/$1" "${adapter[@]}" --tokenizer "$TOK" --forced --device cuda rollouts.jsonl
    cp out forced-cuda.jsonl
    run tina-sample -m "$F/$1" "${adapter[@]}" --tokenizer "$TOK" --forced --device cpu rollouts.jsonl
    jq -n --slurpfile a out --slurpfile b forced-cuda.jsonl \
        '[range($a | length) as $i | range($a[$i].logprobs | length) as $j |
          $a[$i].logprobs[$j] - $b[$i].logprobs[$j] | fabs] | max'
}
for case in "qwen2-bf16 - 1.396e-2" "qwen2-bf16 qwen2-lora 1.910e-2" "llama-bf16 - 1.814e-2" \
    "llama-bf16 llama-lora 2.124e-2"; do
    set -- $case
    adapter=$2; [ "$adapter" = - ] && adapter=
    gap=$(forced_gap "$1" "$adapter")
    check "forced log-probs, $1 ${adapter:-(base)}: cuda vs cpu $gap within 2 x $3 + 1e-3" \
        awk -v g="$gap" -v b="$3" 'BEGIN { exit !(g != "" && g <= 2 * b + 1e-3) }'
    echo "note: forced log-probs, $1 ${adapter:-(base)}: cuda vs cpu max abs $gap (transformers bf16 vs f32: $3)"
done

# LoRA gradients of a GRPO loss (beta 0.04; the ratio unclipped: clipping flips with bf16 noise near its edges):
# relative L2 over every matrix within 1.5 times PEFT bf16's from its f32 (qwen2 1.256e-2, llama 1.379e-2)
for case in "qwen2 1.256e-2" "llama 1.379e-2"; do
    set -- $case
    jq '.lora_dropout = 0' "$F/$1-lora/adapter_config.json" > config.json
    for device in cuda cpu; do
        mkdir -p "adapter-$1" "grads-$1-$device"
        cp config.json "adapter-$1/adapter_config.json"
        cp "$F/$1-lora/adapter_model.safetensors" "adapter-$1/"
        run tina-update -q -m "$F/$1-bf16" -a "adapter-$1" --device "$device" --epsilon 1 --epsilon-high 10 \
            --beta 0.04 --shard 0/1 -o "grads-$1-$device.safetensors" rollouts.jsonl
        check "$1 gradients on $device: written" status_is 0
        cp config.json "grads-$1-$device/adapter_config.json" # a gradient file reads as an adapter's matrices
        mv "grads-$1-$device.safetensors" "grads-$1-$device/adapter_model.safetensors"
    done
    run tina-adapter diff -m "$F/$1-bf16" -a "grads-$1-cuda" --against "grads-$1-cpu"
    gap=$(jq .rel_l2 out)
    check "$1 gradients: cuda vs cpu relative L2 $gap within 1.5 x $2" \
        awk -v g="$gap" -v b="$2" 'BEGIN { exit !(g != "" && g <= 1.5 * b) }'
    echo "note: $1 LoRA gradients: cuda vs cpu relative L2 $gap (PEFT bf16 vs f32: $2)"
    # an odd token budget (33 tokens: five micro-batches), each layer recomputed in the backward: the trainer's
    # buffers after its T x 8-byte log-sum-exps began 8 bytes off a 16-byte boundary, and the attention's 16-byte
    # loads faulted (a GPU's "misaligned address", UBSan's here); every buffer is 256-byte aligned now
    mkdir -p "grads-$1-odd"
    run tina-update -q -m "$F/$1-bf16" -a "adapter-$1" --device cuda --epsilon 1 --epsilon-high 10 --beta 0.04 \
        --shard 0/1 --micro-batch-tokens 33 --activation-memory 0 -o "grads-$1-odd.safetensors" rollouts.jsonl
    check "$1 gradients on cuda in micro-batches of 33 tokens: written" status_is 0
    cp config.json "grads-$1-odd/adapter_config.json"
    mv "grads-$1-odd.safetensors" "grads-$1-odd/adapter_model.safetensors" 2>/dev/null
    run tina-adapter diff -m "$F/$1-bf16" -a "grads-$1-odd" --against "grads-$1-cpu"
    check "$1 gradients in micro-batches of 33 tokens: cuda vs cpu relative L2 $(jq .rel_l2 out) within 1.5 x $2" \
        awk -v g="$(jq .rel_l2 out)" -v b="$2" 'BEGIN { exit !(g != "" && g <= 1.5 * b) }'
done
# The pipeline with DEVICE=cuda UPDATE_DEVICE=cuda (as on a GPU machine: CUDA_VISIBLE_DEVICES unset): one GRPO
# step on the tiny Qwen2, its stage times recorded against the GPU
for i in 1 2; do
    jq -cn --argjson i "$i" '{id: "t\($i)", problem: "What is \($i) plus \(2 * $i)?", answer: "\(3 * $i)", solution: "$\(3 * $i)$", source: "toy"}'
done > train.jsonl
(cd "$ROOT" && unset CUDA_VISIBLE_DEVICES && TINA_EMU_STATS=1 make -s -f pipelines/grpo.mk TINA_BIN="$BIN" SAVE_EVERY= \
    RUN="$SCRATCH/run" MODEL="$F/qwen2-bf16" TOKENIZER=data/models/tiny-math-bpe TRAIN="$SCRATCH/train.jsonl" \
    STEPS=1 BATCH=2 G=2 MAX_NEW_TOKENS=6 RANK=4 ALPHA=16 LR=1e-3 SCHEDULE=constant SYSTEM_FILE= THREADS=2 \
    DEVICE=cuda UPDATE_DEVICE=cuda EVAL_EVERY=1 EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 \
    EVAL_VARS="MAX_NEW_TOKENS=4") > pipeline.log 2>&1
status=$?
check "pipeline on cuda: a step's adapter and metrics" [ "$status" = 0 -a -f run/step-0001/adapter/adapter_model.safetensors ]
# each side within the forced log-probs' bound above of the exact ones (qwen2 + adapter: 2 x 1.910e-2 + 1e-3)
check "pipeline on cuda: sampler and trainer log-probs within twice the forced bound of each other" \
    jq_true 'length == 1 and .[0].logprob_gap_max <= 2 * (2 * 1.910e-2 + 1e-3)' run/metrics.jsonl
echo "note: pipeline on cuda: sampler vs trainer log-probs, max gap $(jq .logprob_gap_max run/metrics.jsonl)," \
    "mean $(jq .logprob_gap_mean run/metrics.jsonl)"
check "pipeline on cuda: sampling and the update timed on the GPU" jq_true \
    'map(select(.stage == "sample" or .stage == "update") | .device | test("GPU")) | length == 2 and all' \
    <(cat run/step-0001/times/*)
# every process ran its kernels on the (emulated) GPU: the step's sampling and update, and the evaluations of
# steps 0 and 1 (DEVICE reaches eval.mk)
check "pipeline on cuda: the evaluations sample on the GPU too" \
    [ "$(grep -c '^cuda-emu: [1-9][0-9]* grids' pipeline.log)" -ge 4 ]
[ "$status" = 0 ] || tail -n 20 pipeline.log
finish
