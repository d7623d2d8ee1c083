#!/usr/bin/env bash
# Every tool has a man page, and its --help and man page name the same options; the overview pages render.
. "$(dirname "$0")/lib.bash"
MAN=$ROOT/man

options_in() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

for tool in "$BIN"/tina-*; do
    name=$(basename "$tool")
    page="$MAN/$name.1"
    check "$name has a man page" [ -f "$page" ]
    [ -f "$page" ] || continue
    help_options=$("$tool" --help | options_in)
    man_options=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page" | options_in)
    for option in $help_options; do
        check "$name: $option of --help is in the man page" grep -qx -- "$option" <<<"$man_options"
    done
    for option in $man_options; do
        check "$name: $option of the man page is in --help" grep -qx -- "$option" <<<"$help_options"
    done
    check "$name: the man page renders without warnings" [ -z "$(groff -man -Tutf8 -ww -z "$page" 2>&1)" ]
done
for page in "$MAN"/*.7; do
    check "$(basename "$page"): renders without warnings" [ -z "$(groff -man -Tutf8 -ww -z "$page" 2>&1)" ]
done
check "tina(7) points to tina-cluster(7)" grep -q 'BR tina-cluster (7)' "$MAN/tina.7"

# tina(7)'s RECORDS name each field of lib/io/fields.h, under the stage that writes it, and no other
declared=$(sed -n 's/^ *X([A-Z_]*, "\([a-z_]*\)", \([A-Z]*\),.*/\2 \1/p' "$ROOT/lib/io/fields.h" | sort)
stated=$(sed -n '/^\.SH RECORDS/,/^\.SS Update metrics/p' "$MAN/tina.7" | awk '
    /^\.SS Prompt/ { stage = "DATA" } /^\.SS Rollout/ { stage = "SAMPLE" } /^\.SS Rewarded/ { stage = "REWARD" }
    /^\.SS Advantaged/ { stage = "ADVANTAGE" } /^\.SS Update/ { stage = "" }
    stage && /^\.B / { sub(/^\.B /, ""); n = split($0, names, /, */); for (i = 1; i <= n; i++) print stage, names[i] }
    stage == "DATA" && /\\fB[a-z_]*\\fR/ { while (match($0, /\\fB[a-z_]*\\fR/)) {
        print stage, substr($0, RSTART + 3, RLENGTH - 6); $0 = substr($0, RSTART + RLENGTH) } }' | sort -u)
check "tina(7) RECORDS: declared and stated fields agree" [ "$declared" = "$stated" ]
[ "$declared" = "$stated" ] || diff <(echo "$declared") <(echo "$stated") | sed 's/^/  /'
check "tina(7) RECORDS: every declared field" [ "$(wc -l <<<"$declared")" -ge 20 ]
finish
