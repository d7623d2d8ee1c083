"""open-r1's accuracy reward, which Tina's rewards.py copies: Math-Verify configured as its rewards.py configures it.
The reward scripts label their pairs with it; import it once pins.require() has checked the versions."""
from latex2sympy2_extended import NormalizationConfig
from math_verify import LatexExtractionConfig, parse, verify

PRED_CONFIG = [LatexExtractionConfig(
    normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                             equations=True, boxed="all", units=True),
    boxed_match_priority=0, try_extract_without_anchor=False)]


def parse_gold(gold):
    return parse("\\boxed{" + gold + "}", extraction_mode="first_match")


def parse_pred(completion):
    return parse(completion, extraction_config=PRED_CONFIG, extraction_mode="first_match")


def accuracy(gold_parsed, pred_parsed):
    """1 or 0; None when the gold did not parse (the reward gives no verdict)."""
    return None if not gold_parsed else int(verify(gold_parsed, pred_parsed))


def label(gold, completion):
    """The gold and the completion parsed, and the reward's verdict on them."""
    gold_parsed, pred_parsed = parse_gold(gold), parse_pred(completion)
    return gold_parsed, pred_parsed, accuracy(gold_parsed, pred_parsed)
