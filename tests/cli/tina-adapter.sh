#!/usr/bin/env bash
# tina-adapter, driven as a user would, on the tiny fixture models (tests/fixtures/models/, made by
# tests/reference/models.py); the numbers themselves are tests/unit/test_model.c's job.
. "$(dirname "$0")/lib.bash"
F=$ROOT/tests/fixtures/models

run tina-adapter init -m "$F/qwen2-f32" -o fresh -r 4 --alpha 8 --targets q_proj,v_proj --seed 1
check "init: exit 0" status_is 0
check "init: PEFT's files" eval '[ -s fresh/adapter_config.json ] && [ -s fresh/adapter_model.safetensors ]'
check "init: the config says what was asked" jq_true '.[0] | .r == 4 and .lora_alpha == 8 and .target_modules == ["q_proj", "v_proj"] and .peft_type == "LORA" and .task_type == "CAUSAL_LM"' fresh/adapter_config.json
check "init: summary on stderr" stderr_has "init: r=4, alpha=8, 1792 parameters"
run tina-adapter init -m "$F/qwen2-f32" -o again -r 4 --alpha 8 --targets q_proj,v_proj --seed 1
check "init: the same seed gives the same bytes" cmp -s fresh/adapter_model.safetensors again/adapter_model.safetensors
run tina-adapter init -m "$F/qwen2-f32" -o other -r 4 --alpha 8 --targets q_proj,v_proj --seed 2
check "init: another seed gives another adapter" differ fresh/adapter_model.safetensors other/adapter_model.safetensors

run tina-adapter copy -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o copied
check "copy: a PEFT adapter is rewritten" eval '[ "$status" -eq 0 ] && [ -s copied/adapter_model.safetensors ]'
check "copy: the same bytes as the committed copy" cmp -s copied/adapter_model.safetensors "$F/qwen2-lora-tina-copy/adapter_model.safetensors"
run tina-adapter copy -m "$F/qwen2-f32" -a "$F/llama-lora" -o wrong
check "copy: another model's adapter is refused" status_is 2
check "copy: another model's adapter is refused (what it says)" stderr_has "an adapter for another model?"
jq '.use_dora = true' "$F/qwen2-lora/adapter_config.json" > dora.json
mkdir -p dora && cp dora.json dora/adapter_config.json && cp "$F/qwen2-lora/adapter_model.safetensors" dora/
run tina-adapter copy -m "$F/qwen2-f32" -a dora -o dora-copy
check "copy: DoRA is refused by name" status_is 2
check "copy: DoRA is refused by name (what it says)" stderr_has "unsupported: use_dora"
check "copy: DoRA refused: nothing written" [ ! -e dora-copy ]

