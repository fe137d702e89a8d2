"""The contract every layout reader meets, and the record plumbing the record-at-a-time readers share.

A layout is one module holding one ``Reader``: its name, the kind of record it yields, the file
suffixes it reads, the columns that identify it, ``sniff`` (does this peek at an input look like me?),
``read`` (stream a file) and ``from_table`` (stream an in-memory Arrow table: a DataFrame, a Dataset).
The registry (``readers.registry``) holds them in detection order; adding a layout is one module and
one line there.

Why a ``Peek`` and not the raw file: detection must be cheap and identical for a CSV header, a Parquet
schema, the first JSON record and a DataFrame, so each reader judges the same small description: the
column names and a coarse type per column.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TextIO

import pyarrow as pa

from arenapref.errors import InputFormatError
from arenapref.readers.files import CSV_SUFFIXES, TABLE_SUFFIXES, iter_table_file, table_schema
from arenapref.readers.jsonrecords import iter_json_records
from arenapref.readers.messages import message_lists
from arenapref.records import BATTLE_SCHEMA, Kind
from arenapref.rejects import RejectLog

csv.field_size_limit(sys.maxsize)

Origin = Literal["csv", "table", "json"]
# Coarse value types a peek reports: what detection needs to tell a message list from a transcript.
CoarseType = Literal["string", "list", "struct", "number", "bool", "null", "other"]


@dataclass(frozen=True)
class Peek:
    """What detection sees of an input: its column names, a coarse type per column, and where it came from.

    A CSV's columns are all ``string`` (cells are text until a reader decodes them); a JSON file's types
    come from its first record; a table's from its Arrow schema.
    """

    columns: frozenset[str]
    types: Mapping[str, CoarseType]
    origin: Origin

    def has(self, *names: str) -> bool:
        return all(n in self.columns for n in names)

    def any_of(self, *names: str) -> bool:
        return any(n in self.columns for n in names)

    def type_of(self, name: str) -> CoarseType | None:
        return self.types.get(name)


def arrow_coarse(t: pa.DataType) -> CoarseType:
    """The coarse type of an Arrow column."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "list"
    if pa.types.is_struct(t) or pa.types.is_map(t):
        return "struct"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_null(t):
        return "null"
    return "other"


def value_coarse(v: object) -> CoarseType:
    """The coarse type of a parsed JSON value."""
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "struct"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "null" if v is None else "other"


def peek_schema(schema: pa.Schema) -> Peek:
    return Peek(frozenset(schema.names), {f.name: arrow_coarse(f.type) for f in schema}, "table")


def peek_record(rec: Mapping[str, object]) -> Peek:
    return Peek(frozenset(rec), {k: value_coarse(v) for k, v in rec.items()}, "json")


def peek_header(header: list[str]) -> Peek:
    return Peek(frozenset(header), dict.fromkeys(header, "string"), "csv")


@dataclass
class ReadOptions:
    """What one read needs besides the data: where it is (for messages), the reject log, batch size, and
    the user's column mapping and text encoding where the layout takes them."""

    where: Path | str
    rejects: RejectLog = field(default_factory=RejectLog)
    batch_size: int = 8192
    mapping: dict[str, str] | None = None
    encoding: str | None = None


