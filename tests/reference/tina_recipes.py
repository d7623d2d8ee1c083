#!/usr/bin/env python3
"""pipelines/recipes/TINA.md from Tina's own code: every setting of every Tina GRPO configuration, with its value, the
file and line it comes from, and the tina recipe variable (and value) that implements it.

    git clone https://github.com/shangshang-wang/Tina && git -C Tina checkout c6274cd
    python3 tests/reference/tina_recipes.py Tina > pipelines/recipes/TINA.md

Pinned: Tina c6274cd, PyYAML 6.0 (any 6.x reads these files alike). Reads recipes/DeepSeek-R1-Distill-Qwen-1.5B/grpo/
*.yaml, the defaults they fall back on (tina/config.py, tina/post_train_hf/grpo_config.py), the launch scripts'
command lines (scripts/train/*.sh) and the data and prompt choices (tina/utils/constant.py, tina/post_train_hf/
grpo.py). Where Tina's value comes from TRL 0.15.2 or transformers rather than Tina's files, the row says so.
tests/cli/recipes.sh checks every row's tina value against each recipe's resolved settings.json; a change to a
recipe or to this table fails it."""
import glob
import os
import re
import sys

import yaml

REPO = sys.argv[1]
GRPO = "recipes/DeepSeek-R1-Distill-Qwen-1.5B/grpo"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj", "up_proj", "gate_proj"]
PROCESSES = 2  # scripts/train/post_train_model_grpo.sh: CUDA_VISIBLE_DEVICES=0,1, --num_processes=2

# Tina config -> (tina recipe, tina training set, run length note)
RECIPES = {
    "open_rs1": "tina-open-rs1", "open_rs2": "tina-open-rs2", "open_rs3": "tina-open-rs3",
    "open_rs3_drgrpo_ablation": "tina-open-rs3-drgrpo", "open_rs3_format_ablation": "tina-open-rs3-format",
    "open_rs3_long_completion_ablation": "tina-open-rs3-long",
    "deepscaler": "tina-deepscaler", "still": "tina-still", "limr": "tina-limr",
    "limr_large_lr_ablation": "tina-limr-large-lr", "limr_small_lr_ablation": "tina-limr-small-lr",
    "limr_large_rank_ablation": "tina-limr-large-rank", "limr_medium_rank_ablation": "tina-limr-medium-rank",
    "limr_small_rank_ablation": "tina-limr-small-rank", "limr_tiny_rank_ablation": "tina-limr-tiny-rank",
    "open_r1": "tina-openr1", "thoughts": "tina-curated-thoughts", "2thought": "tina-ii-thought",
    "l1_exact": "tina-l1-exact", "l1_max": "tina-l1-max",
}
# configurations whose data set is commented out of constant.py's map: they fail at that lookup as committed; the
# recipe runs what they evidently meant (the comment's set)
COMMENTED_OUT_RUNNABLE = {"l1_exact", "l1_max"}
# Tina's data set (constant.py) -> tina's file (data/SOURCES.md says how to import it)
SETS = {
    "knoveleng/open-rs": "data/sets/open-rs.jsonl.zst", "knoveleng/open-s1": "data/sets/open-s1.jsonl.zst",
    "agentica-org/DeepScaleR-Preview-Dataset": "data/sets/deepscaler.jsonl.zst",
    "RUC-AIBOX/STILL-3-Preview-RL-Data": "data/sets/still3.jsonl.zst", "GAIR/LIMR": "data/sets/limr.jsonl",
    "open-r1/OpenR1-Math-220k": "data/sets/openr1.jsonl.zst",
    "bethgelab/CuratedThoughts": "data/sets/curated-thoughts.jsonl.zst",
    "Intelligent-Internet/II-Thought-RL-v0-Math-50K": "data/sets/ii-thought.jsonl.zst",
}
# Tina's sets whose `solution` column is the gold (grpo.py keeps it; the others' `answer` becomes it, as $answer$)
# (CuratedThoughts' OpenThoughts-114k-math-default keeps OpenThoughts-114k-math's columns: problem and solution, no answer)
SOLUTION_GOLD = {"knoveleng/open-rs", "knoveleng/open-s1", "open-r1/OpenR1-Math-220k", "bethgelab/CuratedThoughts"}
# Tina's reward name -> tina-reward's
REWARDS = {"accuracy": "accuracy", "format": "format", "tag_count": "tag_count_tina", "length": "length",
           "reasoning_steps": "reasoning_steps", "cosine": "cosine", "repetition_penalty": "repetition",
           "length_l1_exact": "length_l1_exact", "length_l1_max": "length_l1_max"}
