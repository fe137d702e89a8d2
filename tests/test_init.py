"""``arenapref init FILES...``: a commented PIPELINE.toml that ``arenapref run`` accepts as written."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from arenapref.pipeline import load_config
from arenapref.synth import generate
from cli_helpers import run_cli


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> object:
    return generate(tmp_path_factory.mktemp("init") / "ws", conversations=600, battles=200, seed=3)


def test_init_detects_roles_and_run_accepts_it(ws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    m = ws
    out = m.out_dir / "PIPELINE.toml"
    files = [str(m.lmsys_dir), str(m.train_csv), str(m.test_csv)]
    code, stdout, err = run_cli(["init", *files, "-o", str(out)], capsys)
    assert code == 0, err
    text = out.read_text()
    raw = tomllib.loads(text)
    assert raw["sources"] == {
        "lmsys": ["lmsys"],
        "lmsys_format": "lmsys",
        "train": "competition/train.csv",
        "train_format": "competition",
        "test": "competition/test.csv",
        "test_format": "competition",
    }
    assert raw["label"]["use"] == "teacher" and raw["label"]["judge"]["enabled"] is False  # offline
    # Every section is explained: a comment line right above each header.
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("[")]
    assert headers and all(lines[i - 1].startswith("# ") for i in headers)
    config = load_config(out)
    assert config.sources.train is not None

    code, stdout, err = run_cli(["run", str(out), "--only", "profile", "--json"], capsys)
    assert code == 0, err
    stages = {s["name"]: s["status"] for s in json.loads(stdout)["stages"]}
    assert stages["profile"] == "ran"


def test_init_refuses_to_overwrite_and_two_train_files(
    ws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = ws
    out = tmp_path / "PIPELINE.toml"
    out.write_text("# mine\n")
    code, _, err = run_cli(["init", str(m.train_csv), "-o", str(out)], capsys)
    assert code != 0 and "exists; pass --force" in err and out.read_text() == "# mine\n"
    code, _, err = run_cli(
        ["init", str(m.train_csv), str(m.train_csv), "-o", str(out), "--force"],
        capsys,
    )
    assert code != 0 and "more than one file of labeled battles" in err