class Reader(Protocol):
    """One input layout: its ``name`` (what ``format=`` takes), the ``kind`` of record it yields, the file
    ``suffixes`` it reads, and the ``columns`` that identify it (used to name the closest layout when
    nothing matches). ``sniff`` must be cheap and must not read data: it sees only a ``Peek``."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def suffixes(self) -> tuple[str, ...]: ...
    @property
    def columns(self) -> tuple[str, ...]: ...
    def sniff(self, peek: Peek) -> bool: ...
    def read(self, path: Path, opts: ReadOptions) -> Iterator[pa.RecordBatch]: ...
    def from_table(self, table: pa.Table, opts: ReadOptions) -> Iterator[pa.RecordBatch]: ...


@dataclass(frozen=True)
class LayoutReader:
    """A ``Reader`` assembled from functions: what each layout module exports as ``READER``."""

    name: str
    kind: Kind
    suffixes: tuple[str, ...]
    columns: tuple[str, ...]
    sniff_fn: Callable[[Peek], bool]
    read_fn: Callable[[Path, ReadOptions], Iterator[pa.RecordBatch]]
    table_fn: Callable[[pa.Table, ReadOptions], Iterator[pa.RecordBatch]]

    def sniff(self, peek: Peek) -> bool:
        return self.sniff_fn(peek)

    def read(self, path: Path, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return self.read_fn(path, opts)

    def from_table(self, table: pa.Table, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return self.table_fn(table, opts)


# --- record-at-a-time layouts -------------------------------------------------------------------------

Records = Iterator[tuple[int, dict[str, object]]]
# A record as a row of the layout's schema, a list of rows (one record, several battles), or the reason
# it cannot be one.
RowFn = Callable[[dict[str, object], int, ReadOptions], "dict[str, object] | list[dict[str, object]] | str"]


def open_csv_text(path: Path, encoding: str | None) -> tuple[TextIO, bool]:
    """A CSV opened for the ``csv`` module, and whether its encoding is not UTF-8 (decodes are counted)."""
    enc = encoding or "utf-8-sig"
    try:
        info = codecs.lookup(enc)
    except LookupError:
        raise InputFormatError(f"--encoding {enc}: not a text encoding Python knows") from None
    # strict: bytes that are not in the encoding are found and named, never silently replaced.
    return path.open(newline="", encoding=enc, errors="strict"), info.name not in ("utf-8", "utf-8-sig")


def csv_error(path: Path, exc: UnicodeDecodeError | csv.Error, row_no: int) -> InputFormatError:
    """The one sentence for a CSV that stops decoding or parsing after ``row_no`` rows."""
    if isinstance(exc, UnicodeDecodeError):
        bad = exc.object[exc.start : exc.start + 1].hex()
        return InputFormatError(
            f"{path}: not UTF-8 (byte 0x{bad} after row {row_no}); a file saved by Excel is usually "
            "cp1252, so pass --encoding cp1252 (or latin-1)"
        )
    return InputFormatError(f"{path}: not a readable CSV after row {row_no} ({exc})")


def csv_records(
    path: Path, opts: ReadOptions, check_header: Callable[[list[str]], object] | None = None
) -> Records:
    """The rows of a CSV/TSV as dicts; ragged rows are rejected, the header checked before any row."""
    fh, non_utf8 = open_csv_text(path, opts.encoding)
    row_no = 0
    try:
        with fh:
            reader = csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            if check_header is not None:
                check_header(list(reader.fieldnames or []))
            for row_no, rec in enumerate(reader, start=1):
                if None in rec or any(v is None for v in rec.values()):
                    raw = json.dumps(rec, default=str)[:500]
                    opts.rejects.add(path, row_no, "wrong number of cells", raw=raw)
                    continue
                if non_utf8 and any(isinstance(v, str) and not v.isascii() for v in rec.values()):
                    opts.rejects.recover(f"decoded from {opts.encoding}")
                yield row_no, dict(rec)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise csv_error(path, exc, row_no) from exc


def table_records(
    table: pa.Table,
    batch_size: int,
    used: tuple[str, ...] | None = None,
    message_columns: tuple[str, ...] = (),
) -> Records:
    """The rows of an Arrow table as dicts (only the ``used`` columns, when given), numbered from 1."""
    if used is not None:
        table = table.select([c for c in table.column_names if c in used])
    rows = (r for b in table.to_batches(batch_size) for r in batch_records(b, message_columns))
    return enumerate(rows, start=1)


def batch_records(batch: pa.RecordBatch, message_columns: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """A batch's rows as dicts; the named message-list columns as (role, text) tuples (``messages``)."""
    if not message_columns:
        return batch.to_pylist()  # type: ignore[no-any-return]
    names = batch.schema.names
    cols = [
        message_lists(c) if n in message_columns else c.to_pylist()
        for n, c in zip(names, batch.columns, strict=True)
    ]
    return [dict(zip(names, values, strict=True)) for values in zip(*cols, strict=True)]


