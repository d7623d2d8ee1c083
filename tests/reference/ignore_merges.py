"""Golden data for BPE's ignore_merges (Llama-3's tokenizers set it), which no other fixture tokenizer sets.

Pinned: python 3.11, tokenizers 0.23.3 (asserted below; the smollm2_tokenizer.py it borrows from asserts
transformers 5.24.0 and jinja2 3.1.6 as well).
Run: python tests/reference/ignore_merges.py   (writes tests/fixtures/tokenizer/ignore-merges/)

tokenizer.json   byte-level BPE over the 256 byte tokens with a few merges, and whole words in the vocabulary that
                 the merges cannot reach ("abc", "Ġabc", "Ġworld"), with ignore_merges true
expected.json    {"cases": [{"text", "ids", "merged"}]}: tokenizers' ids with ignore_merges
                 (add_special_tokens=False), and "merged" those of the same tokenizer with ignore_merges false,
                 for the texts below: a word that is a token as a whole becomes that token; any other word is
                 merged as usual
"""
import copy
import json
import pathlib
import sys

import tokenizers
from tokenizers import Tokenizer

from smollm2_tokenizer import byte_level_char  # GPT-2's bytes_to_unicode

assert sys.version_info[:2] == (3, 11), sys.version
assert tokenizers.__version__ == "0.23.3", tokenizers.__version__

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tokenizer" / "ignore-merges"
TEXTS = ["abc", "abcd", " abc", "abc abc", " world", "world", "bc", "xabc", "ab abc abcabc", "hello world"]


def main():
    vocab = {byte_level_char(b): b for b in range(256)}
    merges = [["b", "c"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"], ["l", "d"]]
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    for word in ["abc", "Ġabc", "Ġworld"]:  # whole words no merge above makes
        vocab[word] = len(vocab)
    spec = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                              "use_regex": True},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                      "vocab": vocab, "merges": merges}}
    merging = copy.deepcopy(spec)
    merging["model"]["ignore_merges"] = False
    ignoring, merging = Tokenizer.from_str(json.dumps(spec)), Tokenizer.from_str(json.dumps(merging))
    expected = [{"text": t, "ids": ignoring.encode(t, add_special_tokens=False).ids,
                 "merged": merging.encode(t, add_special_tokens=False).ids} for t in TEXTS]
    assert sum(e["ids"] != e["merged"] for e in expected) >= 4, "the texts must show the option"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False) + "\n")
    (OUT / "expected.json").write_text(json.dumps({"cases": expected}) + "\n")
    for e in expected:
        print(json.dumps(e))


if __name__ == "__main__":
    main()
