"""Readers for every input layout, as streams of Arrow record batches in the shared schemas.

``open_source(obj)`` is the one entry point: ``obj`` is a file or folder path, a pyarrow Table or
RecordBatch, a pandas or polars DataFrame, or a Hugging Face ``Dataset``/``DatasetDict`` (duck-typed, the
``datasets`` package is not needed). The layout is detected (``registry.detect`` over a ``Peek`` at the
columns) or taken from ``format=``; ``Source.batches()`` streams batches of bounded size; every row that
cannot be read goes to ``Source.rejects`` with file, row and reason. An input that is no layout at all
raises ``InputFormatError`` with one sentence naming the layouts recognised and the closest one.

Detection requires every column a reader relies on: a file that is almost a known layout (``Prompt``
for ``prompt``, no ``response_b``) is one sentence naming the missing column, never a different layout
read with empty prompts. A folder is read whole (recursively, as Hugging Face repos and ``save_to_disk``
folders are laid out) when all its data files share one layout; otherwise the error names the files.

Splits are never merged silently: a folder whose files name splits (``data/train-*.parquet``,
``data/test-*.parquet``, ``train/`` ...) or a ``DatasetDict`` is read one split with ``split=``; without
it, labeled and unlabeled splits together are an error naming them, and splits of one kind read together
are counted in the rejects summary so the merge shows.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arenapref.errors import InputFormatError
from arenapref.readers import fastchat
from arenapref.readers.base import Peek, ReadOptions, peek_header, peek_record, peek_schema
from arenapref.readers.files import (
    CSV_SUFFIXES,
    DATA_SUFFIXES,
    JSON_SUFFIXES,
    TABLE_SUFFIXES,
    data_files,
    table_schema,
)
from arenapref.readers.jsonrecords import ArrayError, array_items
from arenapref.readers.registry import BY_NAME, FORMATS, detect, reader
from arenapref.records import SCHEMAS, Kind, user_turns
from arenapref.rejects import RejectLog

DEFAULT_BATCH = 8192
SPLIT_NAMES = ("train", "test", "validation", "valid", "dev", "eval")
_SPLIT_FILE = re.compile(rf"^({'|'.join(SPLIT_NAMES)})(?:[-_.]|$)")
_HF_SHARD = re.compile(r"^(.+?)-\d{5}-of-\d{5}[-.]")


@dataclass
class Source:
    """One input (a file, a folder, or an in-memory table) read as a stream of record batches of one kind.

    ``format`` names its reader in the registry; ``files`` are the data files a folder resolved to (every
    one is read); ``table`` is set for Python objects (DataFrames, Datasets), whose ``path`` is a display
    name such as ``<DataFrame>``.
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

    def _options(self, where: Path | str, batch_size: int) -> ReadOptions:
        return ReadOptions(where, self.rejects, batch_size, self.mapping, self.encoding)

    def batches(self, batch_size: int = DEFAULT_BATCH) -> Iterator[pa.RecordBatch]:
        """Stream the source in the shared schema; bad rows land in ``self.rejects``."""
        r = BY_NAME[self.format]
        if self.table is not None:
            yield from r.from_table(self.table, self._options(self.path, batch_size))
            return
        if self.format == "fastchat":
            yield from r.read(self.path, self._options(self.path, batch_size))
            return
        for f in self.files if self.files is not None else [self.path]:
            yield from r.read(f, self._options(f, batch_size))

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

    def labeled(self) -> bool:
        """Whether the first records carry labels (battles with p_a/p_b/p_tie); conversations never do."""
        if self.kind != "battles":
            return False
        first = next(iter(self.batches(256)), None)
        return first is not None and first.column("p_a").null_count < first.num_rows


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


# --- peeking at a file ------------------------------------------------------------------------------------