# YAML keys that set how Tina's Python stack runs rather than what it computes
MACHINERY = {
    "model_name_or_path": "the base model: MODEL", "attn_implementation": "tina's own attention kernels",
    "use_peft": "always LoRA", "bf16": "DEVICE=cuda runs bf16; the CPU runs f32",
    "use_vllm": "tina-sample generates", "vllm_device": "tina-sample's --device",
    "vllm_gpu_memory_utilization": "tina-sample sizes its KV cache itself (--kv-tokens)",
    "gradient_checkpointing": "tina-update keeps what its backward needs (--micro-batch-tokens bounds memory)",
    "gradient_checkpointing_kwargs": "as gradient_checkpointing", "log_level": "tools log to stderr",
    "logging_first_step": "every step writes metrics.json", "logging_steps": "every step writes metrics.json",
    "logging_strategy": "every step writes metrics.json", "push_to_hub": "nothing is uploaded",
    "hub_strategy": "nothing is uploaded", "hub_private_repo": "nothing is uploaded",
    "hub_model_id": "nothing is uploaded", "report_to": "RUN/metrics.jsonl; make tensorboard RUN=...",
    "save_strategy": "SAVE_EVERY (below)", "save_total_limit": "SAVE_EVERY's steps are all kept",
    "overwrite_output_dir": "a step never overwrites: each writes a new folder",
    "model_post_train_type": "GRPO is the only trainer", "num_train_epochs": "max_steps decides (below)",
}
# YAML keys whose number is a recipe variable's value as it stands
NUMBERS = {
    "lora_r": "RANK", "lora_alpha": "ALPHA", "lora_dropout": "DROPOUT", "learning_rate": "LR",
    "warmup_ratio": "WARMUP_RATIO", "max_prompt_length": "MAX_PROMPT_TOKENS", "max_completion_length": "MAX_NEW_TOKENS",
    "num_generations": "G", "temperature": "TEMPERATURE", "seed": "SEED", "save_steps": "SAVE_EVERY",
}


def line_of(path, key):
    with open(os.path.join(REPO, path)) as f:
        for n, text in enumerate(f, 1):
            if re.match(rf"\s*{re.escape(key)}\s*[:=]", text):
                return f"{path}:{n}"
    raise KeyError(f"{key} not in {path}")


def line_matching(path, pattern):
    with open(os.path.join(REPO, path)) as f:
        for n, text in enumerate(f, 1):
            if re.search(pattern, text):
                return f"{path}:{n}"
    raise KeyError(f"{pattern} not in {path}")


