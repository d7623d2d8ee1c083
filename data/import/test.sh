#!/usr/bin/env bash
# Tests of the importers on synthetic one-record examples of each published form, including those of the sets not
# shipped (open-rs, open-s1, OpenR1-Math, DeepScaleR-Preview, STILL-3, GPQA-Diamond). Each line says what it checked.
#
#   data/import/test.sh        ends "N passed, M failed"; exit status 1 on any failure
#
# With bin/tina-reward built (or TINA_REWARD=path) it also checks that tina's gold parser reads every imported gold.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
imp=$here/import.sh
reward=${TINA_REWARD:-$here/../../bin/tina-reward}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1${2:+: $2}"; }
# expect NAME GOT WANT
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got $2, want $3"; fi; }
# imports NAME [-f FORMAT] SET RAW...: runs import.sh, output in $tmp/out.jsonl
imports() { local what=$1; shift; if "$imp" "$@" > "$tmp/out.jsonl" 2> "$tmp/err"; then return 0
            else bad "$what" "import.sh failed: $(cat "$tmp/err")"; return 1; fi; }
# the gold of every output record parses, and \boxed{gold} (or the letter) is judged correct
golds_parse() {
    [ -x "$reward" ] || return 0
    local got
    got=$(jq -c '. + {completion: ("\\boxed{" + .answer + "}")}' "$tmp/out.jsonl" | "$reward" -q -r accuracy \
          | jq -s -c 'map(.rewards.accuracy) | unique') || { bad "$1: tina-reward" "failed"; return; }
    expect "$1: tina-reward reads the gold, boxed gold scores 1" "$got" "[1]"
}

# open-rs and open-s1 (knoveleng): problem, solution, answer, level
printf '%s\n' '{"problem":"What is $1+1$?","solution":"Clearly $\\boxed{2}$.","answer":"2","level":"Level 1"}' > "$tmp/open-rs.jsonl"
imports open-rs open-rs "$tmp/open-rs.jsonl" && {
    expect "open-rs: schema" "$(jq -c . "$tmp/out.jsonl")" \
      '{"id":"open-rs-0","problem":"What is $1+1$?","answer":"2","source":"open-rs","solution":"Clearly $\\boxed{2}$.","level":"Level 1"}'
    golds_parse open-rs; }
imports open-s1 open-s1 "$tmp/open-rs.jsonl" && expect "open-s1: id and source" "$(jq -r '.id + " " + .source' "$tmp/out.jsonl")" "open-s1-0 open-s1"

# DeepScaleR-Preview-Dataset (agentica-org): deepscaler.json, one JSON array of {problem, answer, solution}
printf '%s\n' '[{"problem":"Find $x$ if $2x=1$.","answer":"\\frac{1}{2}","solution":"$x=\\boxed{\\frac{1}{2}}$"},' \
              ' {"problem":"Sum?","answer":"10","solution":"10"}]' > "$tmp/deepscaler.json"
imports deepscaler deepscaler "$tmp/deepscaler.json" && {
    expect "deepscaler: a JSON array, numbered ids" "$(jq -r '[.id, .answer] | join(" ")' "$tmp/out.jsonl" | paste -sd,)" \
      'deepscaler-0 \frac{1}{2},deepscaler-1 10'
    golds_parse deepscaler; }

# STILL-3-Preview-RL-Data (RUC-AIBOX): question, answer
printf '%s\n' '{"question":"How many primes are below 10?","answer":"4"}' > "$tmp/still3.jsonl"
imports still3 still3 "$tmp/still3.jsonl" && {
    expect "still3: question -> problem" "$(jq -c . "$tmp/out.jsonl")" \
      '{"id":"still3-0","problem":"How many primes are below 10?","answer":"4","source":"still3"}'
    golds_parse still3; }

# OpenR1-Math-220k (open-r1, default config): problem, solution, answer, uuid (and the R1 generations, not kept)
printf '%s\n' '{"problem":"Find x if 2x = 6.","solution":"x = \\boxed{3}","answer":"3","problem_type":"Algebra","uuid":"5f2c","generations":["..."]}' > "$tmp/openr1.jsonl"
imports openr1 openr1 "$tmp/openr1.jsonl" && {
    expect "openr1: id from uuid, problem, answer, solution" "$(jq -c '[.id, .problem, .answer, .solution, .source]' "$tmp/out.jsonl")" \
      '["openr1-5f2c","Find x if 2x = 6.","3","x = \\boxed{3}","openr1"]'
    golds_parse openr1; }

