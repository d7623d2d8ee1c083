#!/usr/bin/env bash
# pipelines/lock.sh DIR PID: takes DIR for the make process PID (DIR/.lock holds "HOST PID"), then removes what
# killed runs left in DIR: temporary files and folders (NAME.tmp, NAME.tmp.zst, NAME.tmp-XXXXXX, .NAME.tmp-XXXXXX),
# which only a writer that holds the lock makes. Prints nothing when it took the lock; when another process holds it, prints why
# (for make's $(error)) and leaves everything as it was. A lock whose process is gone from this host is taken over,
# unless processes it started still run (TINA_LOCKED_RUN in their environment names DIR);
# one taken on another host (a run folder on a shared filesystem) is not: this host cannot see that process.
set -u
dir=$1 pid=$2
host=$(hostname 2> /dev/null || echo localhost)
lock=$dir/.lock
mkdir -p "$dir" || { echo "$dir: cannot create the folder"; exit 0; }
command_of() { tr '\0' ' ' < "/proc/$1/cmdline" 2> /dev/null | cut -c 1-160; }
for _ in 1 2; do
    if (set -o noclobber; echo "$host $pid" > "$lock") 2> /dev/null; then
        find "$dir" \( -name '*.tmp' -o -name '*.tmp.zst' -o -name '*.tmp-*' \) -prune -exec rm -rf {} + 2> /dev/null
        exit 0
    fi
    read -r held_host held_pid < "$lock" 2> /dev/null || { held_host=$host held_pid=; }
    [ "$held_host $held_pid" = "$host $pid" ] && exit 0 # ours already (a make that reads the makefile again)
    if [ "$held_host" != "$host" ]; then
        echo "$dir is in use by process $held_pid on $held_host; if that run is gone, remove $lock and run again"
        exit 0
    fi
    # a live make (a zombie has no command line; a reused process id is another program)
    if [[ $held_pid =~ ^[0-9]+$ ]] && kill -0 "$held_pid" 2> /dev/null && command_of "$held_pid" | grep -q make; then
        echo "$dir is in use by process $held_pid ($(command_of "$held_pid")); wait for it or stop it (kill \
$held_pid), then run again"
        exit 0
    fi
    # its process is gone, but what it started may run on (a kill -9 of make alone leaves its sub-makes and tools,
    # whose environment names the folder they write): taking the folder over would remove their files as they write
    survivors=$(grep -lsaxzF "TINA_LOCKED_RUN=$dir" /proc/[0-9]*/environ 2> /dev/null | cut -d/ -f3 | tr '\n' ' ')
    if [ -n "$survivors" ]; then
        echo "$dir: the make that held it ($held_pid) is gone, but processes it started still run (${survivors% }); \
wait for them to end or stop them, then run again"
        exit 0
    fi
    rm -f "$lock" # its process is gone: take it over
done
echo "$dir: cannot take its lock ($lock)"
