"""``compare`` per block: prompt keys, normalised text, MinHash signatures and LSH bands.

What runs per block (one file of a source, or one slice of a table):

* ``prompt_set``: the normalised, masked text and the plain and masked keys of every record (a dozen
  regex passes per text, the bulk of a compare's per-record cost);
* ``band_keys_block``: shingles, MinHash signature and one 64-bit key per LSH band of every distinct text;
* ``signatures_block``: the signatures again, for the documents that share a band only.

What the driver does: concatenates the prompt sets in block order, finds the documents that share a band
key (a sort of the keys), builds candidate pairs from the flagged documents' signatures, and verifies the
survivors by exact Jaccard (only their texts are shingled again). ``near_pairs_with`` gives the same pairs
as ``compare.near.near_pairs`` (which finds the shared bands with rensa's LSH index instead of a sort).

``compare_paths_with`` distributes the prompt sets; the matching itself (``compare.overlap.overlap``)
then runs on the driver over the concatenated keys and texts. To run its MinHash step per block as well
(``near_pairs_with``), ``overlap`` would need to take the near-pair function as a parameter (a one-line
change in the compare package; see the README). ``decontaminate`` is in ``executors.guard``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from arenapref.compare.near import (
    Cross,
    NearDupSettings,
    NearDupStats,
    NearPairs,
    _band_keys,
    _is_cross,
    _signatures,
    _unique,
    candidate_pairs,
    estimated_jaccard,
    shingle_hashes,
    verify,
)
from arenapref.compare.overlap import (
    PromptSet,
    TurnsMode,
    concat_prompt_sets,
    prompt_set,
    prompt_set_of_batches,
)
from arenapref.compare.report import (
    STREAM_BATCH_ROWS,
    CompareResult,
    CompareSettings,
    Progress,
    compare_paths,
    read_prompt_set,
)
from arenapref.executors.base import Executor
from arenapref.executors.shards import Shard, shards_of, table_blocks
from arenapref.readers import Source, open_source
from arenapref.records import Kind
from arenapref.rejects import RejectLog

I64 = npt.NDArray[np.int64]
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
) -> tuple[PromptSet, Source]:
    """``compare.report.read_prompt_set`` with one block per file of the source.

    ``progress(stage, records)`` is called as each file's block comes back.
    """
    p = Path(path)
    if p.is_file() and (p.parent.name == "model_answer" or p.name == "question.jsonl"):
        return read_prompt_set(p, format, settings, progress, stage)  # small answer views: on the driver
    source = open_source(p, format)
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
) -> CompareResult:
    """``compare.report.compare_paths`` with the prompt sets built per file on ``executor``."""
    read = partial(read_prompt_set_with, executor)
    return compare_paths(left, right, settings, format_left, format_right, progress, read=read)


def _prompt_set_block(table: pa.Table, turns: TurnsMode, mask_pii: bool) -> PromptSet:
    return prompt_set(table, turns, mask_pii)


def prompt_set_with(executor: Executor, table: pa.Table, turns: TurnsMode, mask_pii: bool) -> PromptSet:
    """``compare.overlap.prompt_set`` of an in-memory table, one row slice per block."""
    blocks = table_blocks(table, 2 * executor.workers)
    parts = executor.map(partial(_prompt_set_block, turns=turns, mask_pii=mask_pii), blocks)
    return concat_prompt_sets(parts) if len(parts) > 1 else parts[0]


# ------------------------------------------------------------------------------------- MinHash per block


def band_keys_block(texts: pa.Array, settings: NearDupSettings) -> tuple[npt.NDArray[np.uint64], int]:
    """Per block: the LSH band keys (documents x bands) of every text, and how many shingles it cut."""
    bands, rows = settings.bands_rows
    sig, sizes = _signatures(texts, settings)
    return _band_keys(sig, bands, rows).reshape(len(texts), bands), int(sizes.sum())


def signatures_block(texts: pa.Array, settings: NearDupSettings) -> tuple[npt.NDArray[np.uint32], I64]:
    """Per block: MinHash signatures and shingle counts (``compare.near`` computes them the same way)."""
    return _signatures(texts, settings)


def _text_blocks(texts: pa.Array, rows: int) -> list[pa.Array]:
    return [texts.slice(start, rows) for start in range(0, len(texts), rows)] or [texts]


def near_pairs_with(
    executor: Executor,
    texts: pa.Array,
    settings: NearDupSettings | None = None,
    cross: Cross | None = None,
    block_docs: int = SKETCH_BLOCK_DOCS,
) -> NearPairs:
    """``compare.near.near_pairs`` with the MinHash signatures and band keys computed per block.

    The pairs, their order and their similarities are those of ``near_pairs``: a document is a candidate
    exactly when one of its band keys is shared (rensa's LSH there, a sort of the 64-bit keys here; the
    two disagree only on a 64-bit hash collision), and candidates are built, filtered and verified by the
    same functions.
    """
    settings = settings or NearDupSettings()
    stats = NearDupStats(documents=len(texts))
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    t0 = time.perf_counter()
    parts = executor.map(partial(band_keys_block, settings=settings), _text_blocks(texts, block_docs))
    stats.shingles = sum(n for _, n in parts)
    keys = np.concatenate([k for k, _ in parts]) if parts else np.zeros((0, 1), np.uint64)
    del parts
    nonempty = np.asarray(pa.compute.binary_length(texts).to_numpy(zero_copy_only=False) > 0, dtype=bool)
    flat = keys[nonempty].ravel()
    owner = np.repeat(np.flatnonzero(nonempty), keys.shape[1])
    order = np.argsort(flat, kind="stable")
    sorted_keys = flat[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    shared = np.zeros(len(flat), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    flagged = _unique(owner[order[shared]]).astype(np.int64)
    del keys, flat, owner, order, sorted_keys
    stats.flagged = len(flagged)
    t1 = time.perf_counter()
    flagged_texts = texts.take(pa.array(flagged))
    i = j = np.zeros(0, np.int64)
    if len(flagged) > 1:
        sigs = executor.map(
            partial(signatures_block, settings=settings), _text_blocks(flagged_texts, block_docs)
        )
        sig = np.concatenate([s for s, _ in sigs])
        sizes = np.concatenate([n for _, n in sigs])
        del sigs
        i, j = candidate_pairs(sig, sizes, settings, stats)
        if cross is not None:
            keep = _is_cross(cross, flagged[i], flagged[j])
            i, j = i[keep], j[keep]
        stats.candidate_pairs = len(i)
        keep = estimated_jaccard(sig, i, j) >= settings.estimate_floor
        i, j = i[keep], j[keep]
        del sig
    stats.estimate_passed = len(i)
    t2 = time.perf_counter()
    docs = _unique(np.concatenate([i, j]))
    flat_h, offsets = shingle_hashes(flagged_texts.take(pa.array(docs)), settings)
    vi, vj, sim = verify(
        flat_h, offsets, np.searchsorted(docs, i), np.searchsorted(docs, j), settings.threshold
    )
    i, j = docs[vi], docs[vj]
    t3 = time.perf_counter()
    stats.verified_pairs = len(i)
    stats.seconds = {"minhash_lsh": t1 - t0, "candidates": t2 - t1, "verify": t3 - t2}
    return NearPairs(flagged[i], flagged[j], sim, stats)
