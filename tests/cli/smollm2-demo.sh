#!/usr/bin/env bash
# pipelines/smollm2-demo.mk (make smollm2-demo) on the tiny Qwen2 fixture in place of SmolLM2: the base and each
# evaluated checkpoint scored on the held-out problems, and the table's numbers those of eval.mk's scores and rollouts.
. "$(dirname "$0")/lib.bash"
F=$ROOT/tests/fixtures/models
for i in $(seq 1 6); do
    jq -cn --argjson i "$i" '{id: "h\($i)", problem: "What is \($i) plus \(2 * $i)?", answer: "\(3 * $i)", source: "toy"}'
done > heldout.jsonl
demo() {
    (cd "$ROOT" && make -s -f pipelines/smollm2-demo.mk TINA_BIN="$BIN" RUN="$SCRATCH/run" MODEL="$F/qwen2-f32" \
        TOKENIZER=data/models/tiny-math-bpe TRAIN=data/demo/train.jsonl HELDOUT="$SCRATCH/heldout.jsonl" EVAL_N=2 \
        STEPS=2 BATCH=2 G=2 MAX_NEW_TOKENS=8 THREADS=2 "$@")
}
demo > out 2> err
status=$?
check "the demo runs" status_is 0
check "it trains the smollm2-arith recipe: two steps, their adapters" \
    sh -c '[ -f run/step-0002/adapter/adapter_model.safetensors ] && jq -e ".RECIPE == \"smollm2-arith\"" run/settings.json'
check "the base (step 0), step 1 and step 2 evaluated on the held-out problems, 2 samples each" \
    sh -c 'for s in 0000 0001 0002; do [ "$(zstdcat run/step-$s/eval/heldout.rewarded.jsonl.zst | wc -l)" = 12 ] || exit 1; done'
check "with the recipe's prompt and the boxed_number reward" \
    sh -c 'jq -e ".template == \"smollm2\" and (.suffix | test(\"boxed\\\\{number\\\\}\")) and .rewards == \"accuracy,boxed_number\"" run/step-0002/eval/protocol.json'
for s in 0 1 2; do
    d=run/step-000$s/eval
    want=$(jq -r '.benchmarks[] | "\(."pass@1" * 1000 | round / 10)% [\(.ci95[0] * 1000 | round / 10), \(.ci95[1] * 1000 | round / 10)]"' $d/scores.json)
    boxed=$(zstdcat $d/heldout.rewarded.jsonl.zst | jq -s 'map(.rewards.boxed_number) | add / length * 1000 | round / 10')
    check "step $s's row: eval.mk's pass@1 and interval, the rollouts' share of number boxes" \
        grep -qF -- "$(printf '%-6s %-24s %13s%%' $s "$want" "$boxed")" out
done
check "the table has a row per evaluation and no other" [ "$(grep -cE '^[0-2] +[0-9.]+% \[' out)" = 3 ]
demo > out 2> err
status=$?
check "run again: nothing is redone (the same table, no step trained or evaluated)" \
    sh -c '[ '$status' = 0 ] && ! grep -q "step [0-9]*/2:" out err && [ "$(grep -cE "^[0-2] +[0-9.]+% \[" out)" = 3 ]'
(cd "$ROOT" && make -s -f pipelines/smollm2-demo.mk RUN="$SCRATCH/none" MODEL="$SCRATCH/absent") > out 2> err
status=$?
check "no model: exit 2, saying make smollm2 fetches it" sh -c '[ '$status' = 2 ] && grep -q "run make smollm2" err'
finish
