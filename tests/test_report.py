"""The report renders every section even when stages did not run, and stays self-contained."""

from __future__ import annotations

from pathlib import Path

import pytest

from arenapref.pipeline import run_pipeline
from arenapref.report import SECTIONS
from arenapref.synth import generate
from chromium_helpers import assert_not_blank, dump_dom, screenshot
from cli_helpers import run_cli


@pytest.mark.slow
def test_partial_run_report_says_not_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path / "synth", conversations=300, battles=100, seed=2)
    stages_off = "\n".join(f"[{s}]\nenabled = false" for s in ("compare", "topics", "mine", "label", "train"))
    (tmp_path / "PIPELINE.toml").write_text(
        '[sources]\nlmsys = ["synth/lmsys"]\ntrain = "synth/competition/train.csv"\n' + stages_off + "\n",
        encoding="utf-8",
    )
    summary = run_pipeline(tmp_path / "PIPELINE.toml", progress=False)
    status = {s.name: s.status for s in summary.stages}
    assert status["profile"] == "ran" and status["train"] == "disabled"
    assert status["evaluate"] == "not run" and status["predict"] == "not run"
    code, _, err = run_cli(["report", str(tmp_path / "run")], capsys)
    assert code == 0, err
    page = tmp_path / "run" / "report.html"
    dom = dump_dom(page, tmp_path)
    for sid in SECTIONS:
        assert f'id="{sid}"' in dom, sid
    assert dom.count("not run") >= 7 and "needs sources.test" in dom
    assert_not_blank(screenshot(page, tmp_path, height=1600))


def test_report_of_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["report", str(tmp_path / "absent")], capsys)
    assert code == 1 and "no such run folder" in err
