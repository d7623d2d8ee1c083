#!/usr/bin/env bash
# A real Slurm on this machine: Debian's munge, slurmctld and slurmd run a one-node cluster from a scratch folder
# (their own key, socket, ports, state and logs; nothing under /etc is read or changed), and pipelines/grpo.mk runs
# two GRPO steps of the tiny Qwen2 with LAUNCHER=slurm SHARDS=2. Checks: the same adapter bytes as the local
# SHARDS=2 run and the same tokens as the one-process run, job arrays per sharded stage, a resume that submits only
# the missing shard, a sweep (two runs, their evaluations in jobs) equal to the same sweep run here, a failed task
# named, the shared-filesystem check, and an interrupt that cancels its job. Stops
# exactly the daemons it started (by pid). Needs root (or sudo without a password) to install the packages and run
# the daemons: .ci/run calls it.
if [ "$(id -u)" != 0 ] && command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
    exec sudo -n -E "$0" "$@"
fi
TEST_NAME=slurm
. "$(dirname "$0")/../cli/lib.bash"

packages="munge slurmctld slurmd slurm-client"
if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v sbatch > /dev/null \
    || ! command -v munged > /dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "slurm: needs $packages (or root to install them)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages > apt.log 2>&1 \
        || { apt-get update -qq > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                 --no-install-recommends $packages > apt.log 2>&1; } \
        || { echo "slurm: apt-get install $packages failed:" >&2; tail -n 5 apt.log >&2; exit 1; }
fi
if [ "$(id -u)" != 0 ]; then
    echo "slurm: the one-node cluster runs its daemons as root" >&2
    exit 1
fi

# ---- the cluster ---------------------------------------------------------------------------------------------
pids=()
stop_cluster() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null; done
    pids=()
}
trap 'stop_cluster; rm -rf "$SCRATCH"' EXIT
C=$SCRATCH/cluster
mkdir -p "$C/munge" "$C/state" "$C/spool" "$C/log"
chmod 711 "$C/munge"
dd if=/dev/urandom of="$C/munge/key" bs=1024 count=1 status=none
chmod 600 "$C/munge/key"
munged --foreground --force --socket="$C/munge/socket" --key-file="$C/munge/key" --log-file="$C/log/munged.log" \
    --pid-file="$C/munge/pid" --seed-file="$C/munge/seed" 2> "$C/log/munged.err" &
