# CSV (RFC 4180: quoted fields may hold commas, newlines and "" for a quote) to one JSON object per row, keyed by the
# header row. Run on the whole file as one string: jq -R -s -c -L data/import 'include "csv"; csv_objects' FILE.csv
# Linear time: the text is split at quote characters once, and the pieces outside quotes at commas and newlines.

def csv_rows:
  (split("\"")) as $p | ($p | length) as $n
  | reduce range(0; $n) as $i ({rows: [], row: [], field: ""};
      if $i % 2 == 1 then .field += $p[$i]                                       # inside quotes
      elif $p[$i] == "" and $i > 0 and $i < $n - 1 then .field += "\""            # "" inside a quoted field
      else reduce ($p[$i] | split("\n") | to_entries[]) as $line (.;
          (if $line.key > 0 then .rows += [.row + [.field]] | .row = [] | .field = "" else . end)
          | reduce ($line.value | sub("\r$"; "") | split(",") | to_entries[]) as $cell (.;
              if $cell.key > 0 then .row += [.field] | .field = $cell.value else .field += $cell.value end))
      end)
  | .rows + (if .row == [] and .field == "" then [] else [.row + [.field]] end);

def csv_objects:
  csv_rows as $rows | ($rows[0] | map(ltrimstr("\ufeff") | sub("^\\s+|\\s+$"; ""; "g"))) as $header
  | $rows[1:][] | select(length > 1 or .[0] != "")
  | . as $row | reduce range(0; $header | length) as $j ({}; . + {($header[$j]): ($row[$j] // null)});
