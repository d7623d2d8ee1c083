#!/usr/bin/env python3
"""tests/fixtures/eval/lighteval_prompts.jsonl: the token ids Tina's evaluation fed the model for a few problems,
made as lighteval made them, for tina's `tina` evaluation protocol (pipelines/eval.mk) to match.

    python3 tests/reference/lighteval_prompts.py Tina > tests/fixtures/eval/lighteval_prompts.jsonl

Pinned: Tina c6274cd (scripts/eval/run_eval_custom_tasks.py: MATH_QUERY_TEMPLATE, GPQA_QUERY_TEMPLATE, read from the
file), lighteval ed084813 (Tina's scripts/set/set_env_eval.sh), transformers 5.23 with the distill's tokenizer as
this repository ships it (data/models/deepseek-r1-distill-qwen-1.5b: tokenizer.json and the chat template in
tokenizer_config.json). lighteval itself is not imported (its dependencies are many); its two steps are repeated here
from its source at ed084813:
- src/lighteval/tasks/prompt_manager.py, get_examples with use_chat_template and no system prompt: one user message
  whose content is the instruction (none for the math tasks; for GPQA the query itself, with an empty remainder)
  followed by the query's remainder, i.e. the query; then tokenizer.apply_chat_template(messages, tokenize=False,
  add_generation_prompt=True);
- src/lighteval/models/vllm/vllm_model.py, greedy_until: tokenizer(context, add_special_tokens=True) (the config's
  default add_special_tokens=True), which puts the tokenizer's BOS before the template's own: two BOS tokens.
The problems: the first record of aime24, math500 and minerva as data/sets ships them, and a GPQA record imported by
data/import (its question and choices; lighteval's GPQA_QUERY_TEMPLATE lays them out)."""
import ast
import json
import sys

from transformers import AutoTokenizer

TINA = sys.argv[1]
tree = ast.parse(open(f"{TINA}/scripts/eval/run_eval_custom_tasks.py").read())
# each is """...""".strip()
templates = {n.targets[0].id: ast.literal_eval(n.value.func.value).strip() for n in tree.body
             if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and
             n.targets[0].id in ("MATH_QUERY_TEMPLATE", "GPQA_QUERY_TEMPLATE")}
tokenizer = AutoTokenizer.from_pretrained("data/models/deepseek-r1-distill-qwen-1.5b")


def render(query):
    text = tokenizer.apply_chat_template([{"role": "user", "content": query}], tokenize=False,
                                         add_generation_prompt=True)
    return text, tokenizer(text, add_special_tokens=True)["input_ids"]


for name in ("aime24", "math500", "minerva"):
    record = json.loads(open(f"data/sets/{name}.jsonl").readline())
    text, ids = render(templates["MATH_QUERY_TEMPLATE"].format(Question=record["problem"]))
    print(json.dumps({"id": record["id"], "set": name, "problem": record["problem"], "text": text, "ids": ids},
                     ensure_ascii=False))
gpqa = {"id": "gpqa_diamond-recB2", "question": "What is 2+2?", "choices": ["5", "22", "4", "3"]}
gpqa["problem"] = gpqa["question"] + "\n\n" + "\n".join(f"{l}) {c}" for l, c in zip("ABCD", gpqa["choices"]))
query = templates["GPQA_QUERY_TEMPLATE"].format(Question=gpqa["question"], **dict(zip("ABCD", gpqa["choices"])))
text, ids = render(query)
print(json.dumps({"id": gpqa["id"], "set": "gpqa_diamond", "problem": gpqa["problem"], "text": text, "ids": ids},
                 ensure_ascii=False))
