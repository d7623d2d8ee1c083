"""Golden tokenizer data for tests/unit/test_tokenizer.c, from Hugging Face tokenizers and transformers.

Pinned: python 3.11 (unicodedata 14.0), tokenizers 0.23.3, transformers 5.24.0, jinja2 3.1.6.
Run: python tests/reference/tokenizer.py SHARED_DATA_DIR   (writes tests/fixtures/tokenizer/)

corpus.jsonl.zst   {"id", "text"}: every problem, solution, question and answer of the benchmark and training sets
                   (deduplicated), then a stress set: samples of 60 scripts, emoji with ZWJ, combining marks that NFC
                   composes, Hangul jamo, whitespace of every kind, digits of every script, contractions in any
                   case, the added tokens glued to text and cut in half, random strings, and ill-formed UTF-8
                   (written as raw bytes into the JSON string; the reference reads them as Python's
                   bytes.decode("utf-8", "replace") does, which tina must match).
expected-NAME.jsonl.zst  per record: "n" tokens, "ids_fnv" and "text_fnv" (FNV-1a 64, hex) of the ids (int32 LE)
                   and of decode(ids) (UTF-8), with add_special_tokens=False; stress records also carry "ids" and
                   "ids_special" (add_special_tokens=True) in full.
chat.jsonl         prompt records rendered by apply_chat_template with the distill's template (deepseek-r1), the
                   same with the generation prompt of Tina's time (tina, no "<think>\\n"), and Qwen2.5's (qwen),
                   with and without a system prompt, and the distill's ids of the deepseek-r1 rendering.
"""
import io
import json
import pathlib
import random
import subprocess
import sys
import unicodedata

from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "tokenizer"
MODELS = {"distill": ROOT / "data/models/deepseek-r1-distill-qwen-1.5b", "tiny": ROOT / "data/models/tiny-math-bpe"}
QWEN25_TEMPLATE = pathlib.Path(__file__).with_name("qwen2.5-chat-template.jinja").read_text()


def load_tokenizer(folder):
    path = folder / "tokenizer.json"
    if path.exists():
        return Tokenizer.from_file(str(path))
    text = subprocess.run(["zstd", "-dc", str(folder / "tokenizer.json.zst")], check=True, capture_output=True).stdout
    return Tokenizer.from_str(text.decode())


def fnv(data: bytes) -> str:
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def ids_bytes(ids):
    return b"".join(int(i).to_bytes(4, "little", signed=True) for i in ids)


# ---- the corpus ------------------------------------------------------------------------------------------------

def data_texts(shared):
    seen = set()
    for path in sorted(shared.glob("*/*")):
        if path.suffix == ".jsonl":
            records = [json.loads(line) for line in path.open() if line.strip()]
        elif path.suffix == ".json":
            records = json.load(path.open())
        else:
            continue
        for n, record in enumerate(records):
            fields = {k: v for k, v in record.items() if isinstance(v, str)}
            for message in record.get("prompt") if isinstance(record.get("prompt"), list) else []:
                fields["prompt"] = message.get("content", "")
            for field in ("problem", "question", "solution", "answer", "context", "prompt"):
                text = fields.get(field)
                if text and text not in seen:
                    seen.add(text)
                    yield f"{path.stem}/{n}/{field}", text.encode()


