"""tina-tensorboard's event file read back by TensorBoard's own reader: makes tests/fixtures/tensorboard/.

Pinned: tensorboard==2.20.0 (pip install tensorboard==2.20.0). Run from the repository root after `make`:
    python tests/reference/tensorboard_events.py
It writes events.out.tfevents.0.tina from metrics.jsonl (a three-step run of pipelines/grpo.mk on the tiny Qwen2
fixture) with bin/tina-tensorboard, loads it with TensorBoard's EventAccumulator (which checks every frame's masked
CRC-32C), and writes what TensorBoard read to read-back.json: {tag: [[step, wall_time, value], ...]}. The CLI test
(tests/cli/tina-tensorboard.sh) checks that tina still writes the same bytes, and that TensorBoard's reading holds
every number of the metrics.
"""
import json
import pathlib
import subprocess
import tempfile

import tensorboard
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "tensorboard"
assert tensorboard.__version__ == "2.20.0", tensorboard.__version__

with tempfile.TemporaryDirectory() as logdir:
    subprocess.run([str(ROOT / "bin" / "tina-tensorboard"), "-o", logdir, str(OUT / "metrics.jsonl")], check=True)
    events = pathlib.Path(logdir) / "events.out.tfevents.0.tina"
    (OUT / "events.out.tfevents.0.tina").write_bytes(events.read_bytes())
    accumulator = EventAccumulator(logdir, size_guidance={"scalars": 0})
    accumulator.Reload()
    tags = accumulator.Tags()["scalars"]
    read = {tag: [[e.step, e.wall_time, e.value] for e in accumulator.Scalars(tag)] for tag in sorted(tags)}
(OUT / "read-back.json").write_text(json.dumps(read, indent=1) + "\n")
print(f"{len(read)} tags, {sum(len(v) for v in read.values())} scalars read back by TensorBoard {tensorboard.__version__}")
