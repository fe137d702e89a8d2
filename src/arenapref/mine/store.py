"""The text spill of a mining run: the used turns of every record that passed the filters, on disk."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa


class TextStore:
    """The used turns of every record that passed the filters, spilled to an Arrow IPC file.

    Why spill: the full LMSYS-Chat-1M text is several GB, and only the records that end up in pairs need
    their text again. Rows are read back batch by batch (plain reads, not a memory map, whose touched
    pages would count as resident memory), so taking rows costs the batches that hold them and the rows
    themselves, never the whole file.
    """

    SCHEMA = pa.schema(
        [pa.field("prompts", pa.list_(pa.string())), pa.field("answers", pa.list_(pa.string()))]
    )

    def __init__(self, directory: Path) -> None:
        self.path = directory / "texts.arrow"
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(self._sink, self.SCHEMA)
        self._starts: list[int] = []
        self.rows = 0
        self._source: pa.OSFile | None = None
        self._reader: pa.ipc.RecordBatchFileReader | None = None

    def append(self, prompts: pa.Array, answers: pa.Array) -> np.ndarray:
        """Store rows; returns their row numbers in the store."""
        assert self._writer is not None, "the store is read-only once rows have been taken"
        self._writer.write_batch(pa.record_batch([prompts, answers], schema=self.SCHEMA))
        self._starts.append(self.rows)
        ids = np.arange(self.rows, self.rows + len(prompts), dtype=np.int64)
        self.rows += len(prompts)
        return ids

    def _open(self) -> pa.ipc.RecordBatchFileReader:
        if self._reader is None:
            self._finish_writing()
            self._source = pa.OSFile(str(self.path), "rb")
            self._reader = pa.ipc.open_file(self._source)
        return self._reader

    def _finish_writing(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def take(self, rows: np.ndarray) -> pa.Table:
        """The stored rows ``rows`` (any order, repeats allowed), in that order."""
        reader = self._open()
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        starts = np.asarray(self._starts, dtype=np.int64)
        batch_of = np.searchsorted(starts, wanted, side="right") - 1
        cuts = np.flatnonzero(np.diff(batch_of)) + 1
        parts = []
        for chunk in np.split(np.arange(len(wanted)), cuts) if len(wanted) else []:
            b = int(batch_of[chunk[0]])
            batch = reader.get_batch(b)
            parts.append(batch.take(pa.array(wanted[chunk] - starts[b], pa.int64())))
        taken = pa.Table.from_batches(parts, schema=self.SCHEMA)
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order))
        return taken.take(pa.array(back, pa.int64()))

    def close(self) -> None:
        self._finish_writing()
        if self._source is not None:
            self._source.close()
        self._reader = None
        self._source = None


@contextmanager
def text_store(work_dir: Path | None = None) -> Iterator[TextStore]:
    with tempfile.TemporaryDirectory(prefix="arenapref-mine-", dir=work_dir) as tmp:
        store = TextStore(Path(tmp))
        try:
            yield store
        finally:
            store.close()
