"""arenapref's own Parquet files: tables already in the shared schemas (stage outputs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from arenapref.errors import InputFormatError
from arenapref.readers.files import files_of
from arenapref.records import Kind, conform


def read(path: Path, kind: Kind, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream native Parquet, adding absent schema columns as nulls and keeping extra ones (topic ...)."""
    needed = {"conversations": "conversation_id", "battles": "id"}[kind]
    for f in files_of(path, (".parquet",)):
        try:
            pf = pq.ParquetFile(f)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFormatError(f"{f}: not a readable Parquet file ({exc})") from exc
        if needed not in pf.schema_arrow.names:
            raise InputFormatError(f"{f}: not arenapref {kind}: no {needed!r} column")
        for batch in pf.iter_batches(batch_size=batch_size):
            table = conform(pa.Table.from_batches([batch]), kind)
            yield from table.to_batches()
