"""Readers for every input format, as streams of Arrow record batches in the shared schemas.

``open_source(path)`` detects the format from the path (and a peek at the first record), or takes it
from ``format=``; ``Source.batches()`` streams batches of bounded size; every row that cannot be read
goes to ``Source.rejects`` with file, row and reason. A file that is not the format at all raises
``InputFormatError`` with one sentence.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from arenapref.errors import InputFormatError
from arenapref.readers import arena, competition, fastchat, lmsys, native, pairwise
from arenapref.records import SCHEMAS, Kind
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
}
DEFAULT_BATCH = 8192


@dataclass
class Source:
    """One input (a file or a folder) read as a stream of record batches of one kind."""

    path: Path
    format: str
    rejects: RejectLog = field(default_factory=RejectLog)
    mapping: dict[str, str] | None = None

    @property
    def kind(self) -> Kind:
        return FORMATS[self.format]

    @property
    def schema(self) -> pa.Schema:
        return SCHEMAS[self.kind]

    @property
    def name(self) -> str:
        return self.path.name or str(self.path)

    def batches(self, batch_size: int = DEFAULT_BATCH) -> Iterator[pa.RecordBatch]:
        """Stream the source in the shared schema; bad rows land in ``self.rejects``."""
        readers: dict[str, Callable[[], Iterator[pa.RecordBatch]]] = {
            "competition": lambda: competition.read(self.path, self.rejects, batch_size, submission=False),
            "submission": lambda: competition.read(self.path, self.rejects, batch_size, submission=True),
            "lmsys": lambda: lmsys.read(self.path, self.rejects, batch_size),
            "arena": lambda: arena.read(self.path, self.rejects, batch_size),
            "fastchat": lambda: fastchat.read(self.path, self.rejects, batch_size),
            "pairwise": lambda: pairwise.read(self.path, self.rejects, batch_size, self.mapping),
            "native-conversations": lambda: native.read(self.path, "conversations", batch_size),
            "native-battles": lambda: native.read(self.path, "battles", batch_size),
        }
        yield from readers[self.format]()

    def read_table(self, batch_size: int = DEFAULT_BATCH) -> pa.Table:
        """The whole source as one table (fine for anything that fits in memory)."""
        batches = list(self.batches(batch_size))
        if not batches:
            return self.schema.empty_table()
        return pa.Table.from_batches(batches)


def open_source(
    path: str | Path,
    format: str | None = None,
    rejects: RejectLog | None = None,
    mapping: dict[str, str] | None = None,
) -> Source:
    """Open a file or folder, detecting its format unless ``format`` is given."""
    p = Path(path)
    if not p.exists():
        raise InputFormatError(f"{p}: no such file or folder")
    fmt = format or detect_format(p)
    if fmt not in FORMATS:
        raise InputFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return Source(p, fmt, rejects if rejects is not None else RejectLog(), mapping)


def read_table(path: str | Path, format: str | None = None, rejects: RejectLog | None = None) -> pa.Table:
    """Read a whole source into one table in the shared schema."""
    return open_source(path, format, rejects).read_table()


def _first_json_record(path: Path) -> dict[str, object] | None:
    """The first record of a JSON array or JSON-lines file, without reading the whole file."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        head = fh.read(1 << 16)
    stripped = head.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except json.JSONDecodeError:
            return None
        return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
    for line in head.splitlines():
        if line.strip():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
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
    return "pairwise"


def _format_of_parquet(path: Path) -> str:
    try:
        names = set(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFormatError(f"{path}: not a readable Parquet file ({exc})") from exc
    if "conversation" in names:
        return "lmsys"
    if "turns" in names and "conversation_id" in names:
        return "native-conversations"
    if "response_a" in names and "prompt" in names:
        return "native-battles"
    raise InputFormatError(f"{path}: Parquet columns {sorted(names)} match no known layout")


def detect_format(path: Path) -> str:
    """Guess the format from the path and a peek at the first record."""
    if path.is_dir():
        if (path / "question.jsonl").exists() and (path / "model_answer").is_dir():
            return "fastchat"
        shards = sorted(path.glob("*.parquet"))
        if shards:
            return _format_of_parquet(shards[0])
        for pattern in ("*.jsonl", "*.json"):
            files = sorted(path.glob(pattern))
            if files:
                return detect_format(files[0])
        raise InputFormatError(f"{path}: folder holds no .parquet, .jsonl or .json files")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _format_of_parquet(path)
    if suffix in {".csv", ".tsv"}:
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            header = next(csv.reader(fh), [])
        cols = {c.strip() for c in header}
        if {"prompt", "response_a", "response_b"} <= cols:
            return "competition"
        if {"id", "winner_model_a", "winner_model_b", "winner_tie"} <= cols:
            return "submission"
        return "pairwise"
    if suffix in {".jsonl", ".json", ".ndjson"}:
        if path.name == "question.jsonl" and (path.parent / "model_answer").is_dir():
            return "fastchat"
        rec = _first_json_record(path)
        if rec is None:
            raise InputFormatError(f"{path}: not JSON or JSON lines holding objects")
        return _format_of_record(rec, path)
    raise InputFormatError(
        f"{path}: cannot tell the format from the suffix {suffix!r}; pass --format ({', '.join(FORMATS)})"
    )


__all__ = ["DEFAULT_BATCH", "FORMATS", "Source", "detect_format", "open_source", "read_table"]
