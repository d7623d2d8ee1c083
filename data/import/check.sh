#!/usr/bin/env bash
# Check the gold answers of imported sets with tina's own gold parser: each record goes through
# `tina-reward -q -r accuracy` with an empty completion, and a gold that does not parse gives accuracy null.
#
#   data/import/check.sh [SET.jsonl[.zst]]...      (default: every set in data/sets/)
#
# Prints a Markdown table (set, records, unparseable golds), then up to 3 ids and answers of unparseable golds per set.
# Needs bin/tina-reward (make) or TINA_REWARD=path; exit status 1 when any gold does not parse.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
reward=${TINA_REWARD:-$here/../../bin/tina-reward}
[ -x "$reward" ] || { echo "check.sh: no $reward (run make, or set TINA_REWARD)" >&2; exit 1; }
[ $# -gt 0 ] || set -- "$here"/../sets/*.jsonl "$here"/../sets/*.jsonl.zst
bad=0 notes=""
echo "| set | records | unparseable golds |"
echo "|---|---:|---:|"
for f in "$@"; do
    [ -e "$f" ] || continue
    name=$(basename "$f"); name=${name%.zst}; name=${name%.jsonl}
    result=$("$reward" -q -r accuracy <(zstd -dcf -- "$f" | jq -c '. + {completion: ""}') \
        | jq -s -c '{n: length, null: [.[] | select(.rewards.accuracy == null) | {id, answer}]}')
    n=$(jq -r .n <<<"$result"); nulls=$(jq -r '.null | length' <<<"$result")
    echo "| $name | $n | $nulls |"
    if [ "$nulls" -gt 0 ]; then
        bad=1
        notes+=$(jq -r --arg s "$name" '.null[:3][] | "\($s): \(.id) answer \(.answer | tojson)"' <<<"$result")$'\n'
    fi
done
[ -z "$notes" ] || printf '\n%s' "$notes"
exit $bad
