#!/usr/bin/env bash
# tina-reward as a user drives it: verdicts against Math-Verify's (committed corpus and hand-written cases),
# reward arithmetic worked out by hand, bounded time on pathological answers, and clean refusals.
. "$(dirname "$0")/lib.bash"
FIXTURES=$ROOT/tests/fixtures/reward

rollout() { jq -cn --arg answer "$1" --arg completion "$2" '{id: "p", answer: $answer, completion: $completion}'; }

# ---- agreement with Math-Verify ---------------------------------------------------------------------------------

# Every disagreement is listed with its reason in disagreements.tsv; a new one (or one that went away) fails.
# corpus: built from every gold of the project's data sets (tests/reference/reward_corpus.py); cases: hand-written
# per area (reward_cases.py); heldout, heldout2 and heldout3: written by three other authors without sight of the
# checker (reward_heldout.py, reward_heldout2.py, reward_heldout3.py).
for set in corpus cases heldout heldout2 heldout3; do
    file=$FIXTURES/$set.jsonl.zst
    [ -e "$file" ] || file=$FIXTURES/$set.jsonl
    run tina-reward -q -r accuracy "$file"
    check "$set: runs" status_is 0
    jq -r 'select(.rewards.accuracy != .accuracy) | .id' out | sort > got-$set
    cut -f1 "$FIXTURES/disagreements.tsv" | grep -v '^#' | sort > listed
    comm -13 listed got-$set > new-$set
    check "$set: no disagreement with Math-Verify beyond disagreements.tsv" [ ! -s new-$set ]
    [ -s new-$set ] && head -n 5 new-$set | sed 's/^/  new: /'
    total=$(jq -s length out)
    agree=$((total - $(wc -l < got-$set)))
    check "$set: agreement at least 99% ($agree of $total)" [ $((agree * 100)) -ge $((total * 99)) ]
    echo "note: $set: $agree of $total verdicts equal Math-Verify's"
done
check "every listed disagreement still happens" [ -z "$(comm -23 listed <(sort -u got-*))" ]

# ---- Tina's own rewards (--gold-parse tina) ----------------------------------------------------------------------

# tina_solution: golds in "solution" as Tina's trainer kept them (worked solutions of MATH-500, Minerva, GSM8K and
# edge cases); tina_answer: golds in "answer", which Tina's grpo.py wrote as "$answer$". The verdicts are those of
# Tina's rewards.py itself (accuracy, and cosine at 3584), run by tests/reference/tina_gold.py with Math-Verify 0.5.2.
# Every disagreement is listed with its reason in tina_disagreements.tsv; a new one (or one that went away) fails.
cut -f1 "$FIXTURES/tina_disagreements.tsv" | grep -v '^#' | sort > listed-tina
for set in solution answer; do
    field=(); [ $set = solution ] && field=(--gold-field solution)
    run tina-reward -q -r accuracy,cosine --cosine-max-len 3584 "${field[@]}" --gold-parse tina --nulls trl \
        "$FIXTURES/tina_$set.jsonl.zst"
    check "tina_$set: runs" status_is 0
    jq -r 'select(.rewards.accuracy != .accuracy or ((.rewards.cosine - .cosine) | fabs) > 1e-9) | .id' out \
        | sort > got-tina-$set
    comm -13 listed-tina got-tina-$set > new-tina-$set
    check "tina_$set: no disagreement with Tina's rewards beyond tina_disagreements.tsv" [ ! -s new-tina-$set ]
    [ -s new-tina-$set ] && head -n 5 new-tina-$set | sed 's/^/  new: /'
    total=$(jq -s length out)
    accuracy_agree=$(jq -s 'map(select(.rewards.accuracy == .accuracy)) | length' out)
    check "tina_$set: accuracy equal to Tina's on at least 99.9% ($accuracy_agree of $total)" \
        [ $((accuracy_agree * 1000)) -ge $((total * 999)) ]
    echo "note: tina_$set: accuracy equal on $accuracy_agree of $total pairs, cosine within 1e-9 on $((total - $(wc -l < got-tina-$set)))"
    # the same pairs read the other way (the gold as \boxed{gold}) disagree far more where the gold is a worked solution
    run tina-reward -q -r accuracy "${field[@]}" --nulls trl "$FIXTURES/tina_$set.jsonl.zst"
    boxed_agree=$(jq -s 'map(select(.rewards.accuracy == .accuracy)) | length' out)
    echo "note: tina_$set without --gold-parse tina: accuracy equal on $boxed_agree of $total"
    [ $set = solution ] && check "tina_solution: without --gold-parse tina, accuracy differs from Tina's on 10 times as many pairs ($((total - boxed_agree)) against $((total - accuracy_agree)))" \
        [ $((total - boxed_agree)) -ge $((10 * (total - accuracy_agree))) ]
