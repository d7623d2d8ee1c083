#!/usr/bin/env bash
# tina-tokenize, driven as a user would. Expected ids are the tokenizers library's (docs/facts.md section 3 and
# tests/fixtures/tokenizer/chat.jsonl); exact parity on the large corpus is tests/unit/test_tokenizer.c's job.
. "$(dirname "$0")/lib.bash"
DISTILL=$ROOT/data/models/deepseek-r1-distill-qwen-1.5b
TINY=$ROOT/data/models/tiny-math-bpe

echo '{"id":"h","text":"Hello world","keep":[1.50,{"x":null}]}' > hello.jsonl
run tina-tokenize -t "$DISTILL" hello.jsonl
check "plain text gets the post-processor's BOS, as tokenizer(text) does" jq_true '.[0].tokens == [151646, 9707, 1879]'
check "other fields pass through byte for byte" grep -qF '"keep":[1.50,{"x":null}]' out
check "summary on stderr" stderr_has "tina-tokenize: 1 records, 3 tokens"
run tina-tokenize -t "$DISTILL" --no-special-tokens hello.jsonl
check "--no-special-tokens: the bare ids" jq_true '.[0].tokens == [9707, 1879]'
run tina-tokenize -t "$DISTILL" --count hello.jsonl
check "--count adds n_tokens only" jq_true '.[0].n_tokens == 3 and (.[0] | has("tokens") | not)'

printf '%s\n' '{"problem":"What is $1+1$?"}' '{"problem":"Find all real $x$ with $x^2 = 4$.","system":"You are a careful mathematician."}' > prompts.jsonl
run tina-tokenize -t "$DISTILL" --template deepseek-r1 prompts.jsonl
check "--template deepseek-r1 renders the distill's template" \
    jq_true '.[0].text == "<｜begin▁of▁sentence｜><｜User｜>What is $1+1$?<｜Assistant｜><think>\n"'
check "--template: one BOS, the ids tokenizers gives (chat.jsonl)" \
    jq_true '.[0].tokens == [151646, 151644, 3838, 374, 400, 16, 10, 16, 3, 30, 151645, 151648, 198]'
check "--template: a record's system prompt follows the BOS" \
    jq_true '.[1].text | startswith("<｜begin▁of▁sentence｜>You are a careful mathematician.<｜User｜>")'
run tina-tokenize -t "$DISTILL" --template tina --suffix ' Please reason step by step.' prompts.jsonl
check "--template tina: no <think> prefill; --suffix appended as given" \
    jq_true '.[0].text == "<｜begin▁of▁sentence｜><｜User｜>What is $1+1$? Please reason step by step.<｜Assistant｜>"'
run tina-tokenize -t "$DISTILL" --template qwen --system 'Be brief.' prompts.jsonl
check "--template qwen: --system for records without one, the record's own otherwise" \
    jq_true '.[0].text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is $1+1$?<|im_end|>\n<|im_start|>assistant\n" and (.[1].text | startswith("<|im_start|>system\nYou are a careful"))'
run tina-tokenize -t "$DISTILL" --template qwen prompts.jsonl
check "--template qwen: Qwen's default system prompt" \
    jq_true '.[0].text | startswith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>")'
cp out qwen-default.jsonl
jq -c '{instruction: .problem} + (if .system then {system} else {} end)' prompts.jsonl > instructions.jsonl
run tina-tokenize -t "$DISTILL" --template qwen --field instruction instructions.jsonl
check "--template --field NAME: the problem under another name renders as \"problem\" does" \
    jq -e -s --slurpfile want qwen-default.jsonl 'map(.tokens) == ($want | map(.tokens))' out
run tina-tokenize -t "$DISTILL" --template qwen --field instruction prompts.jsonl
check "--template --field NAME: a record without it is refused, naming the field" \
    sh -c '[ "$0" = 2 ] && grep -qF "prompts.jsonl:1: field \"instruction\" (named as the problem'"'"'s) is missing" err' "$status"
run tina-tokenize -t "$DISTILL" --template deepseek-r1 --add-special-tokens prompts.jsonl
check "--add-special-tokens on a rendered prompt gives the double BOS it asks for" jq_true '.[0].tokens[:2] == [151646, 151646]'

printf '%s\n' '{"text":"Ünïcödé, 中文, emoji 👍🏽 and <think>tags</think>\n\n  spaces  "}' > round.jsonl
run tina-tokenize -t "$DISTILL" --no-special-tokens round.jsonl
cp out encoded.jsonl
run tina-tokenize -t "$DISTILL" --decode encoded.jsonl
check "decode(encode(text)) == text" jq_true '.[0].text == "Ünïcödé, 中文, emoji 👍🏽 and <think>tags</think>\n\n  spaces  "'
check "decode summary" stderr_has "1 records decoded"
echo '{"tokens":[151646,9707,151648,151643]}' > special.jsonl
run tina-tokenize -t "$DISTILL" -d --skip-special-tokens special.jsonl
check "--skip-special-tokens drops BOS/EOS but keeps <think>" jq_true '.[0].text == "Hello<think>"'
echo '{"ids":[9707,1879]}' > ids.jsonl
run tina-tokenize -t "$DISTILL" -d --field ids ids.jsonl
check "--field names the ids to decode" jq_true '.[0].text == "Hello world"'
echo '{"problem":"Hello world"}' > problem.jsonl
run tina-tokenize -t "$DISTILL" --field problem --no-special-tokens problem.jsonl
check "--field names the text to encode" jq_true '.[0].tokens == [9707, 1879]'

