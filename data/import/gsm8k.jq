# GSM8K (openai/grade-school-math and the Hugging Face openai/gsm8k "main" config): {"question", "answer"} where
# answer is the worked solution ending in "#### N".
#   problem  <- question
#   answer   <- the text after the last "#### ", thousands commas removed ("1,200" -> "1200")
#   solution <- the raw answer (worked solution with its <<calculator>> notes and "#### N")
#   id       <- SOURCE-N, N the record's number from 0 in the file
include "common";

numbered(
  .n as $n | .raw as $raw | ($ARGS.named.source // error("--arg source NAME is required")) as $source
  | ($raw.answer | if type == "string" and test("####") then (split("####")[-1] | strip | gsub(","; ""))
                   else error("record \($n): \"answer\" has no \"#### \" final answer") end) as $answer
  | record("\($source)-\($n)"; $raw.question; $answer; $source; {solution: $raw.answer})
)
