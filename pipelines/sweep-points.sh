#!/usr/bin/env bash
# pipelines/sweep-points.sh [--json] AXIS...: the points of a sweep's grid, the cross product of its axes. An axis is
# VAR=v1,v2,... or, for settings that move together, VAR+VAR=a+b,c+d (RANK+ALPHA=4+16,8+32). Each point is one word,
# NAME:VAR=value:VAR=value (--json: a JSON line {"name", "settings"}); NAME joins "var-value" of each axis's first
# variable with "_" (a path by its file name: TRAIN=data/sets/limr.jsonl is "train-limr"). Values hold no spaces,
# commas, colons or "+".
set -euo pipefail
json=
[ "${1:-}" = --json ] && { json=1; shift; }
names=("") assigns=("")
for axis in "$@"; do
    [[ $axis == *=* ]] || { echo "sweep-points.sh: an axis is VAR=v1,v2,...: '$axis'" >&2; exit 2; }
    IFS=+ read -ra vars <<< "${axis%%=*}"
    IFS=, read -ra values <<< "${axis#*=}"
    next_names=() next_assigns=()
    for p in "${!names[@]}"; do
        for value in "${values[@]}"; do
            IFS=+ read -ra parts <<< "$value"
            if [ ${#parts[@]} != ${#vars[@]} ]; then
                echo "sweep-points.sh: '$value' does not give one value to each of ${axis%%=*}" >&2
                exit 2
            fi
            label=$(basename "${parts[0]}")
            label=$(tr -c 'A-Za-z0-9.\n-' - <<< "${label%%.jsonl*}")
            name=${names[p]}${names[p]:+_}$(tr 'A-Z_' 'a-z-' <<< "${vars[0]}")-$label
            a=${assigns[p]}
            for i in "${!vars[@]}"; do a+="${a:+:}${vars[i]}=${parts[i]}"; done
            next_names+=("$name") next_assigns+=("$a")
        done
    done
    names=("${next_names[@]}") assigns=("${next_assigns[@]}")
done
for p in "${!names[@]}"; do
    if [ -n "$json" ]; then
        IFS=: read -ra fields <<< "${assigns[p]}"
        jq -cn --arg name "${names[p]}" '{name: $name, settings: ($ARGS.positional | map(split("=")
            | {key: .[0], value: (.[1:] | join("="))}) | from_entries)}' --args "${fields[@]}"
    else
        printf '%s:%s\n' "${names[p]}" "${assigns[p]}"
    fi
done
