#!/usr/bin/env bash
# tina-sample, driven as a user would, on the tiny fixture models: greedy completions equal transformers' (from
# tests/reference/models.py), --forced log-probs equal the sampled ones, records come out complete and in order,
# seeds decide everything, and bad input exits 2 with no output file.
. "$(dirname "$0")/lib.bash"
F=$ROOT/tests/fixtures/models
TOK=$ROOT/data/models/tiny-math-bpe
jq -c '.prompts | to_entries[] | {id: "p\(.key)", prompt_tokens: .value}' "$F/expected.json" > prompts.jsonl

for arch in qwen2 llama; do
    for with in base lora; do
        adapter=()
        [ "$with" = lora ] && adapter=(-a "$F/$arch-lora")
        run tina-sample -m "$F/$arch-f32" "${adapter[@]}" --tokenizer "$TOK" -t 0 --max-new-tokens 32 prompts.jsonl
        check "$arch $with: greedy completions equal transformers' token for token" \
            [ "$(jq -c -s 'map(.completion_tokens)' out)" = "$(jq -c ".$arch.greedy_$with" "$F/expected.json")" ]
    done
done
check "rollout fields" jq_true 'all(has("sample") and has("prompt_tokens") and has("completion") and has("completion_tokens") and has("logprobs") and has("finish_reason") and has("policy") and has("seed"))'
check "policy names the adapter" jq_true "all(.policy == \"$F/llama-lora\")"
check "one log-prob per completion token" jq_true 'all((.logprobs | length) == (.completion_tokens | length))'
check "finish_reason length at --max-new-tokens" jq_true 'all(.finish_reason == "length")'
# vLLM 0.7's cap on a whole sequence (its V0 engine stops once prompt + completion > max_model_len): each prompt's
# completion ends at its own length, the greedy tokens up to there
cap=$(( $(jq '[.prompts[] | length] | max' "$F/expected.json") + 3 ))
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -t 0 --max-new-tokens 32 --max-prompt-tokens 20 --max-model-len "$cap" \
    prompts.jsonl
check "--max-model-len N: a completion ends, by length, once prompt and completion hold N + 1 tokens" \
    jq_true --argjson cap "$cap" --argjson greedy "$(jq -c .qwen2.greedy_base "$F/expected.json")" \
    'to_entries | all(.value as $r | ($r.prompt_tokens | length) + ($r.completion_tokens | length) == $cap + 1
        and $r.finish_reason == "length" and $r.completion_tokens == $greedy[.key][:($r.completion_tokens | length)])'
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" --max-prompt-tokens 64 --max-model-len 63 prompts.jsonl
check "--max-model-len below --max-prompt-tokens: exit 2, said" \
    sh -c '[ "$0" = 2 ] && grep -q "max-model-len 63 is below --max-prompt-tokens 64" err' "$status"

run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch 5 prompts.jsonl
cp out sampled.jsonl
check "-n 4: the samples of a prompt together, in order, prompts in input order" \
    jq_true 'map([.id, .sample]) == [["p0",0],["p0",1],["p0",2],["p0",3],["p1",0],["p1",1],["p1",2],["p1",3],["p2",0],["p2",1],["p2",2],["p2",3]]'
check "summary on stderr" stderr_has "tina-sample: 3 prompts, 240 tokens generated"
check "samples of one prompt differ (each has its own stream)" jq_true '.[0].completion_tokens != .[1].completion_tokens'
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch 5 prompts.jsonl
check "the same seed gives the same bytes" cmp -s out sampled.jsonl
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 8 --max-new-tokens 20 --batch 5 prompts.jsonl
check "another seed gives other samples" differ out sampled.jsonl
for batch in 4 7 64; do
    run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch $batch prompts.jsonl
    check "--batch $batch: the same bytes as --batch 5" cmp -s out sampled.jsonl
