"""Anything the compare stage reads, as a records table: a path, a pyarrow Table, a reader ``Source``, a
pandas/polars DataFrame or a Hugging Face Dataset.

Both the comparison (``compare.run``) and the leakage guard (``compare.guard``) read their inputs here, so
neither imports the other for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.errors import InputFormatError
from arenapref.readers import Source, open_source
from arenapref.records import is_shared_schema


def load_source(
    path: str | Path, format: str | None = None, split: str | None = None
) -> tuple[pa.Table, Source]:
    """Read any supported source; a single FastChat answer file reads as that model's conversations.

    An answer file (``.../model_answer/<model>.jsonl``) needs the questions beside its folder, so the
    folder is read and only that file's records are kept.
    """
    p = Path(path)
    parent = p.parent
    if (
        format is None
        and p.is_file()
        and parent.name == "model_answer"
        and (parent.parent / "question.jsonl").exists()
    ):
        src = open_source(parent.parent, "fastchat")
        table = src.read_table()
        model = _answer_file_model(p)
        return table.filter(pc.equal(table.column("model"), model)), src
    src = open_source(p, format, split=split)
    table = src.read_table()
    if p.is_file() and p.name == "question.jsonl" and src.format == "fastchat":
        table = _questions_view(table)
    return table, src


def _questions_view(table: pa.Table) -> pa.Table:
    """One prompt-only conversation per question: what ``question.jsonl`` alone holds.

    The FastChat reader pairs the questions with every answer file beside them; a user who points
    compare at ``question.jsonl`` itself means the questions, not five copies of each.
    """
    ids = pa.array([c.split(":", 1)[0] for c in table.column("conversation_id").to_pylist()], pa.string())
    frame = pl.DataFrame({"qid": pl.from_arrow(ids), "row": np.arange(table.num_rows)})
    first = frame.filter(pl.col("qid").is_first_distinct()).get_column("row").to_numpy()
    out = table.take(pa.array(first))
    turns = out.column("turns").combine_chunks()
    flat = pc.list_flatten(turns)
    keep = pc.equal(flat.field("role"), "user")
    parents = pc.filter(pc.list_parent_indices(turns), keep).to_numpy(zero_copy_only=False)
    offsets = np.zeros(out.num_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(parents, minlength=out.num_rows), out=offsets[1:])
    user_only = pa.ListArray.from_arrays(pa.array(offsets), pc.filter(flat, keep))
    out = out.set_column(out.schema.get_field_index("turns"), "turns", user_only)
    out = out.set_column(out.schema.get_field_index("model"), "model", pa.nulls(out.num_rows, pa.string()))
    return out.set_column(
        out.schema.get_field_index("conversation_id"), "conversation_id", ids.take(pa.array(first))
    )


def _answer_file_model(path: Path) -> str:
    """The model of a FastChat answer file: its first record's model_id, else the file stem."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputFormatError(f"{path}: first record is not JSON ({exc.msg})") from exc
                return str(rec.get("model_id") or path.stem) if isinstance(rec, dict) else path.stem
    return path.stem


def as_table(obj: object, what: str = "input") -> tuple[pa.Table, str, Source | None]:
    """A records table from a path, a pyarrow Table, a reader ``Source``, a pandas/polars DataFrame or a
    Hugging Face Dataset; also its display name and its source (None for a table already in the shared
    schema, which is used as it is)."""
    if isinstance(obj, pa.Table) and is_shared_schema(obj.schema):
        return obj, f"{what} (table)", None  # otherwise the readers map its columns
    if isinstance(obj, (str, Path)):
        table, src = load_source(obj)
        return table, str(obj), src
    src = open_source(obj)
    return src.read_table(), str(src.path), src


__all__ = ["as_table", "load_source"]
