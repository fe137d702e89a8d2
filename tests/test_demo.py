"""The demo: a workspace, its PIPELINE.toml, a full pipeline run, the truth step and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arenapref.pipeline import load_config, stage_names
from cli_helpers import run_cli

# Slow (a whole demo workspace and pipeline run): a plain `pytest` skips it; `./dev test` and CI run it.
pytestmark = pytest.mark.slow


def test_demo_runs_the_pipeline_and_leaves_a_rerunnable_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--conversations", "2000", "--battles", "600", "--seed", "3", "-q"]
    code, printed, err = run_cli(argv, capsys)
    assert code == 0, err
    report = out / "run" / "report.html"
    assert printed == str(report) and report.is_file()
    for name in stage_names():
        assert f"{name} ran" in " ".join(err.split()), name
    config = load_config(out / "PIPELINE.toml")
    assert config.label.judge.base_url == "offline" and config.label.teacher.enabled
    # The ground-truth step is the demo's own, written apart from the stages' outputs.
    truth = json.loads((out / "run" / "demo" / "truth.json").read_text())
    mined, planted = truth["minable prompt groups mined / planted"].split(" / ")
    assert mined == planted and int(planted) > 0
    assert truth["submission log loss (hidden labels)"] < 1.0986
    assert (
        truth["best possible log loss (true probabilities)"] <= truth["submission log loss (hidden labels)"]
    )
    leaks = json.loads((out / "run" / "mine" / "manifest.json").read_text())["drops"]
    assert sum(v for k, v in leaks.items() if k.startswith("pair: leak_")) > 0
    # The config left in the workspace reruns with nothing to do; the demo again reuses the workspace.
    code, doc, err = run_cli(["run", str(out / "PIPELINE.toml"), "--json"], capsys)
    assert code == 0 and {s["status"] for s in json.loads(doc)["stages"]} == {"skipped"}, err
    code, doc, err = run_cli([*argv, "--json"], capsys)
    summary = json.loads(doc)
    assert code == 0 and summary["report"] == str(report), err
    assert {s["status"] for s in summary["stages"]} == {"skipped"}
