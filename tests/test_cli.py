"""The command line in-process: every command has help; user mistakes are one sentence and exit 1."""

from __future__ import annotations

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