printf '{"text":"a\xffb"}\n{"text":"a\xef\xbf\xbdb"}\n' > illformed.jsonl
run tina-tokenize -t "$DISTILL" --no-special-tokens illformed.jsonl
check "ill-formed UTF-8 reads as U+FFFD, as Python's decode('utf-8', 'replace')" jq_true '.[0].tokens == .[1].tokens'
check "and the line written stays valid JSON" jq_true 'length == 2'

run tina-tokenize -t "$TINY/tokenizer.json" --no-special-tokens hello.jsonl
check "a tokenizer.json file works as well as a folder (the tiny tokenizer)" jq_true '.[0].tokens | length > 1'
# a tokenizer folder whose tokenizer.json is zstd-compressed reads the same
mkdir -p ztok && zstd -q "$ROOT/data/models/tiny-math-bpe/tokenizer.json" -o ztok/tokenizer.json.zst
cp "$ROOT/data/models/tiny-math-bpe/tokenizer_config.json" ztok/
run tina-tokenize -t "$ROOT/data/models/tiny-math-bpe" hello.jsonl
cp out plain-ids.jsonl
run tina-tokenize -t ztok hello.jsonl
check "tokenizer.json.zst: the same ids as the plain file" sh -c '[ "$0" = 0 ] && cmp -s out plain-ids.jsonl' "$status"
zstd -q -c hello.jsonl > hello.jsonl.zst
run tina-tokenize -t "$DISTILL" hello.jsonl.zst round.jsonl -o out.jsonl.zst
check "zstd in and out, several inputs" [ "$(zstd -dc out.jsonl.zst | head -n 1 | jq -c .tokens)" = "[151646,9707,1879]" ]

# ---- bad input and usage -------------------------------------------------------------------------------------

run tina-tokenize hello.jsonl
check "--tokenizer is required" status_is 2
check "--tokenizer is required (what it says)" stderr_has "--tokenizer is required"
run tina-tokenize -t no/such/model hello.jsonl
check "a missing tokenizer: exit 2 with the path" status_is 2
check "a missing tokenizer: exit 2 with the path (what it says)" stderr_has "no/such/model"
jq '.normalizer = {"type": "Lowercase"}' "$TINY/tokenizer.json" > lowercase.json
run tina-tokenize -t lowercase.json hello.jsonl
check "an unsupported component is refused by name" status_is 2
check "an unsupported component is refused by name (what it says)" stderr_has 'unsupported normalizer "Lowercase"'
printf '%s\n' '{"text":"ok"}' '{"txt":"oops"}' > missing.jsonl
run tina-tokenize -t "$DISTILL" missing.jsonl -o result.jsonl
check "a record without its field: exit 2 at its line" status_is 2
check "a record without its field: exit 2 at its line (what it says)" stderr_has 'missing.jsonl:2: field "text" is missing'
check "no partial output file" [ ! -e result.jsonl ]
echo '{"tokens":[9707,151665]}' > badid.jsonl
run tina-tokenize -t "$DISTILL" -d badid.jsonl
check "an id outside the vocabulary is bad input" status_is 2
check "an id outside the vocabulary is bad input (what it says)" stderr_has "badid.jsonl:1: token id 151665 is not in the vocabulary"
echo '{"tokens":"9707"}' > notarray.jsonl
run tina-tokenize -t "$DISTILL" -d notarray.jsonl
check "tokens that are not an array" status_is 2
check "tokens that are not an array (what it says)" stderr_has 'field "tokens" is not an array of token ids'
echo '{"tokens":[1.5]}' > fraction.jsonl
run tina-tokenize -t "$DISTILL" -d fraction.jsonl
check "an id that is not an integer" status_is 2
check "an id that is not an integer (what it says)" stderr_has "not a token id"
# beyond int32_t: the range is checked before the cast (a cast of 1e10 to int32_t is undefined: -fsanitize=
# float-cast-overflow, which GCC's -fsanitize=undefined leaves out, reported it here)
echo '{"tokens":[1,1e10]}' > beyond.jsonl
run tina-tokenize -t "$DISTILL" -d beyond.jsonl
check "an id beyond int32_t: exit 2, named" eval '[ "$status" -eq 2 ] && stderr_has "beyond.jsonl:1: field \"tokens\" holds something that is not a token id"'
run tina-tokenize -t "$DISTILL" --template llama prompts.jsonl
check "an unknown template names the known ones" status_is 2
check "an unknown template names the known ones (what it says)" stderr_has "--template: 'llama' is not one of: deepseek-r1, deepseek-r1-lighteval, tina, qwen, smollm2, plain"
run tina-tokenize -t "$DISTILL" --decode --count special.jsonl
check "--decode with --count is a usage error" status_is 2
check "--decode with --count is a usage error (what it says)" stderr_has "--decode does not go with"
run tina-tokenize -t "$DISTILL" --system x hello.jsonl
check "--system without --template is a usage error" status_is 2
check "--system without --template is a usage error (what it says)" stderr_has "--system, --prefix and --suffix need --template"
run tina-tokenize -t "$DISTILL" --template tina hello.jsonl
check "--template needs a problem" status_is 2
check "--template needs a problem (what it says)" stderr_has 'hello.jsonl:1: field "problem" is missing'

finish
