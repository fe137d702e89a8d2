"""``arenapref demo``: generate a small synthetic workspace and run every stage on it, offline.

Each stage lives in its own package and exposes ``demo_stage(synth_dir, work_dir) -> list[str]``;
the demo runs them in pipeline order and prints each stage's summary lines and outputs. A stage that
fails stops the demo with its error: a demo that hides a broken stage would be worse than none.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from arenapref.synth import SynthManifest, generate

# Pipeline order: profile, compare, topics, mine pairs, label them, train, then ablate (decide).
STAGES: tuple[tuple[str, str], ...] = (
    ("profile", "arenapref.profile.demo"),
    ("compare", "arenapref.compare.demo"),
    ("topics", "arenapref.topics.demo"),
    ("mine", "arenapref.mine.demo"),
    ("label", "arenapref.label.demo"),
    ("model", "arenapref.model.demo"),
    ("decide", "arenapref.model.decide_demo"),
)
DemoStage = Callable[[Path, Path], list[str]]


@dataclass
class StageResult:
    """What one stage printed and how long it took."""

    name: str
    seconds: float
    lines: list[str] = field(default_factory=list)


def synth_summary(m: SynthManifest) -> list[str]:
    """Short lines saying what the generator made and where."""
    mix = ", ".join(f"{k} {v:.1%}" for k, v in m.label_mix.items())
    return [
        f"{m.conversations:,} LMSYS-shaped conversations in {len(m.lmsys_shards)} shard(s): {m.lmsys_dir}",
        f"{m.n_train:,} train / {m.n_test:,} test battles: {m.train_csv.parent}",
        f"label mix {mix}; best possible log loss (true probabilities) {m.expected_log_loss:.4f}",
        f"{m.minable_groups:,} minable prompt groups; overlaps with LMSYS: {m.overlap_counts}",
        f"malformed rows planted: {sum(m.malformed_counts.values())}; ground truth: {m.truth_dir}",
    ]


def available_stages() -> list[tuple[str, DemoStage]]:
    """The stages whose packages exist in this installation, in pipeline order."""
    found = []
    for name, module in STAGES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):
                continue
            raise
        found.append((name, mod.demo_stage))
    return found


def run_demo(
    out_dir: Path,
    conversations: int = 20_000,
    battles: int = 4_000,
    seed: int = 0,
    on_stage: Callable[[StageResult], None] | None = None,
) -> list[StageResult]:
    """Generate the synthetic workspace under ``out_dir/synth`` and run every available stage."""
    out_dir.mkdir(parents=True, exist_ok=True)
    synth_dir = out_dir / "synth"
    t0 = time.perf_counter()
    manifest = generate(
        synth_dir, conversations=conversations, battles=battles, seed=seed, malformed_share=0.01
    )
    first = StageResult("synth", time.perf_counter() - t0, synth_summary(manifest))
    results = [first]
    if on_stage:
        on_stage(first)
    for name, stage in available_stages():
        t0 = time.perf_counter()
        # Stages write into their own sub-folder of the workspace (out_dir/<stage>/...).
        lines = stage(synth_dir, out_dir)
        result = StageResult(name, time.perf_counter() - t0, lines)
        results.append(result)
        if on_stage:
            on_stage(result)
    return results
