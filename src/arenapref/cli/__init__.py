"""Command line: a thin layer over the Python API; one module per command group.

User mistakes (``ArenaprefError``) become one sentence on stderr and the error's documented exit code
(see ``arenapref.errors``), never a traceback; the parameters a library error names are shown as the
command's flags (``cli.common.PARAMETER_FLAGS``). Command modules import their stage packages inside the
command functions, so ``arenapref --help`` does not pay for scikit-learn, LightGBM or matplotlib.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from typer._click import ClickException

from arenapref.cli import (
    compare_cmd,  # noqa: F401  (registers commands)
    demo_cmd,  # noqa: F401  (registers commands)
    io_cmds,  # noqa: F401  (registers commands)
    label_cmd,  # noqa: F401  (registers commands)
    leaderboard_cmd,  # noqa: F401  (registers commands)
    mine_cmd,  # noqa: F401  (registers commands)
    model_cmd,  # noqa: F401  (registers commands)
    profile_cmd,  # noqa: F401  (registers commands)
    report_cmd,  # noqa: F401  (registers commands)
    run_cmd,  # noqa: F401  (registers commands)
    synth_cmd,  # noqa: F401  (registers commands)
    topics_cmd,  # noqa: F401  (registers commands)
)
from arenapref.cli.app import app
from arenapref.cli.common import PARAMETER_FLAGS, PIPELINE_FLAGS, flags_for_parameters
from arenapref.errors import EXIT_INTERRUPTED, ArenaprefError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``arenapref`` command."""
    try:
        code = app(args=argv, standalone_mode=False)
    except ClickException as exc:  # usage errors: click's own message and exit code 2
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        Console(stderr=True, soft_wrap=True).print("interrupted", highlight=False, markup=False)
        sys.exit(EXIT_INTERRUPTED)
    except ArenaprefError as exc:
        args = sys.argv[1:] if argv is None else argv
        command = next((a for a in args if not a.startswith("-")), "")
        flags = PIPELINE_FLAGS if command in ("run", "demo") else PARAMETER_FLAGS
        shown = flags_for_parameters(str(exc), flags)
        Console(stderr=True, soft_wrap=True).print(f"error: {shown}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:
        sys.exit(code)
