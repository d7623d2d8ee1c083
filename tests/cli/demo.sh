#!/usr/bin/env bash
# pipelines/demo.mk (make demo) cut to one step: its table, a shorter run given on the command line, and under
# make -j the first evaluation done before the training starts (beside it each would take THREADS).
. "$(dirname "$0")/lib.bash"
demo() {
    (cd "$ROOT" && make -s -f pipelines/demo.mk TINA_BIN="$BIN" DEMO="$SCRATCH/demo" STEPS=1 EVAL_N=1 THREADS=2 "$@")
}
demo -j2 > out 2> err
status=$?
check "make -j2 demo STEPS=1: done, one step trained" \
    sh -c '[ '$status' = 0 ] && [ -f demo/step-0001/adapter/adapter_model.safetensors ] && [ ! -e demo/step-0002 ]'
check "it says the steps it trains" grep -qx "training: 1 GRPO steps" out
held_out=$(grep -c . "$ROOT/data/demo/heldout.jsonl")
for when in before after; do
    want=$(zstdcat demo/$when.rewarded.jsonl.zst | jq -s -r 'map(.rewards.accuracy) | add / length * 1000 | round / 10')
    check "$when: every held-out problem scored once, its accuracy in the table" sh -c '
        [ "$(zstdcat demo/'$when'.rewarded.jsonl.zst | wc -l)" = '$held_out' ] &&
        grep -qE "^'$when' +'$want'% +[0-9.]+%$" out'
done
check "the base model evaluated before the training started" \
    jq -e --argjson before "$(date -r demo/before.rewarded.jsonl.zst +%s.%N)" \
        --argjson ended "$(date -r demo/step-0001/times/sample.json +%s.%N)" '$ended - .seconds > $before' \
        demo/step-0001/times/sample.json
demo > out 2> err
check "run again: nothing is redone" sh -c '! grep -q "^evaluating\|^training" out'
finish
