"""``compare`` on an executor: prompt sets per file, key joins and LSH buckets per hash partition.

``compare.run.compare_paths`` and ``compare.overlap.overlap`` are the one comparison; this module
only gives them their hooks (``read=`` and ``hooks=``). What runs on the workers:

* ``prompt_set_shard``: one file's normalised, masked text and plain and masked keys (a dozen regex
  passes per text, the bulk of a compare's per-record cost);
* ``key_partition_codes``: the exact and the placeholder join, one hash partition of the keys each
  (both sides of the join hash a key alike, so its records all land in one partition);
* ``band_keys_block``: shingles, MinHash signature and one 64-bit key per LSH band of every distinct
  text, a block of texts each; ``shared_band_owners``: which texts share a band key, one hash partition
  of the keys each; ``signatures_block``: the signatures again, for the texts that share a band only;
  ``bucket_pairs_block``: the candidate pairs of the band buckets of one hash partition of the keys.

What the driver does: concatenates the prompt sets in file order; hashes the keys to cut the partitions
and merges the partitions' results (codes ranked by first appearance; unions of sorted pair codes);
filters candidates by their MinHash estimate, verifies the survivors by exact Jaccard (only their texts
are shingled again), and everything after matching (best partner per record, clusters, the report).
``decontaminate`` is in ``executors.guard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.compare.near import (
    BandEntries,
    Cross,
    NearDupSettings,
    NearDupStats,
    NearHooks,
    NearPairs,
    band_keys,
    bucket_pair_codes,
    minhash_signatures,
    near_pairs,
    sorted_unique,
)
from arenapref.compare.overlap import (
    KeyCodes,
    MatchHooks,
    PromptSet,
    concat_prompt_sets,
    first_rows,
    key_codes,
    prompt_set_of_batches,
)
from arenapref.compare.run import (
    STREAM_BATCH_ROWS,
    CompareResult,
    CompareSettings,
    Progress,
    compare_paths,
    read_prompt_set,
)
from arenapref.executors.base import Executor
from arenapref.executors.shards import Shard, shards_of
from arenapref.readers import Source, open_source
from arenapref.records import Kind
from arenapref.rejects import RejectLog

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
#: Seed of the key hash that cuts partitions (any fixed value: the result does not depend on it).
PARTITION_SEED = 17
#: Distinct texts per MinHash block: big enough to amortise a task's overhead, small enough to spread.
SKETCH_BLOCK_DOCS = 50_000


@dataclass
class ShardPrompts:
    """One shard's prompt set and the rows its reader rejected."""

    prompts: PromptSet
    rejects: RejectLog


def prompt_set_shard(shard: Shard, kind: Kind, settings: CompareSettings) -> ShardPrompts:
    """The per-block function of ``compare``: one file's records to keys and normalised text."""
    source = shard.open()
    batches = source.batches(STREAM_BATCH_ROWS)
    ps = prompt_set_of_batches(batches, kind, settings.turns, settings.mask_pii, settings.text)
    return ShardPrompts(ps, source.rejects)


def read_prompt_set_with(
    executor: Executor,
    path: str | Path,
    format: str | None,
    settings: CompareSettings,
    progress: Progress | None = None,
    stage: str = "read",
    split: str | None = None,
) -> tuple[PromptSet, Source]:
    """``compare.run.read_prompt_set`` with one block per file of the source.

    ``progress(stage, records)`` is called as each file's block comes back.
    """
    p = Path(path)
    if p.is_file() and (p.parent.name == "model_answer" or p.name == "question.jsonl"):
        return read_prompt_set(p, format, settings, progress, stage, split)  # small views: on the driver
    source = open_source(p, format, split=split)
    parts = []
    for part in executor.imap(
        partial(prompt_set_shard, kind=source.kind, settings=settings), shards_of(source)
    ):
        source.rejects.extend(part.rejects)
        parts.append(part.prompts)
        if progress is not None:
            progress(stage, len(part.prompts))
    return concat_prompt_sets(parts), source