done
check "every listed disagreement with Tina's rewards still happens" \
    [ -z "$(comm -23 listed-tina <(sort -u got-tina-*))" ]

printf '%s\n' '{"solution":"We add: 2 + 3 = 5. The answer is 5.","completion":"x\n</think>\n\n$\\boxed{5}$"}' > worked.jsonl
run tina-reward -q -r accuracy,cosine --gold-field solution --gold-parse tina --nulls trl worked.jsonl
check "--gold-parse tina: a solution without a box gives its last number (accuracy 1); cosine's LaTeX-only parse finds none (1, Tina's skip)" \
    jq_true '.[0].rewards == {"accuracy": 1, "cosine": 1}'
run tina-reward -q -r accuracy --gold-field solution worked.jsonl
check "--gold-parse answer (default): the same solution read as \\boxed{solution} is no match" jq_true '.[0].rewards.accuracy == 0'
run tina-reward -q --gold-parse latex worked.jsonl
check "--gold-parse: an unknown mode is a usage error" status_is 2

# ---- lighteval's extractive match (--grader lighteval-*) ----------------------------------------------------------

# lighteval.jsonl.zst: the verdicts of lighteval's own extractive match (ed084813) as Tina's evaluation configured it,
# run by tests/reference/lighteval_grade.py on MATH-500 and Minerva solutions (latex), AIME, AMC and DeepScaleR
# answers (expr), the reward corpus's pairs under both, and GPQA-style letters. Every disagreement is listed with its
# reason in lighteval_disagreements.tsv; a new one (or one that went away) fails.
cut -f1 "$FIXTURES/lighteval_disagreements.tsv" | grep -v '^#' | sort > listed-lighteval
zstd -dc "$FIXTURES/lighteval.jsonl.zst" > lighteval-all.jsonl
for metric in expr latex letters; do
    jq -c --arg m $metric 'select(.metric == $m)' lighteval-all.jsonl > lighteval-$metric.jsonl
    run tina-reward -q -r accuracy --grader lighteval-$metric lighteval-$metric.jsonl
    check "lighteval $metric: runs" status_is 0
    jq -r 'select(.rewards.accuracy != .lighteval) | .id' out | sort > got-lighteval-$metric
    comm -13 listed-lighteval got-lighteval-$metric > new-lighteval-$metric
    check "lighteval $metric: no disagreement with lighteval beyond lighteval_disagreements.tsv" [ ! -s new-lighteval-$metric ]
    [ -s new-lighteval-$metric ] && head -n 5 new-lighteval-$metric | sed 's/^/  new: /'
    total=$(jq -s length out)
    echo "note: lighteval $metric: $((total - $(wc -l < got-lighteval-$metric))) of $total verdicts equal lighteval's"
done
check "every listed disagreement with lighteval still happens" \
    [ -z "$(comm -23 listed-lighteval <(sort -u got-lighteval-*))" ]
# what the two graders differ on, by hand: an integer percentage (lighteval: its value / 100), 5 places against 6,
# a number at the end with no anchor (lighteval's expressions; Math-Verify reads LaTeX only), a gold kept as text
# (lighteval's verdicts, checked with its code as lighteval_grade.py runs it: 0, 1, 1, 0; 0.3333 against 1/3 gives 0)
{ rollout 25 '</think> The answer is $\boxed{25\%}$.'
  rollout '1/3' '</think> The answer is $\boxed{0.33333}$.'
  rollout 42 '</think> Adding it all up we get 42'
  rollout 'forty' '</think> The answer is forty'; } > graders.jsonl
run tina-reward -q -r accuracy graders.jsonl
check "open-r1 grader: 25% is 25, 0.33333 is not 1/3, a bare 42 is not read" \
    [ "$(jq -r '.rewards.accuracy' out | paste -sd' ')" = "1 0 0 0" ]
run tina-reward -q -r accuracy --grader lighteval-expr graders.jsonl
check "lighteval-expr: 25% is 1/4, 0.33333 is 1/3 to 5 places, a bare 42 is read, text matches no text" \
    [ "$(jq -r '.rewards.accuracy' out | paste -sd' ')" = "0 1 1 0" ]
