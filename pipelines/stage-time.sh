#!/usr/bin/env bash
# pipelines/stage-time.sh FILE STEP STAGE START DEVICE: after a stage's command succeeded, record in FILE (one JSON
# line, written whole then renamed) its wall seconds since START (date +%s.%N), and what it ran on: DEVICE cuda is
# the GPU the process saw (CUDA_VISIBLE_DEVICES' first, by nvidia-smi), cpu the machine's CPU model. tina-cost sums
# these files into device-hours.
set -euo pipefail
[ $# = 5 ] || { echo "usage: stage-time.sh FILE STEP STAGE START DEVICE" >&2; exit 2; }
file=$1 step=$2 stage=$3 start=$4 device=$5
seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
if [ "$device" = cuda ]; then
    visible=${CUDA_VISIBLE_DEVICES:-} # unset (every GPU visible, the first used) on most machines
    name=$(nvidia-smi --query-gpu=name --format=csv,noheader ${visible:+-i "${visible%%,*}"} 2> /dev/null \
           || nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -n 1 || true)
    name=$(printf '%s\n' "$name" | head -n 1)
    name=${name:-unknown GPU}
else
    name=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2> /dev/null | head -n 1)
    name="${name:-unknown CPU} ($(nproc) threads)"
fi
mkdir -p "$(dirname "$file")"
jq -cn --argjson step "$((10#$step))" --arg stage "$stage" --argjson seconds "$seconds" --arg device "$name" \
    --arg host "$(hostname -s)" '{step: $step, stage: $stage, seconds: $seconds, devices: 1, device: $device, host: $host}' \
    > "$file.tmp"
mv "$file.tmp" "$file"
