"""``arenapref convert``: read any input, write it in the shared schema or the competition layout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    EncodingOption,
    FormatOption,
    JsonOption,
    MappingOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    emit_json,
    open_input,
    report_rejects,
    say,
    start_command,
)
from arenapref.errors import ArenaprefError


@app.command("convert")
def convert(
    source: Annotated[Path, typer.Argument(help="Input file or folder (any supported format).")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output .parquet (shared schema) or .csv (competition layout)."),
    ],
    fmt: FormatOption = None,
    mapping: MappingOption = None,
    rejects: RejectsOption = None,
    encoding: EncodingOption = None,
    split: SplitOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Read SOURCE and write it as native Parquet or as a competition CSV (battles only).

    The output format follows the file name; the output is written under a temporary name and renamed
    into place when complete, and may not be the input (or the rejects file) itself.
    """
    from arenapref.atomic import output_suffix
    from arenapref.writers import write_battles, write_parquet

    start_command(json_out, quiet)
    suffix = output_suffix(out, (".parquet", ".csv"))
    src = open_input(source, fmt, mapping, encoding, split)
    if suffix == ".csv" and src.kind != "battles":
        raise ArenaprefError(f"{source} holds conversations; the competition CSV layout needs battles")
    table = src.read_table()
    if suffix == ".parquet":
        write_parquet(table, out)
    else:
        write_battles(table, out)
    say(f"{table.num_rows} {src.kind} from {source} ({src.format}) written to {out}")
    report_rejects(src.rejects, src.path, rejects)
    if json_out:
        emit_json(
            {
                "command": "convert",
                "input": str(source),
                "format": src.format,
                "kind": src.kind,
                "rows": table.num_rows,
                "out": str(out),
                "rejected": len(src.rejects),
                "rejected_by_reason": dict(src.rejects.counts),
                "recovered": dict(src.rejects.recovered),
                "rejects": None if rejects is None else str(rejects),
            }
        )