SCRIPTS = {  # name: (first, last) code point of a block with letters
    "latin-ext": (0x0100, 0x024F), "ipa": (0x0250, 0x02AF), "greek": (0x0370, 0x03FF), "cyrillic": (0x0400, 0x04FF),
    "armenian": (0x0531, 0x058A), "hebrew": (0x05D0, 0x05EA), "arabic": (0x0620, 0x06FF), "syriac": (0x0710, 0x074A),
    "thaana": (0x0780, 0x07B1), "nko": (0x07C0, 0x07FA), "devanagari": (0x0900, 0x097F), "bengali": (0x0980, 0x09FE),
    "gurmukhi": (0x0A00, 0x0A76), "gujarati": (0x0A81, 0x0AFF), "oriya": (0x0B01, 0x0B77), "tamil": (0x0B82, 0x0BFA),
    "telugu": (0x0C00, 0x0C7F), "kannada": (0x0C80, 0x0CF2), "malayalam": (0x0D00, 0x0D7F), "sinhala": (0x0D81, 0x0DF4),
    "thai": (0x0E01, 0x0E5B), "lao": (0x0E81, 0x0EDF), "tibetan": (0x0F00, 0x0FDA), "myanmar": (0x1000, 0x109F),
    "georgian": (0x10A0, 0x10FF), "hangul-jamo": (0x1100, 0x11FF), "ethiopic": (0x1200, 0x137C),
    "cherokee": (0x13A0, 0x13FD), "ucas": (0x1401, 0x167F), "ogham": (0x1680, 0x169C), "runic": (0x16A0, 0x16F8),
    "tagalog": (0x1700, 0x1715), "khmer": (0x1780, 0x17F9), "mongolian": (0x1800, 0x18AA), "limbu": (0x1900, 0x194F),
    "tai-le": (0x1950, 0x1974), "buginese": (0x1A00, 0x1A1F), "balinese": (0x1B00, 0x1B7E), "sundanese": (0x1B80, 0x1BBF),
    "lepcha": (0x1C00, 0x1C4F), "ol-chiki": (0x1C50, 0x1C7F), "vedic": (0x1CD0, 0x1CFA), "latin-add": (0x1E00, 0x1EFF),
    "greek-ext": (0x1F00, 0x1FFE), "glagolitic": (0x2C00, 0x2C5F), "coptic": (0x2C80, 0x2CFF), "tifinagh": (0x2D30, 0x2D7F),
    "hiragana": (0x3041, 0x309F), "katakana": (0x30A0, 0x30FF), "bopomofo": (0x3105, 0x312F), "cjk": (0x4E00, 0x9FA5),
    "yi": (0xA000, 0xA48C), "vai": (0xA500, 0xA62B), "bamum": (0xA6A0, 0xA6F7), "hangul": (0xAC00, 0xD7A3),
    "fullwidth": (0xFF01, 0xFFEE), "gothic": (0x10330, 0x1034A), "deseret": (0x10400, 0x1044F),
    "cuneiform": (0x12000, 0x12399), "math-alnum": (0x1D400, 0x1D7FF),
}


def assigned(cp):
    return unicodedata.category(chr(cp)) not in ("Cn", "Cs")


