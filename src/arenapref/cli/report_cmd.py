"""``arenapref report RUN_DIR``: one self-contained HTML page of a pipeline run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import JsonOption, QuietOption, emit_json, say, start_command


@app.command("report")
def report(
    run_dir: Annotated[Path, typer.Argument(help="The run folder `arenapref run` wrote.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The HTML file (default RUN_DIR/report.html).")
    ] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write one HTML file (no network, figures inline) with every stage's result; absent stages say so."""
    start_command(json_out, quiet)
    from arenapref.report import write_report

    path = write_report(run_dir, out)
    say(f"report: {path}")
    if json_out:
        emit_json({"report": str(path), "run_dir": str(run_dir)})