done
# three prompts of 7, 13 and 20 tokens: together under 256 rows, the CPU's products are the same kernel as alone
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch 64 --prefill-tokens 40 prompts.jsonl
check "--prefill-tokens 40: the same bytes as one prompt a call" cmp -s out sampled.jsonl
check "--prefill-tokens 40: the three prompts in one call" stderr_has "in 1 prefill calls"
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch 64 --prefill-tokens 39 prompts.jsonl
check "--prefill-tokens 39: the same bytes, in two calls" cmp -s out sampled.jsonl
check "--prefill-tokens 39: the third prompt in a call of its own" stderr_has "in 2 prefill calls"
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch 8 --prefill-tokens 4096 prompts.jsonl
check "--prefill-tokens with room for two prompts' samples: the same bytes" cmp -s out sampled.jsonl
# the KV cache it states: --batch slots of (longest prompt + new tokens) positions rounded up to pages of 16, each
# position 2 (keys, values) x layers x kv heads x head size f32 values on the CPU
kv=$(sed -En 's/.*a KV cache of ([0-9]+) tokens \(([0-9.e+-]+) GiB on cpu\).*/\1 \2/p' err)
check "the KV cache stated: 8 slots of 1044 positions in pages of 16, its size from the model's config ($kv)" \
    jq -e -n --arg kv "$kv" --slurpfile c "$F/qwen2-f32/config.json" \
    '($kv | split(" ") | map(select(. != "") | tonumber)) as [$n, $g] | $c[0] as $m |
    $n == 8 * 1056 and ($n * 2 * $m.num_hidden_layers * $m.num_key_value_heads *
    ($m.hidden_size / $m.num_attention_heads) * 4 / 1073741824 - $g | fabs) <= 0.005 * $g'
# A KV cache too small for every sequence at once: the newest are preempted and their caches rebuilt (on the CPU the
# same sums as the decode steps made), so the rollouts come out byte for byte as with room for all
short=(-m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20
    --max-prompt-tokens 16 --batch 8)
run tina-sample "${short[@]}" prompts.jsonl
cp out roomy.jsonl
check "room for every sequence: none preempted" stderr_lacks "preempted"
for tokens in 96 48; do
    run tina-sample "${short[@]}" --kv-tokens "$tokens" prompts.jsonl
    check "--kv-tokens $tokens: sequences preempted, their positions recomputed" \
        grep -Eq "KV cache of $tokens tokens .*; [1-9][0-9]* sequences preempted for want of it, [1-9][0-9]* positions recomputed" err
    check "--kv-tokens $tokens: the same bytes as with room for all" cmp -s out roomy.jsonl
done
run tina-sample "${short[@]}" --kv-tokens 32 -o never.jsonl prompts.jsonl
check "--kv-tokens below one sequence's 36 positions: exit 2" status_is 2
check "--kv-tokens below one sequence: says why" stderr_has "cannot hold one sequence of 36"
check "--kv-tokens below one sequence: no output file" [ ! -e never.jsonl ]
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch auto prompts.jsonl
check "--batch auto: the same bytes" cmp -s out sampled.jsonl
slots=$(grep -o 'decode steps of up to [0-9]* sequences' err | grep -o '[0-9]*')
check "--batch auto: between G and 1024 slots (here $slots, as the free memory allows)" eval '[ "${slots:-0}" -ge 4 ] && [ "${slots:-0}" -le 1024 ]'
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -n 1100 --max-new-tokens 2 --batch auto prompts.jsonl
check "--batch auto with G above its limit of 1024: G slots, every sample" jq_true 'length == 3300'
# samples ending at different steps (a stop string early in most): slots free and refill in a different order with
# each --batch and --prefill-tokens, and every sample keeps its own draws
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch 5 --stop e prompts.jsonl
cp out stopped.jsonl
check "--stop e: samples of 1 to 8 tokens" jq_true 'map(.completion_tokens | length) | min < 3 and max > 5'
for batch in 7 64; do
    for prefill in 0 40; do
        run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch $batch --prefill-tokens $prefill --stop e prompts.jsonl
        check "--stop e --batch $batch --prefill-tokens $prefill: the same bytes as --batch 5" cmp -s out stopped.jsonl
    done
done
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" --batch most prompts.jsonl
check "--batch most: exit 2" status_is 2
check "--batch most: the message names the option" stderr_has "--batch"
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 --max-new-tokens 20 --batch 5 --threads 1 prompts.jsonl
check "--threads 1: the same bytes as all threads" cmp -s out sampled.jsonl
# the products' sums are fixed by gemm.h, not by the vector width: AVX2's kernels give AVX-512's bytes (on a CPU
# without AVX-512 both runs are AVX2). Compared with a run of the widest kernel, not with sampled.jsonl: with the
# whole suite run under TINA_CPU=generic, that is generic's, whose exponentials round otherwise.
TINA_CPU= run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 \
    --max-new-tokens 20 --batch 5 prompts.jsonl
