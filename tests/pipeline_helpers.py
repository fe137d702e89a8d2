"""A tiny pipeline workspace for the run-folder and history tests: mine, train and evaluate only (seconds)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from arenapref.synth import generate

CONFIG = """
[run]
dir = "{run_dir}"
seed = 1
[sources]
lmsys = ["data/lmsys"]
train = "train/train.csv"
[profile]
enabled = false
[compare]
enabled = false
[topics]
enabled = false
[label]
enabled = false
[train]
folds = 2
params = {{n_estimators = 10, min_child_samples = 5}}
[ablate]
enabled = false
[predict]
enabled = false
"""


def make_workspace(root: Path, synth: Path, run_dir: str = "run") -> Path:
    """A workspace as a user lays it out: LMSYS shards in data/lmsys, the training CSV in train/."""
    shutil.copytree(synth / "lmsys", root / "data" / "lmsys")
    (root / "train").mkdir(parents=True)
    shutil.copy2(synth / "competition" / "train.csv", root / "train" / "train.csv")
    cfg = root / "PIPELINE.toml"
    cfg.write_text(CONFIG.format(run_dir=run_dir), encoding="utf-8")
    return cfg


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes, to show a refused run wrote and deleted nothing."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def statuses(out: str) -> dict[str, dict[str, Any]]:
    """Stage name -> its status object, from ``arenapref run --json`` output."""
    return {s["name"]: s for s in json.loads(out)["stages"]}


def make_synth(out: Path) -> Path:
    """300 synthetic conversations and 200 battles (140 train rows)."""
    generate(out, conversations=300, battles=200, seed=1)
    return out
