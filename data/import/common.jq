# Shared definitions of tina's data importers (jq 1.6 or later). See data/SOURCES.md.
#
# Every importer turns one raw record into one record of tina's prompt schema (man/tina.7):
#   {id, problem, answer, source, ...extras}
# id is a string unique within the set, problem and answer are strings, source is the set's name.

# Leading and trailing white space removed.
def strip: sub("^\\s+"; "") | sub("\\s+$"; "");

# The raw records: the elements of a JSON array, or the values of a JSON-lines (or concatenated JSON) file.
def raw_records: inputs | if type == "array" then .[] else . end;

# The content of the last \boxed{...} (or \fbox{...}) of a string, braces balanced; `\boxed 5` gives 5; null when none.
def last_boxed:
  if type != "string" then null
  else [splits("\\\\(?:boxed|fbox)")] as $parts
  | if ($parts | length) < 2 then null
    else $parts[-1]
    | (capture("^\\s*(?<b>\\{(?:[^{}]|\\g<b>)*\\})") | .b[1:-1])
      // (capture("^ +(?<w>[^\\s$]+)") | .w)
      // null
    end
  end;

# A gold answer as a string: strings as they are (white space stripped), integral numbers without ".0" (27.0 is "27"),
# other numbers as jq writes them, a list by its first element, null (or missing) as "".
def gold_text:
  if type == "string" then strip
  elif type == "number" then (if . == floor and fabs < 1e15 then (. | floor | tostring) else tostring end)
  elif type == "array" then (if length > 0 then (.[0] | gold_text) else "" end)
  elif type == "boolean" then tostring
  else "" end;

# The optional fields copied from a raw record when present and not null, in this order.
def extras($raw; $names):
  reduce $names[] as $n ({}; if ($raw | has($n)) and $raw[$n] != null then . + {($n): $raw[$n]} else . end);

# A finished record, checked: {id, problem, answer, source} first, then the extras.
def record($id; $problem; $answer; $source; $extra):
  if ($problem | type) != "string" or ($problem | strip) == "" then
    error("record \($id): no problem text (looked for \"problem\", \"question\", \"prompt\", \"context\")")
  else {id: ($id | tostring), problem: $problem, answer: ($answer | gold_text), source: $source} + $extra end;

# Each raw record converted by f, whose input is {n: the record's number from 0 in input order, raw: the record};
# stops with an error on a repeated id.
def numbered(f):
  foreach raw_records as $raw ({n: -1, seen: {}};
      .n += 1 | ({n, raw: $raw} | f) as $out
      | if .seen[$out.id] then error("repeated id \($out.id | tojson) at record \(.n)") else . end
      | .seen[$out.id] = true | .out = $out;
      .out);
