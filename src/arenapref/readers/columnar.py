"""Battle batches built column-wise from Arrow batches, for the preference-set and Arena layouts.

Why: a record-at-a-time reader pays, per record, a dict of Python objects for every message, the
layout's row function, and ``RecordBatch.from_pylist`` of nested lists; on a million preference pairs
that is several times the competition reader's cost. Here a layout's ``BatchFn`` turns a whole Arrow
batch into battle columns with ``pyarrow.compute`` (``list_flatten``, ``list_parent_indices``,
``struct_field``) and numpy, and names the rows it cannot vouch for (a null cell, an unknown role, user
turns that differ, ...). Those rows alone go through the layout's row function, the one definition of
what such a record means, so rejects, their reasons and the recoveries are the same as reading every
record one at a time; the result is put back in source order.

Only Arrow inputs take this path (a Parquet/Arrow file, a DataFrame, a Dataset); see ``columnar_reader``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.readers.base import (
    LayoutReader,
    Peek,
    ReadOptions,
    Records,
    RowFn,
    batch_records,
    coin,
    layout_check,
    record_reader,
    source_stem,
)
from arenapref.readers.files import TABLE_SUFFIXES, iter_table_file, table_schema
from arenapref.readers.messages import content_texts
from arenapref.records import BATTLE_SCHEMA

# What Python's str.strip() strips, so trimmed texts here equal the row readers' .strip().
PY_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


@dataclass(frozen=True)
class Chunk:
    """A run of records: an Arrow batch, the row number of each record (``rows``), and ``records``, the
    records at the given positions (all when None) as the row function takes them."""

    batch: pa.RecordBatch
    rows: np.ndarray
    records: Callable[[Sequence[int] | None], Records]


@dataclass(frozen=True)
class Fast:
    """What a ``BatchFn`` could build: battle columns (``BATTLE_SCHEMA``) for the rows at ``rows``."""

    table: pa.Table
    rows: np.ndarray


# An Arrow batch, the row number of each record, the read options -> the battles it vouches for.
BatchFn = Callable[[pa.RecordBatch, np.ndarray, ReadOptions], "Fast | None"]


def arrow_chunks(batches: Iterator[pa.RecordBatch], message_columns: tuple[str, ...]) -> Iterator[Chunk]:
    """Arrow batches (a table file or an in-memory table) as chunks numbered from row 1."""
    first = 1
    for batch in batches:
        rows = np.arange(first, first + batch.num_rows)

        def records(
            positions: Sequence[int] | None, batch: pa.RecordBatch = batch, rows: np.ndarray = rows
        ) -> Records:
            part = batch if positions is None else batch.take(pa.array(positions, pa.int64()))
            numbers = rows if positions is None else rows[np.asarray(positions, np.int64)]
            # Not strict: a damaged page can decode to fewer records, as the row path has always read it.
            return zip(numbers.tolist(), batch_records(part, message_columns), strict=False)

        yield Chunk(batch, rows, records)
        first += batch.num_rows


def battle_batches(
    chunks: Iterator[Chunk], batch_fn: BatchFn, row_fn: RowFn, opts: ReadOptions
) -> Iterator[pa.RecordBatch]:
    """Battles of every chunk: what ``batch_fn`` vouches for column-wise, the rest through ``row_fn``."""
    for chunk in chunks:
        n = len(chunk.rows)
        try:
            fast = batch_fn(chunk.batch, chunk.rows, opts)
        except pa.ArrowException:  # damaged data: the row path reads what it can, as it always has
            fast = None
        if fast is not None and len(fast.rows) == n:
            yield from fast.table.to_batches(opts.batch_size)
            continue
        slow = np.arange(n) if fast is None else np.flatnonzero(~np.isin(np.arange(n), fast.rows))
        tables, order = ([], []) if fast is None else ([fast.table], [fast.rows])
        rows: list[dict[str, object]] = []
        where: list[int] = []
        for pos, (row_no, rec) in zip(
            slow.tolist(), chunk.records(None if fast is None else slow.tolist()), strict=False
        ):
            row = row_fn(rec, row_no, opts)
            if isinstance(row, str):
                opts.rejects.add(opts.where, row_no, row, raw=json.dumps(rec, default=str)[:500])
                continue
            got = row if isinstance(row, list) else [row]
            rows.extend(got)
            where.extend([pos] * len(got))
        if rows:
            tables.append(pa.Table.from_pylist(rows, schema=BATTLE_SCHEMA))
            order.append(np.asarray(where, np.int64))
        if not tables:
            continue
        table = pa.concat_tables(tables)
        perm = np.argsort(np.concatenate(order), kind="stable")
        yield from table.take(pa.array(perm)).to_batches(opts.batch_size)


# --- message lists -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Messages:
    """The messages of one column, flattened: role and text of each, the row it belongs to, and the rows
    whose cell is null (no list at all). A null message has a null role."""

    roles: pa.Array
    texts: pa.Array
    parent: np.ndarray
    null_rows: np.ndarray


def messages(arr: pa.Array) -> Messages | None:
    """A ``list<struct<role, content>>`` column flattened; None for any other type (read row by row)."""
    t = arr.type
    if not (pa.types.is_list(t) and pa.types.is_struct(t.value_type)):
        return None
    struct = t.value_type
    if struct.get_field_index("role") < 0 or struct.get_field_index("content") < 0:
        return None
    if not pa.types.is_string(struct.field("role").type):
        return None
    flat = pc.list_flatten(arr)
    texts = content_texts(pc.struct_field(flat, "content"))
    if texts is None:
        return None
    roles = pc.struct_field(flat, "role")
    if flat.null_count:
        roles = pc.if_else(flat.is_valid(), roles, pa.nulls(len(flat), pa.string()))
    parent = np.asarray(pc.list_parent_indices(arr), np.int64)
    return Messages(roles, texts, parent, ~np.asarray(arr.is_valid()))


def in_set(values: pa.Array, names: tuple[str, ...]) -> np.ndarray:
    """Whether each value is one of ``names`` (null: no)."""
    return np.asarray(pc.fill_null(pc.is_in(values, value_set=pa.array(names)), False))


def per_row(parent: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """How many of the masked messages each of ``n`` rows holds."""
    return np.bincount(parent[mask], minlength=n)


def lists(parts: Sequence[tuple[pa.Array, np.ndarray, np.ndarray]], rows: np.ndarray, n: int) -> pa.Array:
    """One list per row of ``rows`` (ascending) of the masked values of ``parts`` (values, the row of each,
    mask), in order; each row draws from one part, so choosing a side per row moves no data twice."""
    keep_row = np.zeros(n, bool)
    keep_row[rows] = True
    values, owners = [], []
    for vals, parent, mask in parts:
        sel = mask & keep_row[parent]
        values.append(vals.filter(pa.array(sel)))
        owners.append(parent[sel])
    owner = np.concatenate(owners)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=n)[rows])]).astype(np.int32)
    flat = values[0]
    if len(values) > 1:
        flat = pa.concat_arrays(values).take(pa.array(np.argsort(owner, kind="stable")))
    return pa.ListArray.from_arrays(pa.array(offsets), flat)


def same_texts(a: pa.Array, b: pa.Array) -> np.ndarray:
    """Element-wise equality where two nulls are equal (as Python's ``None == None``)."""
    eq = pc.fill_null(pc.equal(a, b), False)
    both_null = pc.and_(a.is_null(), b.is_null())
    return np.asarray(pc.or_(eq, both_null))


def blank(texts: pa.Array) -> np.ndarray:
    """Whether each text is null or only whitespace (Python's ``not (t and t.strip())``)."""
    length = pc.utf8_length(pc.utf8_trim(texts, characters=PY_WHITESPACE))
    return np.asarray(pc.fill_null(pc.equal(length, 0), True))


# --- scalar columns ------------------------------------------------------------------------------------


def text_column(batch: pa.RecordBatch, name: str) -> pa.Array | None:
    """A column as strings, empty strings null (``base.opt_str``); a missing column all null. None when
    its type would not print as Python prints it (the batch then goes row by row)."""
    if name not in batch.schema.names:
        return pa.nulls(batch.num_rows, pa.string())
    col = batch.column(name)
    if pa.types.is_null(col.type):
        return pa.nulls(batch.num_rows, pa.string())
    if pa.types.is_integer(col.type):
        col = col.cast(pa.string())
    elif not pa.types.is_string(col.type):
        return None
    return pc.if_else(pc.equal(col, ""), pa.nulls(len(col), pa.string()), col)


def first_text(batch: pa.RecordBatch, names: tuple[str, ...]) -> pa.Array | None:
    """Per row, the first of the columns ``names`` that holds a non-empty value (``base.record_id``)."""
    cols = [text_column(batch, n) for n in names]
    if any(c is None for c in cols):
        return None
    return pc.coalesce(*cols)


def ids_or_rows(ids: pa.Array, rows: np.ndarray, opts: ReadOptions) -> pa.Array:
    """Record ids, ``<file stem>:<row>`` where a record has none (``base.record_id``); ``rows`` holds
    each record's row number."""
    if not ids.null_count:
        return ids
    stem = source_stem(opts.where)
    out = ids.to_pylist()
    for i in np.flatnonzero(np.asarray(ids.is_null())):
        out[i] = f"{stem}:{rows[i]}"
    return pa.array(out, pa.string())


def coins(ids: pa.Array) -> np.ndarray:
    """``base.coin`` of every id."""
    return np.fromiter((coin(r) for r in ids.to_pylist()), bool, len(ids))


@functools.lru_cache(maxsize=8)
def _const(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, pa.string())


def battle_table(
    ids: pa.Array,
    prompt: pa.Array,
    resp: tuple[pa.Array, pa.Array],
    models: tuple[pa.Array, pa.Array],
    label: tuple[np.ndarray | pa.Array, np.ndarray | pa.Array, np.ndarray | pa.Array] | None,
    source: str,
    provenance: pa.Array | None,
) -> pa.Table:
    """The battle columns, in ``BATTLE_SCHEMA``; no label is all nulls, no provenance empty lists."""
    n = len(ids)
    p = [_floats(x) for x in label] if label else [pa.nulls(n, pa.float64())] * 3
    if provenance is None:
        provenance = pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string()))
    cols = [ids, prompt, resp[0], resp[1], models[0], models[1], *p, _const(source, n), provenance]
    return pa.Table.from_arrays(cols, schema=BATTLE_SCHEMA)


