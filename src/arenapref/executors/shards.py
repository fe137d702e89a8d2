"""Blocks of work: a source cut into its files (shards), a table cut into row slices, keys cut by hash.

A folder source is read file after file, with batch boundaries at file boundaries (``Source.files``),
so reading each file as its own source yields exactly the same batches in the same order: that is what
lets per-shard partial results merge into the result of one sequential pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from arenapref.readers import Source
from arenapref.rejects import RejectLog


@dataclass(frozen=True)
class Shard:
    """One file of a source (or the whole source where it cannot be split), to be read on a worker."""

    source: Source
    file: Path | None

    @property
    def path(self) -> Path:
        return self.file if self.file is not None else self.source.path

    def open(self) -> Source:
        """A fresh source over this one file, with its own reject log (the stage merges them back)."""
        files = [self.file] if self.file is not None else self.source.files
        return replace(self.source, rejects=RejectLog(), files=files)


def shards_of(source: Source) -> list[Shard]:
    """The files a source's reader reads, in its order; a table, a FastChat folder or a file is one shard."""
    if source.table is not None or source.format == "fastchat" or not source.files:
        return [Shard(source, None)]
    return [Shard(source, f) for f in source.files]


def table_blocks(table: pa.Table, n_blocks: int, min_rows: int = 1024) -> list[pa.Table]:
    """``table`` cut into about ``n_blocks`` contiguous slices of at least ``min_rows`` rows."""
    n = table.num_rows
    if n == 0:
        return [table]
    size = max(min_rows, -(-n // max(1, n_blocks)))
    return [table.slice(start, size) for start in range(0, n, size)]


def hash_partitions(hashes: npt.NDArray[np.uint64], n: int) -> list[npt.NDArray[np.int64]]:
    """Positions of ``hashes`` in each of ``n`` partitions (``hash % n``), each in input order.

    Equal keys hash alike, so everything a key owns lands in one partition: what lets a join or a
    bucket search run per partition and merge by concatenation.
    """
    part = (hashes % np.uint64(max(1, n))).astype(np.uint16)
    order = np.argsort(part, kind="stable")  # a radix sort of 16-bit values: linear
    return [p.astype(np.int64) for p in np.split(order, np.cumsum(np.bincount(part, minlength=n))[:-1])]
