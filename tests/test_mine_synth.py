"""Mining the synthetic workspace: every minable group found (ground truth), and no test prompt leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arenapref.cli import main
from arenapref.mine.demo import demo_stage
from arenapref.synth import generate


def test_demo_stage_finds_every_minable_group_and_passes_check_leakage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = generate(tmp_path / "synth", conversations=3000, battles=600, seed=4, overlap_share=0.5)
    lines = demo_stage(tmp_path / "synth", tmp_path / "work")
    text = "\n".join(lines)
    assert "minable groups found vs truth: 1.0000" in text
    removed = re.search(r"\(([\d,]+) removed by the leakage guard", text)
    assert removed is not None and int(removed.group(1).replace(",", "")) > 0
    pairs = tmp_path / "work" / "mine" / "pairs.parquet"
    assert pairs.exists() and (tmp_path / "work" / "mine" / "pairs.funnel.md").exists()
    try:
        main(["check-leakage", str(pairs), "--protect", str(manifest.test_csv)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 0, capsys.readouterr().err
