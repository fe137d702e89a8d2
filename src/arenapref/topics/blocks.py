"""Topic assignment and the probe's counts per file of a source, as ``BlockStep``s.

Assignment is a pure per-row function of the fitted map (embed the first user prompt, nearest
centroid), so files need nothing from each other: each block loads the map once per worker process
(cached by folder), assigns its file batch by batch exactly as ``topic_batches`` does, and returns the
file's records with the topic columns. Topic ids equal the single-process run's.

The probe counts the same way: each file's ``source_mix`` on a worker, the counts added on the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial

import pyarrow as pa

from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import Shard, shards_of
from arenapref.readers import Source
from arenapref.rejects import RejectLog
from arenapref.topics.fit import TopicModel, load_model, topic_batches
from arenapref.topics.probe import PROBE_SAMPLE, SourceMix, source_mix


@lru_cache(maxsize=4)
def _topic_model(model_dir: str) -> TopicModel:
    """One map per worker process and folder: loading (and an ONNX session) costs more than a block."""
    return load_model(model_dir)


@dataclass
class TopicBlock:
    """One file's records with ``topic`` and ``topic_label`` appended, and the rows it rejected."""

    table: pa.Table | None
    rejects: RejectLog


def assign_shard(shard: Shard, model_dir: str) -> TopicBlock:
    """The per-block work of ``topics assign``."""
    source = shard.open()
    tables = list(topic_batches(_topic_model(model_dir), source.batches()))
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


def mix_shard(shard: Shard, model_dir: str, name: str) -> tuple[SourceMix, RejectLog]:
    """The per-block work of the probe: one file's topic counts (``source_mix``)."""
    source = shard.open()
    # Every row of the block, placed by the map's student: blocks add up to the source's counts, which a
    # per-block transformer sample would not (the single-process probe samples the whole source instead).
    mix = source_mix(_topic_model(model_dir), source, name, sample=0)
    return mix, source.rejects


class MixStep(BlockStep[Shard, tuple[SourceMix, RejectLog], SourceMix]):
    """``source_mix`` with one file per block: every record counted, and on an executor every row placed
    (``sample`` applies to the single-process path only; ``unique_prompts`` needs one pass over the whole
    source, so ``count_source`` counts such a mix in this process).

    Counts are sums, so the files' mixes add up to the source's; unassigned reasons keep the order in
    which a sequential read first meets them.
    """

    def __init__(
        self,
        model: TopicModel,
        model_dir: str,
        source: Source,
        name: str,
        sample: int = PROBE_SAMPLE,
        unique_prompts: bool = False,
    ) -> None:
        self.model, self.model_dir, self.source, self.name = model, model_dir, source, name
        self.sample, self.unique_prompts = sample, unique_prompts

    def blocks(self, workers: int) -> list[Shard]:
        return shards_of(self.source)

    @property
    def work(self) -> Callable[[Shard], tuple[SourceMix, RejectLog]]:
        return partial(mix_shard, model_dir=self.model_dir, name=self.name)

    def merge(self, parts: Iterator[tuple[SourceMix, RejectLog]]) -> SourceMix:
        total = SourceMix(self.name, [], 0, 0, {})
        for mix, rejects in parts:
            self.source.rejects.extend(rejects)
            total.counts = (
                mix.counts
                if not total.counts
                else [a + b for a, b in zip(total.counts, mix.counts, strict=True)]
            )
            total.unassigned += mix.unassigned
            total.repeats += mix.repeats
            for reason, n in mix.unassigned_reasons.items():
                total.unassigned_reasons[reason] = total.unassigned_reasons.get(reason, 0) + n
        return total

    def whole(self) -> SourceMix:
        return source_mix(self.model, self.source, self.name, self.unique_prompts, self.sample)


def assign_source(
    model: TopicModel, model_dir: str, source: Source, executor: Executor | None = None
) -> Iterator[pa.Table]:
    """Every record of ``source`` with its topic columns, streamed in source order (``AssignStep``)."""
    return run_step(AssignStep(model, model_dir, source), executor)


def count_source(
    model: TopicModel,
    model_dir: str,
    source: Source,
    name: str,
    sample: int = PROBE_SAMPLE,
    unique_prompts: bool = False,
    executor: Executor | None = None,
) -> SourceMix:
    """``source``'s topic counts (``MixStep``): the probe's per-source figures. With ``unique_prompts``
    (each distinct prompt counted once, across the whole source) it is counted here, not per file."""
    step = MixStep(model, model_dir, source, name, sample, unique_prompts)
    return run_step(step, None if unique_prompts else executor)