def number(x):
    """a number as the recipes write it: 1e-06 -> 1e-6, 3.0 -> 3"""
    x = float(x)
    if x == int(x) and abs(x) < 1e5:
        return str(int(x))
    mantissa, exponent = f"{x:.6g}".split("e") if "e" in f"{x:.6g}" else (f"{x:.6g}", None)
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def rows_of(name):
    path = f"{GRPO}/train_model_{name}.yaml"
    config = yaml.safe_load(open(os.path.join(REPO, path)))
    launch = "scripts/train/post_train_model_grpo.sh"
    if "long_completion" in name:
        launch = "scripts/train/post_train_model_grpo_long_completion.sh"
    rows = []  # (setting, Tina's value, where, tina variable or "", tina value or what tina does)

    def row(key, value, var, tina, where=None):
        rows.append((key, value, where or line_of(path, key), var, tina))

    for key, value in config.items():
        if key in MACHINERY:
            row(key, str(value), "", MACHINERY[key])
        elif key in NUMBERS:
            row(key, value, NUMBERS[key], number(value))
        elif key == "lora_target_modules":
            assert sorted(value) == sorted(TARGETS), value
            row(key, ", ".join(value), "TARGETS", "all")
        elif key == "lr_scheduler_type":
            assert value == "cosine_with_min_lr"
            row(key, value, "SCHEDULE", "cosine-min-lr")
        elif key == "lr_scheduler_kwargs":
            row(key, f"min_lr_rate: {value['min_lr_rate']}", "MIN_LR_RATE", number(value["min_lr_rate"]))
        elif key in ("per_device_train_batch_size", "gradient_accumulation_steps"):
            row(key, value, "", "part of BATCH (below)")
        elif key == "vllm_max_model_len":
            cap = "no cap (the model's 131,072)" if value is None else \
                f"prompt + completion capped at {value} tokens by vLLM"
            if value is not None and config.get("max_completion_length", 0) + config["max_prompt_length"] > value:
                cap += ", which ends long completions before max_completion_length"
            row(key, f"{value} ({cap})", "MAX_MODEL_LEN", "" if value is None else number(value))
        elif key == "max_steps":
            pass  # below, with the run length
        elif key in ("model_post_train_dataset_name", "model_post_train_dataset_config", "rl_post_train_reward_funcs",
                     "rl_post_train_reward_weights", "scale_reward"):
            pass  # below
        else:
            raise KeyError(f"{path}: {key} has no row rule")

    if "vllm_max_model_len" not in config:
        row("vllm_max_model_len", "not set (no cap: the model's 131,072 positions)", "MAX_MODEL_LEN", "",
            where="vLLM 0.7.2's default")
    # the batch: completions per device x processes x accumulation / G = prompts an optimizer step (the long-completion
    # script trains on all GPUs but vLLM's, 2 of 3 with its 3-GPU DeepSpeed file)
    processes = r"GRPO_GPU_COUNT=\$\(\(" if "long_completion" in name else r"CUDA_VISIBLE_DEVICES=0,1"
    # the batch: completions per device x processes x accumulation / G = prompts an optimizer step
    per_device, accumulation, g = (config["per_device_train_batch_size"], config["gradient_accumulation_steps"],
                                   config["num_generations"])
    batch = per_device * PROCESSES * accumulation // g
    rows.append(("prompts an optimizer step", f"{per_device} x {PROCESSES} processes x {accumulation} / {g}",
                 f"{line_of(path, 'per_device_train_batch_size')}, {line_matching(launch, processes)}",
                 "BATCH", str(batch)))

    # the data, the prompt and the run length
    constant = "tina/utils/constant.py"
    set_name = config["model_post_train_dataset_name"]
    l1 = name in COMMENTED_OUT_RUNNABLE
    entry = rf'^\s*{"# " if l1 else ""}"{re.escape(set_name)}"\s*:\s*("[^"]*")'
    dataset = yaml.safe_load(re.search(entry, open(os.path.join(REPO, constant)).read(), re.M).group(1))
    if l1:
        row("model_post_train_dataset_name", f"{set_name}: commented out of RL_POST_TRAIN_CONFIG_MAP, so grpo.py:101 "
            f"fails as committed; the comment names {dataset}", "TRAIN", "data/sets/deepscaler-l1.jsonl.zst",
            f"{line_of(path, 'model_post_train_dataset_name')}, {line_matching(constant, entry)}")
        rows.append(("target_length and the prompt", "random.randint(100, 4000) a record; the system prompt + "
                     "\"\\nThink for N tokens.\"", line_matching("tina/post_train_hf/preprocess.py", r"randint"), "",
                     "data/import/l1.sh (seeded) writes target_length and each record's system prompt"))
        rows.append(("the L1 rewards as committed", "fail: target_length reaches them as a list "
                     "(grpo_trainer.py passes columns as lists); tina scores each completion against its own",
                     line_matching("tina/post_train_hf/rewards.py", r"def len_reward_l1_exact"), "", "-"))
    else:
        row("model_post_train_dataset_name", f"{set_name} = {dataset}", "TRAIN", SETS[dataset],
            f"{line_of(path, 'model_post_train_dataset_name')}, {line_matching(constant, entry)}")
    if "model_post_train_dataset_config" in config:
        row("model_post_train_dataset_config", config["model_post_train_dataset_config"], "",
            "the importer's input is that config's files (data/SOURCES.md)")
    open_rs = "open-rs" in dataset
    row("system prompt", ("OPEN_RS" if open_rs else "OPEN_R1") + f' ("open-rs" {"" if open_rs else "not "}in {dataset})',
        "SYSTEM_FILE", f"pipelines/recipes/{'open-rs' if open_rs else 'open-r1'}-system.txt",
        line_matching("tina/post_train_hf/grpo.py", r"SYSTEM_PROMPT = OPEN_RS_SYSTEM_PROMPT if"))

    funcs = config.get("rl_post_train_reward_funcs")
    weights = config.get("rl_post_train_reward_weights")
    cosine = "cosine" in funcs
    if cosine:
        cosine_where = line_matching(launch, r"--cosine_max_len 3584")
    reward = "--reward " + ",".join(f"{REWARDS[f]}:{number(w)}" for f, w in zip(funcs, weights))
    if cosine:
        reward += " --cosine-max-len 3584"
    gold_rewards = {"accuracy", "cosine", "length", "length_l1_exact", "length_l1_max"} & set(funcs)
    if gold_rewards and dataset in SOLUTION_GOLD:
        reward += " --gold-field solution"
    if gold_rewards:
        reward += " --gold-parse tina"
    if {"accuracy", "cosine"} & set(funcs):
        reward += " --nulls trl"
    rows.append(("rl_post_train_reward_funcs / _weights" + (", --cosine_max_len" if cosine else ""),
                 ", ".join(f"{f} {number(w)}" for f, w in zip(funcs, weights)) + (", cosine_max_len 3584" if cosine
                                                                                   else ""),
                 f"{line_of(path, 'rl_post_train_reward_funcs')}, {line_of(path, 'rl_post_train_reward_weights')}"
                 + (f", {cosine_where}" if cosine else ""), "REWARDS", reward))
    if gold_rewards:
        where = line_matching("tina/post_train_hf/grpo.py", r"if 'solution' not in train_dataset\.column_names and")
        if "deepscaler" in set_name:
            where += ", " + line_matching("tina/post_train_hf/grpo.py", r"rename_column\('answer', 'solution'\)")
        gold = ("the `solution` column as written" if dataset in SOLUTION_GOLD
                else "the `answer` column, as $answer$")
        if "2thought" in set_name:
            gold = ("verification_info's answer.value, as $value$ (as committed the branch renames `messages` after "
                    f"{line_matching('tina/post_train_hf/grpo.py', 'remove_columns..messages')} removed it, which "
                    "datasets refuses; data/import/ii_thought.jq takes the problem from messages[0] as it meant)")
            where += ", " + line_matching("tina/post_train_hf/grpo.py", r"solution\[.answer.\]\[.value.\]")
        if l1:
            gold = ("as restored, DeepScaleR's `solution` column (grpo.py's renaming keys on the configuration's name, "
                    "l1_*, not on the set); tina takes the `answer` the DeepScaleR configuration uses")
        rows.append(("the gold of " + ", ".join(sorted(gold_rewards)), gold, where, "", "REWARDS' --gold-field solution"
                     if dataset in SOLUTION_GOLD else "tina-reward's default, the `answer` field"))
        rows.append(("how the gold is read", "Math-Verify 0.5.2's parse(gold, extraction_mode=\"first_match\"): "
                     "accuracy with LaTeX and plain numbers and verify(gold, answer); cosine, length and L1 with "
                     "LaTeX only and verify(answer, gold)", line_matching("tina/post_train_hf/rewards.py",
                     r"gold_parsed = parse\(") + ", " + line_matching("scripts/set/set_env.sh", r"math_verify==0\.5\.2"),
                     "", "REWARDS' --gold-parse tina"))
    if {"accuracy", "cosine"} & set(funcs):
        rows.append(("a reward that is None (an unparseable gold)", "counted as nothing: the total is the other "
                     "rewards' nansum", line_matching("tina/post_train_hf/grpo_trainer.py", r"nansum"), "",
                     "REWARDS' --nulls trl"))
    if cosine and "long_completion" in name:
        rows.append(("the launch of this configuration", "unsettled: the long-completion script names configurations "
                     "that do not exist, and the main script passes --cosine_max_len 3584 only to four others "
                     "(1000 by default)", line_matching(launch, r"PT_CONFIG_NAME=") + ", " +
                     line_matching("tina/config.py", r"cosine_max_len"), "", "3584, the long-completion script's"))
    if cosine:
        rows.append(("cosine with an unparseable gold", "1.0", line_matching("tina/post_train_hf/rewards.py",
                     r"return 1\.0|rewards\.append\(1\.0\)"), "", "REWARDS' --nulls trl"))
        rows.append(("cosine's values (defaults)", "min_value_wrong 0.0, max_value_wrong -0.5, min_value_correct 0.5, "
                     "max_value_correct 1.0 (grpo.py passes config.py's, not the function's own min_value_wrong "
                     "-1.0): a wrong answer from 0.0 (short) down to -0.5", line_matching("tina/config.py",
                     r"cosine_min_value_wrong") + ", " + line_matching("tina/post_train_hf/grpo.py",
                     r"min_value_wrong=pt_args"), "", "tina-reward's cosine"))
    total = config.get("max_steps")
    if total is None:
        rows.append(("max_steps", "unset: one epoch (num_train_epochs 1) of BATCH-prompt steps",
                     f"{line_of(path, 'num_train_epochs')}", "TOTAL_STEPS", "epoch"))
        rows.append(("steps run", "one epoch", f"{line_of(path, 'num_train_epochs')}", "STEPS", "epoch"))
    else:
        rows.append(("max_steps (the schedule's length)", total, line_of(path, "max_steps"), "TOTAL_STEPS",
                     number(total)))
        stop = re.search(r"stop at (\d+)", open(os.path.join(REPO, path)).read()).group(1)
        rows.append(("steps run", stop, line_of(path, "max_steps") + " (its comment)", "STEPS", stop))

    # what the YAML leaves to the defaults
    grpo_config = "tina/post_train_hf/grpo_config.py"
    rows.append(("beta (default)", "0.04", line_of(grpo_config, "beta"), "BETA", "0.04"))
    if "scale_reward" in config:
        rows.append(("scale_reward (a typo)", f"{config['scale_reward']}: TrlParser sets defaults by exact name, so "
                     "the key matches no field and is dropped without a word (trl 0.15.2 scripts/utils.py, "
                     "set_defaults_with_config); scale_rewards keeps its default, True: the run was plain open-rs3",
                     line_of(path, "scale_reward"), "ADV_SCALE", "group"))
    else:
        rows.append(("scale_rewards (default)", "True: advantages divided by the group's std + 1e-4",
                     line_of(grpo_config, "scale_rewards"), "ADV_SCALE", "group"))
    rows.append(("loss (scale_rewards True)", "each completion's token mean, then the mean over completions",
                 line_matching("tina/post_train_hf/grpo_trainer.py",
                               r"loss = \(\(per_token_loss \* completion_mask\)\.sum\(dim=1\)"), "LOSS", "grpo"))
    rows.append(("clipping", "none: one update a batch, so the ratio is 1 (TRL 0.15.2)",
                 line_matching("tina/post_train_hf/grpo_trainer.py", r"torch\.exp\(per_token_logps - per_token_logps"
                               r"\.detach\(\)\)"), "EPSILON", "0.2"))
    rows.append(("max_grad_norm (default)", "1.0 (transformers' TrainingArguments)", "-", "MAX_GRAD_NORM", "1.0"))
    rows.append(("top_p", "1.0: SamplingParams(temperature, max_tokens) only",
                 line_matching("tina/post_train_hf/grpo_trainer.py", r"self\.sampling_params = SamplingParams\("),
                 "TOP_P", "1.0"))
    return rows