pids+=($!)
for _ in $(seq 1 50); do [ -S "$C/munge/socket" ] && break; sleep 0.1; done
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
cat > "$C/slurm.conf" << EOF
ClusterName=tina-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$C/munge/socket
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$C/slurm.conf
slurmctld -D -f "$SLURM_CONF" > "$C/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" > "$C/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ "$(sinfo -h -o %t 2> /dev/null)" = idle ] && break; sleep 0.2; done
check "a one-node cluster: the node is idle" [ "$(sinfo -h -o %t 2> /dev/null)" = idle ]
if [ "$(sinfo -h -o %t 2> /dev/null)" != idle ]; then
    tail -n 5 "$C"/log/*
    finish
    exit 1
fi

# ---- two GRPO steps, three ways --------------------------------------------------------------------------------
F=$ROOT/tests/fixtures/models
for i in $(seq 1 12); do
    jq -cn --argjson i "$i" '{id: "t\($i)", problem: "What is \($i) plus \(2 * $i)?", answer: "\(3 * $i)", solution: "$\(3 * $i)$", source: "toy"}'
done > train.jsonl
grpo() { # grpo RUN [VAR=value]...: two steps of a small run, rewards that vary between samples so the adapter moves
    (cd "$ROOT" && make -s -f pipelines/grpo.mk TINA_BIN="$BIN" SAVE_EVERY= RUN="$SCRATCH/$1" MODEL="$F/qwen2-f32" \
        TOKENIZER=data/models/tiny-math-bpe TRAIN="$SCRATCH/train.jsonl" STEPS=2 BATCH=4 G=4 MAX_NEW_TOKENS=12 \
        RANK=4 ALPHA=16 LR=1e-3 SCHEDULE=constant SYSTEM_FILE= THREADS=1 REWARDS="-r repetition,cosine" "${@:2}")
}
grpo one > /dev/null 2>&1
grpo local SHARDS=2 -j2 > /dev/null 2>&1
status=0
grpo slurm SHARDS=2 LAUNCHER=slurm > out 2> err || status=$?
check "LAUNCHER=slurm SHARDS=2: two steps" sh -c '[ "$0" = 0 ] && [ "$(wc -l < slurm/metrics.jsonl)" = 2 ]' "$status"
check "LAUNCHER=slurm: each step's sampling one array over the 2 shards, its gradients another" \
    sh -c 'for s in 0001 0002; do for stage in sample gradients; do for k in 0 1; do
               ls slurm/slurm/tina-$stage-$s-*_$k.log > /dev/null 2>&1 || exit 1; done; done; done'
check "LAUNCHER=slurm: tina-advantage and the update single jobs" \
    sh -c 'ls slurm/slurm/tina-advantage-0002-*.log slurm/slurm/tina-update-0002-*.log > /dev/null 2>&1'
check "LAUNCHER=slurm: the adapter's bytes are the local SHARDS=2 run's" \
    cmp -s slurm/step-0002/adapter/adapter_model.safetensors local/step-0002/adapter/adapter_model.safetensors
check "LAUNCHER=slurm: the optimizer state's bytes are the local SHARDS=2 run's" \
    cmp -s slurm/step-0002/adapter/optimizer.safetensors local/step-0002/adapter/optimizer.safetensors
check "LAUNCHER=slurm: every step samples the one-process run's tokens" \
    cmp -s <(zstdcat one/step-000?/rollouts.jsonl.zst | jq -c .completion_tokens) \
           <(zstdcat slurm/step-000?/rollouts.jsonl.zst | jq -c .completion_tokens)
check "LAUNCHER=slurm: gradient norms within 1e-5 of the one-process run's" \
    jq -e -n --slurpfile a one/metrics.jsonl --slurpfile b slurm/metrics.jsonl \
        '[$a, $b] | transpose | all((.[0].grad_norm - .[1].grad_norm | fabs) <= 1e-5 * .[0].grad_norm)' > /dev/null
"$BIN/tina-adapter" diff -m "$F/qwen2-f32" -a one/step-0002/adapter --against one/step-0000/adapter > moved.json
"$BIN/tina-adapter" diff -m "$F/qwen2-f32" -a slurm/step-0002/adapter --against one/step-0002/adapter > diff.json
# (AdamW's first steps divide each gradient component by its own size: f32 rounding in components near 0 shows)
check "LAUNCHER=slurm: the adapter within 1e-3 relative L2 of the one-process run's, a 100th of its move" \
    jq -e -n --slurpfile d diff.json --slurpfile m moved.json '$d[0].rel_l2 < 1e-3 and $d[0].rel_l2 < $m[0].rel_l2 / 100' \
        > /dev/null
echo "note: LAUNCHER=slurm SHARDS=2 vs one process after 2 steps: adapter relative L2 $(jq .rel_l2 diff.json)," \
    "of a move of $(jq .rel_l2 moved.json)"

touch marker
grpo slurm SHARDS=2 LAUNCHER=slurm > /dev/null 2>&1
check "LAUNCHER=slurm: the same command again submits nothing (but takes the run's lock)" \
    [ -z "$(rewritten_since_marker slurm)" ]
# a lost shard: resumed, only that shard's task is submitted again, and the step ends with the same bytes
rm -rf slurm/step-0002/adapter slurm/step-0002/metrics.json slurm/metrics.jsonl slurm/step-0002/shard-1/grads.safetensors
status=0
grpo slurm SHARDS=2 LAUNCHER=slurm > /dev/null 2>&1 || status=$?
check "resumed: one new gradient task, for shard 1 alone" \
    sh -c '[ "$0" = 0 ] && [ "$(find slurm/slurm -newer marker -name "tina-gradients-0002-*" | sed "s/.*_//")" = 1.log ]' \
    "$status"
check "resumed: no sampling submitted again" sh -c '[ -z "$(find slurm/slurm -newer marker -name "tina-sample-*")" ]'
check "resumed: the same adapter bytes" \
    cmp -s slurm/step-0002/adapter/adapter_model.safetensors local/step-0002/adapter/adapter_model.safetensors

# a sweep through Slurm: two one-step runs, every checkpoint evaluated as a job, the bytes of the same sweep run here
printf 'GRID := LOSS=grpo,dr_grpo\n' > grid.mk
sweep() { # sweep OUT [VAR=value]...
    (cd "$ROOT" && make -s -f pipelines/sweep.mk SWEEP="$SCRATCH/grid.mk" OUT="$SCRATCH/$1" CKPT_EVERY=1 SAVE_EVERY= \
        TINA_BIN="$BIN" MODEL="$F/qwen2-f32" TOKENIZER=data/models/tiny-math-bpe TRAIN="$SCRATCH/train.jsonl" \
        STEPS=1 BATCH=4 G=4 MAX_NEW_TOKENS=12 RANK=4 ALPHA=16 LR=1e-3 SCHEDULE=constant SYSTEM_FILE= THREADS=1 \
        REWARDS="-r repetition,cosine" EVAL_SETS="$SCRATCH/train.jsonl" EVAL_N=1 EVAL_VARS="MAX_NEW_TOKENS=12" "${@:2}")
}
sweep sweep-local > /dev/null 2>&1
status=0
sweep sweep-slurm LAUNCHER=slurm -j2 > /dev/null 2>&1 || status=$?
check "a sweep with LAUNCHER=slurm: both runs, their checkpoints evaluated in jobs" \
    sh -c '[ "$0" = 0 ] && ls sweep-slurm/loss-dr-grpo/slurm/tina-eval-0001-*.log > /dev/null 2>&1 &&
           [ -s sweep-slurm/loss-grpo/step-0001/eval/scores.json ]' "$status"
check "... the adapters and scores of the same sweep run here" \
    sh -c 'for r in loss-grpo loss-dr-grpo; do
               cmp -s sweep-local/$r/step-0001/adapter/adapter_model.safetensors \
                      sweep-slurm/$r/step-0001/adapter/adapter_model.safetensors || exit 1
               cmp -s sweep-local/$r/step-0001/eval/scores.json sweep-slurm/$r/step-0001/eval/scores.json || exit 1
           done'

# a task that fails: the driver stops with the job's name and its log
status=0
grpo broken SHARDS=2 LAUNCHER=slurm TOP_P=7 > out 2> err || status=$?
check "a failed task: the run stops" sh -c '[ "$0" != 0 ] && [ ! -e broken/step-0001/rollouts.jsonl.zst ]' "$status"
check "a failed task: named, with its log" grep -q "slurm-job.sh: job tina-sample-0001-.* failed (sbatch exit .*): see" err
check "a failed task: its log says why" grep -qr -- "--top-p: '7' is not a number" broken/slurm

# a job that ends without its files where the driver looks: the run folder is not shared
printf 'made:\n\t@true\n' > nothing.mk
status=0
(cd "$SCRATCH" && "$ROOT/pipelines/slurm-job.sh" --logs logs -- -- nothing.mk made > out 2> err) || status=$?
check "a task's files not visible to the driver: refused" sh -c '[ "$0" != 0 ]' "$status"
check "... saying the folder must be shared" grep -q "is the run folder on a filesystem the nodes share" err

# interrupted, the driver's submission cancels its job
printf 'slow:\n\t@sleep 60\n' > slow.mk
(cd "$SCRATCH" && exec "$ROOT/pipelines/slurm-job.sh" --name slow --logs logs -- -- slow.mk slow > /dev/null 2>&1) &
submitter=$!
for _ in $(seq 1 100); do [ -n "$(squeue -h -o %j 2> /dev/null)" ] && break; sleep 0.1; done
running=$(squeue -h -o %j | grep -c '^slow-')
kill -TERM "$submitter"
wait "$submitter" 2> /dev/null
for _ in $(seq 1 100); do [ -z "$(squeue -h 2> /dev/null)" ] && break; sleep 0.1; done
check "interrupted: its job was queued, then cancelled" sh -c '[ "$0" = 1 ] && [ -z "$(squeue -h)" ]' "$running"

started=("${pids[@]}")
stop_cluster
check "the daemons it started are gone" sh -c 'for pid; do ! kill -0 "$pid" 2> /dev/null || exit 1; done' - "${started[@]}"
finish
