"""The scan of a mining run: filter, key and hash every record, and spill the used turns.

Every source is streamed; each record gets the record filters' verdict (``filters.inspect_batch``), the
placeholder-aware key of its user turns and a hash of its answer, and the turns of the records that
passed go to the text store, so that peak memory holds only light per-record columns, not the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.compare.normalize import TURN_SEPARATOR, normalize_turns
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import Shard, shards_of
from arenapref.mine.filters import FilterSettings, inspect_batch
from arenapref.mine.funnel import Funnel
from arenapref.mine.store import TextStore
from arenapref.readers import Source
from arenapref.rejects import RejectLog


def _answer_hash(answers: pa.Array) -> pa.Array:
    """A 64-bit hash of the exact answer turns (stable within one run, which is all dedup needs)."""
    series = pl.from_arrow(answers)
    assert isinstance(series, pl.Series)  # from_arrow of an Array is always a Series
    return series.list.join("\x1f").hash(seed=0).to_arrow()


KEY_SEEDS = (21, 22)


def hex_keys(k1: np.ndarray, k2: np.ndarray) -> pa.Array:
    """32 hex characters per row from two 64-bit lanes, without a Python loop (one ``bytes.hex`` call)."""
    n = len(k1)
    lanes = np.empty((n, 2), dtype=">u8")
    lanes[:, 0], lanes[:, 1] = k1, k2
    data = lanes.tobytes().hex().encode("ascii")
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


class KeyCache:
    """Group keys by a 64-bit hash of the raw user turns, so each distinct prompt is normalised once.

    Why: normalising is the costly part of keying (a dozen regex passes), and popular prompts repeat
    thousands of times across shards. A 64-bit collision between two different raw prompts among a
    million has a probability around 1e-8.

    Why not ``compare.normalize.turns_keys``: its BLAKE2b keys are stable across versions (compare and
    topics rely on that) but hashing in Python cost as much as the regexes. A group key only has to be
    equal for equal normalised prompts within one run, so it is two seeded Polars hashes of the normalised
    text (128 bits), computed in Rust; the cache is sorted NumPy arrays, looked up with ``searchsorted``.
    """

    def __init__(self) -> None:
        self._raw = np.zeros(0, dtype=np.uint64)  # sorted raw hashes seen so far
        self._k1 = np.zeros(0, dtype=np.uint64)
        self._k2 = np.zeros(0, dtype=np.uint64)

    @staticmethod
    def _fresh(prompts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        norm = pl.Series(normalize_turns(prompts, mask=True))
        return norm.hash(KEY_SEEDS[0]).to_numpy(), norm.hash(KEY_SEEDS[1]).to_numpy()

    def keys(self, prompts: pa.Array) -> pa.Array:
        """The group key of every row of ``prompts`` (list<string>), as 32 hex characters."""
        raw = pl.from_arrow(prompts)
        assert isinstance(raw, pl.Series)  # from_arrow of an Array is always a Series
        hashes = raw.list.join(TURN_SEPARATOR).hash(seed=0).to_numpy()
        uniq, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        pos = np.searchsorted(self._raw, uniq)
        known = pos < len(self._raw)
        known[known] = self._raw[pos[known]] == uniq[known]
        if not known.all():
            rows = first[~known]
            k1, k2 = self._fresh(prompts.take(pa.array(rows, pa.int64())))
            raw_all = np.concatenate([self._raw, uniq[~known]])
            order = np.argsort(raw_all, kind="stable")
            self._raw = raw_all[order]
            self._k1 = np.concatenate([self._k1, k1])[order]
            self._k2 = np.concatenate([self._k2, k2])[order]
            pos = np.searchsorted(self._raw, uniq)
        at = pos[inverse]
        return hex_keys(self._k1[at], self._k2[at])


@dataclass
class ScannedBatch:
    """One batch after the filters: light per-record columns, and the used turns of the records kept."""

    columns: pl.DataFrame  # cid, model, language, filter, key, ahash, alen: one row per record
    kept: np.ndarray  # per record, its row in ``prompts``/``answers``; -1 where a filter dropped it
    prompts: pa.Array
    answers: pa.Array


def scan_batch(batch: pa.RecordBatch, filters: FilterSettings, key_cache: KeyCache) -> ScannedBatch:
    """Filter, key and hash one batch of records (no text is stored yet: ``scan`` does that)."""
    n = batch.num_rows
    ins = inspect_batch(batch, filters)
    ok_idx = np.nonzero(ins.reason == 0)[0]
    prompts = ins.prompts.take(pa.array(ok_idx, pa.int64()))
    answers = ins.answers.take(pa.array(ok_idx, pa.int64()))
    where = np.full(n, -1, dtype=np.int64)
    where[ok_idx] = np.arange(len(ok_idx))
    spread = pa.array(where, pa.int64(), mask=where < 0)
    columns = pl.DataFrame(
        {
            "cid": pl.from_arrow(batch.column("conversation_id")),
            "model": pl.from_arrow(batch.column("model")),
            "language": pl.from_arrow(batch.column("language")),
            "filter": pl.Series(ins.reason, dtype=pl.UInt8),
            "key": pl.from_arrow(key_cache.keys(prompts).take(spread)),
            "ahash": pl.from_arrow(_answer_hash(answers).take(spread)),
            "alen": pl.Series(ins.answer_chars, dtype=pl.Int64),
        }
    )
    return ScannedBatch(columns, where, prompts, answers)


def scan_source(source: Source, filters: FilterSettings) -> Iterator[ScannedBatch]:
    """Every batch of one source, scanned in order (``ScanStep`` runs this per file)."""
    key_cache = KeyCache()
    for batch in source.batches():
        yield scan_batch(batch, filters, key_cache)


@dataclass
class ScannedShard:
    """One file's scanned batches and the rows its reader rejected."""

    batches: list[ScannedBatch]
    rejects: RejectLog


