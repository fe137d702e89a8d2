"""``mine`` on an executor: the scan per file and the grouping per partition of prompts, on workers.

``mine.miner.mine_pairs`` is the one mining pipeline; this module only gives it two hooks.

* **Scan** (``scanner``): ``mine.miner.scan_source`` (the record filters, the placeholder-aware prompt
  key, a dozen regex passes per distinct prompt, and the answer hash) runs once per file of every
  source, in parallel. The driver appends each file's texts to its spill file in file order, so row ids
  and text ids are those of a sequential scan.
* **Grouping** (``grouper``): the records that passed the filters are hash-partitioned by prompt key
  into P partitions (P = twice the executor's workers unless given), so every record of a prompt group
  lands in one partition; each partition is grouped on a worker by ``mine.miner.group_records`` itself
  (exact-duplicate records, repeated and near-identical answers, single-model groups), with the answers
  it may compare shipped along and spilled to the worker's own temporary file. The partitions' results
  are concatenated and sorted by row id: exactly the frame ``group_records`` returns for all records at
  once, whatever P is (every rule of ``group_records`` looks inside one group only, in row order).
  With ``near`` the near-duplicate prompt clusters span keys, so they are found on the driver first (one
  text per distinct prompt) and the partitions are cut by cluster instead of by key.

What stays on the driver: the light columns of every record (conversation id, model, language, source,
filter verdict, key, answer hash and length, text id: tens of bytes a record), the text spill file (on
disk), the answers of the partitions in flight (at most twice the workers' count at a time, and only
those of prompts answered by two or more models), and everything after grouping: pairing (its seeded
random draws run over all groups in input order, and the model-pair cap counts across groups, so it is
one pass; it is integer arithmetic over the candidates), building the battles (their texts are read
back from the spill), the leakage guard and the funnel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.executors.base import Executor
from arenapref.executors.shards import Shard, shards_of
from arenapref.mine.filters import FilterSettings
from arenapref.mine.miner import (
    Grouper,
    MineResult,
    ScannedBatch,
    SourceScanner,
    TextStore,
    group_records,
    mine_pairs,
    near_prompt_groups,
    scan_source,
    text_store,
)
from arenapref.mine.settings import MineSettings
from arenapref.readers import Source
from arenapref.rejects import RejectLog

#: Seed of the partition hash (any fixed value: the result does not depend on the partitioning).
PARTITION_SEED = 31


@dataclass
class ScannedShard:
    """One file's scanned batches and the rows its reader rejected."""

    batches: list[ScannedBatch]
    rejects: RejectLog


def scan_shard(shard: Shard, filters: FilterSettings) -> ScannedShard:
    """The per-block function of the scan: filter, key and hash one file's records."""
    source = shard.open()
    return ScannedShard(list(scan_source(source, filters)), source.rejects)


def shard_scanner(executor: Executor) -> SourceScanner:
    """A ``mine_pairs`` scanner that scans every file of a source as one block on ``executor``.

    Each file's rejects are added to its source's log, as a sequential read would have.
    """

    def scanner(source: Source, filters: FilterSettings) -> Iterator[ScannedBatch]:
        for part in executor.imap(partial(scan_shard, filters=filters), shards_of(source)):
            source.rejects.extend(part.rejects)
            yield from part.batches

    return scanner


@dataclass
class GroupPartition:
    """Every passing record of some prompt groups, and the answers of those a worker may compare.

    ``records``: rid, key (the group), model, ahash, alen, tid (the driver's text id), filter.
    ``shipped``: rows of ``records`` whose answers are in ``answers``, in that order.
    """

    records: pl.DataFrame
    shipped: np.ndarray
    answers: pa.Array


def group_partition(part: GroupPartition, settings: MineSettings) -> pl.DataFrame:
    """The per-block function of the grouping: ``group_records`` over one partition's groups.

    The shipped answers go to a spill file of the worker's own; text ids are renumbered into it for the
    call and given back afterwards (rows not shipped are never read: see ``partitioned_grouper``).
    """
    local = np.full(part.records.height, -1, dtype=np.int64)
    local[part.shipped] = np.arange(len(part.shipped))
    records = part.records.with_columns(pl.Series("tid", pa.array(local, pa.int64(), mask=local < 0)))
    with text_store() as store:
        store.append(pa.nulls(len(part.answers), TextStore.SCHEMA.field("prompts").type), part.answers)
        grouped = group_records(records, store, settings.model_copy(update={"near": False}))
    tids = part.records.select("rid", "tid")
    return grouped.drop("tid").join(tids, on="rid").select("rid", "group", "model", "tid", "stage_reason")


def partitioned_grouper(executor: Executor, partitions: int | None = None) -> Grouper:
    """A ``mine_pairs`` grouper that groups ``partitions`` hash partitions of the prompts on ``executor``.

    Only the answers of prompts answered by two or more models are shipped: ``group_records`` compares
    answers only within groups that still have two models after the duplicate rule, a subset of those.
    """

    def grouper(recs: pl.DataFrame, store: TextStore, settings: MineSettings) -> pl.DataFrame:
        light = ("rid", "key", "model", "ahash", "alen", "tid", "filter")
        ok = recs.filter(pl.col("filter") == 0).select(light)
        if ok.height == 0:
            return group_records(recs, store, settings)
        if settings.near:
            clusters = near_prompt_groups(ok, store, settings.near_threshold)
            ok = ok.join(clusters, on="key", how="left").sort("rid")
            ok = ok.with_columns(pl.col("group").alias("key")).drop("group")
        n = max(1, partitions or 2 * executor.workers)
        ok = ok.with_columns(
            (pl.col("key").hash(seed=PARTITION_SEED) % n).alias("part"),
            (pl.col("model").n_unique().over("key") >= 2).alias("ship"),
        )
        frames = ok.partition_by("part", maintain_order=True, include_key=False)

        def blocks() -> Iterator[GroupPartition]:
            # Lazily, so the driver reads a partition's answers only when its task is submitted.
            for frame in frames:
                shipped = np.flatnonzero(frame.get_column("ship").to_numpy())
                tids = frame.get_column("tid").to_numpy()[shipped]
                answers = store.take(tids).column("answers").combine_chunks()
                yield GroupPartition(frame.drop("ship"), shipped, answers)

        parts = list(executor.imap(partial(group_partition, settings=settings), blocks()))
        return pl.concat(parts).sort("rid")

    return grouper


def mine_pairs_with(
    executor: Executor,
    sources: Sequence[object],
    settings: MineSettings | None = None,
    *,
    partitions: int | None = None,
    **options: Any,
) -> MineResult:
    """``mine.mine_pairs`` (the same keyword options: exclude, topics, regenerate, work_dir, progress)
    with the scan per file and the grouping per prompt partition on ``executor``.

    ``partitions``: how many hash partitions the grouping uses (twice the workers by default); the
    result is the same for any number.
    """
    scanner, grouper = shard_scanner(executor), partitioned_grouper(executor, partitions)
    return mine_pairs(sources, settings, scanner=scanner, grouper=grouper, **options)