def _floats(x: np.ndarray | pa.Array) -> pa.Array:
    return pa.array(x.astype(np.float64)) if isinstance(x, np.ndarray) else x.cast(pa.float64())


def pairs_of(first: pa.Array, second: pa.Array) -> pa.Array:
    """One two-item list per row: ``[first[i], second[i]]``."""
    n = len(first)
    both = pa.concat_arrays([first, second])
    order = np.empty(2 * n, np.int64)
    order[0::2] = np.arange(n)
    order[1::2] = np.arange(n) + n
    offsets = pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, both.take(pa.array(order)))


# --- readers ------------------------------------------------------------------------------------------


def columnar_reader(
    name: str,
    suffixes: tuple[str, ...],
    columns: tuple[str, ...],
    sniff: Callable[[Peek], bool],
    row_fn: RowFn,
    batch_fn: BatchFn,
    required: tuple[str, ...] | None = None,
    used: tuple[str, ...] | None = None,
    message_columns: tuple[str, ...] = (),
) -> LayoutReader:
    """``base.record_reader`` with ``batch_fn`` doing the work on Parquet/Arrow files and tables.

    CSV and JSON files stay record-at-a-time. Their records are Python objects once parsed; turning them
    into Arrow first (``pyarrow.json``, or ``pa.array`` of the parsed values) copies every text several
    more times, and was measured slower than the row function on the same records (hh-rlhf JSON lines,
    50k records: 48-61 us a record against 36)."""
    plain = record_reader(name, suffixes, columns, sniff, row_fn, required, used, message_columns)
    needed = columns if required is None else required

    def read(path: Path, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        if path.suffix.lower() not in TABLE_SUFFIXES:
            return plain.read(path, opts)
        opts.where = path
        names = table_schema(path).names
        layout_check(name, needed, path)(names)
        cols = None if used is None else [c for c in names if c in used]
        batches = iter_table_file(path, opts.batch_size, cols)
        return battle_batches(arrow_chunks(batches, message_columns), batch_fn, row_fn, opts)

    def from_table(table: pa.Table, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        layout_check(name, needed, opts.where)(table.column_names)
        if used is not None:
            table = table.select([c for c in table.column_names if c in used])
        chunks = arrow_chunks(iter(table.to_batches(opts.batch_size)), message_columns)
        return battle_batches(chunks, batch_fn, row_fn, opts)

    return LayoutReader(name, "battles", suffixes, columns, sniff, read, from_table)
