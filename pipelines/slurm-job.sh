#!/usr/bin/env bash
# pipelines/slurm-job.sh: make some files of a pipeline in a Slurm job and wait for it (LAUNCHER=slurm).
#
#   slurm-job.sh [--array LIST] [--name NAME] [--logs DIR] [-- SBATCH-OPTION...] -- MAKEFILE TARGET...
#
# Submits one job (a job array over the indices in LIST, "0,2,5" or "0 2 5", with --array) that runs
# `make -f MAKEFILE LAUNCHER=local GPUS= TARGET...` in the current folder, each task with "%a" in the targets replaced
# by its index; the make variables come with the environment (sbatch exports it: MAKEFLAGS carries the driver's
# command-line variables). Waits with `sbatch --wait`; exits non-zero if any task failed (its log is named) or if a
# task's targets are not visible here afterwards (the run folder must be on a filesystem the nodes share).
# Interrupted, it cancels its job: a resumed driver never races a task of the run it replaced.
set -euo pipefail

if [ -n "${TINA_SLURM_TASK:-}" ]; then
    # in the job: the task's own targets, and no jobserver of the driver's make (its pipes are not here)
    index=${SLURM_ARRAY_TASK_ID:-0}
    makefile=$1
    shift
    MAKEFLAGS=$(sed -E 's/(^| )--jobserver-(auth|fds)=[^ ]*//g; s/(^| )-j[0-9]*( |$)/ /g' <<<"${MAKEFLAGS:-}")
    export MAKEFLAGS
    exec make -f "$makefile" LAUNCHER=local GPUS= "${@//%a/$index}"
fi

array="" name=tina logs=slurm-logs
sbatch_options=()
while [ $# -gt 0 ]; do
    case $1 in
        --array) array=$(echo $2 | tr ' ' ,); shift 2 ;;
        --name) name=$2; shift 2 ;;
        --logs) logs=$2; shift 2 ;;
        --) shift
            # options for sbatch up to the next --
            while [ $# -gt 0 ] && [ "$1" != -- ]; do sbatch_options+=("$1"); shift; done
            [ $# -gt 0 ] && shift
            break ;;
        *) break ;;
    esac
done
if [ $# -lt 2 ]; then
    echo "usage: slurm-job.sh [--array LIST] [--name NAME] [--logs DIR] [-- SBATCH-OPTION...] -- MAKEFILE TARGET..." >&2
    exit 2
fi
command -v sbatch > /dev/null || { echo "slurm-job.sh: sbatch not found (LAUNCHER=slurm needs Slurm's client)" >&2; exit 2; }

mkdir -p "$logs"
# a name no other submission shares, so that an interrupt cancels this job alone
name="$name-$$-$(date +%s%N | tail -c 7)"
log="$logs/$name-%A_%a.log"
[ -n "$array" ] || log="$logs/$name-%j.log"
cancel() {
    scancel --name "$name" 2> /dev/null || true
    echo "slurm-job.sh: interrupted: cancelled job $name" >&2
    exit 130
}
trap cancel INT TERM HUP
status=0
TINA_SLURM_TASK=1 sbatch --wait --quiet --job-name "$name" --output "$log" ${array:+--array "$array"} \
    "${sbatch_options[@]}" "$0" "$@" &
wait $! || status=$?
trap - INT TERM HUP
if [ "$status" != 0 ]; then
    echo "slurm-job.sh: job $name failed (sbatch exit $status): see $logs/$name-*.log" >&2
    exit 1
fi
# the driver must see what the tasks wrote
makefile=$1
shift
for index in $(tr , ' ' <<<"${array:-0}"); do
    for target in "${@//%a/$index}"; do
        if [ ! -e "$target" ]; then
            echo "slurm-job.sh: job $name ended but $target is not here: is the run folder on a filesystem the" \
                "nodes share?" >&2
            exit 1
        fi
    done
done
