#!/usr/bin/env bash
# Every check of the test scripts tests all it names: `check NAME A && B` runs check on A alone, and B is tested by
# nobody (24 checks were so, three of them hiding a stale expectation). Prints each such check of tests/**/*.sh,
# then shows it catches one: a planted half-check must be found, its whole form not.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0

# half_checked FILE...: "FILE:LINE" for each check followed by && or || outside its quotes and $( ) or <( )
half_checked() {
    awk '
    text == "" && !/^[ \t]*check / { next }
    text == "" { start = FNR; state = ""; depth = 0; bare = "" }
    {
        text = text $0
        for (i = 1; i <= length($0); i++) {
            c = substr($0, i, 1)
            if (state == "'\''") { if (c == "'\''") state = ""; continue }
            if (c == "\\") { i++; continue }
            if (state == "\"") { if (c == "\"") state = ""; continue }
            if (c == "'\''" || c == "\"") { state = c; continue }
            before = substr($0, i - 1, 1)
            if (c == "(" && (depth || before == "$" || before == "<")) { depth++; continue }
            if (depth && c == ")") { depth--; continue }
            if (!depth) bare = bare c
        }
        if (state != "" || depth || $0 ~ /\\$/) next # the check goes on on the next line
        if (bare ~ /&&|\|\|/) print FILENAME ":" start
        text = ""
    }' "$@"
}

found=$(half_checked $(find tests -name '*.sh' ! -name half-checked.sh | sort))
if [ -z "$found" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1))
    echo "FAIL: checks followed by && or || (only their first command is checked; quote the whole, e.g. eval '...'):"
    printf '    %s\n' $found
fi
planted=$(mktemp)
trap 'rm -f "$planted"' EXIT
cat > "$planted" <<'PLANTED'
check "a (the message's) line" [ "$status" -eq 2 ] && stderr_has 'x "y"'
check "whole" eval '[ "$status" -eq 2 ] && stderr_has "it'\''s"'
check "whole, over lines" sh -c '[ -e a ] &&
    [ -e b ]'
check "whole, a pipe inside" cmp -s <(echo a | cat) <(echo "b" || true)
check "whole, a substitution" [ "$(echo a && echo b)" = x ]
check "over lines" [ -e a ] \
    && [ -e b ]
PLANTED
if [ "$(half_checked "$planted" | sed 's/.*://' | tr '\n' ' ')" = "1 7 " ]; then passed=$((passed + 1)); else
    failed=$((failed + 1))
    echo "FAIL: the planted half-checks at lines 1 and 7 are not exactly what it found: $(half_checked "$planted")"
fi
echo "half-checked: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
