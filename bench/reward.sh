#!/usr/bin/env bash
# Benchmark: the accuracy reward over the committed parity corpus (tests/fixtures/reward/corpus.jsonl.zst),
#   - tina-reward -r accuracy (one process, the corpus repeated REPEAT times so the run is long enough to time);
#   - the peer: open-r1's accuracy reward, Math-Verify 0.9.0 in Python (bench/reward_peer.py), same pairs once, in
#     the main thread with its default timeouts, timed inside the process (imports excluded).
# Needs PYTHON with math-verify (e.g. PYTHON=venv/bin/python, a virtual environment outside the repo).
# Writes bench/results/reward.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
REPEAT=${REPEAT:-20}
work=build/bench
mkdir -p "$work"
corpus=tests/fixtures/reward/corpus.jsonl.zst
n=$(zstd -dc "$corpus" | wc -l)

for _ in $(seq "$REPEAT"); do zstd -dc "$corpus"; done > "$work/reward-input.jsonl"
t0=$(date +%s.%N)
bin/tina-reward -q -r accuracy "$work/reward-input.jsonl" > "$work/reward-tina.jsonl"
t1=$(date +%s.%N)
tina=$(echo "($t1 - $t0) / $REPEAT" | bc -l)

zstd -dc "$corpus" | "$PYTHON" bench/reward_peer.py > "$work/reward-peer.txt" 2> "$work/reward-peer.time"
peer=$(tail -n 1 "$work/reward-peer.time")

# Agreement of the two on the same pairs, from this run.
agree=$(paste -d ' ' <(head -n "$n" "$work/reward-tina.jsonl" | jq -r '.rewards.accuracy') "$work/reward-peer.txt" |
        awk '$1 == $2 { a++ } END { print a + 0 }')

. bench/measured.sh # cpu, code
mv=$("$PYTHON" -c 'from importlib.metadata import version as v; print(v("math-verify") + " (sympy " + v("sympy") + ")")')
table=$(cat <<MD
## accuracy reward, $n (gold, completion) pairs of the parity corpus — $(date -u +%Y-%m-%d), $cpu, one core, code at $code

| run | seconds | pairs/s | vs Math-Verify |
|---|---|---|---|
| tina-reward -r accuracy (mean of $REPEAT passes) | $(printf %.3f "$tina") | $(printf %.0f "$(echo "$n / $tina" | bc -l)") | $(printf %.0f "$(echo "$peer / $tina" | bc -l)")x |
| Math-Verify $mv, open-r1's accuracy_reward | $(printf %.1f "$peer") | $(printf %.0f "$(echo "$n / $peer" | bc -l)") | 1x |

Verdicts equal on $agree of $n pairs in this run.
MD
)
echo "$table"
mkdir -p bench/results
{ echo "$table"; echo; } >> bench/results/reward.md
