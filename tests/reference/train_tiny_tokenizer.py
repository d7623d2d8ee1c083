"""Trains tina's tiny byte-level BPE tokenizer (data/models/tiny-math-bpe/), the tokenizer of the tiny test models.

Pinned: python 3.11, tokenizers 0.23.3. Run once: python tests/reference/train_tiny_tokenizer.py SHARED_DATA_DIR
(retraining changes the ids that later fixtures and models were made with).

It is the DeepSeek-R1-Distill-Qwen tokenizer in miniature: the same NFC normalizer, Qwen2 split regex, ByteLevel
pre-tokenizer and decoder, the same chat tokens with the same special flags, a BOS-prepending post-processor; a
vocabulary of 2048 learnt from math problems and solutions (MATH and GSM8K training sets).
"""
import json
import pathlib
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")
# (content, special) in the distill's order; the distill marks the chat markers and think tags as not special
CHAT_TOKENS = [("<｜end▁of▁sentence｜>", True), ("<｜User｜>", False), ("<｜Assistant｜>", False),
               ("<｜begin▁of▁sentence｜>", True), ("<think>", False), ("</think>", False)]

shared = pathlib.Path(sys.argv[1])
out = pathlib.Path(__file__).resolve().parents[2] / "data" / "models" / "tiny-math-bpe"
out.mkdir(parents=True, exist_ok=True)


def texts():
    records = json.load(open(shared / "train" / "deepscaler_math.json"))
    records += [json.loads(line) for line in open(shared / "train" / "gsm8k_train.jsonl")]
    for record in records:
        for field in ("problem", "question", "answer"):
            if isinstance(record.get(field), str):
                yield record[field]


tokenizer = Tokenizer(models.BPE())
tokenizer.normalizer = normalizers.NFC()
tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False, trim_offsets=False),
])
tokenizer.decoder = decoders.ByteLevel(add_prefix_space=False, use_regex=False, trim_offsets=False)
trainer = trainers.BpeTrainer(vocab_size=2048, min_frequency=2, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              special_tokens=[content for content, _ in CHAT_TOKENS])
tokenizer.train_from_iterator(texts(), trainer=trainer)
bos = "<｜begin▁of▁sentence｜>"
tokenizer.post_processor = processors.TemplateProcessing(
    single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tokenizer.token_to_id(bos))])

spec = json.loads(tokenizer.to_str())
special = dict(CHAT_TOKENS)
for added in spec["added_tokens"]:
    added["special"] = special[added["content"]]
    added["normalized"] = False
(out / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False, indent=2) + "\n")

distill_config = json.load(open(pathlib.Path(__file__).resolve().parents[2] / "data" / "models" /
                                "deepseek-r1-distill-qwen-1.5b" / "tokenizer_config.json"))
config = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": bos,
    "eos_token": "<｜end▁of▁sentence｜>",
    "pad_token": "<｜end▁of▁sentence｜>",
    "add_bos_token": True,
    "clean_up_tokenization_spaces": False,
    "model_max_length": 4096,
    "chat_template": distill_config["chat_template"],
}
(out / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n")
check = Tokenizer.from_file(str(out / "tokenizer.json"))
print(f"vocab {check.get_vocab_size()}: {check.encode('Find x if 2x + 3 = 7.').tokens}")
