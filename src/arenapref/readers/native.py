"""arenapref's own Parquet files: tables already in the shared schemas (stage outputs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from arenapref.errors import InputFormatError
from arenapref.readers import competition
from arenapref.readers.base import LayoutReader, Peek, ReadOptions
from arenapref.readers.files import TABLE_SUFFIXES, iter_table_file, table_schema
from arenapref.records import SCHEMAS, Kind, conform

# The columns every reader of a kind relies on: a file without one of them is not that kind.
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "conversations": ("conversation_id", "turns"),
    "battles": ("id", "prompt", "response_a", "response_b"),
}


def check_columns(names: list[str], kind: Kind, where: Path | str) -> None:
    """One sentence naming the first required column a table lacks."""
    missing = [c for c in REQUIRED[kind] if c not in names]
    if missing:
        raise InputFormatError(
            f"{where}: not arenapref {kind}: no {', '.join(repr(m) for m in missing)} column"
        )


def conform_batches(
    batches: Iterator[pa.RecordBatch], kind: Kind, where: Path | str
) -> Iterator[pa.RecordBatch]:
    """Cast batches to the shared schema; a column of the wrong type is one sentence, not a traceback."""
    for batch in batches:
        try:
            table = conform(pa.Table.from_batches([batch]), kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise InputFormatError(
                f"{where}: columns do not have the types of {kind} ({SCHEMAS[kind]}) ({exc})"
            ) from exc
        yield from table.to_batches()


def read(path: Path, kind: Kind, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream one native Parquet/Arrow file, adding absent optional columns as nulls, keeping extra ones."""
    check_columns(table_schema(path).names, kind, path)
    yield from conform_batches(iter_table_file(path, batch_size), kind, path)


def _from_table(kind: Kind) -> Callable[[pa.Table, ReadOptions], Iterator[pa.RecordBatch]]:
    def run(table: pa.Table, o: ReadOptions) -> Iterator[pa.RecordBatch]:
        check_columns(table.column_names, kind, o.where)
        return conform_batches(iter(table.to_batches(o.batch_size)), kind, o.where)

    return run


def _sniff_battles(p: Peek) -> bool:
    """Our battles: the text columns as lists (string cells are the competition layout), no foreign label."""
    foreign = (*competition.LABELS, *competition.PAIRWISE_LABELS)
    return (
        p.origin == "table"
        and p.has(*competition.TEXT_COLUMNS)
        and not p.any_of(*foreign)
        and p.type_of("prompt") != "string"
    )


CONVERSATIONS = LayoutReader(
    "native-conversations",
    "conversations",
    TABLE_SUFFIXES,
    REQUIRED["conversations"],
    lambda p: p.has(*REQUIRED["conversations"]),
    lambda path, o: read(path, "conversations", o.batch_size),
    _from_table("conversations"),
)
BATTLES = LayoutReader(
    "native-battles",
    "battles",
    TABLE_SUFFIXES,
    REQUIRED["battles"],
    _sniff_battles,
    lambda path, o: read(path, "battles", o.batch_size),
    _from_table("battles"),
)