cp out widest.jsonl
TINA_CPU=avx2 run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 \
    --max-new-tokens 20 --batch 5 prompts.jsonl
check "TINA_CPU=avx2: the same bytes as the widest kernel" cmp -s out widest.jsonl
TINA_CPU=avx1024 run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" -n 4 --seed 7 \
    --max-new-tokens 20 --batch 5 prompts.jsonl
check "TINA_CPU=avx1024 (no such kernel): said once on stderr, the widest kernel runs" \
    sh -c '[ "$(grep -c "TINA_CPU=avx1024 is not a kernel" err)" = 1 ] && cmp -s out widest.jsonl'
# prompts longer than a tile of rows, alone and prefilled together, with 1 thread and all: the same bytes
jq -c -n '[range(2)] | .[] as $p | {id: "long\($p)", prompt_tokens: [range(300 + 41 * $p) | (. * 7 + $p) % 512]}' \
    > long.jsonl
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" -n 2 --seed 7 --max-new-tokens 8 --prefill-tokens 0 long.jsonl
cp out long-alone.jsonl
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" -n 2 --seed 7 --max-new-tokens 8 --prefill-tokens 700 --threads 1 \
    long.jsonl
check "prompts of 300 and 341 tokens, prefilled together on 1 thread: the bytes of one a call on all" \
    cmp -s out long-alone.jsonl
run tina-sample -m "$F/llama-f32" --tokenizer "$TOK" --seed 3 --max-new-tokens 24 --batch 1 prompts.jsonl
cp out one.jsonl
for batch in 7 64; do
    run tina-sample -m "$F/llama-f32" --tokenizer "$TOK" --seed 3 --max-new-tokens 24 --batch $batch prompts.jsonl
    check "-n 1 --batch $batch: the same bytes as --batch 1" cmp -s out one.jsonl
done

run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" --forced sampled.jsonl
check "--forced: log-probs recomputed equal the sampled ones within 1e-5" \
    [ "$(paste <(jq -c .logprobs out) <(jq -c .logprobs sampled.jsonl) | jq -R 'split("\t") | map(fromjson) | transpose | map(.[0] - .[1] | fabs) | max' | jq -s 'max < 1e-5')" = true ]
check "--forced: summary counts scored tokens" stderr_has "12 rollouts, 240 tokens scored"
sed -n 1p sampled.jsonl > first.jsonl
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" --forced --no-adapter --as ref_logprobs first.jsonl
check "--forced --no-adapter --as ref_logprobs: the base model's, beside the policy's" \
    jq_true '.[0] | (.ref_logprobs | length) == (.logprobs | length) and .ref_logprobs != .logprobs'
# teacher forcing scores at temperature 1: with --logprobs-at-temperature it wrote temperature-1 log-probs over a
# tempered sampler's, silently
run tina-sample -m "$F/qwen2-f32" -a "$F/qwen2-lora" --tokenizer "$TOK" --forced -t 0.5 --logprobs-at-temperature \
    -o tempered.jsonl first.jsonl
check "--forced --logprobs-at-temperature: a usage error (exit 2), nothing written" \
    sh -c '[ "$0" = 2 ] && [ ! -e tempered.jsonl ] && grep -q "does not go with it" err' "$status"

echo '{"id":"q","problem":"What is 2+2?"}' > problem.jsonl
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" --template deepseek-r1 -t 0 --max-new-tokens 4 problem.jsonl
jq -c .prompt_tokens out > sampled-prompt.json
run tina-tokenize -t "$TOK" --template deepseek-r1 problem.jsonl
check "a problem is rendered and encoded as tina-tokenize does" [ "$(jq -c .tokens out)" = "$(cat sampled-prompt.json)" ]
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -t 0 --max-new-tokens 4 --max-prompt-tokens 5 prompts.jsonl
check "long prompts are cut from the left by default" jq_true 'map(.prompt_tokens | length) == [5, 5, 5] and .[2].prompt_tokens[-1] == 2047'
check "and counted on stderr" stderr_has "3 prompts longer than 5 tokens cut from the left"
head -n 1 prompts.jsonl > one-prompt.jsonl
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -t 0 --max-new-tokens 4 --max-prompt-tokens 5 one-prompt.jsonl
check "one long prompt: counted in the singular" stderr_has "; 1 prompt longer than 5 tokens cut from the left"
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -t 0 --max-new-tokens 4 --max-prompt-tokens 10 --long-prompts skip prompts.jsonl
check "--long-prompts skip leaves them out" jq_true 'map(.id) == ["p0"]'
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -t 0 --max-new-tokens 32 prompts.jsonl
text=$(head -n 1 out | jq -r .completion)
stop=${text:6:3}
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -t 0 --max-new-tokens 32 --stop "$stop" prompts.jsonl
check "--stop: finish_reason stop, the text ends before the stop string" \
    jq_true --arg t "$text" --arg s "$stop" '.[0].finish_reason == "stop" and .[0].completion == $t[:($t | index($s))]'

