"""What the reward fixtures' scripts share: reading a JSON-lines file (plain or zstd) and the boxed answer of a text."""
import json
import pathlib
import subprocess


def read_jsonl(path):
    if str(path).endswith(".zst"):
        text = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout.decode()
    else:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def last_boxed(text):
    """The content of the last \\boxed{...} of text, braces balanced; None when none."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + 6
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1:j]
    return None
