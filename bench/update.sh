#!/usr/bin/env bash
# Benchmark: one training update (forward + backward + AdamW) of tina-update against PyTorch + PEFT, in one run, same
# threads: the random ~50M-parameter Qwen2 of bench/model.sh, f32, a LoRA adapter r 32 alpha 128 on all seven
# projections with B random (so A gets gradients too), 8 prompts x 4 samples = 32 sequences of 64 prompt + 192
# completion tokens (8,192 tokens), seeded ids and advantages, old log-probs equal to the policy's (ratio 1), GRPO
# loss with beta 0 (no reference pass), lr 1e-6 constant, gradient clipping at 1.
#   - the peer (bench/update_peer.py) makes the adapter (PEFT layout) and the rollouts, then times TRL 0.15's step:
#     4 micro-batches of 8 sequences, backward accumulated, clip_grad_norm_, torch.optim.AdamW; gradient
#     checkpointing off; best of 2 steps, timed inside the process, in each of ROUNDS runs; peak RSS of the whole
#     process.
#   - tina: bin/tina-update on those files, --micro-batch-tokens 2048 (the same 8 sequences a micro-batch), wall time
#     of the process (loading the model included), best of ROUNDS runs (alternating with the peer's); and the step alone
#     (its metrics' seconds less load_seconds, timed inside the process as the peer's is); peak RSS from
#     /usr/bin/time -v when present.
# Needs PYTHON with torch, transformers and peft. Writes bench/results/update.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-$(nproc)}
work=build/bench
mkdir -p "$work"
make -s bin/tina-update "$work/model_bench"
[ -s "$work/model-50m/model.safetensors" ] || "$PYTHON" bench/model_peer.py "$work/model-50m" "$THREADS" >/dev/null
load=$(cut -d ' ' -f 1 /proc/loadavg)  # another busy process skews both sides: the table says what it was
# gemm.c's GFLOP/s, the practical f32 peak (model_bench measures it after a token-sized forward): the best of a
# reading before and one after the runs, against a neighbour that comes and goes
gemm_gflops() { jq -r .gemm_gflops <<<"$("$work/model_bench" "$work/model-50m" 1 16 1 1 "$THREADS")"; }
gemm=$(gemm_gflops)
kernel=$(jq -r .kernel <<<"$("$work/model_bench" "$work/model-50m" 1 16 1 1 "$THREADS")")
blas=$("$PYTHON" -c 'import torch; print(torch.__config__.show())' 2>&1 | grep -o 'BLAS_INFO=[a-z]*' | head -n 1)
rm -rf "$work/update-adapter"

# Peak RSS in MiB of a command: /usr/bin/time -v, else VmHWM polled from /proc (the last reading before it exits),
# else n/a. Writes the number to $work/update-rss; the command's stdout goes to $work/update-metrics.json.
measured() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$work/update-time.txt" "$@" > "$work/update-metrics.json"
        awk -F': ' '/Maximum resident set size/ { printf "%.0f\n", $2 / 1024 }' "$work/update-time.txt" \
            > "$work/update-rss"
    else
        "$@" > "$work/update-metrics.json" &
        local pid=$! hwm=""
        while kill -0 "$pid" 2>/dev/null; do
            hwm=$(awk '/^VmHWM/ { printf "%.0f\n", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || true)
            [ -n "$hwm" ] && echo "$hwm" > "$work/update-rss"
            sleep 0.2
        done
        wait "$pid"
        [ -n "$hwm" ] || echo n/a > "$work/update-rss"
    fi
}
# ROUNDS rounds (default 2), each side in turn (the peer's own run is the best of 2 steps), the best of each side kept:
# a neighbour's burst on a shared machine moved single runs by 15%. The peer writes the same seeded adapter and
# rollouts each time.
peer="" tina_seconds="" tina_step="" tina_rss=0
for round in $(seq "${ROUNDS:-2}"); do
    run=$("$PYTHON" bench/update_peer.py "$work/model-50m" "$work/update-adapter" "$work/update-rollouts.jsonl" \
        "$THREADS" 2>/dev/null)
    if [ -z "$peer" ] || jq -e -n --argjson a "$run" --argjson b "$peer" '$a.seconds < $b.seconds' >/dev/null; then
        peer=$run
    fi
    rm -rf "$work/update-out"
    t0=$(date +%s.%N)
    measured bin/tina-update -q -m "$work/model-50m" -a "$work/update-adapter" -o "$work/update-out" --beta 0 \
        --lr 1e-6 --schedule constant --micro-batch-tokens 2048 --threads "$THREADS" "$work/update-rollouts.jsonl"
    s=$(echo "$(date +%s.%N) - $t0" | bc -l)
    [ -z "$tina_seconds" ] || [ "$(echo "$s < $tina_seconds" | bc -l)" = 1 ] && tina_seconds=$s
    # the step alone, as the peer's is timed: the process's own time less its loading of the model and adapter
    step=$(jq -r '.seconds - .load_seconds' "$work/update-metrics.json")
    [ -z "$tina_step" ] || [ "$(echo "$step < $tina_step" | bc -l)" = 1 ] && tina_step=$step
    rss=$(cat "$work/update-rss")
    if [ "$rss" = n/a ] || [ "$tina_rss" = n/a ]; then tina_rss=n/a; elif [ "$rss" -gt "$tina_rss" ]; then tina_rss=$rss; fi