def _first_json_record(path: Path) -> dict[str, object] | None:
    """The first record of a JSON array or JSON-lines file, without reading the whole file.

    A JSON-lines file is read a whole line at a time, however long its first line (a record with a long
    conversation is several hundred kilobytes); of an array file only the first element is decoded.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
            if head.startswith("["):
                # Only the first element is decoded (and only the blocks it spans are read).
                try:
                    first = next(array_items(path, RejectLog()), (None, False))[0]
                except ArrayError:
                    return None
                return first if isinstance(first, dict) else None
            fh.seek(0)
            for raw in fh:
                line = raw.decode("utf-8", "replace").lstrip("\ufeff").strip()
                if line:
                    try:
                        rec = json.loads(line)
                    except (json.JSONDecodeError, RecursionError):
                        return None
                    return rec if isinstance(rec, dict) else None
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return None


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


def peek_file(path: Path) -> Peek:
    """What detection sees of one data file; an empty or unreadable file is one sentence."""
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return peek_schema(table_schema(path))
    if suffix in CSV_SUFFIXES:
        return peek_header([c.strip() for c in _csv_header(path)])
    if suffix in JSON_SUFFIXES:
        rec = _first_json_record(path)
        if rec is None:
            if not path.read_bytes().strip(b"\xef\xbb\xbf \t\r\n"):
                raise InputFormatError(f"{path}: is empty (no records)")
            raise InputFormatError(f"{path}: not JSON or JSON lines holding objects")
        return peek_record(rec)
    raise InputFormatError(
        f"{path}: unknown suffix {suffix!r}; pass format= (--format) with one of ({', '.join(FORMATS)})"
    )


def _detect_file(path: Path) -> str:
    if path.name == "question.jsonl" and (path.parent / "model_answer").is_dir():
        return "fastchat"
    return detect(peek_file(path), path).name


def detect_format(path: Path) -> str:
    """The layout of a path (every file of a folder must agree)."""
    if fastchat.is_folder(path):
        return "fastchat"
    if path.is_dir():
        return _folder_layout(path, data_files(path), None)
    return _detect_file(path)


# --- folders and splits ------------------------------------------------------------------------------------


def split_of(root: Path, rel: Path) -> str | None:
    """The split a data file belongs to: Hugging Face's shard name (``train_prefs-00000-of-00001``), a
    ``save_to_disk`` split folder (holding ``state.json``), a folder named like a split (``test/``), or a
    file named like one (``train.csv``, ``test_999.csv``)."""
    for depth in range(len(rel.parts) - 1):
        if (root.joinpath(*rel.parts[: depth + 1]) / "state.json").is_file():
            return rel.parts[depth]
    shard = _HF_SHARD.match(rel.name)
    if shard and shard.group(1) != "data":  # save_to_disk names every shard data-0000x-of-0000y
        return shard.group(1)
    for part in rel.parts[:-1]:
        if part in SPLIT_NAMES:
            return part
    m = _SPLIT_FILE.match(rel.name.lower())
    return m.group(1) if m else None


def _folder_layout(path: Path, files: list[Path], fmt: str | None) -> str:
    """The one layout of a folder's files; a file another layout would read is named, never skipped."""
    if not files:
        raise InputFormatError(f"{path}: folder holds no {', '.join(DATA_SUFFIXES)} files")
    if fmt is not None:
        unread = [f for f in files if f.suffix.lower() not in BY_NAME[fmt].suffixes]
        if unread:
            raise InputFormatError(
                f"{path}: format {fmt} cannot read "
                f"{', '.join(str(f.relative_to(path)) for f in unread[:5])}; point at the files of one layout"
            )
        return fmt
    found = {f: _detect_file(f) for f in files}
    kinds = sorted(set(found.values()))
    if len(kinds) > 1:
        shown = ", ".join(f"{f.relative_to(path)} ({k})" for f, k in list(found.items())[:6])
        raise InputFormatError(
            f"{path}: holds files of different layouts ({shown}); point at one file or a folder of one layout"
        )
    return kinds[0]


def _pick_split(
    where: Path | str, splits: Mapping[str, Source], split: str | None, rejects: RejectLog
) -> list[str]:
    """The split names to read: the one asked for, or all when they are all labeled or all unlabeled."""
    names = list(splits)
    if split is not None:
        if split not in splits:
            raise InputFormatError(
                f"{where}: has no split {split!r}; its splits are {', '.join(names) or 'none'}"
            )
        return [split]
    if len(names) <= 1:
        return names
    labeled = {n: splits[n].labeled() for n in names}
    if len(set(labeled.values())) > 1:
        shown = ", ".join(f"{n} ({'labeled' if v else 'unlabeled'})" for n, v in labeled.items())
        raise InputFormatError(
            f"{where}: holds splits {shown}; reading them together would mix labeled and unlabeled "
            "records, so choose one with `split`=NAME"
        )
    rejects.recover(f"splits {', '.join(names)} read together (split picks one)")
    return names


def _open_path(
    p: Path,
    format: str | None,
    rejects: RejectLog,
    mapping: dict[str, str] | None,
    encoding: str | None,
    split: str | None,
) -> Source:
    if fastchat.is_folder(p) and format in (None, "fastchat"):
        if split is not None:
            raise InputFormatError(f"{p}: a FastChat folder has no splits")
        return Source(p, "fastchat", rejects, mapping, None, None, encoding)
    if not p.is_dir():
        named = split_of(p.parent, Path(p.name))
        if split is not None and named not in (None, split):
            raise InputFormatError(f"{p}: is the {named} split, not {split!r}")
        return Source(p, format or _detect_file(p), rejects, mapping, None, None, encoding)
    files = data_files(p)
    fmt = _folder_layout(p, files, format)
    groups: dict[str, list[Path]] = {}
    for f in files:
        groups.setdefault(split_of(p, f.relative_to(p)) or "(no split)", []).append(f)
    if len(groups) == 1 and split is None:
        return Source(p, fmt, rejects, mapping, files, None, encoding)
    splits = {n: Source(p, fmt, RejectLog(), mapping, fs, None, encoding) for n, fs in groups.items()}
    chosen = _pick_split(p, splits, split, rejects)
    return Source(p, fmt, rejects, mapping, [f for n in chosen for f in groups[n]], None, encoding)