run tina-adapter merge -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o merged --dtype f32
check "merge: a whole model folder" eval '[ "$status" -eq 0 ] && [ -s merged/model.safetensors ] && [ -s merged/config.json ] && [ -s merged/generation_config.json ]'
check "merge --dtype f32: config.json copied as it was (its dtype is float32)" cmp -s merged/config.json "$F/qwen2-f32/config.json"
# a base folder whose tokenizer.json is zstd-compressed (tina reads either): the merged model gets it plain, for
# vLLM and transformers
mkdir -p zbase && cp "$F/qwen2-f32"/* zbase/ && zstd -q "$ROOT/data/models/tiny-math-bpe/tokenizer.json" -o zbase/tokenizer.json.zst
cp "$ROOT/data/models/tiny-math-bpe/tokenizer_config.json" zbase/
run tina-adapter merge -m zbase -a "$F/qwen2-lora" -o zmerged --dtype f32
check "merge: a compressed tokenizer.json of the base arrives plain" \
    sh -c '[ "$0" = 0 ] && cmp -s zmerged/tokenizer.json "$1" && [ ! -e zmerged/tokenizer.json.zst ]' "$status" \
    "$ROOT/data/models/tiny-math-bpe/tokenizer.json"
run tina-adapter merge -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o merged16
check "merge: bf16 by default, half the size" [ "$(stat -c %s merged16/model.safetensors)" -lt "$(stat -c %s merged/model.safetensors)" ]
check "merge: bf16 weights, and config.json says bfloat16 (it said float32: transformers would load them as f32)" \
    sh -c '[ "$(jq -r .dtype merged16/config.json)" = bfloat16 ] && diff "$0/config.json" merged16/config.json | grep -c "^[<>]" | grep -qx 2' \
    "$F/qwen2-f32"
jq '. + {torch_dtype: "float32"} | del(.dtype)' "$F/qwen2-f32/config.json" > old-config.json
mkdir -p old-model && cp "$F/qwen2-f32/model.safetensors" old-model/ && cp old-config.json old-model/config.json
run tina-adapter merge -m old-model -a "$F/qwen2-lora" -o merged-old
check "merge: an older config's torch_dtype set too" jq_true '.[0].torch_dtype == "bfloat16" and .[0].dtype == "bfloat16"' merged-old/config.json

run tina-adapter diff -m "$F/qwen2-f32" -a fresh --against again
check "diff: an adapter against its twin: 0 apart" jq_true '.[0] | .max_abs_diff == 0 and .rel_l2 == 0 and .params == 1792'
# q_proj and o_proj of the fixture have one shape: compared in place, one module's values were set against the other's
run tina-adapter init -m "$F/qwen2-f32" -o q-only -r 4 --targets q_proj
run tina-adapter init -m "$F/qwen2-f32" -o o-only -r 4 --targets o_proj
run tina-adapter diff -m "$F/qwen2-f32" -a q-only --against o-only
check "diff: adapters of other target modules (of one size) are refused, not compared" \
    sh -c '[ "$0" = 2 ] && [ ! -s out ] && grep -q "other target modules" err' "$status"

# a training step's folder: written in place, it kept the old adapter's optimizer state and trainer_state.json, and
# tina-update continued that run (its step, its moments) from the new adapter
mkdir -p step && cp fresh/* step/ && echo '{"step": 3}' > step/trainer_state.json && : > step/optimizer.safetensors
cp -r step step-before
run tina-adapter init -m "$F/qwen2-f32" -o step -r 4 --alpha 8 --seed 9
check "init onto a training step's folder: refused (exit 2), the folder as it was" \
    sh -c '[ "$0" = 2 ] && grep -q "holds a training step" err && diff -r step step-before' "$status"
run tina-adapter copy -m "$F/qwen2-f32" -a "$F/qwen2-lora" -o step
check "copy onto a training step's folder: refused" sh -c '[ "$0" = 2 ] && diff -r step step-before' "$status"
run tina-adapter copy -m "$F/qwen2-f32" -a step -o step
check "copy onto the adapter's own step folder: rewritten in place (the same values: its state stands)" status_is 0

run tina-adapter init -m "$F/qwen2-f32"
check "usage: --out is required" status_is 2
check "usage: --out is required (what it says)" stderr_has "init needs --model and --out"
run tina-adapter bake -m "$F/qwen2-f32" -o x
check "usage: unknown command" status_is 2
check "usage: unknown command (what it says)" stderr_has "unknown command 'bake'"
run tina-adapter init -m "$F/qwen2-f32" -o x --targets q_proj,lm_head
check "usage: unknown target named" status_is 2
check "usage: unknown target named (what it says)" stderr_has 'unknown LoRA target "lm_head"'
run tina-adapter init -m "$F/qwen2-f32" -o x --targets q_proj,all
check "usage: all (or all-linear) inside a list: refused, saying it goes alone" \
    eval '[ "$status" -eq 2 ] && stderr_has "or all, also named all-linear, alone"'
# every tool that loads an adapter refuses a lora_alpha above 1e6 (tina(7)): init wrote one all of them refused
run tina-adapter init -m "$F/qwen2-f32" -o x --alpha 1e7
check "init --alpha 1e7: a usage error, nothing written (no tool would load it)" \
    eval '[ "$status" -eq 2 ] && stderr_has "--alpha" && [ ! -e x ]'
run tina-adapter init -m no/such/model -o x
check "a missing model names its config.json" status_is 2
check "a missing model names its config.json (what it says)" stderr_has "no/such/model/config.json"
finish
