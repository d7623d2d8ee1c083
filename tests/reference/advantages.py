"""Golden advantages from TRL's GRPO formulas, computed with torch, for tests/cli/tina-advantage.sh.

Pinned: python 3.11, torch 2.15.0 (any torch with Tensor.std's Bessel default gives the same numbers).
Run: python tests/reference/advantages.py  (writes tests/fixtures/advantages/)

The formulas, as in TRL's GRPOTrainer (rewards of one batch viewed as (prompts, G)):
  group (TRL 0.15):            (r - mean_g) / (std_g + 1e-4)
  batch (TRL scale_rewards=batch): (r - mean_g) / (std over the whole batch + 1e-4)
  none  (Dr. GRPO):             r - mean_g
computed here in float64 so that the C code can be held to 1e-12.
"""
import json
import pathlib

import torch

G = 6
PROMPTS = 120
out = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "advantages"
out.mkdir(parents=True, exist_ok=True)

gen = torch.Generator().manual_seed(20261128)
kinds = torch.randint(0, 4, (PROMPTS,), generator=gen)
rows = []
for p in range(PROMPTS):
    kind = int(kinds[p])
    if kind == 0:    # accuracy x2 + format: Tina's reward values
        row = 2 * torch.randint(0, 2, (G,), generator=gen) + torch.randint(0, 2, (G,), generator=gen)
    elif kind == 1:  # cosine-style continuous rewards
        row = torch.rand(G, generator=gen, dtype=torch.float64) * 1.5 - 0.5
    elif kind == 2:  # a flat group
        row = torch.full((G,), float(torch.randint(0, 3, (1,), generator=gen)))
    else:            # binary accuracy
        row = torch.randint(0, 2, (G,), generator=gen)
    rows.append(row.to(torch.float64))
rewards = torch.stack(rows)  # (PROMPTS, G)

mean = rewards.mean(dim=1, keepdim=True)
std = rewards.std(dim=1, keepdim=True)
flat = (rewards == rewards[:, :1]).all(dim=1, keepdim=True)
expected = {
    "group": (rewards - mean) / (std + 1e-4),
    "batch": (rewards - mean) / (rewards.std() + 1e-4),
    "none": rewards - mean,
}
for name in expected:  # flat groups are exactly 0 in tina (and within 1e-16 of 0 in torch)
    expected[name] = torch.where(flat, torch.zeros_like(rewards), expected[name])

with open(out / "rewarded.jsonl", "w") as f:
    for p in range(PROMPTS):
        for i in range(G):
            f.write(json.dumps({"id": f"q{p:03d}", "sample": i, "reward": float(rewards[p, i])}) + "\n")
for name, adv in expected.items():
    with open(out / f"expected-{name}.txt", "w") as f:
        for value in adv.flatten().tolist():
            f.write(repr(value) + "\n")
print(f"wrote {PROMPTS * G} records to {out}")