# --- Python objects ---------------------------------------------------------------------------------------


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
        if getattr(obj, "_indices", None) is not None:  # a filtered/shuffled Dataset: rows are an index map
            return obj.with_format("arrow")[:], "<Dataset>"
        return inner, "<Dataset>"
    if hasattr(obj, "with_format"):
        return obj.with_format("arrow")[:], "<Dataset>"
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj), f"<{type(obj).__name__}>"
    raise InputFormatError(
        f"cannot read a {type(obj).__name__}: pass a path, a pyarrow Table, a pandas or polars DataFrame, "
        "or a Hugging Face Dataset or DatasetDict"
    )


def _table_source(
    table: pa.Table, name: str, format: str | None, rejects: RejectLog, mapping: dict[str, str] | None
) -> Source:
    if format == "fastchat":
        raise InputFormatError("format fastchat reads a folder of files, not an in-memory table")
    fmt = format or ("pairwise" if mapping else detect(peek_schema(table.schema), name).name)
    return Source(Path(name), fmt, rejects, mapping, None, table)


def _open_object(
    obj: Any, format: str | None, rejects: RejectLog, mapping: dict[str, str] | None, split: str | None
) -> Source:
    if isinstance(obj, Mapping) and obj and not any(isinstance(v, (list, tuple)) for v in obj.values()):
        # A DatasetDict (a dict of split name -> Dataset): one split, never merged silently.
        splits = {str(k): _table_source(*_to_arrow(v), format, RejectLog(), mapping) for k, v in obj.items()}
        chosen = _pick_split("<DatasetDict>", splits, split, rejects)
        tables = [s.table for s in (splits[n] for n in chosen) if s.table is not None]
        name = f"<DatasetDict[{chosen[0]}]>" if len(chosen) == 1 else "<DatasetDict>"
        return _table_source(
            pa.concat_tables(tables, promote_options="permissive"), name, format, rejects, mapping
        )
    if split is not None:
        raise InputFormatError(f"split {split!r} given, but a {type(obj).__name__} has no splits")
    return _table_source(*_to_arrow(obj), format, rejects, mapping)


def open_source(
    obj: str | Path | Any,
    format: str | None = None,
    rejects: RejectLog | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    split: str | None = None,
) -> Source:
    """A ``Source`` for anything: a path (file or folder), a ``Source``, a Table, a DataFrame, a Dataset
    or a DatasetDict. ``format`` names a layout (``FORMATS``) instead of detecting it; ``mapping`` names
    the columns of a pairwise file by role; ``split`` picks one split of a folder or DatasetDict.

    Competition-layout frames may hold JSON-string cells (as read from train.csv) or list cells; LMSYS
    frames hold the conversation as a list of role/content structs (dicts in pandas).
    """
    if isinstance(obj, Source):
        return obj
    if format is not None:
        reader(format)  # an unknown name is one sentence with the closest
    if mapping and format is None:
        format = "pairwise"  # a mapping describes a pairwise file; detection would only second-guess it
    if mapping and format != "pairwise":
        raise InputFormatError(
            f"{obj}: a column mapping applies to pairwise files; this one reads as {format}"
        )
    log = rejects if rejects is not None else RejectLog()
    if not isinstance(obj, (str, Path)):
        return _open_object(obj, format, log, mapping, split)
    p = Path(obj)
    if not p.exists():
        raise InputFormatError(f"{p}: no such file or folder")
    return _open_path(p, format, log, mapping, encoding, split)


def _read_kind(
    obj: Any, kind: Kind, format: str | None, rejects: RejectLog | None, split: str | None
) -> pa.Table:
    src = open_source(obj, format, rejects, split=split)
    if src.kind != kind:
        raise InputFormatError(f"{src.path}: holds {src.kind} ({src.format}), not {kind}")
    return src.read_table()


def read_battles(
    obj: Any, format: str | None = None, rejects: RejectLog | None = None, split: str | None = None
) -> pa.Table:
    """Battles in the shared schema from anything ``open_source`` takes (one sentence if not battles)."""
    return _read_kind(obj, "battles", format, rejects, split)


def read_conversations(
    obj: Any, format: str | None = None, rejects: RejectLog | None = None, split: str | None = None
) -> pa.Table:
    """Conversations in the shared schema from anything ``open_source`` takes."""
    return _read_kind(obj, "conversations", format, rejects, split)


def read_table(
    obj: str | Path | Any,
    format: str | None = None,
    rejects: RejectLog | None = None,
    split: str | None = None,
) -> pa.Table:
    """Read a whole source (any kind) into one table in the shared schema."""
    return open_source(obj, format, rejects, split=split).read_table()


__all__ = [
    "DEFAULT_BATCH",
    "FORMATS",
    "SPLIT_NAMES",
    "Source",
    "count_prompts",
    "detect_format",
    "open_source",
    "read_battles",
    "read_conversations",
    "read_table",
]
