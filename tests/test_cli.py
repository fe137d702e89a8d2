"""The command line in-process: every command has help; user mistakes are one sentence and exit 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.main import get_command

from arenapref.cli import app
from cli_helpers import run_cli as _run


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of the app, as argv prefixes."""
    root = get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: object, prefix: list[str]) -> None:
        commands = getattr(cmd, "commands", None)
        if commands:
            for name, sub in commands.items():
                walk(sub, [*prefix, name])
        else:
            paths.append(prefix)

    walk(root, [])
    return paths


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    paths = _command_paths()
    assert ["convert"] in paths and ["demo"] in paths
    for path in paths:
        code, out, _ = _run([*path, "--help"], capsys)
        assert code == 0, path
        assert "Usage" in out, path


def test_user_mistake_is_one_sentence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(
        ["convert", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.parquet")], capsys
    )
    assert code == 1
    assert "Traceback" not in err + out
    assert err.strip().startswith("error:") and "no such file" in err


def test_convert_writes_rejects(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text(
        "id,prompt,response_a,response_b,winner_model_a,winner_model_b,winner_tie\n"
        '1,"[""q""]","[""a""]","[""b""]",1,0,0\n'
        '2,"[""q""","[""a""]","[""b""]",1,0,0\n'
    )
    rejects = tmp_path / "rejects.jsonl"
    code, _out, err = _run(
        ["convert", str(src), "--out", str(tmp_path / "o.parquet"), "--rejects", str(rejects)], capsys
    )
    assert code == 0
    assert pq.read_table(tmp_path / "o.parquet").num_rows == 1
    assert "1 rejected: unreadable cell" in err
    assert '"row": 2' in rejects.read_text()


TRAIN = (
    "id,prompt,response_a,response_b,winner_model_a,winner_model_b,winner_tie\n"
    '1,"[""q""]","[""a""]","[""b""]",1,0,0\n'
    '2,"[""q2""]","[""a""]","[""b""]",0,0,1\n'
)


def test_convert_follows_the_file_name_and_refuses_its_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "train.csv"
    src.write_text(TRAIN)
    code, _, err = _run(["convert", str(src), "-o", str(src)], capsys)
    assert code == 1 and "is the input" in err and src.read_text() == TRAIN
    code, _, err = _run(["convert", str(src), "-o", str(tmp_path / "x.feather")], capsys)
    assert code == 1 and "cannot tell the output format from .feather" in err
    code, out, err = _run(["convert", str(src), "-o", str(tmp_path / "copy.csv"), "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["rows"] == 2 and summary["format"] == "competition"
    assert (tmp_path / "copy.csv").read_text().startswith("id,model_a,model_b,prompt")


def test_impossible_outputs_are_one_sentence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text(TRAIN)
    regular = tmp_path / "file.txt"
    regular.write_text("x")
    code, _, err = _run(["convert", str(src), "-o", str(regular / "o.parquet")], capsys)
    assert code == 1 and "is a file, not a folder" in err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        code, _, err = _run(["convert", str(src), "-o", str(locked / "o.parquet")], capsys)
        assert code == 1 and "not writable" in err
    finally:
        locked.chmod(0o700)


def test_profile_chart_needs_png_and_json_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text(TRAIN)
    code, _, err = _run(["profile", str(src), "--chart", str(tmp_path / "x.txt")], capsys)
    assert code == 1 and "x.txt" in err and ".png" in err and not (tmp_path / "x.txt").exists()
    code, out, err = _run(["profile", str(src), "-o", str(tmp_path / "p.json"), "--json", "-q"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["profiles"]["sources"][0]["rows"] == 2 and json.loads((tmp_path / "p.json").read_text())


def test_synth_json_and_no_m_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    synth = get_command(app).commands["synth"]  # type: ignore[attr-defined]
    flags = {o for p in synth.params for o in getattr(p, "opts", [])}
    assert "-m" not in flags and {"-o", "-n", "--battles", "--json", "--quiet"} <= flags
    code, out, err = _run(
        ["synth", "-o", str(tmp_path / "ws"), "-n", "50", "--battles", "30", "--json"], capsys
    )
    assert code == 0, err
    assert json.loads(out)["n_train"] + json.loads(out)["n_test"] == 30
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code, _, err = _run(["synth", "-o", str(other), "-n", "10", "--battles", "10"], capsys)
    assert code == 1 and "not a synth workspace" in err and (other / "keep.txt").exists()


def test_library_errors_name_parameters_and_the_cli_shows_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A library error names the parameter a Python caller passed; the command line shows its flag."""
    from arenapref.cli.common import PIPELINE_FLAGS, flags_for_parameters
    from arenapref.errors import ArenaprefError
    from arenapref.executors import get_executor

    with pytest.raises(ArenaprefError, match=r"^`address` only applies to `executor`=ray$"):
        get_executor("local", address="auto")
    src = tmp_path / "train.csv"
    src.write_text(TRAIN)
    code, _, err = _run(["profile", str(src), "--address", "auto"], capsys)
    assert code == 1 and err == "error: --address only applies to --executor ray"
    assert flags_for_parameters("`folds`=3: expected `turns` or `params` 'x'") == (
        "--folds 3: expected `turns` or -p 'x'"
    )
    assert flags_for_parameters("`folds`=3, `only` 'x'", PIPELINE_FLAGS) == "`folds`=3, --only 'x'"