def main():
    names = sorted(os.path.basename(p)[len("train_model_"):-len(".yaml")]
                   for p in glob.glob(os.path.join(REPO, GRPO, "train_model_*.yaml")))
    print("# Tina's configurations, setting by setting\n")
    print("Made by `tests/reference/tina_recipes.py` from Tina's own code at commit c6274cd (github.com/shangshang-wang/"
          "Tina); do not edit by hand. Each section is one of Tina's GRPO configurations and the tina recipe that runs "
          "it (`make -f pipelines/grpo.mk RECIPE=NAME ...`); a YAML file named alone is in recipes/DeepSeek-R1-Distill-"
          "Qwen-1.5B/grpo/. A row gives Tina's setting, its value, where it comes from "
          "(file:line in Tina's repository, or the library whose default it is), and the recipe variable that "
          "implements it with its value; `tests/cli/recipes.sh` checks every such value against the recipe's "
          "resolved `settings.json`. A row without a variable says what tina does instead.\n")
    skipped = []
    for name in names:
        if name not in RECIPES:
            skipped.append(name)
            continue
        print(f"## `{RECIPES[name]}` ← `train_model_{name}.yaml`\n")
        print("| Tina's setting | Tina's value | where | tina | value |\n|---|---|---|---|---|")
        for key, value, where, var, tina in rows_of(name):
            where = where.replace(GRPO + "/", "")
            print(f"| {key} | {str(value).replace('|', '/')} | {where} | {'`' + var + '`' if var else ''} | "
                  f"{'`' + tina + '`' if var else tina} |")
        print()
    print("## Configurations without a recipe\n")
    for name in skipped:
        data = re.search(rf'#\s*"{re.escape(name)}"', open(os.path.join(REPO, "tina/utils/constant.py")).read())
        why = ("its data set is commented out of RL_POST_TRAIN_CONFIG_MAP (tina/utils/constant.py), so the "
               "configuration fails at that lookup as committed; FastCuRL is neither shipped nor importable") if data \
            else "not mapped"
        print(f"- `train_model_{name}.yaml`: {why}.")


main()
