"""``topics assign`` per block: each file's records get their topic on a worker, in source order.

Assignment is a pure per-row function of the fitted map (embed the first user prompt, nearest
centroid), so blocks need nothing from each other: each task loads the map once per worker process
(cached by folder), assigns its file batch by batch exactly as ``topics.topic_batches`` does, and
returns the file's records with the two topic columns. Topic ids equal the local run's.

The pipeline's probe counts the same way (``source_mix_with``): each file's ``topics.source_mix`` on a
worker, the counts added on the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING

import pyarrow as pa

from arenapref.executors.base import Executor
from arenapref.executors.shards import Shard, shards_of
from arenapref.readers import Source
from arenapref.rejects import RejectLog

if TYPE_CHECKING:
    from arenapref.topics.probe import SourceMix


@lru_cache(maxsize=4)
def _topic_model(model_dir: str) -> object:
    """One map per worker process and folder: loading (and an ONNX session) costs more than a block."""
    from arenapref.topics import load_model

    return load_model(model_dir)


@dataclass
class TopicBlock:
    """One file's records with ``topic`` and ``topic_label`` appended, and the rows it rejected."""

    table: pa.Table | None
    rejects: RejectLog


def assign_shard(shard: Shard, model_dir: str) -> TopicBlock:
    """The per-block function of ``topics assign``."""
    from arenapref.topics import topic_batches

    model = _topic_model(model_dir)
    source = shard.open()
    tables = list(topic_batches(model, source.batches()))  # type: ignore[arg-type]
    return TopicBlock(pa.concat_tables(tables) if tables else None, source.rejects)


def topic_blocks_with(executor: Executor, model_dir: str, source: Source) -> Iterator[pa.Table]:
    """``topics.topic_batches`` over a whole source, one file per block; rejects land in ``source``.

    Tables come back in source order, one file at a time, so a writer holds a few files, not the source.
    """
    for block in executor.imap(partial(assign_shard, model_dir=str(model_dir)), shards_of(source)):
        source.rejects.extend(block.rejects)
        if block.table is not None and block.table.num_rows:
            yield block.table


def mix_shard(shard: Shard, model_dir: str, name: str) -> tuple[SourceMix, RejectLog]:
    """The per-block function of ``topics probe``: one file's topic counts (``topics.source_mix``)."""
    from arenapref.topics import source_mix

    source = shard.open()
    # Every row of the block, placed by the map's student: blocks add up to the source's counts, which a
    # per-block transformer sample would not (the local probe samples the whole source instead).
    mix = source_mix(_topic_model(model_dir), source, name, sample=0)  # type: ignore[arg-type]
    return mix, source.rejects


def source_mix_with(executor: Executor, model_dir: str, source: Source, name: str | None = None) -> SourceMix:
    """``topics.source_mix`` (every record counted, not unique prompts) with one file per block.

    Counts are sums, so the files' mixes add up to the source's; unassigned reasons keep the order in
    which a sequential read first meets them.
    """
    from arenapref.topics.probe import SourceMix

    label = name or source.name
    total = SourceMix(label, [], 0, 0, {})
    for mix, rejects in executor.imap(
        partial(mix_shard, model_dir=str(model_dir), name=label), shards_of(source)
    ):
        source.rejects.extend(rejects)
        total.counts = (
            mix.counts if not total.counts else [a + b for a, b in zip(total.counts, mix.counts, strict=True)]
        )
        total.unassigned += mix.unassigned
        total.repeats += mix.repeats
        for reason, n in mix.unassigned_reasons.items():
            total.unassigned_reasons[reason] = total.unassigned_reasons.get(reason, 0) + n
    return total
