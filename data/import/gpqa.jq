# GPQA (Idavidrein/gpqa: gpqa_diamond.csv, or the same columns as JSON lines): "Question", "Correct Answer",
# "Incorrect Answer 1".."Incorrect Answer 3", "Record ID", "Explanation", "Subdomain", "High-level domain", ...
# (import.sh turns a CSV file into JSON objects with csv.jq first).
#   choices  <- the four answers, white space stripped, laid out as Tina's lighteval task did (gpqa_prompt_fn in
#               scripts/eval/run_eval_custom_tasks.py): incorrect 1, 2, 3 in their order, the correct answer inserted
#               at a position 0-3 drawn per run. Here the draw is (h mod 4), h the hash of "SEED:question"
#               (h = (31 h + c) mod 2147483647 over its Unicode code points c, from h = 0), SEED from -a seed=S
#               (default 0): the same file for the same seed, a fresh draw for another (import once per seed to
#               evaluate as Tina's ten seeded runs did)
#   answer   <- the letter (A-D) of the correct answer among the choices
#   problem  <- the question, a blank line, then "A) choice" .. "D) choice", one a line (tina-sample shows only
#               "problem" to the model); question <- the question alone
#   id       <- SOURCE-RECORDID (or SOURCE-N);  extras: choices, question, solution (Explanation),
#               subject (Subdomain), domain (High-level domain)
include "common";

def text_hash: reduce explode[] as $c (0; (. * 31 + $c) % 2147483647);

($ARGS.named.seed // "0" | if test("^[0-9]+$") then . else error("-a seed=S wants a whole number, not \(.)") end)
  as $seed
| numbered(
  .n as $n | .raw as $raw | ($ARGS.named.source // error("--arg source NAME is required")) as $source
  | ($raw.Question | if type == "string" and strip != "" then strip else error("record \($n): no \"Question\"") end)
    as $question
  | ([$raw["Correct Answer"], $raw["Incorrect Answer 1"], $raw["Incorrect Answer 2"], $raw["Incorrect Answer 3"]]
     | map(if type == "string" then strip elif . == null then error("record \($n): an answer column is missing")
           else tostring end)) as $options
  | ("\($seed):\($question)" | text_hash % 4) as $gold
  | ($options[1:4] | .[:$gold] + [$options[0]] + .[$gold:]) as $choices
  | ("ABCD"[$gold:$gold + 1]) as $letter
  | ($question + "\n\n" + ([range(0; 4) | "\("ABCD"[.:.+1])) \($choices[.])"] | join("\n"))) as $problem
  | record("\($source)-\($raw["Record ID"] // $n)"; $problem; $letter; $source;
      {choices: $choices, question: $question}
      + (if $raw.Explanation then {solution: $raw.Explanation} else {} end)
      + (if $raw.Subdomain then {subject: $raw.Subdomain} else {} end)
      + (if $raw["High-level domain"] then {domain: $raw["High-level domain"]} else {} end))
)