# lighteval rounds a decimal to 5 places only against a number sympy holds as one (sympy_numeric_eq: both Numbers
# after doit), so 3.14159 is not \pi (Math-Verify 0.9.0's relative difference, which the open-r1 grader follows, has
# no place there); \sqrt{4} and \sqrt{2} \cdot \sqrt{2} are 2 to sympy (lighteval's verdicts: 0 0 0 1 1 1)
{ rollout '$\pi$' '</think> The answer is $\boxed{3.14159}$.'
  rollout '$2\sqrt{3}$' '</think> The answer is $\boxed{3.46410}$.'
  rollout '$\frac{\pi}{2}$' '</think> The answer is $\boxed{1.5708}$.'
  rollout '$\sqrt{4}$' '</think> The answer is $\boxed{2.0}$.'
  rollout '$\frac{3}{2}$' '</think> The answer is $\boxed{1.50000}$.'
  rollout '$\sqrt{2}\cdot\sqrt{2}$' '</think> The answer is $\boxed{2.0}$.'; } > irrational.jsonl
run tina-reward -q -r accuracy --grader lighteval-latex irrational.jsonl
check "lighteval-latex: a decimal is not \pi, 2 sqrt 3 or pi/2 to 5 places; it is sqrt 4, 3/2 and sqrt 2 sqrt 2" \
    [ "$(jq -r '.rewards.accuracy' out | paste -sd' ')" = "0 0 0 1 1 1" ]
run tina-reward -q -r accuracy --grader lighteval-letters graders.jsonl
check "lighteval-letters without choices: exit 2, naming the field" sh -c '[ "$0" = 2 ] && grep -q choices err' "$status"
run tina-reward -q --grader lighteval-latex --gold-parse tina graders.jsonl
check "--grader lighteval-* with --gold-parse tina: usage error" status_is 2
run tina-reward -q --grader mathverify graders.jsonl
check "--grader: an unknown grader is a usage error" status_is 2

# Hand-labelled by Math-Verify 0.9.0 (open-r1's configuration, as reward_heldout3.py's label()): a function's
# argument without parentheses ends at another function or at e (\sin x \cos x is sin(x) cos(x), while \sin 2x is
# sin(2x)), and a set, interval or tuple after \approx does not parse (x \approx (1,2) is kept as text).
cat > nofunc.tsv <<'PAIRS'
\sin(x)\cos(x)	\sin x \cos x	1
\sin(x \cos(x))	\sin x \cos x	0
2\sin(x)\cos(x)	2\sin x\cos x	1
\cos(x)\sqrt{3}	\cos x\sqrt{3}	1
\sec(x)\tan(x)	\sec x \tan x	1
\sin^2(x)\cos(x)	\sin^2 x \cos x	1
\sin(x) e^x	\sin x e^x	1
\ln(x)\ln(y)	\ln x \ln y	1
\sin(2x)	\sin 2x	1
\sin(\pi x)	\sin \pi x	1
(1,2)	x \approx (1,2)	0
[1,2]	x \approx [1,2]	0
2x	2x \approx (1,2)	0
5	x \approx 5	1
PAIRS
while IFS=$'\t' read -r gold pred _; do
    rollout "$gold" "</think> The answer is \$\\boxed{$pred}\$."
done < nofunc.tsv > nofunc.jsonl
run tina-reward -q -r accuracy nofunc.jsonl
check "functions side by side without parentheses, and \\approx before a set: Math-Verify's verdicts" \
    [ "$(jq -r '.rewards.accuracy' out)" = "$(cut -f3 nofunc.tsv)" ]
