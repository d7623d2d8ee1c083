#!/usr/bin/env bash
# Benchmark: tina-advantage on N small rewarded records (default 1,000,000), zstd in and zstd out, against
#   - a Python peer doing the same job with the standard library (json + statistics), the way a TRL-side script
#     would, through the same zstd pipes;
#   - the floor: zstd decompressing and recompressing the same bytes with no JSON work at all.
# Prints a table and writes it to bench/results/advantage.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
G=${G:-8}
work=build/bench
mkdir -p "$work"

# Records shaped like tina-reward's output without the long text fields.
awk -v n="$N" -v g="$G" 'BEGIN { srand(42); for (i = 0; i < n; i++) {
    r = rand() < 0.4 ? 1 : 0; f = rand() < 0.8 ? 1 : 0
    printf "{\"id\":\"p%07d\",\"sample\":%d,\"source\":\"bench\",\"rewards\":{\"accuracy\":%d,\"format\":%d},\"reward\":%d,\"pred\":\"%d\",\"finish_reason\":\"stop\"}\n", int(i / g), i % g, r, f, 2 * r + f, int(rand() * 1000)
} }' | zstd -q -f -o "$work/rewarded.jsonl.zst"
bytes=$(zstd -dc "$work/rewarded.jsonl.zst" | wc -c)

cat > "$work/peer.py" <<'PY'
import itertools, json, statistics, sys
out = sys.stdout
for _, group in itertools.groupby((json.loads(line) for line in sys.stdin), key=lambda r: r["id"]):
    group = list(group)
    rewards = [r["reward"] for r in group if r["reward"] is not None]
    flat = len(rewards) < 2 or min(rewards) == max(rewards)
    mean = statistics.fmean(rewards) if rewards else 0.0
    std = statistics.stdev(rewards) if len(rewards) > 1 else 0.0
    for r in group:
        r["advantage"] = 0.0 if flat or r["reward"] is None else (r["reward"] - mean) / (std + 1e-4)
        out.write(json.dumps(r, separators=(",", ":")) + "\n")
PY

seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
tina=$(seconds bin/tina-advantage -q "$work/rewarded.jsonl.zst" -o "$work/tina.jsonl.zst")
peer=$(seconds sh -c "zstd -dc '$work/rewarded.jsonl.zst' | python3 '$work/peer.py' | zstd -q -c > '$work/peer.jsonl.zst'")
floor=$(seconds sh -c "zstd -dc '$work/rewarded.jsonl.zst' | zstd -q -c > /dev/null")

# The two outputs must agree before their times mean anything.
same=$(paste -d ' ' <(zstd -dc "$work/tina.jsonl.zst" | jq -r .advantage) \
                    <(zstd -dc "$work/peer.jsonl.zst" | jq -r .advantage) |
       awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-12) bad++ } END { print bad ? "NO (" bad " differ)" : "yes" }')

. bench/measured.sh # cpu, code
table=$(cat <<MD
## tina-advantage, $N records ($((bytes / 1000000)) MB of JSON), zstd in and out — $(date -u +%Y-%m-%d), $cpu, code at $code

| run | seconds | records/s | vs tina |
|---|---|---|---|
| tina-advantage | $(printf %.2f "$tina") | $(printf %.0f "$(echo "$N / $tina" | bc -l)") | 1.00 |
| Python peer (json + statistics), same zstd pipes | $(printf %.2f "$peer") | $(printf %.0f "$(echo "$N / $peer" | bc -l)") | $(printf %.1f "$(echo "$peer / $tina" | bc -l)")x slower |
| floor: zstd -d \| zstd, no JSON work | $(printf %.2f "$floor") | $(printf %.0f "$(echo "$N / $floor" | bc -l)") | $(printf %.2f "$(echo "$floor / $tina" | bc -l)") |

Advantages of tina and the peer agree within 1e-12: $same.
MD
)
echo "$table"
printf '%s\n\n' "$table" >> bench/results/advantage.md
