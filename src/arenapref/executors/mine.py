"""``mine`` per block: each file's records filtered, keyed and hashed in parallel; grouping on the driver.

The scan (``mine.miner.scan``) is the per-record part of mining: the record filters, the
placeholder-aware prompt key (a dozen regex passes per distinct prompt) and the answer hash. Here it
runs once per file of every source, in parallel; the driver appends each block's texts to the spill
file in block order (so text ids, and everything that follows, are those of a sequential scan) and
then groups, pairs, builds and guards exactly as ``mine_pairs`` does: grouping needs every record of a
prompt in one place, and after the scan only light columns (key, model, hashes, lengths) remain.

What crosses to the driver: the light columns of every record, and the turns of the records that
passed the filters (written straight to the spill file, never held all at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.compare.guard import read_protected
from arenapref.errors import ArenaprefError
from arenapref.executors.base import Executor
from arenapref.executors.shards import Shard, shards_of
from arenapref.mine.filters import FilterSettings, inspect_batch
from arenapref.mine.funnel import Funnel
from arenapref.mine.miner import (
    DROPPED_SCHEMA,
    KeyCache,
    MineResult,
    MineSettings,
    TextStore,
    _answer_hash,
    _build,
    _finish,
    _pair,
    group_records,
    guard_pairs,
    text_store,
)
from arenapref.readers import Source, as_source
from arenapref.records import BATTLE_SCHEMA
from arenapref.rejects import RejectLog


@dataclass
class ScannedBatch:
    """One batch after the filters: light per-record columns, and the turns of the records kept."""

    columns: pl.DataFrame
    ok: np.ndarray
    prompts: pa.Array
    answers: pa.Array


@dataclass
class ScannedShard:
    batches: list[ScannedBatch]
    records: int
    rejects: RejectLog


def scan_shard(shard: Shard, filters: FilterSettings) -> ScannedShard:
    """The per-block function of ``mine``: filter, key and hash one file's records."""
    source = shard.open()
    key_cache = KeyCache()
    out: list[ScannedBatch] = []
    records = 0
    for batch in source.batches():
        n = batch.num_rows
        records += n
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
        out.append(ScannedBatch(columns, where, prompts, answers))
    return ScannedShard(out, records, source.rejects)


def scan_with(
    executor: Executor,
    sources: Sequence[Source],
    settings: MineSettings,
    store: TextStore,
    funnel: Funnel,
    progress: Callable[[str, int], None] | None = None,
) -> pl.DataFrame:
    """``mine.miner.scan`` with one block per file; the same record frame, row ids and text ids.

    Each file's rejects are added to its source's log, as a sequential read would have.
    """
    fs = settings.filter_settings()
    frames: list[pl.DataFrame] = []
    for src in sources:
        n_in = 0
        for part in executor.imap(partial(scan_shard, filters=fs), shards_of(src)):
            n_in += part.records
            src.rejects.extend(part.rejects)
            if progress is not None:
                progress("scan", part.records)
            for b in part.batches:
                where = b.ok
                spread = pa.array(where, pa.int64(), mask=where < 0)
                tids = pa.array(store.append(b.prompts, b.answers)).take(spread)
                n = b.columns.height
                frames.append(
                    b.columns.select(
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
        funnel.records_in[src.name] = funnel.records_in.get(src.name, 0) + n_in
        if len(src.rejects):
            funnel.unreadable[src.name] = len(src.rejects)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, rechunk=True).with_row_index("rid")


def mine_pairs_with(
    executor: Executor,
    sources: Sequence[object],
    settings: MineSettings | None = None,
    *,
    exclude: Sequence[object] = (),
    topics: str | Path | None = None,
    work_dir: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> MineResult:
    """``mine.mine_pairs`` (without regeneration) with the scan per file on ``executor``.

    ``progress(stage, records)``: as for ``mine_pairs`` (records after each file during the scan).
    """
    settings = settings or MineSettings()
    opened = [as_source(s) for s in sources]
    for src in opened:
        if src.kind != "conversations":
            raise ArenaprefError(f"{src.path} holds {src.kind}; mining needs conversations (one model each)")
    protect, protect_names = read_protected(exclude) if exclude else ([], [])
    topic_model = None
    if topics is not None:
        from arenapref.topics import load_model

        topic_model = load_model(topics)
    funnel = Funnel(settings=settings.describe())
    clock = time.perf_counter()

    tell = progress or (lambda stage, n: None)

    def lap(name: str, following: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        funnel.seconds[name] = round(now - clock, 3)
        clock = now
        tell(following, 0)

    with text_store(work_dir) as store:
        recs = scan_with(executor, opened, settings, store, funnel, tell)
        lap("scan", "group")
        if recs.height == 0:
            return MineResult(BATTLE_SCHEMA.empty_table(), funnel, DROPPED_SCHEMA.empty_table())
        grouped = group_records(recs, store, settings)
        lap("group", "pair")
        cand, pairs, pair_reason = _pair(grouped, settings)
        lap("pair", "build")
        kept = np.nonzero(pair_reason == "")[0]
        table = _build(recs, cand, pairs[kept], store, settings)
        lap("build", "guard" if protect else "finish")
    pair_detail = np.full(len(pairs), "", dtype=object)
    if protect:
        rows, reason, detail = guard_pairs(table, protect, protect_names, settings)
        pair_reason[kept[rows]] = reason
        pair_detail[kept[rows]] = detail
        leaked = np.zeros(table.num_rows, dtype=bool)
        leaked[rows] = True
        table = table.filter(pa.array(~leaked))
        lap("guard", "finish")
    if topic_model is not None:
        from arenapref.topics import with_topic_columns

        table = with_topic_columns(topic_model, table)
        lap("topics", "finish")
    return _finish(recs, grouped, cand, pairs, pair_reason, pair_detail, table, funnel, np.zeros(0, np.int64))
