#!/usr/bin/env bash
# The layering of lib/: every #include of a file in lib/PART names a part that lib/README.md's table lets PART include
# (or PART itself), by its folder ("io/record.h"); every folder of lib/ is a row of the table and every row a folder.
# No two sources of lib/ share a file name. Then the check is shown to catch what it is for: an upward include, a
# sibling's, a part's header named alone, a folder outside the table, each put into a copy of lib/, must fail it.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL layering: $*"; }

# check LIB: prints each violation, exits 1 when there is one
check() {
    local lib=$1 status=0
    # the table's rows: | `part/` | owns | `a` `b` |  ->  "part a b"
    local rules
    rules=$(sed -n 's/^| `\([a-z_]*\)\/` |.*| *\([^|]*\)|$/\1 \2/p' "$lib/README.md" | tr -d '`')
    [ -n "$rules" ] || { echo "$lib/README.md: no table of parts"; return 1; }
    local part
    for part in $(cut -d ' ' -f 1 <<<"$rules"); do
        [ -d "$lib/$part" ] || { echo "$lib/README.md: part $part/ is not a folder of $lib"; status=1; }
    done
    local dir
    for dir in "$lib"/*/; do
        dir=${dir%/} dir=${dir##*/}
        grep -q "^$dir\( \|$\)" <<<"$rules" || { echo "$lib/$dir/: not a part in $lib/README.md's table"; status=1; }
    done
    local file
    while IFS= read -r file; do
        part=${file#"$lib"/} part=${part%%/*}
        local allowed
        allowed=" $part $(grep "^$part " <<<"$rules" | cut -d ' ' -f 2-) "
        local line
        while IFS= read -r line; do
            local number=${line%%:*} target
            target=$(sed 's/.*#include "\([^"]*\)".*/\1/' <<<"$line")
            case $target in
            */*) ;;
            *) # a file of the same folder may be named alone only if it is not a part's header elsewhere
                if [ -e "$(dirname "$file")/$target" ]; then
                    echo "$file:$number: #include \"$target\": name its part (\"$part/...\")"; status=1
                fi
                continue ;;
            esac
            local to=${target%%/*}
            [ -d "$lib/$to" ] || continue # not a part of lib (a header of the emulator, say)
            if [[ $allowed != *" $to "* ]]; then
                echo "$file:$number: $part includes $to (\"$target\"): $part may include only:$allowed"
                status=1
            fi
        done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
    done < <(find "$lib" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) | sort)
    return $status
}

if out=$(check lib); then ok; else bad "lib/ breaks its layering:"; printf '%s\n' "$out"; fi

# the library is an archive of objects by their file names: two sources of one name would be one member, the later
# replacing the earlier without a word (ar r)
same=$(find lib \( -name '*.c' -o -name '*.cu' \) -printf '%f\n' | sed 's/\.[a-z]*$//' | sort | uniq -d)
if [ -z "$same" ]; then ok; else bad "sources of the same name in lib/ (one archive member): $same"; fi

# the check itself, on copies of lib/ with one mistake each
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fresh() { # a copy of lib/'s sources and table in $work/lib
    rm -rf "$work/lib" && cp -r lib "$work/lib" && rm -f "$work/lib/libtina.a"
}
caught() { # name, what the message must say
    local out
    if out=$(check "$work/lib"); then bad "$1: not caught"; elif grep -q "$2" <<<"$out"; then ok;
    else bad "$1: caught, but the message does not say '$2': $out"; fi
}
mistake() { # name, file under lib, line to add, what the message must say
    fresh && printf '%s\n' "$3" >> "$work/lib/$2" && caught "$1" "$4"
}
mistake "an upward include" base/buf.c '#include "model/model.h"' "base includes model"
mistake "a sibling's include" verify/score.c '#include "text/tokenizer.h"' "verify includes text"
mistake "a part's header named without its part" io/stream.c '#include "record.h"' 'name its part'
fresh && mkdir "$work/lib/extra" && caught "a folder outside the table" "extra/: not a part"
fresh && sed -i '/^| `train\/`/d' "$work/lib/README.md" && caught "a part missing from the table" "train/: not a part"

echo "layering: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
