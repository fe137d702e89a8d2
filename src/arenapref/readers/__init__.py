"""Readers for every input format, as streams of Arrow record batches in the shared schemas.

``open_source(path)`` detects the format from the path (and a peek at the first record), or takes it
from ``format=``; ``Source.batches()`` streams batches of bounded size; every row that cannot be read
goes to ``Source.rejects`` with file, row and reason. A file that is not the format at all raises
``InputFormatError`` with one sentence.

Detection requires every column a reader relies on: a file that is almost a known layout (``Prompt``
for ``prompt``, no ``response_b``) is one sentence naming the missing column, never a different layout
read with empty prompts. A folder is read whole (recursively, as Hugging Face repos and ``save_to_disk``
folders are laid out) when all its data files share one layout; otherwise the error names the files.

Python objects read the same way: ``as_source(obj)`` takes a path, a pyarrow Table, a pandas or polars
DataFrame, or a Hugging Face ``Dataset`` (duck-typed, the ``datasets`` package is not needed), and
``read_battles`` / ``read_conversations`` return a table in the shared schema.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arenapref.errors import InputFormatError
from arenapref.readers import arena, competition, fastchat, lmsys, native, pairwise, wsdm
from arenapref.readers.files import (
    CSV_SUFFIXES,
    DATA_SUFFIXES,
    JSON_SUFFIXES,
    TABLE_SUFFIXES,
    data_files,
    table_schema,
)
from arenapref.records import SCHEMAS, Kind, user_turns
from arenapref.rejects import RejectLog

FORMATS: dict[str, Kind] = {
    "competition": "battles",
    "submission": "battles",
    "lmsys": "conversations",
    "arena": "battles",
    "fastchat": "conversations",
    "pairwise": "battles",
    "native-conversations": "conversations",
    "native-battles": "battles",
    "wsdm": "battles",
}
# Which file suffixes each format's reader reads (fastchat is a folder layout of its own).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "competition": CSV_SUFFIXES + TABLE_SUFFIXES,
    "submission": CSV_SUFFIXES,
    "lmsys": TABLE_SUFFIXES + JSON_SUFFIXES,
    "arena": JSON_SUFFIXES + TABLE_SUFFIXES,
    "fastchat": JSON_SUFFIXES,
    "pairwise": CSV_SUFFIXES + JSON_SUFFIXES + TABLE_SUFFIXES,
    "native-conversations": TABLE_SUFFIXES,
    "native-battles": TABLE_SUFFIXES,
    "wsdm": TABLE_SUFFIXES + CSV_SUFFIXES,
}
DEFAULT_BATCH = 8192
TEXT_COLUMNS = ("prompt", "response_a", "response_b")
LABEL_COLUMNS = ("winner_model_a", "winner_model_b", "winner_tie")


@dataclass
class Source:
    """One input (a file, a folder, or an in-memory table) read as a stream of record batches of one kind.

    ``files`` are the data files a folder resolved to (every one is read); ``table`` is set for Python
    objects (DataFrames, Datasets), whose ``path`` is a display name such as ``<DataFrame>``.
    """

    path: Path
    format: str
    rejects: RejectLog = field(default_factory=RejectLog)
    mapping: dict[str, str] | None = None
    files: list[Path] | None = None
    table: pa.Table | None = None
    encoding: str | None = None

    @property
    def kind(self) -> Kind:
        return FORMATS[self.format]

    @property
    def schema(self) -> pa.Schema:
        return SCHEMAS[self.kind]

    @property
    def name(self) -> str:
        return self.path.name or str(self.path)

    def _file_batches(self, f: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
        readers: dict[str, Callable[[], Iterator[pa.RecordBatch]]] = {
            "competition": lambda: competition.read(f, self.rejects, batch_size, False, self.encoding),
            "submission": lambda: competition.read(f, self.rejects, batch_size, True, self.encoding),
            "lmsys": lambda: lmsys.read(f, self.rejects, batch_size),
            "arena": lambda: arena.read(f, self.rejects, batch_size),
            "pairwise": lambda: pairwise.read(f, self.rejects, batch_size, self.mapping, self.encoding),
            "native-conversations": lambda: native.read(f, "conversations", batch_size),
            "native-battles": lambda: native.read(f, "battles", batch_size),
            "wsdm": lambda: wsdm.read(f, self.rejects, batch_size),
        }
        return readers[self.format]()

    def _table_batches(self, table: pa.Table, batch_size: int) -> Iterator[pa.RecordBatch]:
        where = str(self.path)
        if self.format == "competition":
            return competition.from_table(table, where, self.rejects, batch_size)
        if self.format == "lmsys":
            return lmsys.convert_batches(iter(table.to_batches(batch_size)), where, self.rejects)
        if self.format == "arena":
            records = enumerate((r for b in table.to_batches(batch_size) for r in b.to_pylist()), start=1)
            return arena.rows_to_batches(records, where, self.rejects, batch_size)
        if self.format == "pairwise":
            return pairwise.from_table(table, where, self.rejects, batch_size, self.mapping)
        if self.format == "wsdm":
            return iter(wsdm.from_table(table, where, self.rejects).to_batches(batch_size))
        kind = self.kind
        native.check_columns(table.column_names, kind, where)
        return native.conform_batches(iter(table.to_batches(batch_size)), kind, where)

    def batches(self, batch_size: int = DEFAULT_BATCH) -> Iterator[pa.RecordBatch]:
        """Stream the source in the shared schema; bad rows land in ``self.rejects``."""
        if self.table is not None:
            yield from self._table_batches(self.table, batch_size)
            return
        if self.format == "fastchat":
            yield from fastchat.read(self.path, self.rejects, batch_size)
            return
        for f in self.files if self.files is not None else [self.path]:
            yield from self._file_batches(f, batch_size)

    def read_table(self, batch_size: int = DEFAULT_BATCH) -> pa.Table:
        """The whole source as one table (fine for anything that fits in memory)."""
        batches = list(self.batches(batch_size))
        if not batches:
            return self.schema.empty_table()
        return pa.Table.from_batches(batches)

    def prompt_count(self, batch_size: int = DEFAULT_BATCH) -> int:
        """How many records hold at least one non-empty user turn (streams the source once).

        A leakage check against a source with none has not looked at anything; callers make that an error.
        """
        return sum(count_prompts(b) for b in self.batches(batch_size))


def count_prompts(table: pa.Table | pa.RecordBatch) -> int:
    """Rows of a battles or conversations table with at least one non-empty user turn."""
    if table.num_rows == 0:
        return 0
    turns = user_turns(table)
    flat = pc.list_flatten(turns)
    if len(flat) == 0:
        return 0
    parents = pc.list_parent_indices(turns)
    nonempty = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(flat)), 0), False)
    rows = pc.unique(pc.filter(parents, nonempty))
    return len(rows)


def _near_competition(cols: set[str], where: Path | str) -> None:
    """Raise when columns are almost the competition layout: some text columns, or labels with text."""
    lower = {c.lower(): c for c in cols}
    exact = [t for t in TEXT_COLUMNS if t in cols]
    other_case = [t for t in TEXT_COLUMNS if t not in cols and t in lower]
    labels = all(c in cols for c in LABEL_COLUMNS)
    if (exact or other_case) and (len(exact) + len(other_case) >= 2 or labels):
        missing = [
            f"{t} (found {lower[t]!r}; names are case-sensitive)" if t in lower else t
            for t in TEXT_COLUMNS
            if t not in cols
        ]
        raise InputFormatError(
            f"{where}: looks like the competition layout but has no {', '.join(missing)} column; "
            "rename it, or read the file with --format pairwise --map"
        )


PAIRWISE_LABELS = ("preference", "winner", "label", "choice")


def _format_of_columns(cols: set[str], where: Path | str, text_is_string: bool | None = None) -> str:
    """The layout a set of columns (a CSV header, a Parquet/Arrow schema, a DataFrame) is in."""
    if "conversation" in cols:
        return "lmsys"
    if "turns" in cols and "conversation_id" in cols:
        return "native-conversations"
    if "conversation_a" in cols or "conversation_b" in cols:
        return "arena"
    if set(TEXT_COLUMNS) <= cols:
        if wsdm.is_layout(cols) and text_is_string is not False:
            return "wsdm"
        if any(c in cols for c in LABEL_COLUMNS):
            return "competition"
        if any(c in cols for c in PAIRWISE_LABELS) or (text_is_string is None and "id" not in cols):
            return "pairwise"
        if text_is_string is None or text_is_string:
            return "competition"
        return "native-battles"
    _near_competition(cols, where)
    if {"id", *LABEL_COLUMNS} <= cols and text_is_string is None:
        return "submission"
    return "pairwise"


def _format_of_table_file(path: Path) -> str:
    schema = table_schema(path)
    return _format_of_schema(schema, path)


def _format_of_schema(schema: pa.Schema, where: Path | str) -> str:
    names = set(schema.names)
    text_is_string = None
    if "prompt" in names:
        t = schema.field("prompt").type
        text_is_string = pa.types.is_string(t) or pa.types.is_large_string(t)
    fmt = _format_of_columns(names, where, text_is_string if text_is_string is not None else True)
    if fmt == "pairwise" and not any(c in names for c in pairwise.CANDIDATES["prompt"]):
        raise InputFormatError(f"{where}: columns {sorted(names)[:12]} match no known layout")
    return fmt


def _first_json_record(path: Path) -> dict[str, object] | None:
    """The first record of a JSON array or JSON-lines file, without reading the whole file."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", "replace")
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        try:
            data = json.loads(path.read_bytes().decode("utf-8", "replace").lstrip("\ufeff"))
        except (json.JSONDecodeError, RecursionError):
            return None
        return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
    for line in stripped.splitlines():
        if line.strip():
            try:
                rec = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                return None
            return rec if isinstance(rec, dict) else None
    return None