def compare_paths_with(
    executor: Executor,
    left: str | Path,
    right: str | Path,
    settings: CompareSettings | None = None,
    format_left: str | None = None,
    format_right: str | None = None,
    progress: Progress | None = None,
    partitions: int | None = None,
    split: str | None = None,
) -> CompareResult:
    """``compare.run.compare_paths`` with the prompt sets built per file and the matching's key
    joins and LSH steps per partition on ``executor`` (``partitions``: twice the workers by default)."""
    read = partial(read_prompt_set_with, executor)
    hooks = match_hooks(executor, partitions)
    return compare_paths(left, right, settings, format_left, format_right, progress, read, hooks, split)


# ------------------------------------------------------------------------------ matching per partition


def _partitions(hashes: U64, n: int) -> list[I64]:
    """Positions of ``hashes`` in each of ``n`` partitions (``hash % n``), each in input order."""
    part = (hashes % np.uint64(max(1, n))).astype(np.uint16)
    order = np.argsort(part, kind="stable")  # a radix sort of 16-bit values: linear
    return [p.astype(np.int64) for p in np.split(order, np.cumsum(np.bincount(part, minlength=n))[:-1])]


@dataclass
class KeyPartition:
    """The keys of one hash partition, in their order in the arrays one after another, and their
    positions there (both sides of a join land in the same partition: the hash is of the key)."""

    keys: pa.Array
    rows: I64


def key_partition_codes(part: KeyPartition) -> tuple[I64, I64]:
    """Per partition: ``key_codes`` of its keys, and where each code's first key stands overall."""
    (codes,) = key_codes(part.keys)
    return codes, part.rows[first_rows(codes, int(codes.max(initial=-1)) + 1)]


def partitioned_codes(executor: Executor, partitions: int | None = None) -> KeyCodes:
    """``compare.overlap.key_codes`` with the join per hash partition of the keys on ``executor``.

    Every partition numbers its keys by first appearance; the driver ranks all partitions' keys by the
    position of their first appearance, which is exactly the numbering of one ``key_codes`` pass.
    """

    def codes(*key_arrays: pa.Array) -> list[I64]:
        keys = pa.concat_arrays(list(key_arrays))
        hashes = pl.Series("key", keys).hash(seed=PARTITION_SEED).to_numpy()
        rows = [r for r in _partitions(hashes, partitions or 2 * executor.workers) if len(r)]
        blocks = (KeyPartition(keys.take(pa.array(r)), r) for r in rows)
        parts = executor.map(key_partition_codes, blocks)
        firsts = np.concatenate([f for _, f in parts]) if parts else np.zeros(0, np.int64)
        rank = np.empty(len(firsts), dtype=np.int64)
        rank[np.argsort(firsts, kind="stable")] = np.arange(len(firsts))
        out = np.empty(len(keys), dtype=np.int64)
        offset = 0
        for r, (local, first) in zip(rows, parts, strict=True):
            out[r] = rank[offset + local]
            offset += len(first)
        return np.split(out, np.cumsum([len(k) for k in key_arrays])[:-1].astype(np.int64))

    return codes


def band_keys_block(texts: pa.Array, settings: NearDupSettings) -> tuple[U64, int]:
    """Per block: the LSH band keys (documents x bands) of every text, and how many shingles it cut."""
    bands, rows = settings.bands_rows
    sig, sizes = minhash_signatures(texts, settings)
    return band_keys(sig, bands, rows).reshape(len(texts), bands), int(sizes.sum())


