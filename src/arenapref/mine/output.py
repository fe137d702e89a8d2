"""Writing a mining run's results: the pairs, the funnel beside them and the dropped records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from arenapref.atomic import atomic_path, output_suffix, refuse_input_as_output
from arenapref.errors import ArenaprefError
from arenapref.mine.miner import MineResult
from arenapref.writers import write_competition_csv


def funnel_paths(out: Path) -> tuple[Path, Path]:
    """Where the funnel report of an output file goes: beside it, as JSON and Markdown."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.funnel.json"), out.with_name(f"{stem}.funnel.md")


PAIR_SUFFIXES = (".parquet", ".csv")
DROPPED_SUFFIXES = (".jsonl", ".json", ".parquet")


def check_output_path(out: Path, what: str = "`out`") -> str:
    """The output kind from the suffix: "csv" (competition layout) or "parquet" (native)."""
    suffix = out.suffix.lower()
    if suffix not in PAIR_SUFFIXES:
        shown = suffix or "no extension"
        raise ArenaprefError(
            f"{what} {out}: cannot tell the output format from {shown}; use .csv (competition layout) "
            "or .parquet (native battles)"
        )
    return suffix[1:]


def check_outputs(out: Path, dropped: Path | None, inputs: Sequence[object]) -> None:
    """Refuse, before any work, output names whose format is unknown or that are one of the inputs."""
    check_output_path(out)
    outputs = [out, *funnel_paths(out)]
    if dropped is not None:
        output_suffix(dropped, DROPPED_SUFFIXES)
        outputs.append(dropped)
    paths = [p for p in inputs if isinstance(p, (str, Path))]
    for path in outputs:
        refuse_input_as_output(path, paths)
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise ArenaprefError(
            f"`dropped` {dropped} is also the pairs file or a funnel file; choose another name"
        )


def write_result(
    result: MineResult, out: Path, dropped: Path | None = None, inputs: Sequence[object] = ()
) -> list[Path]:
    """Write the pairs (CSV or Parquet by suffix), the funnel beside them and, on request, the drops.

    Every file is written under a temporary name and renamed into place when complete, so a killed run
    leaves each output complete or absent. The dropped file is JSON lines unless its suffix is
    ``.parquet``. ``inputs``: paths the outputs must not overwrite.
    """
    check_outputs(out, dropped, inputs)
    kind = check_output_path(out)
    with atomic_path(out) as tmp:
        if kind == "csv":
            write_competition_csv(result.pairs, tmp, labels=True)
        else:
            pq.write_table(result.pairs, tmp, compression="zstd")
    written = [out]
    json_path, md_path = funnel_paths(out)
    written += [result.funnel.write_json(json_path), result.funnel.write_markdown(md_path)]
    if dropped is not None:
        frame = pl.from_arrow(result.dropped)
        assert isinstance(frame, pl.DataFrame)
        with atomic_path(dropped) as tmp:
            if dropped.suffix.lower() == ".parquet":
                frame.write_parquet(tmp)
            else:
                frame.write_ndjson(tmp)
        written.append(dropped)
    return written
