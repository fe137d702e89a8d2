"""Command line: a thin layer over the Python API; one module per command group.

User mistakes (``ArenaprefError``) become one sentence on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import sys

from rich.console import Console

from arenapref.cli import compare_cmd  # noqa: F401  (registers commands)
from arenapref.cli import demo_cmd  # noqa: F401  (registers commands)
from arenapref.cli import io_cmds  # noqa: F401  (registers commands)
from arenapref.cli import label_cmd  # noqa: F401  (registers commands)
from arenapref.cli import mine_cmd  # noqa: F401  (registers commands)
from arenapref.cli import model_cmd  # noqa: F401  (registers commands)
from arenapref.cli import profile_cmd  # noqa: F401  (registers commands)
from arenapref.cli import synth_cmd  # noqa: F401  (registers commands)
from arenapref.cli import topics_cmd  # noqa: F401  (registers commands)
from arenapref.cli.app import app
from arenapref.errors import ArenaprefError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``arenapref`` command."""
    try:
        app(args=argv, standalone_mode=True)
    except ArenaprefError as exc:
        Console(stderr=True).print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(1)