def shared_band_owners(part: tuple[U64, I64]) -> I64:
    """Per partition of the band keys: the documents with a band key another document has too."""
    keys, owner = part
    order = np.argsort(keys, kind="stable")
    same = keys[order][1:] == keys[order][:-1]
    shared = np.zeros(len(keys), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    return sorted_unique(owner[order[shared]])


def signatures_block(texts: pa.Array, settings: NearDupSettings) -> tuple[npt.NDArray[np.uint32], I64]:
    """Per block: MinHash signatures and shingle counts (``compare.near`` computes them the same way)."""
    return minhash_signatures(texts, settings)


def bucket_pairs_block(entries: BandEntries, settings: NearDupSettings) -> tuple[I64, int]:
    """Per partition of the band keys: ``compare.near.bucket_pair_codes`` of its buckets, and how many
    of them were windowed."""
    stats = NearDupStats()
    return bucket_pair_codes(entries, settings, stats), stats.windowed_buckets


def _text_blocks(texts: pa.Array, rows: int) -> list[pa.Array]:
    return [texts.slice(start, rows) for start in range(0, len(texts), rows)] or [texts]


def near_hooks(
    executor: Executor, block_docs: int = SKETCH_BLOCK_DOCS, partitions: int | None = None
) -> NearHooks:
    """``compare.near.near_pairs``'s heavy steps on ``executor``.

    * flagging: band keys per block of ``block_docs`` texts, then the shared keys per hash partition of
      the keys (a sort inside each; rensa's LSH index finds the same documents in one process: the two
      disagree only on a 64-bit hash collision);
    * signatures of the flagged texts per block;
    * band buckets per hash partition of the keys: a bucket is one key, so it lies whole in one
      partition, and its members keep their document order, so its pairs are those of one pass.

    The driver concatenates blocks in order and takes the union of the partitions' sorted results.
    """

    def n_parts() -> int:
        return partitions or 2 * executor.workers

    def flag(texts: pa.Array, settings: NearDupSettings, stats: NearDupStats) -> I64:
        parts = executor.map(partial(band_keys_block, settings=settings), _text_blocks(texts, block_docs))
        stats.shingles += sum(n for _, n in parts)
        keys = np.concatenate([k for k, _ in parts]) if parts else np.zeros((0, 1), np.uint64)
        del parts
        nonempty = np.asarray(pc.binary_length(texts).to_numpy(zero_copy_only=False) > 0, dtype=bool)
        flat = keys[nonempty].ravel()
        owner = np.repeat(np.flatnonzero(nonempty), keys.shape[1])
        del keys
        blocks = ((flat[p], owner[p]) for p in _partitions(flat, n_parts()) if len(p))
        found = executor.map(shared_band_owners, blocks)
        return sorted_unique(np.concatenate(found)).astype(np.int64) if found else np.zeros(0, np.int64)

    def signatures(texts: pa.Array, settings: NearDupSettings) -> tuple[npt.NDArray[np.uint32], I64]:
        sigs = executor.map(partial(signatures_block, settings=settings), _text_blocks(texts, block_docs))
        return np.concatenate([s for s, _ in sigs]), np.concatenate([n for _, n in sigs])

    def buckets(entries: BandEntries, settings: NearDupSettings, stats: NearDupStats) -> I64:
        blocks = (
            BandEntries(entries.keys[p], entries.doc[p], entries.size[p], entries.n_docs)
            for p in _partitions(entries.keys, n_parts())
            if len(p)
        )
        found = executor.map(partial(bucket_pairs_block, settings=settings), blocks)
        stats.windowed_buckets += sum(w for _, w in found)
        return sorted_unique(np.concatenate([c for c, _ in found])) if found else np.zeros(0, np.int64)

    return NearHooks(flag=flag, signatures=signatures, buckets=buckets)


def near_pairs_with(
    executor: Executor,
    texts: pa.Array,
    settings: NearDupSettings | None = None,
    cross: Cross | None = None,
    block_docs: int = SKETCH_BLOCK_DOCS,
    partitions: int | None = None,
) -> NearPairs:
    """``compare.near.near_pairs`` with its flagging, signatures and band buckets on ``executor``
    (``near_hooks``): the same pairs, in the same order, with the same similarities."""
    return near_pairs(texts, settings, cross, near_hooks(executor, block_docs, partitions))


def match_hooks(
    executor: Executor, partitions: int | None = None, block_docs: int = SKETCH_BLOCK_DOCS
) -> MatchHooks:
    """``compare.overlap.overlap``'s key joins and near-duplicate search on ``executor``; ``partitions``
    (twice the workers by default) is how many hash partitions of the keys each uses."""
    return MatchHooks(
        codes=partitioned_codes(executor, partitions), near=near_hooks(executor, block_docs, partitions)
    )