def _format_of_record(rec: dict[str, object], path: Path) -> str:
    keys = set(rec)
    if "conversation" in keys and ("conversation_id" in keys or "model" in keys):
        return "lmsys"
    if "conversation_a" in keys or {"winner", "model_a", "model_b"} <= keys:
        return "arena"
    if "choices" in keys and "model_id" in keys:
        raise InputFormatError(
            f"{path}: a FastChat answer file needs its questions; pass the folder holding question.jsonl "
            "and model_answer/"
        )
    if "turns" in keys and "question_id" in keys:
        return "fastchat"
    if "turns" in keys and "conversation_id" in keys:
        return "native-conversations"
    _near_competition(keys, path)
    return "pairwise"


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    try:
        return next(
            csv.reader(text.splitlines()[:1], delimiter="\t" if path.suffix.lower() == ".tsv" else ","), []
        )
    except csv.Error as exc:
        raise InputFormatError(f"{path}: not a readable CSV header ({exc})") from exc


def _detect_file(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return _format_of_table_file(path)
    if suffix in CSV_SUFFIXES:
        cols = {c.strip() for c in _csv_header(path)}
        return _format_of_columns(cols, path)
    if suffix in JSON_SUFFIXES:
        if path.name == "question.jsonl" and (path.parent / "model_answer").is_dir():
            return "fastchat"
        rec = _first_json_record(path)
        if rec is None:
            raise InputFormatError(f"{path}: not JSON or JSON lines holding objects")
        return _format_of_record(rec, path)
    raise InputFormatError(
        f"{path}: cannot tell the format from the suffix {suffix!r}; pass --format ({', '.join(FORMATS)})"
    )


def _folder_files(path: Path, fmt: str | None) -> tuple[str, list[Path]]:
    """The format of a folder and the files to read; every data file is read, or the error names it."""
    files = data_files(path)
    if not files:
        raise InputFormatError(f"{path}: folder holds no {', '.join(DATA_SUFFIXES)} files")
    if fmt is not None:
        unread = [f for f in files if f.suffix.lower() not in SUFFIXES[fmt]]
        if unread:
            raise InputFormatError(
                f"{path}: --format {fmt} cannot read "
                f"{', '.join(str(f.relative_to(path)) for f in unread[:5])}; "
                "point at the files of one layout"
            )
        return fmt, files
    found = {f: _detect_file(f) for f in files}
    kinds = sorted(set(found.values()))
    if len(kinds) > 1:
        shown = ", ".join(f"{f.relative_to(path)} ({k})" for f, k in list(found.items())[:6])
        raise InputFormatError(
            f"{path}: holds files of different layouts ({shown}); point at one file or a folder of one layout"
        )
    return kinds[0], files


def detect_format(path: Path) -> str:
    """Guess the format from the path and a peek at the first record (every file of a folder)."""
    if path.is_dir():
        if (path / "question.jsonl").exists() and (path / "model_answer").is_dir():
            return "fastchat"
        return _folder_files(path, None)[0]
    return _detect_file(path)


def open_source(
    path: str | Path | Any,
    format: str | None = None,
    rejects: RejectLog | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
) -> Source:
    """Open a file or folder (or a table/DataFrame/Dataset, as ``as_source``), detecting its format."""
    if not isinstance(path, (str, Path)):
        return as_source(path, format, rejects, mapping)
    p = Path(path)
    if not p.exists():
        raise InputFormatError(f"{p}: no such file or folder")
    if format is not None and format not in FORMATS:
        raise InputFormatError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if mapping and format is None:
        format = "pairwise"  # --map describes a pairwise file; detection would only second-guess it
    files: list[Path] | None = None
    if p.is_dir() and not (
        format in (None, "fastchat") and (p / "question.jsonl").exists() and (p / "model_answer").is_dir()
    ):
        fmt, files = _folder_files(p, format)
    else:
        fmt = format or detect_format(p)
    if mapping and fmt != "pairwise":
        raise InputFormatError(f"{p}: --map applies to pairwise files; this one reads as {fmt}")
    return Source(p, fmt, rejects if rejects is not None else RejectLog(), mapping, files, None, encoding)


def _to_arrow(obj: Any) -> tuple[pa.Table, str]:
    """A pyarrow Table and a display name for a table-like Python object, without importing its library."""
    if isinstance(obj, pa.Table):
        return obj, "<Table>"
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj]), "<RecordBatch>"
    module = type(obj).__module__.split(".")[0]
    if module == "polars" and hasattr(obj, "to_arrow"):
        table = obj.to_arrow()
        return (table if isinstance(table, pa.Table) else pa.table(table)), "<polars DataFrame>"
    if module == "pandas" and hasattr(obj, "columns"):
        try:
            return pa.Table.from_pandas(obj, preserve_index=False), "<pandas DataFrame>"
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputFormatError(f"a pandas DataFrame with cells Arrow cannot hold ({exc})") from exc
    # A Hugging Face Dataset: its Arrow table is .data.table (datasets.table.Table wraps a pa.Table).
    data = getattr(obj, "data", None)
    inner = getattr(data, "table", None)
    if isinstance(inner, pa.Table):
        indices = getattr(obj, "_indices", None)
        if indices is not None:  # a filtered/shuffled Dataset: its rows are an index mapping
            fmt = obj.with_format("arrow")
            return fmt[:], "<Dataset>"
        return inner, "<Dataset>"
    if hasattr(obj, "with_format"):
        return obj.with_format("arrow")[:], "<Dataset>"
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj), f"<{type(obj).__name__}>"
    raise InputFormatError(
        f"cannot read a {type(obj).__name__}: pass a path, a pyarrow Table, a pandas or polars DataFrame, "
        "or a Hugging Face Dataset"
    )