# GPQA-Diamond (Idavidrein/gpqa gpqa_diamond.csv): CSV with quoted, multi-line fields and "" quotes; a BOM
gpqa_header='Pre-Revision Question,Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3,Explanation,Record ID,High-level domain,Subdomain'
{ printf '\xef\xbb\xbf%s\r\n' "$gpqa_header"
  printf '%s\r\n' 'x,"Which particle is ""heaviest"",
of these?"," top quark ",electron,"muon, tau",photon,"Mass: 173 GeV.",recA1,Physics,Particle physics'
  printf '%s\r\n' 'y,What is 2+2?,4,3,5,22,Arithmetic.,recB2,Math,Arithmetic'; } > "$tmp/gpqa.csv"
imports gpqa_diamond gpqa_diamond "$tmp/gpqa.csv" && {
    expect "gpqa csv: two records, ids from Record ID" "$(jq -r .id "$tmp/out.jsonl" | paste -sd,)" "gpqa_diamond-recA1,gpqa_diamond-recB2"
    expect "gpqa csv: the letter names the correct answer" \
      "$(jq -r '.choices[(.answer | explode[0]) - 65]' "$tmp/out.jsonl" | paste -sd,)" "top quark,4"
    expect "gpqa csv: choices are the four answers, stripped" \
      "$(jq -c '.choices | sort' "$tmp/out.jsonl" | head -1)" '["electron","muon, tau","photon","top quark"]'
    expect "gpqa csv: quotes and newlines inside fields" "$(jq -c .question "$tmp/out.jsonl" | head -1)" '"Which particle is \"heaviest\",\nof these?"'
    expect "gpqa csv: problem lists the choices" \
      "$(jq -r '.problem | split("\n\n")[1] | split("\n") | map(.[0:3]) | join("")' "$tmp/out.jsonl" | head -1)" "A) B) C) D) "
    expect "gpqa csv: extras" "$(jq -c '[.subject, .domain, .solution]' "$tmp/out.jsonl" | head -1)" '["Particle physics","Physics","Mass: 173 GeV."]'
    cp "$tmp/out.jsonl" "$tmp/gpqa_csv.jsonl"
    if [ -x "$reward" ]; then
        got=$(jq -c '. + {completion: ("The answer is \\boxed{" + .answer + "}")}, . + {completion: "\\boxed{A}"}' \
                 "$tmp/out.jsonl" | "$reward" -q -r accuracy | jq -c -s 'map(.rewards.accuracy)')
        # the second completion of each pair boxes A, which is right only when the answer is A
        want=$(jq -c -s 'map(1, (if .answer == "A" then 1 else 0 end))' "$tmp/out.jsonl")
        expect "gpqa: tina-reward grades the letter" "$got" "$want"
    fi; }
# the same rows as JSON lines (the form other mirrors publish), and again: the same order every time
jq -R -s -c -L "$here" 'include "csv"; csv_objects' "$tmp/gpqa.csv" > "$tmp/gpqa.jsonl"
imports "gpqa jsonl" gpqa_diamond "$tmp/gpqa.jsonl" && expect "gpqa jsonl: same records as from CSV, deterministic" \
    "$(cmp -s "$tmp/out.jsonl" "$tmp/gpqa_csv.jsonl" && echo same)" same
expect "gpqa: the order depends on the question only" \
    "$(printf '%s\n' '{"Question":"What is 2+2?","Correct Answer":"4","Incorrect Answer 1":"3","Incorrect Answer 2":"5","Incorrect Answer 3":"22"}' \
       | "$imp" gpqa_diamond - | jq -c .choices)" "$(sed -n 2p "$tmp/gpqa_csv.jsonl" | jq -c .choices)"
expect "gpqa: the incorrect answers keep their order around the correct one (Tina's layout)" \
    "$(jq -c '.choices - [.choices[(.answer | explode[0]) - 65]]' "$tmp/gpqa_csv.jsonl" | paste -sd'|')" '["electron","muon, tau","photon"]|["3","5","22"]'
