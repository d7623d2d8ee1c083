#!/usr/bin/env bash
# Rebuild every set shipped in data/sets/ from the raw files listed in data/SOURCES.md.
#
#   data/import/build.sh RAWDIR [OUTDIR]
#
# RAWDIR holds eval/ and train/ with the raw files under the names SOURCES.md gives; OUTDIR is data/sets by default.
# A set over 1 MB is written zstd-compressed (zstd -19) as NAME.jsonl.zst, a smaller one as NAME.jsonl; the output is
# the same byte for byte on every run (and equal to the committed files for the same raw files).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || { echo "usage: build.sh RAWDIR [OUTDIR]" >&2; exit 1; }
raw=$1 out=${2:-$here/../sets}
mkdir -p "$out"

one() { # NAME RAW [ANSWERS]
    local name=$1 tmp="$out/.$1.jsonl.tmp"
    shift
    "$here/import.sh" "$name" "$@" > "$tmp"
    rm -f "$out/$name.jsonl" "$out/$name.jsonl.zst"
    if [ "$(wc -c < "$tmp")" -gt 1000000 ]; then
        zstd -19 -q -f --no-progress "$tmp" -o "$out/$name.jsonl.zst" && rm -f "$tmp"
        echo "$out/$name.jsonl.zst: $(zstd -dc "$out/$name.jsonl.zst" | wc -l) records"
    else
        mv "$tmp" "$out/$name.jsonl"
        echo "$out/$name.jsonl: $(wc -l < "$out/$name.jsonl") records"
    fi
}

# benchmarks
one aime24 "$raw/eval/aime24.jsonl"
one aime25 "$raw/eval/aime25.jsonl"
one amc23 "$raw/eval/amc23.jsonl"
one math500 "$raw/eval/math500.jsonl"
one minerva "$raw/eval/minerva_math.jsonl" "$raw/eval/minerva_math_answers.json"
one gsm8k "$raw/eval/gsm8k_test.jsonl"
# training sets
one limr "$raw/train/limr.jsonl"
one math_lvl3to5_8k "$raw/train/math_lvl3to5_8k.json"
one deepscaler_aime "$raw/train/deepscaler_aime.json"
one deepscaler_math "$raw/train/deepscaler_math.json"
one deepscaler_subset2000 "$raw/train/deepscaler_subset2000.jsonl"
one gsm8k_train "$raw/train/gsm8k_train.jsonl"