def as_source(
    obj: Any,
    format: str | None = None,
    rejects: RejectLog | None = None,
    mapping: dict[str, str] | None = None,
) -> Source:
    """A ``Source`` for anything a notebook holds: a path, a ``Source``, a Table, a DataFrame or a Dataset.

    Competition-layout frames may hold JSON-string cells (as read from train.csv) or list cells; LMSYS
    frames hold the conversation as a list of role/content structs (dicts in pandas).
    """
    if isinstance(obj, Source):
        return obj
    if isinstance(obj, (str, Path)):
        return open_source(obj, format, rejects, mapping)
    table, name = _to_arrow(obj)
    if format is not None and format not in FORMATS:
        raise InputFormatError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if format in ("fastchat", "submission"):
        raise InputFormatError(f"--format {format} reads files, not in-memory tables")
    fmt = format or ("pairwise" if mapping else _format_of_schema(table.schema, name))
    return Source(Path(name), fmt, rejects if rejects is not None else RejectLog(), mapping, None, table)


def _read_kind(obj: Any, kind: Kind, format: str | None, rejects: RejectLog | None) -> pa.Table:
    src = as_source(obj, format, rejects)
    if src.kind != kind:
        raise InputFormatError(f"{src.path}: holds {src.kind} ({src.format}), not {kind}")
    return src.read_table()


def read_battles(obj: Any, format: str | None = None, rejects: RejectLog | None = None) -> pa.Table:
    """Battles in the shared schema from a path, Table, DataFrame or Dataset (one sentence if not battles)."""
    return _read_kind(obj, "battles", format, rejects)


def read_conversations(obj: Any, format: str | None = None, rejects: RejectLog | None = None) -> pa.Table:
    """Conversations in the shared schema from a path, Table, DataFrame or Dataset."""
    return _read_kind(obj, "conversations", format, rejects)


def read_table(
    path: str | Path | Any, format: str | None = None, rejects: RejectLog | None = None
) -> pa.Table:
    """Read a whole source into one table in the shared schema."""
    return open_source(path, format, rejects).read_table()


__all__ = [
    "DEFAULT_BATCH",
    "FORMATS",
    "Source",
    "as_source",
    "count_prompts",
    "detect_format",
    "open_source",
    "read_battles",
    "read_conversations",
    "read_table",
]
