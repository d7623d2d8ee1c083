#!/usr/bin/env bash
# eval.mk's default protocol against Tina's evaluation: the token ids lighteval (ed084813, with Tina's query templates
# and the distill's tokenizer) fed the model for four problems (tests/fixtures/eval/lighteval_prompts.jsonl, made by
# tests/reference/lighteval_prompts.py), rendered with eval.mk's template and prefix files. tina-tokenize renders and
# encodes as tina-sample does (the same chat and tokenizer code).
. "$(dirname "$0")/lib.bash"
FIXTURE=$ROOT/tests/fixtures/eval/lighteval_prompts.jsonl
TOK=$ROOT/data/models/deepseek-r1-distill-qwen-1.5b
setting() { (cd "$ROOT" && make -s -f pipelines/eval.mk OUT="$SCRATCH/x" MODEL=m "print-$1"); }
template=$(setting TEMPLATE)
check "eval.mk: Tina's protocol by default (deepseek-r1-lighteval, one sample, temperature 0.6, top-p 0.95, 32768)" \
    [ "$template $(setting N) $(setting TEMPERATURE) $(setting TOP_P) $(setting MAX_NEW_TOKENS)" = \
      "deepseek-r1-lighteval 1 0.6 0.95 32768" ]
# lighteval's vLLM model at ed084813 (Tina's eval scripts: max_model_length=32768 with max_new_tokens 32768): vLLM
# 0.7.2 ends a completion once prompt and completion hold 32,768 tokens, so a completion gets 32,768 less its prompt
check "eval.mk: Tina's max_model_length, 32768, prompt and completion together" [ "$(setting MAX_MODEL_LEN)" = 32768 ]
(cd "$ROOT" && make -n -f pipelines/eval.mk OUT="$SCRATCH/dry" MODEL=m SETS=data/sets/aime24.jsonl) > dry.txt 2>&1
check "eval.mk: tina-sample gets --max-model-len 32768" grep -q -- '--max-model-len 32768 ' dry.txt
(cd "$ROOT" && make -n -f pipelines/eval.mk OUT="$SCRATCH/dry2" MODEL=m SETS=data/sets/aime24.jsonl MAX_MODEL_LEN=) \
    > dry.txt 2>&1
check "eval.mk: MAX_MODEL_LEN= lifts the cap" sh -c '! grep -q -- --max-model-len "$0"' dry.txt
# Tina's metric for each set (run_eval_custom_tasks.py): aime* and amc* expr_gold_metric, math500, minerva and
# olympiadbench latex_gold_metric, gpqa* gpqa_metric; GRADER=open-r1 open-r1's accuracy for all; GRADER is one of two
: > gpqa_diamond.jsonl
graders_of() { (cd "$ROOT" && make -n -f pipelines/eval.mk OUT="$SCRATCH/dry3" MODEL=m "$@" \
    SETS="data/sets/aime24.jsonl data/sets/math500.jsonl $SCRATCH/gpqa_diamond.jsonl") 2> err |
    grep -o -- '--grader [a-z0-9-]*' | cut -d' ' -f2 | paste -sd' '; }
check "eval.mk: aime24 by lighteval-expr, math500 by lighteval-latex, gpqa_diamond by lighteval-letters" \
    [ "$(graders_of)" = "lighteval-expr lighteval-latex lighteval-letters" ]
check "eval.mk GRADER=open-r1: open-r1 for every set" [ "$(graders_of GRADER=open-r1)" = "open-r1 open-r1 open-r1" ]
for bad in 'GRADER=' 'GRADER=lighteval open-r1' 'GRADER=math-verify'; do
    graders=$(graders_of "$bad")
    check "eval.mk $bad: refused, nothing graded" sh -c '[ -z "$0" ] && grep -q "GRADER" err' "$graders"
done
while read -r record; do
    id=$(jq -r .id <<<"$record") set=$(jq -r .set <<<"$record")
    prefix=$(setting PREFIX_FILE)
    [ "${set#gpqa}" = "$set" ] || prefix=$(setting GPQA_PREFIX_FILE)
    text=$(cat "$ROOT/$prefix"; printf x) text=${text%x} # the file's text, its last newlines kept
    jq -c '{problem}' <<<"$record" > problem.jsonl
    "$BIN/tina-tokenize" -q -t "$TOK" --template "$template" --prefix "$text" problem.jsonl > out
    check "$id ($set): eval.mk's prompt has lighteval's token ids" \
        jq -e --argjson want "$(jq -c .ids <<<"$record")" '.tokens == $want' out
    "$BIN/tina-tokenize" -q -t "$TOK" --template deepseek-r1 --add-special-tokens \
        --prefix "$text" problem.jsonl > out
    check "$id: deepseek-r1-lighteval is deepseek-r1 with the tokenizer's BOS added, as lighteval's vLLM model does" \
        jq -e --argjson want "$(jq -c .ids <<<"$record")" '.tokens == $want' out
    check "$id: deepseek-r1's text is apply_chat_template's" jq -e --argjson want "$(jq -c .text <<<"$record")" '.text == $want' out
done < "$FIXTURE"
check "the fixture: four prompts, each starting with two BOS (151646)" \
    [ "$(jq -c '.ids[:2]' "$FIXTURE" | sort | uniq -c | sed 's/^ *//')" = "4 [151646,151646]" ]
finish
