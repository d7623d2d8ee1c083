#!/usr/bin/env bash
# data/import/test.sh as a suite: the importers on synthetic records of every published form (the sets shipped and
# those a user imports), their golds read by this build's tina-reward.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$ROOT" && cd "${TINA_BIN:-bin}" && pwd)
out=$(TINA_REWARD="$BIN/tina-reward" bash "$ROOT/data/import/test.sh" 2>&1)
status=$?
printf '%s\n' "$out" | grep -v '^ok ' | sed '$d'
echo "import: $(printf '%s\n' "$out" | tail -n 1)"
exit $status