done
metrics=$(cat "$work/update-metrics.json")
rm -rf "$work/update-out"
gemm=$(echo "s = $(gemm_gflops); if (s > $gemm) s else $gemm" | bc -l)

row() { jq -r "$1" <<<"$2"; }
tokens=$(row .tokens "$peer")
tina_tps=$(echo "$tokens / $tina_seconds" | bc -l)
step_tps=$(echo "$tokens / $tina_step" | bc -l)
peer_tps=$(row .tokens_per_s "$peer")
# FLOP model per token (every one of the 256 positions goes forward and back; attention, norms and the softmax are
# left out, a few % here): P = base parameters outside the embedding (the untied lm_head counted), L = LoRA
# parameters. Forward 2(P + L); the backward's input gradients through the frozen weights and the adapter 2(P + L);
# the LoRA weight gradients 2L (no weight gradients for the frozen base). Here the activations fit tina-update's
# --activation-memory, so it keeps them as PyTorch does: both execute 4P + 6L (with layers recomputed, tina would
# add 2(P + L)).
P=$(echo "$(row .base_params "$peer") - 2048 * 512" | bc)
L=$(row .lora_params "$peer")
flops_token=$(echo "4 * $P + 6 * $L" | bc)
peer_flops_token=$flops_token
tina_gflops=$(echo "$tina_tps * $flops_token / 1000000000" | bc -l)
peer_gflops=$(echo "$peer_tps * $peer_flops_token / 1000000000" | bc -l)
mib() { [ "$1" = n/a ] && echo n/a || printf %.0f "$1"; }
. bench/measured.sh # cpu, code
table=$(cat <<MD
## tina-update vs PyTorch $(row .torch "$peer") + PEFT $(row .peft "$peer") (transformers $(row .transformers "$peer")), one GRPO step, ~50M parameters + LoRA r 32 on all projections, f32, $THREADS threads — $(date -u +%Y-%m-%d), $cpu, tina's $kernel kernels at $code, torch's ${blas#BLAS_INFO=}

32 sequences x (64 prompt + 192 completion) = $tokens tokens, micro-batches of 8 sequences, beta 0, the best of each side over ${ROUNDS:-2} alternating rounds:

| run | seconds | tokens/s | vs PyTorch | peak RSS (MiB) | grad norm | GFLOP/s |
|---|---|---|---|---|---|---|
| tina-update (whole process) | $(printf %.1f "$tina_seconds") | $(printf %.0f "$tina_tps") | $(printf %.2f "$(echo "$tina_tps / $peer_tps" | bc -l)")x | $(mib "$tina_rss") | $(printf %.4f "$(row .grad_norm "$metrics")") | $(printf %.1f "$tina_gflops") |
| tina-update (the step only: load excluded) | $(printf %.1f "$tina_step") | $(printf %.0f "$step_tps") | $(printf %.2f "$(echo "$step_tps / $peer_tps" | bc -l)")x | | | $(printf %.1f "$(echo "$step_tps * $flops_token / 1000000000" | bc -l)") |
| PyTorch + PEFT (the step only, checkpointing off) | $(printf %.1f "$(row .seconds "$peer")") | $(printf %.0f "$peer_tps") | 1.00x | $(mib "$(row .peak_rss_mib "$peer")") | $(printf %.4f "$(row .grad_norm "$peer")") | $(printf %.1f "$peer_gflops") |

Both execute $flops_token FLOP per token (4P + 6L: forward, backward of inputs, LoRA weight gradients; P = $P base
parameters outside the embedding, L = $L LoRA parameters; activations kept): tina at $(printf %.0f "$(echo "100 * $tina_gflops / $gemm" | bc -l)")% of tina's gemm at $(printf %.1f "$gemm") GFLOP/s on 1536^3 in the same run.
Sampler-trainer log-prob gap (PyTorch's log-probs against tina's): max $(printf %.2g "$(row .logprob_gap_max "$metrics")"). Load average before the run: $load.
MD
)
echo "$table"
printf '%s\n\n' "$table" >> bench/results/update.md
