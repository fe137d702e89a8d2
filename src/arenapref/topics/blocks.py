"""Topic assignment per file of a source, as a ``BlockStep`` (the probe's counts: ``probe.MixStep``).

Assignment is a pure per-row function of the fitted map (embed the first user prompt, nearest
centroid), so files need nothing from each other: each block loads the map once per worker process
(cached by folder), assigns its file batch by batch exactly as ``topic_batches`` does, and returns the
file's records with the topic columns. Topic ids equal the single-process run's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import pyarrow as pa

from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import Shard, shards_of
from arenapref.readers import Source
from arenapref.rejects import RejectLog
from arenapref.topics.fit import TopicModel, cached_model, topic_batches


@dataclass
class TopicBlock:
    """One file's records with ``topic`` and ``topic_label`` appended, and the rows it rejected."""

    table: pa.Table | None
    rejects: RejectLog


def assign_shard(shard: Shard, model_dir: str) -> TopicBlock:
    """The per-block work of ``topics assign``."""
    source = shard.open()
    tables = list(topic_batches(cached_model(model_dir), source.batches()))
    return TopicBlock(pa.concat_tables(tables) if tables else None, source.rejects)


class AssignStep(BlockStep[Shard, TopicBlock, Iterator[pa.Table]]):
    """``topic_batches`` over a whole source, one file per block; rejects land in ``source``.

    Tables come back in source order, one file at a time, so a writer holds a few files, not the source.
    ``model`` is the map loaded from ``model_dir`` here (the single-process path uses it).
    """

    def __init__(self, model: TopicModel, model_dir: str, source: Source) -> None:
        self.model, self.model_dir, self.source = model, model_dir, source

    def blocks(self, workers: int) -> list[Shard]:
        return shards_of(self.source)

    @property
    def work(self) -> Callable[[Shard], TopicBlock]:
        return partial(assign_shard, model_dir=self.model_dir)

    def merge(self, parts: Iterator[TopicBlock]) -> Iterator[pa.Table]:
        for block in parts:
            self.source.rejects.extend(block.rejects)
            if block.table is not None and block.table.num_rows:
                yield block.table

    def whole(self) -> Iterator[pa.Table]:
        return topic_batches(self.model, self.source.batches())


def assign_source(
    model: TopicModel, model_dir: str, source: Source, executor: Executor | None = None
) -> Iterator[pa.Table]:
    """Every record of ``source`` with its topic columns, streamed in source order (``AssignStep``)."""
    return run_step(AssignStep(model, model_dir, source), executor)