# the position drawn per seed: over 40 seeds of one question, every letter comes up, and a seed repeats its draw
for s in $(seq 0 39); do "$imp" -a seed=$s gpqa_diamond "$tmp/gpqa.jsonl" | sed -n 2p | jq -r .answer; done > "$tmp/letters"
expect "gpqa -a seed=S: all four positions over 40 seeds" "$(sort -u "$tmp/letters" | paste -sd,)" "A,B,C,D"
expect "gpqa -a seed=S: the same seed, the same draw" \
    "$("$imp" -a seed=7 gpqa_diamond "$tmp/gpqa.jsonl" | sed -n 2p | jq -r .answer)" "$(sed -n 8p "$tmp/letters")"
if "$imp" -a seed=x gpqa_diamond "$tmp/gpqa.jsonl" > /dev/null 2> "$tmp/err"; then bad "gpqa: a bad seed refused" "exit 0"
else expect "gpqa: a bad seed refused" "$(grep -c 'whole number' "$tmp/err")" 1; fi

# Hugging Face forms of the shipped sets: MATH-500 (HuggingFaceH4/MATH-500), openai/gsm8k, AIME/AMC with numbers
printf '%s\n' '{"problem":"Simplify $\\sqrt{8}$.","solution":"It is $\\boxed{2\\sqrt{2}}$.","answer":"2\\sqrt{2}","subject":"Algebra","level":2,"unique_id":"test/algebra/1.json"}' > "$tmp/m.jsonl"
imports math500 math500 "$tmp/m.jsonl" && expect "math500: own id" "$(jq -r .id "$tmp/out.jsonl")" "math500-test/algebra/1.json"
printf '%s\n' '{"question":"How many?","answer":"2 + 2 = <<2+2=4>>4\nThen 1,200.\n#### 1,204"}' > "$tmp/g.jsonl"
imports gsm8k gsm8k "$tmp/g.jsonl" && { expect "gsm8k: answer after ####, commas removed" "$(jq -r .answer "$tmp/out.jsonl")" "1204"; golds_parse gsm8k; }
printf '%s\n' '{"id":7,"problem":"P","answer":"007"}' > "$tmp/a.jsonl"
imports aime24 aime24 "$tmp/a.jsonl" && expect "aime24: zero-padded answer as an integer" "$(jq -r '.id + " " + .answer' "$tmp/out.jsonl")" "aime24-7 7"
printf '%s\n' '{"id":0,"problem":"P","answer":27.0}' '{"id":1,"problem":"Q","answer":0.5}' > "$tmp/a.jsonl"
imports amc23 amc23 "$tmp/a.jsonl" && expect "amc23: float answers" "$(jq -r .answer "$tmp/out.jsonl" | paste -sd,)" "27,0.5"
# minerva: answers matched by idx (a string idx too), else the last \boxed{} of the solution
printf '%s\n' '{"problem":"P0","solution":"so \\boxed{1.6} cm","type":"T","idx":0}' '{"problem":"P1","solution":"$\\boxed{\\frac{a}{b}}$","type":"T","idx":1}' > "$tmp/mv.jsonl"
printf '%s\n' '[{"idx":"1","answer":["a/b\n","x"]}]' > "$tmp/mva.json"
imports minerva minerva "$tmp/mv.jsonl" "$tmp/mva.json" && expect "minerva: answers by idx, else boxed" "$(jq -r .answer "$tmp/out.jsonl" | paste -sd,)" "1.6,a/b"
# verl parquet exported to JSON lines
printf '%s\n' '{"data_source":"deepscaler","problem_id":5,"prompt":[{"content":"Find $f(2)$. Let'"'"'s think step by step and output the final answer within \\boxed{}.","role":"user"}],"reward_model":{"ground_truth":"- \\frac{1}{4}","style":"rule"},"difficulty":3.5}' > "$tmp/v.jsonl"
imports verl deepscaler_subset2000 "$tmp/v.jsonl" && expect "verl: instruction removed, ground truth" "$(jq -c . "$tmp/out.jsonl")" \
  '{"id":"deepscaler_subset2000-5","problem":"Find $f(2)$.","answer":"- \\frac{1}{4}","source":"deepscaler_subset2000","difficulty":3.5,"origin":"deepscaler"}'
# CuratedThoughts (bethgelab, OpenThoughts-114k-math-default): OpenThoughts-114k-math's columns, a worked solution
printf '%s\n' '{"source":"olympiads","problem":"Find $x$.","solution":"Since $2x=10$, $x = \\boxed{5}$.","messages":[{"role":"user","content":"Find $x$."}],"system":"S","conversations":[],"generated_token_count":812,"correct":true}' > "$tmp/ct.jsonl"
imports curated-thoughts curated-thoughts "$tmp/ct.jsonl" && { expect "curated-thoughts: problem, the solution's box as answer, solution kept" "$(jq -c . "$tmp/out.jsonl")" \
  '{"id":"curated-thoughts-0","problem":"Find $x$.","answer":"5","source":"curated-thoughts","solution":"Since $2x=10$, $x = \\boxed{5}$.","origin":"olympiads"}'; golds_parse curated-thoughts; }
