#!/usr/bin/env bash
# Benchmark: tina's CPU forward against PyTorch running the same transformers model, in one run, same threads, the
# best of 6 timings a side:
# prefill of 8 x 512 tokens (one call) and 128 decode steps at batch 32, on a random Qwen2 model of about 50M
# parameters (hidden 512, 12 layers, GQA 8/2, MLP 2048, the tiny tokenizer's 2048-token vocabulary), f32.
# Needs PYTHON with torch and transformers. Writes bench/results/model.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-$(nproc)}
work=build/bench
mkdir -p "$work"
make -s "$work/model_bench"
# ROUNDS rounds (default 2), each side in turn, every workload the best of 3 within a run: the best of 3 x ROUNDS on
# each side, spread over the whole run, so that a neighbour's burst on this shared machine does not decide the ratio.
best() { jq -s -c '.[0] + ([.[] | to_entries[] | select(.key | endswith("_per_s") or endswith("_gflops"))]
                           | group_by(.key) | map({key: .[0].key, value: (map(.value) | max)}) | from_entries)'; }
peer_runs="" tina_runs=""
for round in $(seq 1 "${ROUNDS:-2}"); do
    peer_runs+=$("$PYTHON" bench/model_peer.py "$work/model-50m" "$THREADS")$'\n'
    tina_runs+=$("$work/model_bench" "$work/model-50m" 8 512 32 128 "$THREADS")$'\n'
done
peer=$(printf %s "$peer_runs" | best)
tina=$(printf %s "$tina_runs" | best)
params=$(jq -r .params <<<"$peer")
row() { jq -r "$1" <<<"$2"; }
prefill_ratio=$(echo "$(row .prefill_tokens_per_s "$tina") / $(row .prefill_tokens_per_s "$peer")" | bc -l)
decode_ratio=$(echo "$(row .decode_tokens_per_s "$tina") / $(row .decode_tokens_per_s "$peer")" | bc -l)
# forward FLOPs per token: 2 x (parameters outside the embedding) + attention (small next to it here)
flops_token=$(echo "2 * ($params - 2048 * 512)" | bc -l)
prefill_gflops=$(echo "$(row .prefill_tokens_per_s "$tina") * $flops_token / 1000000000" | bc -l)
gemm=$(row .gemm_gflops "$tina")
matmul=$(row .matmul_gflops "$peer")
blas=$(OPENBLAS_VERBOSE=2 "$PYTHON" -c 'import torch; print(torch.__config__.show())' 2>&1 | grep -o 'BLAS_INFO=[a-z]*' | head -n 1)
. bench/measured.sh # cpu, code
table=$(cat <<MD
## tina CPU forward vs PyTorch $(row .torch "$peer") (transformers $(row .transformers "$peer")), $params parameters, f32, $THREADS threads — $(date -u +%Y-%m-%d), $cpu, tina's $(row .kernel "$tina") kernels at $code, torch's ${blas#BLAS_INFO=}

| workload | tina tokens/s | PyTorch tokens/s | tina / PyTorch |
|---|---|---|---|
| prefill 8 x 512 (one call) | $(printf %.0f "$(row .prefill_tokens_per_s "$tina")") | $(printf %.0f "$(row .prefill_tokens_per_s "$peer")") | $(printf %.2f "$prefill_ratio") |
| decode, batch 32, 128 steps | $(printf %.0f "$(row .decode_tokens_per_s "$tina")") | $(printf %.0f "$(row .decode_tokens_per_s "$peer")") | $(printf %.2f "$decode_ratio") |

Prefill reaches $(printf %.1f "$prefill_gflops") GFLOP/s ($(printf %.0f "$flops_token") FLOP per token), $(printf %.0f "$(echo "100 * $prefill_gflops / $gemm" | bc -l)")% of tina's gemm at $(printf %.1f "$gemm") GFLOP/s on 1536^3 in the same run; torch's matmul on the same product: $(printf %.1f "$matmul") GFLOP/s (gemm / matmul = $(printf %.2f "$(echo "$gemm / $matmul" | bc -l)"), the practical f32 peak of these cores).
MD
)
echo "$table"
printf '%s\n\n' "$table" >> bench/results/model.md
