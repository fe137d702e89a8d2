"""Helpers shared by command modules: options, source opening, and end-of-run reject reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from arenapref.progress import ProgressFn, TextLines
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


EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of CSV inputs (default UTF-8, with or without BOM); e.g. cp1252 for Excel.",
    ),
]


def open_input(
    path: Path, fmt: str | None = None, mapping: str | None = None, encoding: str | None = None
) -> Source:
    """Open one input for a command, parsing the --map option."""
    return open_source(path, fmt, mapping=parse_mapping(mapping) if mapping else None, encoding=encoding)


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


JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON summary object on stdout and nothing else there (text goes to stderr)."
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or progress lines.")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="The command's main output.")]


def emit_json(summary: Mapping[str, Any]) -> None:
    """Print the command's one JSON summary object on stdout (for ``--json``); paths become strings."""
    sys.stdout.write(json.dumps(summary, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def say(text: str) -> None:
    """Human-readable result text: stderr, so stdout stays clean for ``--json`` and pipes."""
    err_console.print(text, highlight=False, markup=False)


def start_command(json_out: bool = False, quiet: bool = False) -> None:
    """Call first in every command: with ``--json`` human text moves to stderr, so stdout holds one object.

    ``quiet`` is recorded for the stage's progress bars (see ``progress_enabled``).
    """
    console.file = sys.stderr if json_out else None  # type: ignore[assignment]
    global _QUIET
    _QUIET = quiet or (json_out and not sys.stderr.isatty())


_QUIET = False


def progress_enabled() -> bool:
    """Whether the running command may draw progress bars (off with ``--quiet``)."""
    return not _QUIET


@contextmanager
def command_progress(prefix: str) -> Iterator[ProgressFn | None]:
    """The command line's progress, as a ``progress(stage, done, total)`` callable (``arenapref.progress``).

    A rich bar on a terminal; one plain line per step when stderr is a file or a pipe (a log reads
    ``ablate: trained 1/9`` then ``ablate: trained 2/9`` on lines of their own); None with ``--quiet``.
    """
    if not progress_enabled():
        yield None
        return
    if not err_console.is_terminal:
        lines = TextLines(prefix)
        yield lines
        lines.close()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn(f"{prefix}: {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def tell(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield tell