run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" -n 2 --max-new-tokens 8 --progress -q prompts.jsonl
check "--progress: prompts done of the file's total, the token rate and an ETA" grep -q '^tina-sample: \[#*\] 3/3 prompts, .* tokens/s, ETA' err

# ---- bad input -----------------------------------------------------------------------------------------------
bad() { # NAME MESSAGE ARG...
    local name=$1 message=$2; shift 2
    rm -f result.jsonl
    run tina-sample --tokenizer "$TOK" -o result.jsonl "$@"
    check "$name: exit 2" status_is 2
    check "$name: message" stderr_has "$message"
    check "$name: no output file" [ ! -e result.jsonl ]
}
echo '{"id":"x","text":"no problem field"}' > noproblem.jsonl
bad "missing problem" 'noproblem.jsonl:1: field "problem" is missing (or a TRL "prompt", or a "question"; or name the problem'"'"'s field)' \
    -m "$F/qwen2-f32" noproblem.jsonl
# other tools' data sets as they come: TRL's "prompt" (text, or chat messages) and "question" are the problem
jq -cn '{id: "a", problem: "What is 2 plus 3?", system: "Be brief."}' > as-problem.jsonl
jq -cn '{id: "a", prompt: [{role: "system", content: "Be brief."}, {role: "user", content: "What is 2 plus 3?"}]}' \
    > as-messages.jsonl
jq -cn '{id: "a", prompt: "What is 2 plus 3?", system: "Be brief."}' > as-prompt.jsonl
jq -cn '{id: "a", question: "What is 2 plus 3?", system: "Be brief."}' > as-question.jsonl
for form in problem messages prompt question; do
    run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" --max-new-tokens 2 --seed 1 "as-$form.jsonl"
    jq -c '.prompt_tokens' out > "tokens-$form"
done
check "a TRL prompt (chat messages or text) and a question render as the problem does" \
    sh -c 'cmp -s tokens-problem tokens-messages && cmp -s tokens-problem tokens-prompt && cmp -s tokens-problem tokens-question'
# a data set's own names: --problem-field (text or chat messages), over the problem a record may also have
jq -cn '{id: "a", problem: "ignored", instruction: "What is 2 plus 3?", system: "Be brief."}' > as-instruction.jsonl
jq -cn '{id: "a", query: [{role: "system", content: "Be brief."}, {role: "user", content: "What is 2 plus 3?"}]}' \
    > as-query.jsonl
for form in instruction query; do
    run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" --max-new-tokens 2 --seed 1 --problem-field "$form" "as-$form.jsonl"
    jq -c '.prompt_tokens' out > "tokens-$form"
done
check "--problem-field: a field of text, or of chat messages, renders as the problem does" \
    sh -c 'cmp -s tokens-problem tokens-instruction && cmp -s tokens-problem tokens-query'
bad "--problem-field names a field the record lacks" \
    'as-problem.jsonl:1: field "instruction" (named as the problem'"'"'s) is missing' \
    -m "$F/qwen2-f32" --problem-field instruction as-problem.jsonl
bad "--problem-field names a number" 'field "id" is neither text nor a list of chat messages' \
    -m "$F/qwen2-f32" --problem-field id <(jq -cn '{id: 7}')
jq -cn '{problem: "What is 2 plus 3?"}' > no-id.jsonl
run tina-sample -m "$F/qwen2-f32" --tokenizer "$TOK" --max-new-tokens 2 -n 2 no-id.jsonl
check "a prompt without an id: sampled, and said once (the next tools group by id)" \
    sh -c '[ "$0" = 0 ] && grep -q "prompt 1 has no \"id\" (numbered #0 here)" err' "$status"
