"""Demo stage "decide": does the pseudo-labeled mined data lower log loss on held-out human labels?

It runs after the label stage, whose judge (independent of the held-out rows, unlike a teacher trained
on all of train.csv) labeled mined pairs; the per-topic breakdown uses the topic stage's map.
"""

from __future__ import annotations

from pathlib import Path

from arenapref.model.ablate import ablate, write_report
from arenapref.readers import read_table


def demo_stage(synth_dir: Path, work_dir: Path) -> list[str]:
    """Ablate: synthetic train.csv alone vs plus the judge-labeled mined pairs, 30% of prompts held out."""
    extra_path = work_dir / "label" / "mined_labeled.parquet"
    if not extra_path.is_file():
        return [f"skipped: no pseudo-labeled pairs at {extra_path} (the label stage writes them)"]
    topics_dir = work_dir / "topics" / "map"
    report = ablate(
        read_table(synth_dir / "competition" / "train.csv"),
        read_table(extra_path),
        holdout_frac=0.3,
        topics=topics_dir if topics_dir.is_dir() else None,
        params={"n_estimators": 200, "learning_rate": 0.1},
        n_boot=300,
        seed=0,
    )
    out = write_report(report, work_dir / "decide" / "ablation.json")
    return [*report.lines(), f"report: {out}"]
