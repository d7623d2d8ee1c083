"""The peer of bench/reward.sh: open-r1's accuracy reward (Math-Verify, the configuration Tina used) over the
rollouts on stdin, one verdict per line on stdout, timed per item; prints the total seconds on stderr."""
import json
import sys
import time

from latex2sympy2_extended import NormalizationConfig
from math_verify import LatexExtractionConfig, parse, verify

PREDICTION = [LatexExtractionConfig(
    normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                             equations=True, boxed="all", units=True),
    boxed_match_priority=0, try_extract_without_anchor=False)]

records = [json.loads(line) for line in sys.stdin]
start = time.perf_counter()
verdicts = []
for r in records:
    gold = parse("\\boxed{" + r["answer"] + "}", extraction_mode="first_match")
    pred = parse(r["completion"], extraction_config=PREDICTION, extraction_mode="first_match")
    verdicts.append(None if not gold else int(verify(gold, pred)))
elapsed = time.perf_counter() - start
for v in verdicts:
    print("null" if v is None else v)
print(f"{elapsed:.3f}", file=sys.stderr)
