# II-Thought-RL (Intelligent-Internet/II-Thought-RL-v0 and its Math-50K subset), Parquet exported to JSON lines:
# {"id", "messages": [{"role": "user", "content": ...}], "verification_info": "{\"type\": ..., \"answer\": {\"value\": ...}}", ...}
#   problem  <- messages[0].content (what Tina's grpo.py takes)
#   answer   <- verification_info's answer.value; verification_info is JSON text (Tina json.loads it) or, in a
#               re-export, already an object
#   id       <- SOURCE-ID with ID the record's "id", else its number from 0 in the file
#   extras   <- verification_info's "type" as "verifier"; a record's "domain" or "source" as "origin"
# A record whose verification_info has no answer.value (a code or judged task of the full set) is refused: import
# the math subset, or select its records first.
include "common";

numbered(
  .n as $n | .raw as $raw | ($ARGS.named.source // error("--arg source NAME is required")) as $source
  | ($raw.messages[0]?.content) as $problem
  | ($raw.verification_info | if type == "string" then (try fromjson catch null) else . end) as $info
  | ($info.answer?.value?
     // error("record \($raw.id // $n): verification_info has no answer.value (is it a math record?)")) as $answer
  | record("\($source)-\($raw.id // $n)"; $problem; $answer; $source;
      (if ($info.type? | type) == "string" then {verifier: $info.type} else {} end)
      + (first(($raw.domain, $raw.source) | select(type == "string")) // null
         | if . then {origin: .} else {} end))
)
