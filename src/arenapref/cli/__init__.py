"""Command line: a thin layer over the Python API; one module per command group.

User mistakes (``ArenaprefError``) become one sentence on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import sys

from rich.console import Console

from arenapref.cli import (
    compare_cmd,  # noqa: F401  (registers commands)
    demo_cmd,  # noqa: F401  (registers commands)
    io_cmds,  # noqa: F401  (registers commands)
    label_cmd,  # noqa: F401  (registers commands)
    mine_cmd,  # noqa: F401  (registers commands)
    model_cmd,  # noqa: F401  (registers commands)
    profile_cmd,  # noqa: F401  (registers commands)
    synth_cmd,  # noqa: F401  (registers commands)
    topics_cmd,  # noqa: F401  (registers commands)
)
from arenapref.cli.app import app
from arenapref.errors import ArenaprefError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``arenapref`` command."""
    try:
        app(args=argv, standalone_mode=True)
    except ArenaprefError as exc:
        Console(stderr=True, soft_wrap=True).print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(1)