# II-Thought-RL (Math-50K): the problem in messages, the gold in verification_info (JSON text, or an object)
printf '%s\n' '{"id":"m-17","messages":[{"role":"user","content":"What is 3 + 4?"}],"verification_info":"{\"type\": \"math_verifiable\", \"answer\": {\"value\": \"7\"}}","domain":"math"}' \
  '{"messages":[{"role":"user","content":"Half of 1?"}],"verification_info":{"type":"math_verifiable","answer":{"value":"\\frac{1}{2}"}}}' > "$tmp/ii.jsonl"
imports ii-thought ii-thought "$tmp/ii.jsonl" && { expect "ii-thought: problem from messages, answer.value from verification_info" "$(jq -c . "$tmp/out.jsonl" | paste -sd'|')" \
  '{"id":"ii-thought-m-17","problem":"What is 3 + 4?","answer":"7","source":"ii-thought","verifier":"math_verifiable","origin":"math"}|{"id":"ii-thought-1","problem":"Half of 1?","answer":"\\frac{1}{2}","source":"ii-thought","verifier":"math_verifiable"}'; golds_parse ii-thought; }
printf '%s\n' '{"id":"c-1","messages":[{"role":"user","content":"Write code."}],"verification_info":"{\"type\": \"code_verifiable\", \"test_cases\": []}"}' > "$tmp/ii.jsonl"
if "$imp" ii-thought "$tmp/ii.jsonl" > /dev/null 2> "$tmp/err"; then bad "ii-thought: a record without answer.value refused" "exit 0"
else expect "ii-thought: a record without answer.value refused, naming it" "$(grep -c 'c-1: verification_info has no answer.value' "$tmp/err")" 1; fi
# any other set with -f and field names
printf '%s\n' '{"uid":"q9","query":"Q?","final":"3"}' > "$tmp/o.jsonl"
imports "-f qa -a" -f qa -a problem=query -a answer=final -a id=uid myset "$tmp/o.jsonl" && \
  expect "-f qa with -a field names" "$(jq -c . "$tmp/out.jsonl")" '{"id":"myset-q9","problem":"Q?","answer":"3","source":"myset"}'

# compressed input, Parquet refused, repeated ids refused, a record without a problem refused
gzip -c "$tmp/still3.jsonl" > "$tmp/s.jsonl.gz"; zstd -q -c "$tmp/still3.jsonl" > "$tmp/s.jsonl.zst"
imports gzip still3 "$tmp/s.jsonl.gz" && expect "gzip input" "$(jq -r .id "$tmp/out.jsonl")" "still3-0"
imports zstd still3 "$tmp/s.jsonl.zst" && expect "zstd input" "$(jq -r .id "$tmp/out.jsonl")" "still3-0"
printf 'PAR1xxxx' > "$tmp/p.parquet"
if "$imp" open-rs "$tmp/p.parquet" > /dev/null 2> "$tmp/err"; then bad "parquet refused" "exit 0"
else expect "parquet refused with a hint" "$(grep -c 'export it to JSON lines' "$tmp/err")" 1; fi
printf '%s\n' '{"id":1,"problem":"P","answer":"1"}' '{"id":1,"problem":"Q","answer":"2"}' > "$tmp/d.jsonl"
if "$imp" aime25 "$tmp/d.jsonl" > /dev/null 2> "$tmp/err"; then bad "repeated id refused" "exit 0"
else st=$?; expect "repeated id refused" "$(grep -c 'repeated id' "$tmp/err")" 1
     expect "repeated id refused: exit status 1, as import.sh -h says (jq's was 5)" "$st" 1; fi
printf '%s\n' '{"id":1,"answer":"1"}' > "$tmp/d.jsonl"
if "$imp" aime25 "$tmp/d.jsonl" > /dev/null 2> "$tmp/err"; then bad "missing problem refused" "exit 0"
else st=$?; expect "missing problem refused" "$(grep -c 'no problem text' "$tmp/err")" 1
     expect "missing problem refused: exit status 1" "$st" 1; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