def stress_texts():
    rng = random.Random(20261128)
    out = []

    def add(name, text):
        out.append((f"stress/{name}", text.encode() if isinstance(text, str) else text))

    for name, (lo, hi) in SCRIPTS.items():
        chars = [chr(c) for c in range(lo, hi + 1) if assigned(c)]
        words = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 12))) for _ in range(150)]
        add(f"script-{name}", "".join(w + rng.choice([" ", " ", " ", ", ", ". ", "\n", "  ", "\t", "-", "'s "])
                                      for w in words))
    add("emoji", "👍🏽 family: 👨‍👩‍👧‍👦 flag: 🇫🇷🇯🇵 keycap: 1️⃣ #️⃣ rainbow: 🏳️‍🌈 heart: ❤️‍🔥 🧑🏿‍🚀 ☺️ 🫠 ✌🏻✌🏼")
    add("zwj-zwnj", "क्‍ष क्‌ष می‌خواهم a\u200db\u200cc\u2060d\ufeffe")
    add("combining", "e\u0301 a\u030a o\u0308\u0304 A\u030A\u0301 \u1e9b\u0323 q\u0307\u0323 \u0041\u0300\u0316 "
        "ḳ́̄ Å Ω K \u212b \u2126 \u212a ﬁ ｶ ﾞ \u0344 \u0958 \u2adc \u1100\u1161\u11a8 \u1100\u1161 \u110b\u1175\u11ab")
    add("hangul-jamo-runs", "".join(chr(0x1100 + rng.randrange(19)) + chr(0x1161 + rng.randrange(21)) +
                                     (chr(0x11A8 + rng.randrange(27)) if rng.random() < .5 else "") for _ in range(400)))
    add("whitespace", "a  b   c\t\td \t \n e\r\nf\r\n\r\n\rg   \n\n\n  h\u00a0i\u2003j\u3000k\u0085l\u2028m\u2029n"
        "\u202fo\u205fp\u1680q\u180er\u200bs\v\ft \x1c\x1d\x1e\x1fu   \t\t\n   ")
    spaces = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000"  # White_Space
    lookalikes = "\x1c\x1f\u180e\u200b\u2060\ufeff"  # spaces to Python's isspace or to the eye, not to \s
    add("whitespace-between-letters", " ".join(f"a{c}{c}b a{c}b {c}{c}{c}x y{c}\n1{c}{c}2 !{c}{c}?"
                                               for c in spaces + lookalikes))
    add("trailing-spaces", "line one   \nline two\t\t\n\n   \n    indented\n        more\n\n\n\n")
    add("digits", "0123456789 ٠١٢٣٤٥٦٧٨٩ ۰۱۲۳ ०१२३४५ ০১২৩ ੦੧੨ ๐๑๒๓ ០១២ ０１２３ 𝟎𝟏𝟐𝟗 ²³¹ ¼½¾ ⅠⅡⅫ ① ⑴ 〇 "
        "12345678901234567890 3.14159 1,000,000 2^{10} x_1 10^{-3} 1e-9 0x1F 007")
    add("contractions", "I'm you're he's she'S IT'S we've they'VE I'll YOU'LL he'd SHE'D don't DON'T can'T "
        "Ain'T o'clock rock'n'roll 'Tis 'twas I'M'S l'homme aujourd'hui ſ 'ſ 'ß 'İ 'K \u2019s it\u2019s '' ''s")
    add("added-tokens", "x<think>y</think>z<think><think></think></think><｜User｜>hi<｜Assistant｜><｜begin▁of▁sentence｜>"
        "<｜end▁of▁sentence｜> <thin <think </think <｜User <｜User｜ think> ｜> <think>\n\nok\n</think>\n\n"
        "<|im_start|>user\nq<|im_end|> <|EOT|><|fim_prefix|>a<|fim_middle|>b<|fim_suffix|><tool_call>")
    add("latex", r"$\frac{\sqrt{2}}{2}$ \[ \int_0^\infty e^{-x^2}\,dx = \frac{\sqrt\pi}{2} \] \boxed{\dfrac{1}{3}} "
        r"\left(\begin{matrix}1&2\\3&4\end{matrix}\right) $x\in[0,1)$ \{1,2,3\} 90^\circ \$5.00 50\% \text{cm}")
    add("code", "def f(x):\n    return x**2  # square\n\nint main(void) { printf(\"%d\\n\", 42); }\n\t\tif (a&&b||!c) {}")
    add("punctuation-runs", "!!!??? ... --- *** ___ ((( ))) [[[ ]]] {{{ }}} ;;; ::: ''' \"\"\" ``` ~~~ ^^^ %%% $$$ ### @@@")
    add("mixed", "Paris (Παρίσι, Париж, パリ, 巴黎, باريس, פריז, पेरिस) has 2.1M people; naïve café résumé Zürich Øresund")
    add("long-letters", "a" * 5000 + " " + "é" * 3000 + " " + "中" * 2000)
    add("long-spaces", " " * 3000 + "x" + "\n" * 1000 + "y" + "\t " * 700)
    add("long-digits", "".join(rng.choice("0123456789") for _ in range(4000)))
    add("empty", "")
    add("one-space", " ")
    ascii_pool = [chr(c) for c in range(32, 127)] + ["\n", "\t", "\r", "'", "'s", " 's"]
    bmp_pool = [chr(c) for c in range(0x20, 0x10000) if assigned(c) and unicodedata.category(chr(c)) != "Co"]
    for k in range(1500):
        n = rng.randint(1, 200)
        add(f"random-ascii-{k}", "".join(rng.choice(ascii_pool) for _ in range(n)))
    for k in range(1500):
        n = rng.randint(1, 200)
        add(f"random-bmp-{k}", "".join(rng.choice(bmp_pool) if rng.random() < .6 else rng.choice(ascii_pool)
                                       for _ in range(n)))
    ill_formed = [b"\x80", b"\xbf\x80", b"\xc0\x80", b"\xc1\xbf", b"\xc2", b"\xe2\x82", b"\xe0\x80\x80", b"\xed\xa0\x80",
                  b"\xf0\x9f\x98", b"\xf4\x90\x80\x80", b"\xf5\x80", b"\xff\xfe", b"\xf8\x88\x80\x80\x80", b"\xe2\x28\xa1",
                  b"\xf0\x28\x8c\xbc", b"\xc3\x28", b"\xa0\xa1"]
    for k in range(200):
        parts = []
        for _ in range(rng.randint(1, 12)):
            parts.append(rng.choice(ill_formed) if rng.random() < .4 else
                         "".join(rng.choice(bmp_pool + ascii_pool) for _ in range(rng.randint(0, 8))).encode())
        add(f"ill-formed-{k}", b"".join(parts))
    return out


