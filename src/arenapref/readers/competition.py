"""The Kaggle competition layout: train.csv, test.csv, sample_submission.csv, or the same columns in a table.

Cells are JSON-encoded lists of turns; labels are three one-hot columns. A CSV is read by polars when it
is installed (about ten times faster on the 57k-row train.csv); only the rows that need a repair or a
reject go through the per-row decoder, so rejects and repairs are counted exactly as the per-row reader
counts them. A file polars cannot parse the same way (ragged rows, bytes that are not UTF-8, another
``encoding``) is read entirely by the per-row reader, the standard ``csv`` module. A Parquet/Arrow file or
a DataFrame in this layout (JSON-string cells or list cells) reads through the same row decoder.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arenapref.errors import InputFormatError
from arenapref.readers.base import LayoutReader, Peek, ReadOptions, csv_error, open_csv_text
from arenapref.readers.files import CSV_SUFFIXES, TABLE_SUFFIXES, iter_table_file
from arenapref.readers.jsoncells import CellError, decode_turns, fix_surrogates
from arenapref.records import BATTLE_SCHEMA
from arenapref.rejects import RejectLog

LABELS = ("winner_model_a", "winner_model_b", "winner_tie")
BATTLE_COLUMNS = ("id", "prompt", "response_a", "response_b")
TEXT_COLUMNS = ("prompt", "response_a", "response_b")
# Cells the fast path decodes: strictly a JSON list of strings and nulls (checked by one linear-time regex,
# so polars never sees a malformed cell), with no surrogate escape. Every other cell, and so every repair
# and reject, goes through the per-row decoder.
_JSON_STRING = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"'
_ITEM = rf"(?:null|{_JSON_STRING})"
_WS = r"[ \t\r\n]*"
STRICT_LIST = rf"^{_WS}\[{_WS}(?:{_ITEM}(?:{_WS},{_WS}{_ITEM})*)?{_WS}\]{_WS}$"
SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F]"
FAST_CHUNK = 2048
MIN_CHUNK = 64

csv.field_size_limit(sys.maxsize)


class LabelError(CellError):
    """The winner columns are not a valid label."""


def _parse_label(values: list[object], submission: bool) -> tuple[float, float, float] | None:
    """One-hot human labels, or probabilities (submissions and pseudo-labeled pairs); None when empty.

    0/1 values must be exactly one-hot (``1,1,0`` is a broken row, not a soft label); other values must be
    probabilities in [0, 1] summing to 1.
    """
    texts = ["" if v is None else str(v) for v in values]
    if all(v.strip() == "" for v in texts):
        return None
    try:
        nums = [float(v) for v in texts]
    except ValueError as exc:
        raise LabelError(f"label cells {texts} are not numbers") from exc
    if not all(n == n for n in nums):
        raise LabelError(f"label cells {texts} are not numbers")
    if not submission and all(n in (0.0, 1.0) for n in nums):
        if sorted(nums) != [0.0, 0.0, 1.0]:
            raise LabelError(f"labels {texts} are not one-hot (exactly one of the three must be 1)")
    elif any(n < 0 or n > 1 for n in nums) or abs(sum(nums) - 1.0) > 1e-3:
        raise LabelError(f"probabilities {texts} must be in [0, 1] and sum to 1")
    return (nums[0], nums[1], nums[2])


def check_header(header: list[str], path: Path | str, submission: bool) -> bool:
    """Check the columns the layout needs; return whether the label columns are there.

    Two or one of the three label columns is a damaged file, not an unlabeled one: named, not ignored.
    """
    needed = ("id", *LABELS) if submission else BATTLE_COLUMNS
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputFormatError(
            f"{path}: not a competition {'submission' if submission else 'file'}: "
            f"missing column(s) {', '.join(missing)}"
        )
    present = [c for c in LABELS if c in header]
    if present and len(present) < len(LABELS):
        absent = [c for c in LABELS if c not in header]
        raise InputFormatError(f"{path}: has {', '.join(present)} but no label column {', '.join(absent)}")
    return len(present) == len(LABELS)


def read(
    path: Path,
    rejects: RejectLog,
    batch_size: int,
    submission: bool,
    encoding: str | None = None,
    fast: bool = True,
) -> Iterator[pa.RecordBatch]:
    """Stream one competition CSV, submission CSV, or Parquet/Arrow file in this layout as battle batches."""
    if path.suffix.lower() not in CSV_SUFFIXES:
        for batch in iter_table_file(path, batch_size):
            yield from from_table(pa.Table.from_batches([batch]), path, rejects, batch_size, submission)
        return
    if fast and encoding in (None, "utf-8", "utf8", "utf-8-sig") and not submission:
        table = _read_fast(path, rejects)
        if table is not None:
            yield from table.to_batches(max_chunksize=batch_size)
            return
    yield from read_rows(path, rejects, batch_size, submission, encoding)


def read_rows(
    path: Path, rejects: RejectLog, batch_size: int, submission: bool, encoding: str | None = None
) -> Iterator[pa.RecordBatch]:
    """The per-row reader (standard ``csv`` module): the reference and the fallback of the fast path."""
    row_no = 0
    try:
        fh, _ = open_csv_text(path, encoding)
        with fh:
            reader = csv.reader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            header = [h.strip() for h in next(reader, [])]
            has_labels = check_header(header, path, submission)
            rows: list[dict[str, object]] = []
            for row_no, cells in enumerate(reader, start=1):
                if len(cells) != len(header):
                    rejects.add(
                        path,
                        row_no,
                        "wrong number of cells",
                        f"expected {len(header)} cells, found {len(cells)}",
                        ",".join(cells)[:500],
                    )
                    continue
                values = dict(zip(header, cells, strict=True))
                if encoding not in (None, "utf-8", "utf8", "utf-8-sig") and any(
                    not c.isascii() for c in cells
                ):
                    rejects.recover(f"decoded from {encoding}")
                row = _checked_row(values, path, row_no, has_labels, submission, rejects)
                if row is not None:
                    rows.append(row)
                if len(rows) >= batch_size:
                    yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)
                    rows = []
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise csv_error(path, exc, row_no) from exc


def _checked_row(
    values: Mapping[str, object],
    path: Path | str,
    row_no: int,
    has_labels: bool,
    submission: bool,
    rejects: RejectLog,
) -> dict[str, object] | None:
    raw = ",".join("" if v is None else str(v) for v in values.values())[:500]
    try:
        return _row(values, has_labels, submission, rejects)
    except LabelError as exc:
        rejects.add(path, row_no, "invalid label", str(exc), raw)
    except CellError as exc:
        rejects.add(path, row_no, "unreadable cell", str(exc), raw)
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    return fix_surrogates(value if isinstance(value, str) else str(value))[0]


def _turns_of(value: object, name: str, rejects: RejectLog) -> list[str | None]:
    """A JSON-list cell (CSV, string column) or a list cell (DataFrame, Arrow list column) as turns."""
    if isinstance(value, (list, tuple)):
        items = list(value)
        out: list[str | None] = []
        repaired = False
        for item in items:
            if item is None:
                out.append(None)
                continue
            if not isinstance(item, str):
                raise CellError(f"column {name}: expected string or null turns, got {type(item).__name__}")
            fixed, changed = fix_surrogates(item)
            repaired = repaired or changed
            out.append(fixed)
        if repaired:
            rejects.recover(f"{name}: lone surrogate")
        return out
    try:
        turns, repair = decode_turns("" if value is None else str(value))
    except CellError as exc:
        raise CellError(f"column {name}: {exc}") from exc
    if repair:
        rejects.recover(f"{name}: {repair}")
    return turns


def _row(
    values: Mapping[str, object], has_labels: bool, submission: bool, rejects: RejectLog
) -> dict[str, object]:
    row_id = _text(values.get("id"))
    if not row_id:
        raise CellError("empty id")
    label = _parse_label([values.get(c) for c in LABELS], submission) if has_labels else None
    turns: dict[str, list[str | None]] = {}
    if not submission:
        for name in TEXT_COLUMNS:
            turns[name] = _turns_of(values.get(name), name, rejects)
    p_a, p_b, p_tie = label if label is not None else (None, None, None)
    return {
        "id": row_id,
        "prompt": turns.get("prompt", []),
        "response_a": turns.get("response_a", []),
        "response_b": turns.get("response_b", []),
        "model_a": _text(values.get("model_a")) or None,
        "model_b": _text(values.get("model_b")) or None,
        "p_a": p_a,
        "p_b": p_b,
        "p_tie": p_tie,
        "source": "competition",
        "provenance": [],
    }


def from_table(
    table: pa.Table, where: Path | str, rejects: RejectLog, batch_size: int, submission: bool = False
) -> Iterator[pa.RecordBatch]:
    """Battles from a table in the competition layout (a DataFrame, a Parquet/Arrow file, a HF Dataset)."""
    header = table.column_names
    has_labels = check_header(header, where, submission)
    rows: list[dict[str, object]] = []
    row_no = 0
    for batch in table.to_batches(max_chunksize=batch_size):
        for values in batch.to_pylist():
            row_no += 1
            row = _checked_row(values, where, row_no, has_labels, submission, rejects)
            if row is not None:
                rows.append(row)
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)
            rows = []


def _decode_column(pl: Any, col: Any, ok: Any) -> tuple[Any, Any]:
    """JSON-decode the cells of one column where ``ok``; cells polars cannot decode clear their ``ok`` bit.

    polars stops a whole column at the first bad cell, so failing chunks are halved until the bad rows
    are isolated (at most a few dozen rows each); those go to the per-row decoder.
    """
    n = len(col)
    decoded: list[Any] = []
    ok_list = ok.to_list()

    def attempt(start: int, stop: int) -> None:
        part = col.slice(start, stop - start)
        mask = ok.slice(start, stop - start)
        try:
            out = part.set(~mask, "[]").str.json_decode(pl.List(pl.String))
            if len(out) != stop - start:
                raise pl.exceptions.ComputeError("cells merged")
            decoded.append((start, out))
        except pl.exceptions.PolarsError:
            if stop - start <= MIN_CHUNK:
                for i in range(start, stop):
                    ok_list[i] = False
                decoded.append((start, pl.Series([[]] * (stop - start), dtype=pl.List(pl.String))))
                return
            mid = (start + stop) // 2
            attempt(start, mid)
            attempt(mid, stop)

    for start in range(0, n, FAST_CHUNK):
        attempt(start, min(start + FAST_CHUNK, n))
    decoded.sort(key=lambda t: t[0])
    out = pl.concat([s for _, s in decoded]) if decoded else pl.Series([], dtype=pl.List(pl.String))
    return out, pl.Series(ok_list, dtype=pl.Boolean)


def _read_fast(path: Path, rejects: RejectLog) -> pa.Table | None:
    """The whole file through polars, or None when polars is absent or would not parse it like ``csv``."""
    try:
        import polars as pl
    except ImportError:
        return None
    try:
        df = pl.read_csv(
            path,
            infer_schema=False,
            separator="\t" if path.suffix.lower() == ".tsv" else ",",
            encoding="utf8",
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    df.columns = [c.strip() for c in df.columns]
    if len(set(df.columns)) != len(df.columns):
        return None
    has_labels = check_header(df.columns, path, submission=False)
    if df.height == 0:
        return BATTLE_SCHEMA.empty_table()
    null_cols = [c for c in df.columns if df[c].null_count()]
    # An empty cell and a short (ragged) row both read as null; a null in the last column could be a
    # short row, which the per-row reader rejects, so such files are read by it.
    if null_cols and df[df.columns[-1]].null_count():
        return None
    ok = pl.Series([True] * df.height)
    for name in ("id", *TEXT_COLUMNS):
        col = df[name]
        ok = ok & col.is_not_null()
        if name != "id":
            ok = ok & col.str.contains(STRICT_LIST) & ~col.str.contains(SURROGATE_ESCAPE)
    decoded: dict[str, Any] = {}
    for name in TEXT_COLUMNS:
        decoded[name], ok = _decode_column(pl, df[name].fill_null("[]"), ok)
    # Labels: vectorised one-hot check; anything else (soft labels, broken rows) goes per row.
    if has_labels:
        nums = [df[c].cast(pl.Float64, strict=False) for c in LABELS]
        onehot = sum(
            (n.is_in([0.0, 1.0]).fill_null(False).cast(pl.Int32) for n in nums), pl.Series([0] * df.height)
        )
        ones = sum((n.fill_null(0.0) for n in nums), pl.Series([0.0] * df.height))
        ok = ok & (onehot == 3) & (ones == 1.0)
    ok_np = ok.to_numpy()
    n = df.height
    fast_idx = [i for i in range(n) if ok_np[i]]
    slow_idx = [i for i in range(n) if not ok_np[i]]
    fast = df.select(pl.int_range(0, n, eager=True).alias("_row")).with_columns(
        [decoded[name].alias(name) for name in TEXT_COLUMNS]
    )
    fast = fast.filter(ok)
    for name in ("id", "model_a", "model_b"):
        if name in df.columns:
            col = df[name].filter(ok)
            fast = fast.with_columns(col.replace("", None).alias(name) if name != "id" else col.alias(name))
        else:
            fast = fast.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    if has_labels:
        for c, out in zip(LABELS, ("p_a", "p_b", "p_tie"), strict=True):
            fast = fast.with_columns(df[c].filter(ok).cast(pl.Float64).alias(out))
    else:
        fast = fast.with_columns([pl.lit(None, dtype=pl.Float64).alias(o) for o in ("p_a", "p_b", "p_tie")])
    fast_tab = fast.to_arrow()
    nfast = fast_tab.num_rows
    fast_cols = {
        f.name: fast_tab.column(f.name).cast(f.type) for f in BATTLE_SCHEMA if f.name in fast_tab.column_names
    }
    fast_cols["source"] = pa.chunked_array([pa.array(["competition"] * nfast, pa.string())])
    fast_cols["provenance"] = pa.chunked_array([pa.array([[]] * nfast, pa.list_(pa.string()))])
    fast_table = pa.table([fast_cols[f.name] for f in BATTLE_SCHEMA], schema=BATTLE_SCHEMA)
    order = list(fast_idx)
    slow_rows: list[dict[str, object]] = []
    if slow_idx:
        raw = df[slow_idx, :].fill_null("").to_dicts()
        for i, values in zip(slow_idx, raw, strict=True):
            row = _checked_row(values, path, i + 1, has_labels, False, rejects)
            if row is not None:
                slow_rows.append(row)
                order.append(i)
    if not slow_rows:
        return fast_table
    merged = pa.concat_tables([fast_table, pa.Table.from_pylist(slow_rows, schema=BATTLE_SCHEMA)])
    return merged.take(pa.array(np.argsort(np.asarray(order), kind="stable")))


# Label columns of generic pairwise files: a file with the competition's text columns and one of these is
# a pairwise file (read through the mapping), not the competition layout.
PAIRWISE_LABELS = ("preference", "winner", "label", "choice")


def _sniff(p: Peek) -> bool:
    """The three text columns, and: the one-hot labels, or (no pairwise label) an id in a CSV, or string
    text cells in a table (list cells are arenapref's own battles)."""
    if p.origin == "json" or not p.has(*TEXT_COLUMNS):
        return False
    if p.any_of(*LABELS):
        return True
    if p.any_of(*PAIRWISE_LABELS):
        return False
    return "id" in p.columns if p.origin == "csv" else p.type_of("prompt") == "string"


def near_miss(p: Peek) -> str | None:
    """Why columns that are almost this layout are not it (some text columns, or labels with text)."""
    cols = p.columns
    lower = {c.lower(): c for c in cols}
    exact = [t for t in TEXT_COLUMNS if t in cols]
    other_case = [t for t in TEXT_COLUMNS if t not in cols and t in lower]
    labels = all(c in cols for c in LABELS)
    if (exact or other_case) and (len(exact) + len(other_case) >= 2 or labels):
        missing = [
            f"{t} (found {lower[t]!r}; names are case-sensitive)" if t in lower else t
            for t in TEXT_COLUMNS
            if t not in cols
        ]
        return (
            f"looks like the competition layout but has no {', '.join(missing)} column; "
            "rename it, or read the file as pairwise with a column mapping"
        )
    return None


def _read(submission: bool) -> Callable[[Path, ReadOptions], Iterator[pa.RecordBatch]]:
    return lambda path, o: read(path, o.rejects, o.batch_size, submission, o.encoding)


def _from_table(submission: bool) -> Callable[[pa.Table, ReadOptions], Iterator[pa.RecordBatch]]:
    return lambda table, o: from_table(table, o.where, o.rejects, o.batch_size, submission)


READER = LayoutReader(
    "competition",
    "battles",
    CSV_SUFFIXES + TABLE_SUFFIXES,
    BATTLE_COLUMNS,
    _sniff,
    _read(False),
    _from_table(False),
)
SUBMISSION = LayoutReader(
    "submission",
    "battles",
    CSV_SUFFIXES,
    ("id", *LABELS),
    lambda p: p.origin == "csv" and p.has("id", *LABELS),
    _read(True),
    _from_table(True),
)

__all__ = ["LABELS", "READER", "SUBMISSION", "check_header", "from_table", "near_miss", "read", "read_rows"]