def file_records(
    path: Path,
    opts: ReadOptions,
    check_columns: Callable[[list[str]], object] | None = None,
    used: tuple[str, ...] | None = None,
    message_columns: tuple[str, ...] = (),
) -> Records:
    """The records of a CSV, JSON/JSON-lines, Parquet or Arrow file as dicts, numbered from 1; of a table
    file only the ``used`` columns are decoded (a preference set often carries a third copy of the text)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        yield from csv_records(path, opts, check_columns)
    elif suffix in TABLE_SUFFIXES:
        names = table_schema(path).names
        if check_columns is not None:
            check_columns(names)
        cols = None if used is None else [c for c in names if c in used]
        row_no = 0
        for batch in iter_table_file(path, opts.batch_size, cols):
            for rec in batch_records(batch, message_columns):
                row_no += 1
                yield row_no, rec
    else:
        yield from _checked(iter_json_records(path, opts.rejects), check_columns)


def row_batches(
    records: Records, row_fn: RowFn, opts: ReadOptions, schema: pa.Schema = BATTLE_SCHEMA
) -> Iterator[pa.RecordBatch]:
    """Records turned into rows by ``row_fn`` and batched; a record it cannot use is a counted reject."""
    rows: list[dict[str, object]] = []
    for row_no, rec in records:
        row = row_fn(rec, row_no, opts)
        if isinstance(row, str):
            opts.rejects.add(opts.where, row_no, row, raw=json.dumps(rec, default=str)[:500])
            continue
        if isinstance(row, list):
            rows.extend(row)
        else:
            rows.append(row)
        if len(rows) >= opts.batch_size:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def record_reader(
    name: str,
    suffixes: tuple[str, ...],
    columns: tuple[str, ...],
    sniff: Callable[[Peek], bool],
    row_fn: RowFn,
    required: tuple[str, ...] | None = None,
    used: tuple[str, ...] | None = None,
    message_columns: tuple[str, ...] = (),
) -> LayoutReader:
    """A battles ``Reader`` for a layout read one record at a time: files and tables go through ``row_fn``.

    The file's columns must include ``required`` (default: ``columns``), checked before any row, so a
    file of another layout is one sentence rather than every row rejected. ``used`` names every column
    ``row_fn`` reads (None: all), so tables decode nothing else; ``message_columns`` are decoded
    column-wise into (role, text) tuples (``messages.message_lists``), which ``row_fn`` must accept.
    """
    needed = columns if required is None else required

    def read(path: Path, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        opts.where = path
        records = file_records(path, opts, layout_check(name, needed, path), used, message_columns)
        return row_batches(records, row_fn, opts)

    def from_table(table: pa.Table, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        layout_check(name, needed, opts.where)(table.column_names)
        return row_batches(table_records(table, opts.batch_size, used, message_columns), row_fn, opts)

    return LayoutReader(name, "battles", suffixes, columns, sniff, read, from_table)


def layout_check(name: str, needed: tuple[str, ...], where: Path | str) -> Callable[[list[str]], None]:
    """The check that the columns of ``where`` include ``needed``: one sentence naming those missing, so a
    file of another layout is not read as every row rejected."""

    def check(names: list[str]) -> None:
        missing = [c for c in needed if c not in names]
        if missing:
            raise InputFormatError(f"{where}: not the {name} layout: no {', '.join(missing)} column")

    return check


def _checked(records: Records, check: Callable[[list[str]], object] | None) -> Records:
    """JSON records have no header: the first record's keys are checked instead."""
    first = check is not None
    for row_no, rec in records:
        if first and check is not None:
            check(list(rec))
            first = False
        yield row_no, rec


# --- pieces of a battle row -----------------------------------------------------------------------------

SWAP_SEED = b"arenapref-position-v1"


def coin(record_id: str) -> bool:
    """A fair coin per record id, the same on every run and machine: True puts the preferred answer in B.

    Why: preference sets list the winner first; a model trained on them as they are learns the position.
    """
    return bool(coins_of(record_id) & 1)


def coins_of(record_id: str) -> int:
    """Eight fair coins per record id, one per bit (bit 0 is ``coin``): a record that yields several pairs
    (rated completions) places its k-th pair by bit k, with one hash for the record instead of one per pair.
    """
    h = _COIN.copy()  # the keyed state, copied: cheaper than keying a new hash for every record
    h.update(record_id.encode("utf-8", "replace"))
    return h.digest()[0]


_COIN = hashlib.blake2b(digest_size=1, key=SWAP_SEED)


def battle(
    rid: str,
    prompt: list[str | None],
    resp_a: list[str | None],
    resp_b: list[str | None],
    model_a: object,
    model_b: object,
    label: tuple[float, float, float] | None,
    source: str,
    provenance: list[str],
) -> dict[str, object]:
    """One row of ``BATTLE_SCHEMA``."""
    p_a, p_b, p_tie = label if label is not None else (None, None, None)
    return {
        "id": rid,
        "prompt": prompt,
        "response_a": resp_a,
        "response_b": resp_b,
        "model_a": opt_str(model_a),
        "model_b": opt_str(model_b),
        "p_a": p_a,
        "p_b": p_b,
        "p_tie": p_tie,
        "source": source,
        "provenance": provenance,
    }


def preferred_pair(
    rid: str,
    prompt: list[str | None],
    preferred: tuple[list[str | None], object],
    other: tuple[list[str | None], object],
    source: str,
    tie: bool = False,
) -> dict[str, object]:
    """A chosen/rejected pair placed by ``coin``; provenance records where the preferred answer went."""
    swap = coin(rid)
    (first, m_first), (second, m_second) = (other, preferred) if swap else (preferred, other)
    label = (0.0, 0.0, 1.0) if tie else ((0.0, 1.0, 0.0) if swap else (1.0, 0.0, 0.0))
    where = "preferred:b" if swap else "preferred:a"
    return battle(rid, prompt, first, second, m_first, m_second, label, source, [rid, where])


def opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@functools.lru_cache(maxsize=256)
def source_stem(where: Path | str) -> str:
    """A short name for ids made of row numbers: the file's stem, or ``DataFrame`` for ``<DataFrame>``."""
    return str(where).strip("<>") if str(where).startswith("<") else Path(str(where)).stem


def record_id(rec: Mapping[str, object], keys: tuple[str, ...], where: Path | str, row_no: int) -> str:
    """The record's own id from the first of ``keys`` it has, else ``<file stem>:<row>``."""
    for k in keys:
        v = rec.get(k)
        if v not in (None, ""):
            return str(v)
    return f"{source_stem(where)}:{row_no}"
