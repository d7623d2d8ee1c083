# Minerva math (QwenLM/Qwen2.5-Math evaluation/data/minerva_math/test.jsonl: problem, solution, type, idx), with the
# gold answers of agentica-project/deepscaler deepscaler/data/test/minerva.json (a JSON array of the same problems with
# "answer": a list of strings) matched by idx: --slurpfile answers FILE.
#   problem  <- problem
#   answer   <- the first string of the matched record's "answer" list, white space stripped; without --slurpfile
#               answers (or no match), the last \boxed{} of solution
#   id       <- SOURCE-IDX;  extras: solution, type
include "common";

(($ARGS.named.answers // [[]])[0]
 | map(if type == "array" then .[] else . end) | map({key: (.idx | tostring), value: .answer}) | from_entries) as $gold
| numbered(
  .n as $n | .raw as $raw | ($ARGS.named.source // error("--arg source NAME is required")) as $source
  | ($raw.idx // $n | tostring) as $idx
  | (if $gold[$idx] != null then $gold[$idx] else ($raw.solution | last_boxed) end) as $answer
  | record("\($source)-\($idx)"; $raw.problem; $answer; $source; extras($raw; ["solution", "type"]))
)