def scan_shard(shard: Shard, filters: FilterSettings) -> ScannedShard:
    """The per-block work of the scan: filter, key and hash one file's records."""
    source = shard.open()
    return ScannedShard(list(scan_source(source, filters)), source.rejects)


class ScanStep(BlockStep[Shard, ScannedShard, Iterator[ScannedBatch]]):
    """``scan_source`` with every file of a source as one block (the record filters, the placeholder-aware
    prompt key, a dozen regex passes per distinct prompt, and the answer hash).

    Batches stream back in file order, so ``scan`` appends texts to its spill file in the order of a
    sequential scan, and each file's rejects are added to its source's log, as a sequential read would.
    """

    def __init__(self, source: Source, filters: FilterSettings) -> None:
        self.source, self.filters = source, filters

    def blocks(self, workers: int) -> list[Shard]:
        return shards_of(self.source)

    @property
    def work(self) -> Callable[[Shard], ScannedShard]:
        return partial(scan_shard, filters=self.filters)

    def merge(self, parts: Iterator[ScannedShard]) -> Iterator[ScannedBatch]:
        for part in parts:
            self.source.rejects.extend(part.rejects)
            yield from part.batches

    def whole(self) -> Iterator[ScannedBatch]:
        return scan_source(self.source, self.filters)


def scan(
    sources: Sequence[Source],
    filters: FilterSettings,
    store: TextStore,
    funnel: Funnel,
    progress: Callable[[str, int], None] | None = None,
    executor: Executor | None = None,
) -> pl.DataFrame:
    """Filter and key every record of every source; texts of the records that passed go to ``store``.

    Texts are appended in source and batch order, so row ids and text ids do not depend on where the
    batches were scanned (``executor``: one file per block, ``ScanStep``).
    """
    frames: list[pl.DataFrame] = []
    for src in sources:
        n_in = 0
        for part in run_step(ScanStep(src, filters), executor):
            n = part.columns.height
            n_in += n
            spread = pa.array(part.kept, pa.int64(), mask=part.kept < 0)
            tids = pa.array(store.append(part.prompts, part.answers)).take(spread)
            frames.append(
                part.columns.select(
                    "cid",
                    "model",
                    "language",
                    pl.repeat(src.name, n, eager=True, dtype=pl.String).alias("source"),
                    "filter",
                    "key",
                    "ahash",
                    "alen",
                    pl.Series("tid", tids),
                )
            )
            if progress is not None:
                progress("scan", n)
        funnel.records_in[src.name] = funnel.records_in.get(src.name, 0) + n_in
        if len(src.rejects):
            funnel.unreadable[src.name] = len(src.rejects)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, rechunk=True).with_row_index("rid")
