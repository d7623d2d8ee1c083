# Sourced by the CLI tests: a scratch folder, a runner that keeps stdout, stderr and the exit status,
# and checks that count. Each test script ends with `finish`, which prints "NAME: N passed, M failed" (NAME: the
# script's, or TEST_NAME).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(cd "$ROOT" && cd "${TINA_BIN:-bin}" && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH" || exit 1
passed=0 failed=0
status=0

# run TOOL [ARG]...: runs bin/TOOL with stdin from /dev/null; leaves out, err and $status.
run() { run_with /dev/null "$@"; }
# run_with INPUT TOOL [ARG]...: the same, with stdin from the file INPUT. Under the sanitizer builds any report
# (a leak on an error path, say) is a failure of its own, whatever the test checks next.
run_with() {
    local input=$1; shift
    "$BIN/$1" "${@:2}" <"$input" >out 2>err
    status=$?
    if grep -q 'Sanitizer' err; then
        failed=$((failed + 1))
        echo "FAIL: sanitizer report from: $*"
        sed 's/^/  stderr: /' err | head -n 20
    fi
}

# check NAME COMMAND...: one assertion; COMMAND succeeds or the test fails with what it saw. (COMMAND's own
# stdout, jq -e's "true" say, is not the test's output.)
check() {
    local name=$1; shift
    if "$@" > /dev/null; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name"
        echo "  check: $*"
        echo "  status: $status"
        sed 's/^/  stderr: /' err 2>/dev/null | head -n 5
        sed 's/^/  stdout: /' out 2>/dev/null | head -n 5
    fi
}

status_is() { [ "$status" -eq "$1" ]; }
stderr_has() { grep -qF -- "$1" err; }
stderr_lacks() { ! grep -qF -- "$1" err; }
stdout_is() { [ "$(cat out)" = "$1" ]; }
differ() { ! cmp -s "$1" "$2"; }
# jq_true [--arg|--argjson NAME VALUE]... FILTER [FILE]: the filter, run over all records of FILE (default out) as
# one array, yields true.
jq_true() {
    local args=()
    while [ "${1:-}" = --arg ] || [ "${1:-}" = --argjson ]; do args+=("$1" "$2" "$3"); shift 3; done
    jq -e -s "${args[@]}" "$1" "${2:-out}" >/dev/null 2>&1
}
# rewritten_since_marker DIR: the files under DIR newer than ./marker, but for a pipeline's lock (each make takes it)
rewritten_since_marker() { find "$1" -newer marker -type f ! -name .lock; }
# near A B [TOL]: numbers within TOL (default 1e-12)
near() { awk -v a="$1" -v b="$2" -v t="${3:-1e-12}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

finish() {
    echo "${TEST_NAME:-$(basename "$0" .sh)}: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
