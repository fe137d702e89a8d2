"""Every command's --help shows its text as written (bracketed words included), and --version answers."""

from __future__ import annotations

import re

import pytest
import typer
from typer._click import Command

import arenapref
from arenapref.cli import app
from cli_helpers import run_cli


def _commands(cmd: Command, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Command]]:
    found = [(prefix, cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        found += _commands(sub, (*prefix, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def _bracketed(cmd: Command) -> set[str]:
    """Every [...] in the command's help text and its parameters' help texts, as written in the source."""
    texts = [cmd.help or "", *(getattr(p, "help", None) or "" for p in cmd.params)]
    return {" ".join(m.split()) for t in texts for m in re.findall(r"\[[^\[\]]+\]", t)}


def test_the_sources_do_have_bracketed_help() -> None:
    found = set().union(*(_bracketed(c) for _, c in COMMANDS))
    assert {"[clip, 1-clip]", "[ray]"} <= {w.replace("arenapref", "") for w in found} | found, found


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) or "arenapref" for p, _ in COMMANDS])
def test_help_keeps_every_bracketed_word(
    path: tuple[str, ...], cmd: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([*path, "--help"], capsys)
    assert code == 0, err
    missing = [w for w in _bracketed(cmd) if w not in out]
    assert not missing, f"arenapref {' '.join(path)} --help lost {missing}"


def test_predict_help_names_the_clip_range(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(["predict", "--help"], capsys)
    assert "Keep probabilities in [clip, 1-clip]." in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out == f"arenapref {arenapref.__version__}"
