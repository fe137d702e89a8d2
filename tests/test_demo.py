"""The demo runs every stage on generated data, offline, and says where its outputs are."""

from __future__ import annotations

from pathlib import Path

import pytest

from arenapref.cli import main
from arenapref.demo import STAGES, available_stages


def test_demo_runs_every_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [name for name, _ in available_stages()] == [name for name, _ in STAGES]
    out = tmp_path / "demo"
    try:
        main(["demo", "--out", str(out), "--conversations", "4000", "--battles", "1200", "--seed", "3"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    printed = capsys.readouterr().out
    for name in ("synth", *(n for n, _ in STAGES)):
        assert f" {name} " in printed, name
    assert "demo finished: 8 stages" in printed
    for produced in (
        "synth/lmsys",
        "profile/profile.json",
        "compare/report.md",
        "topics/map",
        "mine/pairs.parquet",
        "label/mined_labeled.parquet",
        "submission.csv",
        "decide/ablation.json",
    ):
        assert (out / produced).exists(), produced
