#!/usr/bin/env bash
# pipelines/lock.sh DIR PID: takes DIR for the make process PID (DIR/.lock holds its PID), then removes what killed
# runs left in DIR: temporary files and folders (NAME.tmp, NAME.tmp-XXXXXX, .NAME.tmp-XXXXXX), which only a writer
# that holds the lock makes. Prints nothing when it took the lock; when a live process holds it, prints why (for
# make's $(error)) and leaves everything as it was. A lock whose process is gone is taken over.
set -u
dir=$1 pid=$2
lock=$dir/.lock
mkdir -p "$dir" || { echo "$dir: cannot create the folder"; exit 0; }
holder() { # the live make process named in the lock, if any
    local held
    held=$(cat "$lock" 2> /dev/null) || return 1
    [[ $held =~ ^[0-9]+$ ]] && [ "$held" != "$pid" ] && kill -0 "$held" 2> /dev/null &&
        tr '\0' ' ' < "/proc/$held/cmdline" 2> /dev/null | grep -q make && echo "$held"
}
for _ in 1 2; do
    if (set -o noclobber; echo "$pid" > "$lock") 2> /dev/null; then
        find "$dir" \( -name '*.tmp' -o -name '*.tmp-*' \) -prune -exec rm -rf {} + 2> /dev/null
        exit 0
    fi
    if held=$(holder); then
        echo "$dir is in use by process $held ($(tr '\0' ' ' < "/proc/$held/cmdline" | cut -c 1-160)); wait for it \
or stop it (kill $held), then run again"
        exit 0
    fi
    [ "$(cat "$lock" 2> /dev/null)" = "$pid" ] && exit 0 # ours already (a make that reads the makefile again)
    rm -f "$lock"                                        # its process is gone: take it over
done
echo "$dir: cannot take its lock ($lock)"
