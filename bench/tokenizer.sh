#!/usr/bin/env bash
# Benchmark: tina-tokenize encoding the parity corpus (tests/fixtures/tokenizer/, 41k texts, 9.7M characters) with
# the distill's tokenizer, against Hugging Face tokenizers (Rust) encode_batch on one thread, in the same run.
# tina is timed end to end (load, JSON in, JSON out); the peer only for encode_batch (its JSON reading and its
# tokenizer load are left out). Needs PYTHON with tokenizers (default: python3). Writes bench/results/tokenizer.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=build/bench
mkdir -p "$work"
zstd -dc -q tests/fixtures/tokenizer/corpus.jsonl.zst > "$work/corpus.jsonl"
model=data/models/deepseek-r1-distill-qwen-1.5b
bytes=$(wc -c < "$work/corpus.jsonl")

t0=$(date +%s.%N)
bin/tina-tokenize -q -t "$model" --no-special-tokens "$work/corpus.jsonl" -o "$work/tina-tokens.jsonl"
t1=$(date +%s.%N)
tina=$(echo "$t1 - $t0" | bc -l)
tina_tokens=$(jq -s 'map(.tokens | length) | add' "$work/tina-tokens.jsonl")

peer=$(RAYON_NUM_THREADS=1 "$PYTHON" - "$model" "$work/corpus.jsonl" <<'PY'
import json, subprocess, sys, time
from tokenizers import Tokenizer
model, corpus = sys.argv[1], sys.argv[2]
tok = Tokenizer.from_str(subprocess.run(["zstd", "-dcf", model + "/tokenizer.json"], capture_output=True,
                                        check=True).stdout.decode())
texts = [json.loads(line.decode("utf-8", "replace"))["text"] for line in open(corpus, "rb")]
t0 = time.perf_counter()
encodings = tok.encode_batch(texts, add_special_tokens=False)
t1 = time.perf_counter()
import tokenizers
print(t1 - t0, sum(len(e.ids) for e in encodings), tokenizers.__version__)
PY
)
read -r peer_seconds peer_tokens peer_version <<<"$peer"
. bench/measured.sh # cpu, code
table=$(cat <<MD
## tina-tokenize vs tokenizers $peer_version (one thread), $((bytes / 1000000)) MB of JSON lines — $(date -u +%Y-%m-%d), $cpu, code at $code

| run | seconds | MB/s | tokens | speed vs tokenizers |
|---|---|---|---|---|
| tina-tokenize (load + JSON in/out + encode) | $(printf %.2f "$tina") | $(printf %.1f "$(echo "$bytes / $tina / 1000000" | bc -l)") | $tina_tokens | $(printf %.2f "$(echo "$peer_seconds / $tina" | bc -l)")x |
| tokenizers encode_batch, RAYON_NUM_THREADS=1 (encode only) | $(printf %.2f "$peer_seconds") | $(printf %.1f "$(echo "$bytes / $peer_seconds / 1000000" | bc -l)") | $peer_tokens | 1.00x |
MD
)
echo "$table"
printf '%s\n\n' "$table" >> bench/results/tokenizer.md
