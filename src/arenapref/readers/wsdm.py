"""WSDM Cup 2025 – Multilingual Chatbot Arena: train.parquet / test.parquet.

Columns ``id, prompt, response_a, response_b, winner, model_a, model_b, language`` (test: no winner and no
models). Unlike the LMSYS competition, the text cells are plain strings (one turn each), not JSON lists,
and the label is one ``winner`` column holding ``model_a`` or ``model_b``: a binary task, no ties.

Read column-wise with pyarrow compute (no per-row Python): each text cell becomes a one-turn list,
``winner`` becomes one-hot p_a/p_b (p_tie 0), and ``language`` is kept as an extra column. Rows with an
empty id or a winner other than model_a/model_b (or empty, in a labeled file) are rejected and counted,
never read as something else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from arenapref.errors import InputFormatError
from arenapref.readers.base import LayoutReader, Peek
from arenapref.readers.files import CSV_SUFFIXES, TABLE_SUFFIXES, iter_table_file
from arenapref.records import BATTLE_SCHEMA
from arenapref.rejects import RejectLog

TEXT_COLUMNS = ("prompt", "response_a", "response_b")
REQUIRED = ("id", *TEXT_COLUMNS)
#: Columns that mark the layout (with the text columns and no winner_model_* columns).
MARKERS = ("language", "scored")
WINNERS = ("model_a", "model_b")
SCHEMA = BATTLE_SCHEMA.append(pa.field("language", pa.string()))


def is_layout(cols: set[str]) -> bool:
    """The WSDM layout: id and the three text columns, a ``language`` (or ``scored``) column, and no
    winner_model_a/b/tie columns (those are the LMSYS competition's)."""
    return (
        set(REQUIRED) <= cols
        and any(m in cols for m in MARKERS)
        and not any(c.startswith("winner_model") or c == "winner_tie" for c in cols)
    )


def _strings(table: pa.Table, name: str) -> pa.Array:
    col = table.column(name).combine_chunks() if name in table.column_names else None
    if col is None:
        return pa.nulls(table.num_rows, pa.string())
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        if pa.types.is_list(col.type) or pa.types.is_struct(col.type):
            raise InputFormatError(f"column {name}: expected plain strings (the WSDM layout), got {col.type}")
        col = col.cast(pa.string())
    return col.cast(pa.string())


def _one_turn(col: pa.Array) -> pa.ListArray:
    """Each string cell as a list of one turn (a null cell is one null turn, as an empty answer)."""
    offsets = pa.array(np.arange(len(col) + 1, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, col)


def from_table(table: pa.Table, where: Path | str, rejects: RejectLog, row0: int = 0) -> pa.Table:
    """Battles (BATTLE_SCHEMA plus ``language``) from one table in the WSDM layout."""
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise InputFormatError(f"{where}: not a WSDM Cup file: missing column(s) {', '.join(missing)}")
    n = table.num_rows
    ids = _strings(table, "id")
    ok = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(ids)), 0), False)
    prompt = _strings(table, "prompt")
    ok = pc.and_(ok, pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(prompt)), 0), False))
    labeled = "winner" in table.column_names
    winner = _strings(table, "winner")
    if labeled:
        ok = pc.and_(ok, pc.fill_null(pc.is_in(winner, pa.array(WINNERS)), False))
    bad = np.flatnonzero(~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool))
    if len(bad):  # only the rejected rows go through Python, to name each one's reason
        take = pa.array(bad)
        picked = (ids.take(take).to_pylist(), prompt.take(take).to_pylist(), winner.take(take).to_pylist())
        cells = zip(*picked, strict=True)
        for i, (rid, text, win) in zip(bad.tolist(), cells, strict=True):
            if not (rid or "").strip():
                rejects.add(where, row0 + i + 1, "empty id", "column id")
            elif not (text or "").strip():
                rejects.add(where, row0 + i + 1, "empty prompt", "column prompt")
            else:
                rejects.add(
                    where, row0 + i + 1, "invalid label", f"winner {win!r}: expected model_a or model_b"
                )
    if labeled:
        p_a = pc.cast(pc.equal(winner, "model_a"), pa.float64())
        p_b = pc.cast(pc.equal(winner, "model_b"), pa.float64())
        p_tie = pa.array(np.zeros(n), pa.float64())
    else:
        p_a = p_b = p_tie = pa.nulls(n, pa.float64())
    cols = {
        "id": ids,
        "prompt": _one_turn(prompt),
        "response_a": _one_turn(_strings(table, "response_a")),
        "response_b": _one_turn(_strings(table, "response_b")),
        "model_a": _strings(table, "model_a"),
        "model_b": _strings(table, "model_b"),
        "p_a": p_a,
        "p_b": p_b,
        "p_tie": p_tie,
        "source": pa.repeat(pa.scalar("wsdm", pa.string()), n),
        "provenance": pa.ListArray.from_arrays(
            pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string())
        ),
        "language": _strings(table, "language"),
    }
    out = pa.table([cols[f.name] for f in SCHEMA], schema=SCHEMA)
    return out.filter(ok) if len(bad) else out


def read(path: Path, rejects: RejectLog, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream one WSDM Parquet/Arrow (or CSV) file as battle batches."""
    if path.suffix.lower() in CSV_SUFFIXES:
        try:
            names = pacsv.open_csv(path).schema.names
            table = pacsv.read_csv(
                path, convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
            )
        except (pa.ArrowInvalid, OSError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
            raise InputFormatError(f"{path}: not a readable CSV ({exc})") from exc
        yield from from_table(table, path, rejects).to_batches(max_chunksize=batch_size)
        return
    row0 = 0
    for batch in iter_table_file(path, batch_size):
        t = pa.Table.from_batches([batch])
        yield from from_table(t, path, rejects, row0).to_batches(max_chunksize=batch_size)
        row0 += batch.num_rows


def _sniff(peek: Peek) -> bool:
    """The WSDM layout in a CSV or a table whose text cells are plain strings (not JSON-list cells)."""
    return peek.origin != "json" and is_layout(set(peek.columns)) and peek.type_of("prompt") == "string"


READER = LayoutReader(
    "wsdm",
    "battles",
    TABLE_SUFFIXES + CSV_SUFFIXES,
    REQUIRED,
    _sniff,
    lambda path, o: read(path, o.rejects, o.batch_size),
    lambda table, o: iter(from_table(table, o.where, o.rejects).to_batches(max_chunksize=o.batch_size)),
)

__all__ = ["MARKERS", "READER", "SCHEMA", "from_table", "is_layout", "read"]
