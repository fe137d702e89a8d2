"""The command line's shared grammar: a light import, --json on every command, one meaning per short flag."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
import typer.main

from arenapref.cli.app import app

HEAVY = (
    "sklearn",
    "lightgbm",
    "matplotlib",
    "scipy",
    "polars",
    "rensa",
    "aiohttp",
    "torch",
    "transformers",
    "ray",
)


def _commands() -> dict[str, Any]:
    root = typer.main.get_command(app)
    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, cmd in group.commands.items():
            full = f"{prefix}{name}"
            if hasattr(cmd, "commands"):
                walk(cmd, f"{full} ")
            else:
                found[full] = cmd

    walk(root, "")
    return found


def test_importing_the_cli_stays_light() -> None:
    """`arenapref --help` must not pay for the heavy libraries: the command modules import them lazily."""
    code = (
        "import sys, arenapref.cli\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing arenapref.cli imported: {out.stdout.strip()}"


def test_help_answers_fast() -> None:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from arenapref.cli import main; main(['--help'])"],
        capture_output=True,
        check=True,
    )
    assert (
        time.perf_counter() - start < 3.0
    )  # a fresh interpreter included; well under a second on an idle machine


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_json_and_quiet(name: str) -> None:
    cmd = _commands()[name]
    opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
    assert "--json" in opts, f"{name} has no --json"
    assert "--quiet" in opts, f"{name} has no --quiet"


def test_short_flags_mean_one_thing() -> None:
    meaning: dict[str, set[str]] = {}
    for cmd in _commands().values():
        for p in cmd.params:
            opts = getattr(p, "opts", [])
            longs = [o for o in opts if o.startswith("--")]
            for o in opts:
                if not o.startswith("--") and longs:
                    meaning.setdefault(o, set()).add(longs[0])
    clashes = {k: v for k, v in meaning.items() if len(v) > 1}
    assert not clashes, f"short flags with more than one meaning: {clashes}"


def test_out_is_always_dash_o() -> None:
    for name, cmd in _commands().items():
        for p in cmd.params:
            opts = getattr(p, "opts", [])
            if "--out" in opts:
                assert "-o" in opts, f"{name}: --out without -o"


def test_json_summary_is_the_only_stdout(tmp_path: object) -> None:
    """One real command end to end: stdout parses as exactly one JSON object."""
    from pathlib import Path

    out_dir = Path(str(tmp_path)) / "w"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from arenapref.cli import main; main()",
            "synth",
            "-o",
            str(out_dir),
            "-n",
            "200",
            "--battles",
            "100",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stdout
    assert isinstance(json.loads(lines[0]), dict)