def json_line(record_id, text: bytes) -> bytes:
    """A JSON line whose "text" string holds these exact bytes: escapes for what JSON requires, raw bytes else."""
    escaped = bytearray()
    for b in text:
        if b == 0x22:
            escaped += b'\\"'
        elif b == 0x5c:
            escaped += b"\\\\"
        elif b < 0x20:
            escaped += b"\\u%04x" % b
        else:
            escaped.append(b)
    return b'{"id":' + json.dumps(record_id).encode() + b',"text":"' + bytes(escaped) + b'"}\n'


def zstd_write(path, data: bytes):
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", str(path)], input=data, check=True)


# ---- chat templates ----------------------------------------------------------------------------------------------

CHAT_PROMPTS = [
    {"problem": "What is $1+1$?"},
    {"problem": "Find all real $x$ with $x^2 = 4$.", "system": "You are a careful mathematician."},
    {"problem": "  leading and trailing spaces  \n\n", "system": ""},
    {"problem": "Multi-line\nproblem with <think> inside and ünïcödé.",
     "system": "A conversation between User and Assistant.\nThink first."},
]
SUFFIX = " Please reason step by step, and put your final answer within \\boxed{}."


def chat_fixture(distill_tokenizer):
    template = json.load(open(MODELS["distill"] / "tokenizer_config.json"))["chat_template"]
    tina_template = template.replace("{{'<｜Assistant｜><think>\\n'}}", "{{'<｜Assistant｜>'}}")
    assert tina_template != template
    hf = PreTrainedTokenizerFast(tokenizer_object=distill_tokenizer, bos_token="<｜begin▁of▁sentence｜>",
                                 eos_token="<｜end▁of▁sentence｜>")
    lines = []
    for prompt in CHAT_PROMPTS:
        for suffix in ("", SUFFIX):
            messages = ([{"role": "system", "content": prompt["system"]}] if "system" in prompt else [])
            messages.append({"role": "user", "content": prompt["problem"] + suffix})
            rendered = {name: hf.apply_chat_template(messages, chat_template=t, tokenize=False, add_generation_prompt=True)
                        for name, t in (("deepseek-r1", template), ("tina", tina_template), ("qwen", QWEN25_TEMPLATE))}
            ids = distill_tokenizer.encode(rendered["deepseek-r1"], add_special_tokens=False).ids
            lines.append(json.dumps({**prompt, "suffix": suffix, "rendered": rendered, "deepseek_r1_ids": ids},
                                    ensure_ascii=False))
    (OUT / "chat.jsonl").write_text("\n".join(lines) + "\n")


def main():
    shared = pathlib.Path(sys.argv[1])
    OUT.mkdir(parents=True, exist_ok=True)
    records = list(data_texts(shared)) + stress_texts()
    zstd_write(OUT / "corpus.jsonl.zst", b"".join(json_line(i, t) for i, t in records))
    chars = sum(len(t.decode("utf-8", "replace")) for _, t in records)
    for name, folder in MODELS.items():
        tokenizer = load_tokenizer(folder)
        buffer = io.StringIO()
        for record_id, raw in records:
            text = raw.decode("utf-8", "replace")
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            expected = {"id": record_id, "n": len(ids), "ids_fnv": fnv(ids_bytes(ids)),
                        "text_fnv": fnv(tokenizer.decode(ids, skip_special_tokens=False).encode())}
            if record_id.startswith("stress/"):
                expected["ids"] = ids
                expected["ids_special"] = tokenizer.encode(text, add_special_tokens=True).ids
            buffer.write(json.dumps(expected) + "\n")
        zstd_write(OUT / f"expected-{name}.jsonl.zst", buffer.getvalue().encode())
        if name == "distill":
            chat_fixture(tokenizer)
    print(f"{len(records)} records, {chars} characters")


if __name__ == "__main__":
    main()