# two prompts of one id: tina-advantage refused their samples only after the sampling ("group ... has 4 samples
# (expected 2)"), and they shared a random stream; refused at the second, naming the first, across inputs too
jq -cn '{id: "d", problem: "What is 2 plus 3?"}, {id: "e", problem: "What is 1 plus 3?"}, {id: "d", problem: "What is 4 plus 3?"}' > dup-id.jsonl
bad "two prompts of one id" 'dup-id.jsonl:3: id "d" is also the id of the prompt at dup-id.jsonl:1' \
    -m "$F/qwen2-f32" --max-new-tokens 2 -n 2 dup-id.jsonl
head -n 1 dup-id.jsonl > first-id.jsonl
bad "two prompts of one id in two inputs" 'dup-id.jsonl:1: id "d" is also the id of the prompt at first-id.jsonl:1' \
    -m "$F/qwen2-f32" --max-new-tokens 2 -n 2 first-id.jsonl dup-id.jsonl
jq -cn '{id: "a", prompt: [{role: "user", content: "Hi"}, {role: "assistant", content: "Hello"}]}' > two-turns.jsonl
bad "a TRL prompt with an assistant turn" "two-turns.jsonl:1: field \"prompt\": a 'assistant' turn" \
    -m "$F/qwen2-f32" two-turns.jsonl
echo '{"id":"x","prompt_tokens":[]}' > empty.jsonl
bad "empty prompt" "empty.jsonl:1: the prompt is empty" -m "$F/qwen2-f32" empty.jsonl
bad "adapter for another base" "an adapter for another model?" -m "$F/qwen2-f32" -a "$F/llama-lora" prompts.jsonl
bad "unreadable model" "no/such/model/config.json" -m no/such/model prompts.jsonl
bad "unknown template" "--template: 'chatml' is not one of" -m "$F/qwen2-f32" --template chatml prompts.jsonl
echo '{"id":"x","prompt_tokens":[5,99999]}' > outside.jsonl
bad "a token outside the vocabulary" 'outside.jsonl:1: field "prompt_tokens" holds something that is not a token id' -m "$F/qwen2-f32" outside.jsonl
# a CPU-only build, or a CUDA build on a machine without a GPU (as CI's)
bad "--device cuda without a GPU or a CUDA build" "tina-sample: --device cuda: " -m "$F/qwen2-f32" --device cuda prompts.jsonl
printf '{"id":"x","problem":"caf\xe9 \xff"}\n' > notutf8.jsonl
bad "a problem that is not UTF-8" "notutf8.jsonl:1: the problem's text is not valid UTF-8" -m "$F/qwen2-f32" notutf8.jsonl
# --system-file: the file's bytes, a last newline included (a shell's $(cat) would drop it)
printf '\nBe brief.\n' > system.txt
jq -cn '{id: "a", problem: "What is 2 plus 3?"}' > plain.jsonl
tokens_with() { "$BIN/tina-sample" -m "$F/qwen2-f32" --tokenizer "$TOK" --max-new-tokens 1 -q "$@" plain.jsonl | jq -c .prompt_tokens; }
check "--system-file: the same prompt as --system with the file's exact text" \
    [ "$(tokens_with --system-file system.txt)" = "$(tokens_with --system $'\nBe brief.\n')" ]
check "--system-file: its last newline is part of the prompt" \
    [ "$(tokens_with --system-file system.txt)" != "$(tokens_with --system "$(cat system.txt)")" ]
bad "--system-file that is not there" "tina-sample: --system-file: " -m "$F/qwen2-f32" --system-file missing.txt plain.jsonl
# --prefix and --prefix-file: the text before the problem, as if the problem began with it
printf 'Solve it.\n\n' > prefix.txt
jq -cn '{id: "a", problem: "Solve it.\n\nWhat is 2 plus 3?"}' > prefixed.jsonl
check "--prefix-file: the same prompt as the prefix written into the problem" \
    [ "$(tokens_with --prefix-file prefix.txt)" = "$("$BIN/tina-sample" -m "$F/qwen2-f32" --tokenizer "$TOK" --max-new-tokens 1 -q prefixed.jsonl | jq -c .prompt_tokens)" ]
check "--prefix: the same as --prefix-file" [ "$(tokens_with --prefix-file prefix.txt)" = "$(tokens_with --prefix $'Solve it.\n\n')" ]
finish