# x \approx 5 is 5 when the left side is only names, as latex2sympy's is_expr_of_only_symbols tests the expression
# sympy makes of it (a / 2 passes, as a times Pow(2, -1); a - b does not, as a + (-1)b): Math-Verify 0.9.0's verdicts
# against the gold 5 (f(x, y), a function of two arguments, is left out: tina reads it as f times a tuple)
cat > approx.tsv <<'PAIRS'
a+b \approx 5	1
\frac{a}{b} \approx 5	1
a^b \approx 5	1
|x| \approx 5	1
\sqrt{a} \approx 5	0
a^2 \approx 5	0
2a \approx 5	0
-a \approx 5	0
\sin a \approx 5	1
a/2 \approx 5	1
\pi \approx 5	0
x! \approx 5	1
\log x \approx 5	0
ab \approx 5	1
x \approx 5	1
a - b \approx 5	0
\frac{a}{2} \approx 5	1
a \cdot b \approx 5	1
e^x \approx 5	1
\max(a,b) \approx 5	1
\binom{a}{b} \approx 5	1
x\% \approx 5	0
\sqrt[3]{a} \approx 5	0
\frac{1}{a} \approx 5	0
a^{-1} \approx 5	1
\ln x \approx 5	0
\log_2 x \approx 5	0
\exp(x) \approx 5	1
\lg x \approx 5	0
\log(x) \approx 5	0
\pi x \approx 5	0
\frac{a}{\pi} \approx 5	1
\frac{a}{b+c} \approx 5	1
\frac{a}{-b} \approx 5	0
\frac{a}{b^2} \approx 5	0
\frac{a}{0.5} \approx 5	1
x^{y z} \approx 5	1
\det(a) \approx 5	0
\gcd(a,b) \approx 5	0
\cos(ab) \approx 5	1
e^{ab} \approx 5	1
2^{-1} \approx 5	1
\frac{a b}{c d} \approx 5	1
a^{b^c} \approx 5	1
|a+b| \approx 5	1
\tan a \approx 5	1
\frac{a}{b} c \approx 5	1
f(x) \approx 5	1
x^{-2} \approx 5	0
\operatorname{lcm}(a,b) \approx 5	1
PAIRS
while IFS=$'\t' read -r pred _; do
    rollout 5 "</think> The answer is \$\\boxed{$pred}\$."
done < approx.tsv > approx.jsonl
run tina-reward -q -r accuracy approx.jsonl
check "name \\approx value: the value when the left side is only names, by Math-Verify's test ($(wc -l < approx.tsv) cases)" \
    [ "$(jq -r '.rewards.accuracy' out)" = "$(cut -f2 approx.tsv)" ]
# two overlined names longer than tina's names hold, the same but for their last letter (Math-Verify 0.9.0: 0, and
# 1 for the same name); tina cut both short to one name
long=ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ
{ rollout "\\overline{$long}" "</think> The answer is \$\\boxed{\\overline{${long}X}}\$."
  rollout "\\overline{$long}" "</think> The answer is \$\\boxed{\\overline{$long}}\$."; } > accents.jsonl
run tina-reward -q -r accuracy accents.jsonl
check "two long overlined names apart in their last letter differ; one such name equals itself (Math-Verify's)" \
    [ "$(jq -r '.rewards.accuracy' out | paste -sd' ')" = "0 1" ]

# ---- the output record ---------------------------------------------------------------------------------------

rollout '\frac{1}{2}' $'steps\n</think>\nSo the answer is $\\boxed{0.5}$.' > half.jsonl
run tina-reward half.jsonl
check "default preset tina: format 1, accuracy 1, reward 1 + 2" \
    jq_true '.[0].rewards == {"format": 1, "accuracy": 1} and .[0].reward == 3'
check "pred is the extracted answer" jq_true '.[0].pred == "0.5"'
check "input fields pass through" jq_true '.[0].id == "p" and .[0].answer == "\\frac{1}{2}"'
check "summary on stderr" stderr_has "1 records"

rollout '6' 'no box here' > nobox.jsonl
run tina-reward nobox.jsonl
check "nothing extracted: pred null, accuracy 0, format 0" \
    jq_true '.[0].pred == null and .[0].rewards.accuracy == 0 and .[0].reward == 0'

rollout '' $'x\n</think>\n\\boxed{1}' > nogold.jsonl
run tina-reward nogold.jsonl
check "empty gold: accuracy null and the total null" jq_true '.[0].rewards.accuracy == null and .[0].reward == null'
check "empty gold: format still scored" jq_true '.[0].rewards.format == 1'

jq -cn '{id: "s", solution: "So $x = \\boxed{12}$.", completion: "\\boxed{12}"}' > solution.jsonl
run tina-reward -r accuracy solution.jsonl
check "no answer field: the last box of the solution is the gold" jq_true '.[0].rewards.accuracy == 1'

jq -cn '{id: "n", answer: 27.0, completion: "\\boxed{27}"}' > number.jsonl
run tina-reward -r accuracy number.jsonl
check "a numeric gold (27.0 in JSON) is read as the number" jq_true '.[0].rewards.accuracy == 1'

