"""Helpers shared by command modules: options, source opening, and end-of-run reject reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from arenapref.readers import FORMATS, Source, open_source
from arenapref.readers.pairwise import parse_mapping
from arenapref.rejects import RejectLog

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", "-f", help=f"Input format, detected from the path when omitted: {', '.join(FORMATS)}."
    ),
]
MappingOption = Annotated[
    str | None,
    typer.Option(
        "--map",
        help=(
            "Column mapping for pairwise files, e.g. "
            "prompt=instruction,a=output_1,b=output_2,label=preference."
        ),
    ),
]
RejectsOption = Annotated[
    Path | None,
    typer.Option(
        "--rejects", help="Write rows that could not be read (file, row, reason) to this JSONL file."
    ),
]


def open_input(path: Path, fmt: str | None = None, mapping: str | None = None) -> Source:
    """Open one input for a command, parsing the --map option."""
    return open_source(path, fmt, mapping=parse_mapping(mapping) if mapping else None)


def report_rejects(
    log: RejectLog, label: str | Path, rejects_path: Path | None = None, hint: bool = True
) -> None:
    """Print an input's reject/recovery summary and, on request, write the rejects out.

    Every command reports dropped input rows through here, so the wording is the same everywhere;
    ``hint`` says whether the command offers ``--rejects``.
    """
    if len(log) or log.recovered:
        err_console.print(f"{label}: {log.summary()}", highlight=False, markup=False)
    if rejects_path is not None:
        log.write(rejects_path)
        err_console.print(f"rejects written to {rejects_path}", highlight=False, markup=False)
    elif len(log) and hint:
        err_console.print("  (pass --rejects FILE to write them out)", highlight=False, markup=False)
