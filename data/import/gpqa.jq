# GPQA (Idavidrein/gpqa: gpqa_diamond.csv, or the same columns as JSON lines): "Question", "Correct Answer",
# "Incorrect Answer 1".."Incorrect Answer 3", "Record ID", "Explanation", "Subdomain", "High-level domain", ...
# (import.sh turns a CSV file into JSON objects with csv.jq first).
#   choices  <- the four answers, white space stripped, in an order fixed by the question: with h the question's
#               hash (h = (31 h + c) mod 2147483647 over its Unicode code points c, from h = 0), the (h mod 24)-th of
#               the 24 orders of [correct, incorrect 1, incorrect 2, incorrect 3] in lexicographic order
#   answer   <- the letter (A-D) of the correct answer among the choices
#   problem  <- the question, a blank line, then "A) choice" .. "D) choice", one a line (tina-sample shows only
#               "problem" to the model); question <- the question alone
#   id       <- SOURCE-RECORDID (or SOURCE-N);  extras: choices, question, solution (Explanation),
#               subject (Subdomain), domain (High-level domain)
include "common";

def question_hash: reduce explode[] as $c (0; (. * 31 + $c) % 2147483647);
def orders: if length <= 1 then . else .[] as $x | [$x] + (map(select(. != $x)) | orders) end;

([[0, 1, 2, 3] | orders]) as $orders
| numbered(
  .n as $n | .raw as $raw | ($ARGS.named.source // error("--arg source NAME is required")) as $source
  | ($raw.Question | if type == "string" and strip != "" then strip else error("record \($n): no \"Question\"") end)
    as $question
  | ([$raw["Correct Answer"], $raw["Incorrect Answer 1"], $raw["Incorrect Answer 2"], $raw["Incorrect Answer 3"]]
     | map(if type == "string" then strip elif . == null then error("record \($n): an answer column is missing")
           else tostring end)) as $options
  | $orders[$question | question_hash % 24] as $order
  | ($order | map($options[.])) as $choices
  | ("ABCD"[($order | index(0)):][:1]) as $letter
  | ($question + "\n\n" + ([range(0; 4) | "\("ABCD"[.:.+1])) \($choices[.])"] | join("\n"))) as $problem
  | record("\($source)-\($raw["Record ID"] // $n)"; $problem; $letter; $source;
      {choices: $choices, question: $question}
      + (if $raw.Explanation then {solution: $raw.Explanation} else {} end)
      + (if $raw.Subdomain then {subject: $raw.Subdomain} else {} end)
      + (if $raw["High-level domain"] then {domain: $raw["High-level domain"]} else {} end))
)
