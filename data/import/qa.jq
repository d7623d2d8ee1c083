# Problem / answer records: the common form of math sets (JSON lines or one JSON array).
#   problem  <- "problem", or "question", "prompt", "context" (the first that is a string);
#               --arg problem FIELD names another
#   answer   <- "answer" (string, number, or list: its first element; white space stripped), or --arg answer FIELD;
#               when missing or null, the last \boxed{} of "solution"; else ""
#   id       <- SOURCE-OWNID with OWNID the record's "id", "unique_id" or "problem_id" (or --arg id FIELD),
#               else SOURCE-N with N the record's number from 0 in the file
#   extras   <- solution, level, subject, type, url, difficulty, year, aime_number, problem_number when present;
#               the record's own per-record "source"/"data_source" (its origin upstream) as "origin"
# Options (jq --arg): source (the set's name, required), problem, answer, id (field names; id "" numbers the records),
# int_answer "1" to write integer answers without leading zeros (AIME's "025" -> "25").
include "common";

def opt($name): $ARGS.named[$name] // null;

numbered(
  .n as $n | .raw as $raw | (opt("source") // error("--arg source NAME is required")) as $source
  | (if opt("problem") then $raw[opt("problem")]
     else first(($raw.problem, $raw.question, $raw.prompt, $raw.context) | select(type == "string")) // null end)
    as $problem
  | (opt("answer") // "answer") as $answer_field
  | (if $raw[$answer_field] != null then $raw[$answer_field] else ($raw.solution | last_boxed) end | gold_text)
    as $answer0
  | (if opt("int_answer") == "1" and ($answer0 | test("^[+-]?[0-9]+$")) then ($answer0 | tonumber | tostring)
     else $answer0 end) as $answer
  | (if opt("id") == "" then null
     elif opt("id") then $raw[opt("id")]
     else first(($raw.id, $raw.unique_id, $raw.problem_id) | select(. != null)) // null end) as $own
  | record("\($source)-\($own // $n)"; $problem; $answer; $source;
      extras($raw; ["solution", "level", "subject", "type", "url", "difficulty",
                    "year", "aime_number", "problem_number"])
      + (first(($raw.source, $raw.data_source) | select(type == "string")) // null
         | if . then {origin: .} else {} end))
)