# Weights: 0.5 x format (1) + 3 x accuracy (1) = 3.5
run tina-reward -r format:0.5,accuracy:3 half.jsonl
check "weighted sum" jq_true '.[0].reward == 3.5'

# Cosine (Tina rs3): correct, length L chars: 0.5 + 0.25 (1 + cos(pi L / 3584)).
run tina-reward --preset tina-rs3 half.jsonl
len=$(jq -r '.completion | length' half.jsonl)
check "cosine: 0.5 + 0.25 (1 + cos(pi L / 3584)) for a correct answer" \
    jq_true --arg L "$len" '.[0].rewards.cosine as $c | (0.5 + 0.25 * (1 + (3.141592653589793 * ($L | tonumber) / 3584 | cos)) - $c | fabs) < 1e-12'
run tina-reward -r cosine --cosine-max-len 10 --cosine-clamp half.jsonl
check "cosine clamped past the maximum: 0.5" jq_true '.[0].rewards.cosine == 0.5'

# Length (STILL): group g has lengths 10, 20, 30 chars; right, wrong, right -> 0.5, min(0, 0), -0.5.
{ jq -cn '{id: "g", answer: "1", completion: "\\boxed{1}a"}'
  jq -cn '{id: "g", answer: "1", completion: "\\boxed{2}abcdefghijk"}'
  jq -cn '{id: "g", answer: "1", completion: "\\boxed{1}abcdefghijklmnopqrstu"}'
  jq -cn '{id: "h", answer: "1", completion: "\\boxed{1}"}'; } > group.jsonl
run tina-reward -r length group.jsonl
check "length: relative within the group of the same id" jq_true 'map(.rewards.length) == [0.5, 0, -0.5, 0]'

jq -cn '{id: "t", answer: "1", completion: "a b c a b c", finish_reason: "length"}' > rep.jsonl
run tina-reward -r repetition,tag_count,reasoning_steps,format_r1 rep.jsonl
check "repetition: -(1 - 3/4)" jq_true '.[0].rewards.repetition == -0.25'
check "summary counts truncated completions" stderr_has "100.0% truncated"

run tina-reward --preset open-r1 half.jsonl
check "open-r1 preset: accuracy, format_r1, tag_count" \
    jq_true '.[0].rewards | keys == ["accuracy", "format_r1", "tag_count"]'

# Multiple choice (a record with "choices"): the letter from a box or from Math-Verify's StringExtractionConfig
# patterns; these extractions were checked against math-verify 0.9.0's parse(..., [StringExtractionConfig()]).
for c in 'The answer is (C).' 'Answer: B' '\boxed{D}' 'so **A**' 'nothing' 'final answer is C. I hope' \
         '\boxed{\text{(B)}}' 'A. is wrong, the answer is B'; do
    jq -cn --arg c "$c" '{id: "q", answer: "B", choices: ["w", "x", "y", "z"], completion: $c}'
done > choice.jsonl
run tina-reward -r accuracy choice.jsonl
check "multiple choice: the letters extracted" jq_true 'map(.pred) == [null, "B", "D", "A", null, "C", "B", "B"]'
check "multiple choice: right when the letter is the gold's" jq_true 'map(.rewards.accuracy) == [0, 1, 0, 0, 0, 0, 1, 1]'
jq -cn '{id: "q", answer: "y", choices: ["w", "x", "y", "z"], completion: "Answer: C"}' > choice-text.jsonl
run tina-reward -r accuracy choice-text.jsonl
check "multiple choice: a gold given as the text of a choice" jq_true '.[0].rewards.accuracy == 1'
for mode in answer tina; do
    run tina-reward -r accuracy,cosine --gold-parse $mode choice-text.jsonl
    check "multiple choice, --gold-parse $mode: cosine follows the letter's verdict (right: above 0.5)" \
        jq_true '.[0].rewards.accuracy == 1 and .[0].rewards.cosine > 0.5'
done

# ---- bounded time on pathological answers ------------------------------------------------------------------------

deep=$(printf '{%.0s' $(seq 10000))
{ rollout '5' "\\boxed{$deep}"
  rollout '5' "\\boxed{1$deep 5}"
  rollout '10^{10^{10}}' '\boxed{10^{10^{10^{10}}}}'
  rollout '5' '\boxed{1000000!}'
  { printf '\\boxed{'; head -c 1000000 /dev/zero | tr '\0' 7; printf '}'; } |
      jq -cRs '{id: "p", answer: "5", completion: .}'
  rollout '5' "$(printf '$\\boxed{%.0s' $(seq 2000))"
  rollout '5' "$(printf '\\sqrt{%.0s' $(seq 3000))5$(printf '}%.0s' $(seq 3000))"; } > nasty.jsonl
