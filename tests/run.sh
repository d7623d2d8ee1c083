#!/usr/bin/env bash
# Runs every test suite and adds up their "NAME: N passed, M failed" lines into one last line.
# Usage: tests/run.sh BUILD BIN [BUILD BIN]... [--emu EMU_BUILD]   (unit tests from BUILD/tests, CLI tests against
# BIN; with --emu, the CUDA backend built against the CUDA emulator in EMU_BUILD: the backend-generic unit tests on
# it, and tests/emu/cli.sh). The first BUILD's training, update and pipeline tests run again under TINA_CPU=avx2
# and TINA_CPU=generic (a CPU without AVX-512, one without AVX2): what they promise holds on every kernel. Then
# tests/layering.sh: lib/'s includes against the layering lib/README.md declares; tests/half-checked.sh: no check
# of a test script is followed by && or || (what follows would be tested by nobody). Before the total, the ten slowest
# suites and their seconds (where a run's time goes, for keeping CI short).
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 broken=0
timings=$(mktemp)
trap 'rm -f "$timings"' EXIT

run_suite() { # label, command...
    local label=$1; shift
    local out started=$SECONDS
    out=$("$@" 2>&1)
    local status=$?
    echo "$((SECONDS - started)) $label" >> "$timings"
    local counts
    counts=$(printf '%s\n' "$out" | sed -n 's/^.*: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' | tail -n 1)
    if [ -z "$counts" ]; then
        printf '%s\n' "$out"
        echo "BROKEN $label: exited $status without a result line"
        broken=$((broken + 1))
        return
    fi
    set -- $counts
    passed=$((passed + $1))
    failed=$((failed + $2))
    if [ "$2" -gt 0 ] || [ "$status" -ne 0 ]; then printf '%s\n' "$out"; else printf '%s\n' "$out" | grep '^note: ' || true; fi
    echo "$label: $1 passed, $2 failed"
}

emu=
while [ $# -ge 2 ]; do
    if [ "$1" = --emu ]; then
        emu=$2
        shift 2
        continue
    fi
    build=$1 bin=$2
    shift 2
    for source in tests/unit/test_*.c; do
        t=$build/tests/$(basename "$source" .c)
        run_suite "$t" "$t"
    done
    for t in tests/cli/*.sh; do
        run_suite "$t ($bin)" env TINA_BIN="$bin" bash "$t"
    done
    for kernel in ${kernels-avx2 generic}; do
        run_suite "$build/tests/test_train (TINA_CPU=$kernel)" env TINA_CPU="$kernel" "$build/tests/test_train"
        for t in tests/cli/tina-update.sh tests/cli/pipeline.sh; do
            run_suite "$t ($bin, TINA_CPU=$kernel)" env TINA_CPU="$kernel" TINA_BIN="$bin" bash "$t"
        done
    done
    kernels=""
done
run_suite tests/layering.sh bash tests/layering.sh
run_suite tests/half-checked.sh bash tests/half-checked.sh
if [ -n "$emu" ]; then
    for source in $(grep -l TINA_TEST_BACKEND tests/unit/test_*.c); do
        t=$emu/tests/$(basename "$source" .c)
        run_suite "$t (cuda, emulated)" env TINA_TEST_BACKEND=cuda "$t"
    done
    run_suite "$emu/tests/emu/test_emu" "$emu/tests/emu/test_emu"
    run_suite "tests/emu/cli.sh ($emu/bin)" env TINA_BIN="$emu/bin" bash tests/emu/cli.sh
fi
failed=$((failed + broken))
echo "slowest suites (seconds), of $SECONDS in all:"
sort -rn "$timings" | head -n 10 | sed 's/^/    /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
