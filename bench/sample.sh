#!/usr/bin/env bash
# Benchmark: tina-sample against transformers generate, in one run, same threads, sampling on (temperature 0.7):
# 32 prompts of 16 tokens x 4 samples x 128 new tokens on the ~50M-parameter random Qwen2 of bench/model.sh, f32;
# then tina-sample's tokens/s at --batch 1, 8, 32, 128 on 32 prompts x 1 sample x 64 tokens, to show what batching
# gains. Needs PYTHON with torch and transformers. Writes bench/results/sample.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-$(nproc)}
work=build/bench
mkdir -p "$work"
[ -s "$work/model-50m/model.safetensors" ] || "$PYTHON" bench/model_peer.py "$work/model-50m" "$THREADS" >/dev/null
awk 'BEGIN { for (p = 0; p < 32; p++) { printf "{\"id\":\"b%d\",\"prompt_tokens\":[", p;
             for (i = 0; i < 16; i++) printf "%s%d", i ? "," : "", (p * 7919 + i * 104729) % 2048; print "]}" } }' \
    > "$work/sample-prompts.jsonl"
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
tina_run() { # BATCH SAMPLES NEW
    bin/tina-sample -q -m "$work/model-50m" --tokenizer data/models/tiny-math-bpe -n "$2" -t 0.7 --top-p 1 \
        --max-new-tokens "$3" --ignore-eos --batch "$1" --threads "$THREADS" "$work/sample-prompts.jsonl" \
        > "$work/sample-out.jsonl"
}
# Two rounds, each side in turn, the best of each kept: a neighbour's burst on this shared machine moves single runs
# by 15%.
peer="" main=""
for round in 1 2; do
    run=$("$PYTHON" bench/sample_peer.py "$work/model-50m" "$work/sample-prompts.jsonl" 4 128 "$THREADS")
    if [ -z "$peer" ] || jq -e -n --argjson a "$run" --argjson b "$peer" '$a.seconds < $b.seconds' >/dev/null; then
        peer=$run
    fi
    s=$(seconds tina_run 128 4 128)
    if [ -z "$main" ] || [ "$(echo "$s < $main" | bc -l)" = 1 ]; then main=$s; fi
done
tokens=$(jq -s 'map(.completion_tokens | length) | add' "$work/sample-out.jsonl")
rows=""
for batch in 1 8 32 128; do
    s=$(seconds tina_run $batch 1 64)
    rows+="| $batch | $(printf %.0f "$(echo "32 * 64 / $s" | bc -l)") |"$'\n'
done
. bench/measured.sh # cpu, code
peer_tps=$(jq -r .tokens_per_s <<<"$peer")
table=$(cat <<MD
## tina-sample vs transformers $(jq -r .transformers <<<"$peer") generate (torch $(jq -r .torch <<<"$peer")), ~50M parameters, f32, $THREADS threads — $(date -u +%Y-%m-%d), $cpu, code at $code

32 prompts x 4 samples x 128 new tokens, temperature 0.7, the best of two alternating runs a side:

| run | tokens | seconds | tokens/s | vs transformers |
|---|---|---|---|---|
| tina-sample --batch 128 | $tokens | $(printf %.1f "$main") | $(printf %.0f "$(echo "$tokens / $main" | bc -l)") | $(printf %.2f "$(echo "$tokens / $main / $peer_tps" | bc -l)")x |
| transformers generate (num_return_sequences 4) | $(jq -r .tokens <<<"$peer") | $(printf %.1f "$(jq -r .seconds <<<"$peer")") | $(printf %.0f "$peer_tps") | 1.00x |

tina-sample at other batch sizes (32 prompts x 1 sample x 64 tokens):

| --batch | tokens/s |
|---|---|
$rows
MD
)
echo "$table"
printf '%s\n' "$table" >> bench/results/sample.md