SECONDS=0
timeout 60 "$BIN/tina-reward" -q -r accuracy nasty.jsonl > out 2> err
status=$?
check "pathological answers: finishes with a verdict for each" jq_true 'length == 7 and all(.rewards.accuracy | . == 0 or . == 1)'
echo "note: 7 pathological answers (10,000 nested braces, a 1 MB number, 10^10^10^10, 1000000!) in ${SECONDS}s"

# ---- refusals ------------------------------------------------------------------------------------------------

run tina-reward -r accuracy,nonsense half.jsonl
check "unknown reward: usage error" status_is 2
check "unknown reward: named" stderr_has "nonsense"
run tina-reward -r format --preset tina half.jsonl
check "--preset with --reward: usage error" status_is 2
echo '{"id": "x", "completion": "\\boxed{1}"}' > nogoldfield.jsonl
run tina-reward -o result.jsonl nogoldfield.jsonl
check "no gold field: exit 2" status_is 2
check "no gold field: says which field and where" stderr_has 'nogoldfield.jsonl:1: no gold answer: field "answer"'
check "no gold field: no output file" [ ! -e result.jsonl ]
echo '{"id": "x", "answer": "1"}' > nocompletion.jsonl
run tina-reward nocompletion.jsonl
check "no completion: exit 2" status_is 2
check "no completion: named" stderr_has '"completion"'
printf '{"id": 1, "answer": "1", "completion": "x"}\nnot json\n' > bad.jsonl
run tina-reward bad.jsonl
check "not JSON: exit 2 with the line" stderr_has "bad.jsonl:2:"
run tina-reward --help
check "--help: usage on stdout, exit 0" jq_true 'true' /dev/null
check "--help lists every reward" grep -q "reasoning_steps" out

# --nulls: a gold that does not parse (an empty answer) under strict (the default) and trl (TRL's nansum, Tina's)
printf '%s\n' '{"id":"p","answer":"","completion":"x\n</think>\n\\boxed{3}"}' > null-gold.jsonl
run tina-reward -q --reward format:1,accuracy:2,cosine:1 null-gold.jsonl
check "--nulls strict (default): accuracy, cosine and the total null" \
    jq -e '.rewards == {format: 1, accuracy: null, cosine: null} and .reward == null' out
run tina-reward -q --reward format:1,accuracy:2,cosine:1 --nulls trl null-gold.jsonl
check "--nulls trl: accuracy null adds nothing, cosine 1 (Tina's): total 1 + 1" \
    jq -e '.rewards == {format: 1, accuracy: null, cosine: 1} and .reward == 2' out
run tina-reward -q --reward accuracy:2 --nulls trl null-gold.jsonl
check "--nulls trl: every reward null: the total 0 (nansum of nothing)" jq -e '.reward == 0' out
run tina-reward -q --nulls lenient null-gold.jsonl
check "--nulls: another mode is a usage error" [ "$status" = 2 ]
# the L1 rewards: Tina's rewards.py (len_reward_l1_exact, _max) run on these two completions (9 and 13 characters,
# target 1000, the first right) gave exact 0.7027, -0.2961 and max 0.7973, 0
printf '%s\n' '{"id":"p","answer":"5","target_length":1000,"completion":"\\boxed{5}"}' \
    '{"id":"p","answer":"5","target_length":1000,"completion":"x x \\boxed{7}"}' > l1.jsonl
run tina-reward -q -r length_l1_exact,length_l1_max l1.jsonl
check "length_l1_exact, length_l1_max: Tina's values" jq -e -s 'map(.rewards) | (.[0].length_l1_exact - 0.7027 | fabs) < 1e-9
    and (.[1].length_l1_exact + 0.2961 | fabs) < 1e-9 and (.[0].length_l1_max - 0.7973 | fabs) < 1e-9 and .[1].length_l1_max == 0' out
jq -c 'del(.target_length)' l1.jsonl > l1-bad.jsonl
run tina-reward -q -r length_l1_exact l1-bad.jsonl
check "an L1 reward without target_length: exit 2, naming the field" sh -c '[ "$0" = 2 ] && grep -q target_length err' "$status"
finish
