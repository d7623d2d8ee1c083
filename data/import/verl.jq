# verl-style RL parquet exported to JSON lines (e.g. DeepScaleR's deepscaler_train.parquet and its subsets):
# {"data_source", "prompt": [{"role": "user", "content": ...}], "reward_model": {"ground_truth", "style"},
#  "extra_info": {"index", ...}, ...}
#   problem  <- the last user message's content, without the instruction verl's preprocessing appended
#               (" Let's think step by step and output the final answer within \boxed{}.")
#   answer   <- reward_model.ground_truth (or a top-level "ground_truth")
#   id       <- SOURCE-ID, ID the record's "problem_id", else extra_info.index, else its number from 0 in the file
#   extras   <- difficulty; data_source as "origin"
include "common";

numbered(
  .n as $n | .raw as $raw | ($ARGS.named.source // error("--arg source NAME is required")) as $source
  | ([$raw.prompt[]? | select(.role == "user") | .content] | last
     | if type == "string"
       then sub("\\s*Let's think step by step and output the final answer within \\\\boxed\\{\\}\\.?\\s*$"; "")
       else . end) as $problem
  | (first(($raw.reward_model.ground_truth?, $raw.ground_truth) | select(. != null)) // null) as $answer
  | (first(($raw.problem_id, $raw.extra_info.index?) | select(. != null)) // $n) as $own
  | record("\($source)-\($own)"; $problem; $answer; $source;
      extras($raw; ["difficulty"]) + (if $raw.data_source then {origin: $raw.data_source} else {} end))
)
