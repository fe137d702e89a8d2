"""``arenapref convert``: read any input, write it in the shared schema or the competition layout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow.compute as pc
import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    MappingOption,
    RejectsOption,
    console,
    open_input,
    report_rejects,
)
from arenapref.errors import ArenaprefError
from arenapref.writers import write_competition_csv, write_parquet


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
) -> None:
    """Read SOURCE and write it as native Parquet or as a competition CSV (battles only)."""
    src = open_input(source, fmt, mapping)
    table = src.read_table()
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        write_parquet(table, out)
    elif suffix == ".csv":
        if src.kind != "battles":
            raise ArenaprefError(f"{source} holds conversations; the competition CSV layout needs battles")
        has_labels = table.num_rows > 0 and pc.any(pc.is_valid(table.column("p_a"))).as_py()
        write_competition_csv(table, out, labels=bool(has_labels))
    else:
        raise ArenaprefError(f"--out {out}: expected a .parquet or .csv file")
    console.print(
        f"{table.num_rows} {src.kind} from {source} ({src.format}) written to {out}", highlight=False
    )
    report_rejects(src.rejects, src.path, rejects)
