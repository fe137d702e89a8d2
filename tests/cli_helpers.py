"""Running the command line in-process, the way a user would, for tests of every command group."""

from __future__ import annotations

import pytest

from arenapref.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``arenapref ARGV``; whitespace collapsed because rich wraps lines."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())
