#!/usr/bin/env bash
# Import a raw benchmark or training set into tina's prompt schema (man/tina.7), one JSON record a line on stdout.
#
#   data/import/import.sh [-f FORMAT] [-a KEY=VALUE]... NAME RAW [ANSWERS] > NAME.jsonl
#
# NAME   the set's name: it becomes each record's "source" and the prefix of its "id". A known name (listed by -l)
#        brings its format and options; any other name needs -f.
# RAW    the raw file as published (- for stdin): JSON lines, one JSON array, or CSV (gpqa); plain, gzip or zstd.
#        A Parquet file (the Hugging Face Hub's usual form) must be exported to JSON lines first (see data/SOURCES.md).
# ANSWERS  minerva only: agentica-project/deepscaler's deepscaler/data/test/minerva.json, whose answers are matched
#        to RAW's problems by idx.
# -f FORMAT  qa, gsm8k, minerva, verl, ii_thought or gpqa (data/import/FORMAT.jq says what each maps).
# -a KEY=VALUE  passed to the format's jq program as --arg KEY VALUE (qa: problem=FIELD, answer=FIELD, id=FIELD,
#        int_answer=1; gpqa: seed=S, the run whose draw of the correct answer's position to use).
# -l     list the known names.
#
# Needs bash, jq 1.6 or later, and zstd or gzip for compressed input. Exit status 0, or 1 with a message on stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "import.sh: $*" >&2; exit 1; }

# name: format and options
known() {
    case $1 in
        aime24)                echo "qa int_answer=1" ;;   # answers zero-padded ("025")
        aime25|amc23|math500)  echo "qa" ;;
        minerva)               echo "minerva" ;;
        gsm8k|gsm8k_train)     echo "gsm8k" ;;
        limr)                  echo "qa problem=context" ;;
        math_lvl3to5_8k)       echo "qa problem=prompt" ;;
        deepscaler_aime|deepscaler_math|deepscaler) echo "qa" ;;
        deepscaler_subset2000) echo "verl" ;;
        open-rs|open-s1)       echo "qa" ;;
        openr1)                echo "qa id=uuid" ;;
        still3)                echo "qa problem=question" ;;
        curated-thoughts)      echo "qa" ;;
        ii-thought)            echo "ii_thought" ;;
        gpqa_diamond)          echo "gpqa" ;;
        *) return 1 ;;
    esac
}
names="aime24 aime25 amc23 math500 minerva gsm8k gsm8k_train limr math_lvl3to5_8k deepscaler_aime deepscaler_math
deepscaler deepscaler_subset2000 open-rs open-s1 openr1 still3 curated-thoughts ii-thought gpqa_diamond"

format= args=()
while getopts "f:a:lh" opt; do
    case $opt in
        f) format=$OPTARG ;;
        a) [[ $OPTARG == *=* ]] || die "-a wants KEY=VALUE, not '$OPTARG'"; args+=("$OPTARG") ;;
        l) for n in $names; do printf '%-22s %s\n' "$n" "$(known "$n")"; done; exit 0 ;;
        h) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) exit 1 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || die "usage: import.sh [-f FORMAT] [-a KEY=VALUE]... NAME RAW [ANSWERS] (-h for help)"
name=$1 raw=$2 answers=${3:-}
[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "NAME '$name': letters, digits, _ . - only"
if [ -z "$format" ]; then
    spec=$(known "$name") || die "unknown set '$name': give its format with -f (qa, gsm8k, minerva, verl, ii_thought, gpqa)"
    read -r format preset <<<"$spec"
    for kv in $preset; do args=("$kv" "${args[@]}"); done
fi
[ -f "$here/$format.jq" ] && [ "$format" != common ] && [ "$format" != csv ] || die "unknown format '$format'"
[ "$raw" = - ] || [ -r "$raw" ] || die "cannot read $raw"
[ -z "$answers" ] || [ -r "$answers" ] || die "cannot read $answers"
[ -z "$answers" ] || [ "$format" = minerva ] || die "ANSWERS is for the minerva format only"

# The raw file as text on stdout, decompressed by its first bytes.
cat_raw() {
    local magic
    magic=$(od -An -tx1 -N4 "$1" | tr -d ' \n')
    case $magic in
        28b52ffd) zstd -dc -- "$1" ;;
        1f8b*)    gzip -dc -- "$1" ;;
        50415231) die "$1 is Parquet: export it to JSON lines first (see data/SOURCES.md)" ;;
        *)        cat -- "$1" ;;
    esac
}

tmpdir=$(mktemp -d); trap 'rm -rf "$tmpdir"' EXIT
if [ "$raw" = - ] || [ ! -f "$raw" ]; then   # a pipe is read twice below: keep a copy
    cat -- "${raw/#-//dev/stdin}" > "$tmpdir/raw"; raw=$tmpdir/raw
fi

jq_args=(--arg source "$name")
for kv in ${args[@]+"${args[@]}"}; do jq_args+=(--arg "${kv%%=*}" "${kv#*=}"); done
if [ -n "$answers" ]; then
    cat_raw "$answers" > "$tmpdir/answers"
    jq_args+=(--slurpfile answers "$tmpdir/answers")
fi

first=$({ cat_raw "$raw" 2>/dev/null || true; } | head -c 65536 | tr -d ' \t\r\n' | head -c 1) || true
# (jq's own exit status for a refused record is 5: the documented 1 instead)
if [ "$format" = gpqa ] && [ "$first" != "{" ] && [ "$first" != "[" ]; then
    # CSV: rows to JSON objects first
    cat_raw "$raw" | jq -R -s -c -L "$here" 'include "csv"; csv_objects' \
        | jq -n -c -L "$here" "${jq_args[@]}" -f "$here/$format.jq" || exit 1
else
    cat_raw "$raw" | jq -n -c -L "$here" "${jq_args[@]}" -f "$here/$format.jq" || exit 1
fi
