"""Near-duplicate prompts: shingles, MinHash (rensa), LSH banding, exact-Jaccard verification, clusters.

The algorithm is a short sequence of plain functions (as in text-dedup), each vectorised over whole arrays:

1. ``shingle_hashes``: cut every normalised text into n-grams of characters (default 5) or words, and hash
   each n-gram to 64 bits with a polynomial hash computed in NumPy over the raw UTF-8 bytes (no Python
   per token). Character n-grams, because prompts are short: one changed word in a ten-word prompt still
   leaves a character 5-gram Jaccard above 0.8, while word 3-grams would drop it to about 0.5.
2. ``sketch``: MinHash signatures in Rust (``rensa.RMinHash``) from the flat hash buffer.
3. ``candidate_pairs``: LSH with ``bands`` x ``rows`` derived from the threshold by ``optimal_param``
   (false-negative weight 0.95, and at least ``MIN_RECALL`` = 99% recall at the threshold itself: the
   exact check in step 4 throws false positives away, so we pay verification time for recall).
   rensa's native LSH first flags the documents that share any band with another one; only those
   signatures are copied out to NumPy, where every band is sorted and equal-band buckets give candidate
   pairs. Candidates whose MinHash estimate lies more than four standard deviations below the
   threshold (``NearDupSettings.estimate_floor``) are dropped here.
4. ``verify``: exact Jaccard on the shingle sets of each remaining pair (vectorised sort-and-count), so
   every reported pair really has similarity >= threshold: precision is exact by construction.
5. ``clusters``: connected components (union-find) of the verified pairs.

Giant buckets (thousands of distinct texts sharing a band, e.g. a template with a varying tail) would
give millions of pairs; buckets larger than ``max_bucket`` are sorted by shingle count and each member is
paired with its ``window`` nearest neighbours in that order only. Jaccard >= t implies the two set sizes
are within a factor t of each other, so true pairs are usually close in that order. This is an
approximation that only applies to such buckets; ``NearDupStats.windowed_buckets`` counts them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import rensa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from arenapref.errors import ArenaprefError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import hash_partitions

_T = TypeVar("_T", bound=np.generic)
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_MUL = np.uint64(0x100000001B3)  # FNV-64 prime: the polynomial base of token and n-gram hashes
_DOC_CHUNK_BYTES = 4 << 20  # texts are shingled in chunks of about this many bytes to bound memory
_SKETCH_CHUNK_DOCS = 50_000  # documents sketched per call; only their signatures are kept
_VERIFY_CHUNK_DOCS = 20_000  # documents sketched or de-duplicated per step after the first LSH pass
#: Distinct texts per MinHash block on an executor: big enough to amortise a task, small enough to spread.
SKETCH_BLOCK_DOCS = 50_000


MIN_RECALL = 0.99
"""The least probability that LSH makes a pair at exactly the threshold a candidate (then verified
exactly); pairs above the threshold are candidates with higher probability still."""


def lsh_recall(threshold: float, bands: int, rows: int) -> float:
    """The probability that two documents of Jaccard ``threshold`` share at least one of ``bands`` bands
    of ``rows`` MinHash slots: ``1 - (1 - t**rows)**bands``."""
    return float(1.0 - (1.0 - threshold**rows) ** bands)


def optimal_param(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = 0.05,
    false_negative_weight: float = 0.95,
    min_recall: float = MIN_RECALL,
) -> tuple[int, int]:
    """Bands and rows minimising the weighted LSH error around ``threshold`` (as datasketch/text-dedup),
    among those whose recall at the threshold itself (``lsh_recall``) is at least ``min_recall``.

    The probability that two documents of Jaccard ``s`` share a band is ``1 - (1 - s**r)**b``; the false
    positive area is its integral below the threshold and the false negative area that of its complement
    above it. Why the constraint: the error areas alone tune the bands *for* the threshold, where their
    recall is ~95% (16 x 8 at 0.8), so 1 in 20 pairs just above it was missed; the exact check throws the
    extra candidates away. If no split reaches ``min_recall``, the one with the highest recall is used.
    """
    if not 0.0 < threshold < 1.0:
        raise ArenaprefError(f"the similarity threshold must lie strictly between 0 and 1, got {threshold}")
    s = np.linspace(0.0, 1.0, 1001)
    below, above = s <= threshold, s >= threshold
    best: tuple[bool, float, int, int] | None = None
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1.0 - (1.0 - s**r) ** b
            fp = float(np.trapezoid(np.where(below, p, 0.0), s))
            fn = float(np.trapezoid(np.where(above, 1.0 - p, 0.0), s))
            recall = lsh_recall(threshold, b, r)
            err = false_positive_weight * fp + false_negative_weight * fn
            # Splits that reach the recall come first; among them the least error, else the most recall.
            rank = (recall < min_recall, err if recall >= min_recall else -recall, b, r)
            if best is None or rank < best:
                best = rank
    assert best is not None  # num_perm >= 1 gives at least one (b, r)
    return best[2], best[3]


@dataclass(frozen=True)
class NearDupSettings:
    """How near-duplicates are found; bands and rows are derived from ``threshold`` and ``num_perm``."""

    threshold: float = 0.8
    num_perm: int = 128
    shingle: Literal["char", "word"] = "char"
    ngram: int = 5
    seed: int = 1
    max_bucket: int = 64
    window: int = 8

    @cached_property
    def bands_rows(self) -> tuple[int, int]:
        """(bands, rows) from ``optimal_param``; only ``bands * rows`` signature slots are computed."""
        return optimal_param(self.threshold, self.num_perm)

    @property
    def estimate_floor(self) -> float:
        """Candidates whose MinHash estimate is below this are not verified exactly.

        Four standard deviations of the estimator at the threshold (``sqrt(t(1-t)/k)`` for ``k`` slots)
        below it: a pair truly at the threshold falls under it with probability ~3e-5, while the many
        candidates near Jaccard 0.5 that LSH lets through (the price of its high recall) are skipped.
        """
        bands, rows = self.bands_rows
        t = self.threshold
        return t - 4.0 * float(np.sqrt(t * (1.0 - t) / (bands * rows)))


@dataclass
class NearDupStats:
    """Counters for the report: how much work each step did."""

    documents: int = 0
    shingles: int = 0
    flagged: int = 0
    candidate_pairs: int = 0
    estimate_passed: int = 0
    verified_pairs: int = 0
    windowed_buckets: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _mix(h: U64) -> U64:
    """Multiply-xorshift, in place: spreads packed n-grams and polynomial hashes over all 64 bits.

    Runs over every byte of the input, so it avoids fresh temporaries (whose page faults cost more
    than the arithmetic) and uses two multiplications instead of splitmix64's five steps.
    """
    tmp = np.empty_like(h)
    with np.errstate(over="ignore"):
        h *= np.uint64(0x9E3779B97F4A7C15)
        np.right_shift(h, np.uint64(29), out=tmp)
        h ^= tmp
        h *= np.uint64(0xBF58476D1CE4E5B9)
        np.right_shift(h, np.uint64(32), out=tmp)
        h ^= tmp
    return h


def _text_buffers(texts: pa.Array) -> tuple[npt.NDArray[np.uint8], I64]:
    """The UTF-8 bytes and byte offsets of a string array, without copying per string."""
    texts = pc.fill_null(pc.cast(texts, pa.large_string()), "")
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    n = len(texts)
    off_buf, data = texts.buffers()[1], texts.buffers()[2]
    if off_buf is None or n == 0:
        return np.zeros(0, np.uint8), np.zeros(n + 1, np.int64)
    offsets = np.frombuffer(off_buf, dtype=np.int64)[texts.offset : texts.offset + n + 1]
    values = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return values[offsets[0] : offsets[-1]], offsets - offsets[0]


def _word_hashes(values: npt.NDArray[np.uint8], doc_of_byte: I64) -> tuple[U64, I64]:
    """Space-separated words as 64-bit polynomial hashes, with the document of each word."""
    is_space = values == 32
    keep = ~is_space
    pos = np.flatnonzero(keep)
    if len(pos) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    docs = doc_of_byte[pos]
    start = np.ones(len(pos), dtype=bool)
    start[1:] = (pos[1:] != pos[:-1] + 1) | (docs[1:] != docs[:-1])
    starts = np.flatnonzero(start)
    # Position inside the word, so that each byte is weighted by base**position (mod 2**64).
    word_first = np.maximum.accumulate(np.where(start, np.arange(len(pos)), 0))
    within = np.arange(len(pos)) - word_first
    powers = _powers(int(within.max()) + 1)
    with np.errstate(over="ignore"):
        weighted = (values[pos].astype(np.uint64) + np.uint64(1)) * powers[within]
    return np.add.reduceat(weighted, starts), docs[starts]


def _powers(n: int) -> U64:
    out = np.empty(n, dtype=np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        np.cumprod(np.full(n - 1, _MUL, dtype=np.uint64), out=out[1:])
    return out


def _ngrams(tok: U64, tok_doc: I64, n_docs: int, ngram: int) -> tuple[U64, I64]:
    """n-gram hashes per document (a document shorter than ``ngram`` tokens gives one shingle)."""
    m = len(tok)
    counts = np.bincount(tok_doc, minlength=n_docs).astype(np.int64) if m else np.zeros(n_docs, np.int64)
    first = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    acc = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(ngram):
            shifted = np.zeros(m, dtype=np.uint64)
            if j < m:
                same = tok_doc[j:] == tok_doc[: m - j]
                shifted[: m - j] = np.where(same, tok[j:], np.uint64(0))
            acc = acc * _MUL + shifted
    idx = np.arange(m, dtype=np.int64)
    doc_last = first[1:][tok_doc] - 1 if m else idx
    short = counts[tok_doc] < ngram if m else np.zeros(0, bool)
    valid = np.where(short, idx == first[:-1][tok_doc], idx + ngram - 1 <= doc_last)
    hashes = _mix(acc[valid])
    per_doc = np.bincount(tok_doc[valid], minlength=n_docs).astype(np.int64)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(per_doc, out=offsets[1:])
    return hashes, offsets


def _char_ngrams(values: npt.NDArray[np.uint8], offsets: I64, ngram: int) -> tuple[U64, I64]:
    """Byte n-grams (n <= 8) of every document, read as unaligned 64-bit words: one pass, no Python loop.

    Every position of the buffer starts an 8-byte little-endian word; masking it to ``ngram`` bytes gives
    the n-gram itself, exactly, which ``_mix`` then spreads. A document shorter than ``ngram`` bytes gives
    one shingle, its whole text.
    """
    n_bytes = len(values)
    padded = np.zeros(n_bytes + 8, dtype=np.uint8)
    padded[:n_bytes] = values
    words = np.ndarray((n_bytes,), dtype="<u8", buffer=padded.data, strides=(1,))
    lens = np.diff(offsets)
    valid = np.ones(n_bytes, dtype=bool)
    # The last ngram-1 positions of each document would cross into the next one.
    tail = (offsets[1:, None] - np.arange(1, ngram, dtype=np.int64)[None, :]).ravel()
    tail_ok = tail >= np.repeat(offsets[:-1], ngram - 1)
    valid[tail[tail_ok]] = False
    short = (lens > 0) & (lens < ngram)
    valid[offsets[:-1][short]] = True
    masks = (np.uint64(1) << (np.arange(9, dtype=np.uint64) * np.uint64(8))) - np.uint64(1)
    masks[8] = np.uint64(0xFFFFFFFFFFFFFFFF)
    grams = words[valid]
    grams &= masks[ngram]
    counts = np.where(short, 1, np.maximum(lens - ngram + 1, 0))
    out_off = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_off[1:])
    if short.any():
        # A short document's one shingle is its own bytes, tagged with its length in the top byte.
        own = words[offsets[:-1][short]] & masks[lens[short]]
        grams[out_off[:-1][short]] = own | (lens[short].astype(np.uint64) << np.uint64(56))
    return _mix(grams), out_off


def shingle_hashes(texts: pa.Array, settings: NearDupSettings) -> tuple[U64, I64]:
    """Flat shingle hashes and per-document offsets (CSR) of a string array; empty texts get none.

    Hashes are not de-duplicated within a document: MinHash ignores repeats, and ``verify`` de-duplicates.
    """
    if settings.shingle == "char" and not 1 <= settings.ngram <= 8:
        raise ArenaprefError(f"character shingles take 1 to 8 bytes, got ngram={settings.ngram}")
    values, offsets = _text_buffers(texts)
    n = len(offsets) - 1
    parts: list[U64] = []
    counts: list[I64] = []
    start = 0
    while start < n:
        # Chunks of whole documents of about _DOC_CHUNK_BYTES bytes keep the temporaries small.
        end = int(np.searchsorted(offsets, offsets[start] + _DOC_CHUNK_BYTES, side="right")) - 1
        end = min(max(end, start + 1), n)
        lo, hi = int(offsets[start]), int(offsets[end])
        chunk_off = offsets[start : end + 1] - lo
        if settings.shingle == "char":
            h, off = _char_ngrams(values[lo:hi], chunk_off, settings.ngram)
        else:
            doc_of_byte = np.repeat(np.arange(end - start, dtype=np.int64), np.diff(chunk_off))
            tok, tok_doc = _word_hashes(values[lo:hi], doc_of_byte)
            h, off = _ngrams(tok, tok_doc, end - start, settings.ngram)
        parts.append(h)
        counts.append(np.diff(off))
        start = end
    flat = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    all_counts = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(all_counts, out=out_offsets[1:])
    return flat, out_offsets


def sorted_unique(x: npt.NDArray[_T]) -> npt.NDArray[_T]:
    """Sorted unique values; a plain sort beats NumPy 2's hash-based ``np.unique`` on large integers."""
    x = np.sort(x)
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    return x[keep]


def _gather_rows(flat: npt.NDArray[_T], offsets: I64, rows: I64) -> tuple[npt.NDArray[_T], I64]:
    """The CSR sub-matrix of ``rows`` (vectorised gather of variable-length segments)."""
    lens = offsets[rows + 1] - offsets[rows]
    new_off = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lens, out=new_off[1:])
    idx = np.repeat(offsets[rows] - new_off[:-1], lens) + np.arange(int(new_off[-1]), dtype=np.int64)
    return flat[idx], new_off


def sketch(flat: U64, offsets: I64, settings: NearDupSettings) -> Any:
    """MinHash signatures (``bands * rows`` slots) of every document, as a rensa digest matrix."""
    bands, rows = settings.bands_rows
    return rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        flat, offsets.astype(np.uint64), bands * rows, settings.seed
    )


def band_keys(sig: npt.NDArray[np.uint32], bands: int, rows: int) -> U64:
    """One 64-bit key per (document, band): a hash of the band's ``rows`` signature values."""
    keys = np.zeros((sig.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows):
            keys = keys * _MUL + sig[:, r::rows][:, :bands].astype(np.uint64)
        keys += np.arange(bands, dtype=np.uint64)  # equal values in different bands must not collide
    return _mix(keys.ravel())


def _bucket_pairs(
    keys: U64, doc: I64, size: I64, settings: NearDupSettings, stats: NearDupStats
) -> tuple[I64, I64]:
    """Pairs of documents sharing a band key (windowed inside giant buckets); ``size`` is the shingle
    count of each entry's document.

    Every bucket (one band key) is ordered by (size, position): entries given in document order give the
    same pairs for any subset of whole buckets, which is what lets buckets be grouped per partition.
    """
    order = np.lexsort((size, keys))
    k = keys[order]
    d = doc[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = k[1:] != k[:-1]
    group_start = np.flatnonzero(new)
    group_size = np.diff(np.append(group_start, len(k)))
    multi = group_size > 1
    stats.windowed_buckets += int(np.count_nonzero(group_size > settings.max_bucket))
    gs = np.repeat(group_start[multi], group_size[multi])
    gn = np.repeat(group_size[multi], group_size[multi])
    members = np.flatnonzero(np.repeat(multi, group_size)).astype(np.int64)
    # Each member pairs with the following members of its bucket (all of them in small buckets).
    reach = np.where(gn > settings.max_bucket, settings.window, gn - 1)
    partners = np.minimum(gs + gn - 1 - members, reach)
    left = np.repeat(members, partners)
    step = np.arange(len(left), dtype=np.int64) - np.repeat(np.cumsum(partners) - partners, partners) + 1
    right = left + step
    return d[left], d[right]


Cross = tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]


def _is_cross(cross: Cross, lo: I64, hi: I64) -> npt.NDArray[np.bool_]:
    """Pairs joining a document of the first group to one of the second (a document may be in both)."""
    in_a, in_b = cross
    return (in_a[lo] & in_b[hi]) | (in_b[lo] & in_a[hi])


def _flag_shared_band(texts: pa.Array, settings: NearDupSettings, stats: NearDupStats) -> I64:
    """Documents sharing at least one LSH band with another document (rensa's native LSH).

    Sketches are built chunk by chunk and only the compact digest matrices are kept (``bands * rows``
    32-bit slots per document), so the shingles of a million documents are never all in memory at once.
    """
    bands, rows = settings.bands_rows
    lsh = rensa.RMinHashLSH(settings.threshold, bands * rows, bands)
    matrices = []
    for start in range(0, len(texts), _SKETCH_CHUNK_DOCS):
        flat, offsets = shingle_hashes(texts.slice(start, _SKETCH_CHUNK_DOCS), settings)
        stats.shingles += len(flat)
        matrix = sketch(flat, offsets, settings)
        lsh.insert_matrix(matrix, start_key=start)
        matrices.append(matrix)
    # Every document is in the index itself, so "more than one candidate" means another one shares a band.
    flags = np.concatenate([np.asarray(lsh.query_duplicate_flags_matrix(m), dtype=bool) for m in matrices])
    nonempty = np.asarray(pc.greater(pc.binary_length(texts), 0).to_numpy(zero_copy_only=False), dtype=bool)
    return np.flatnonzero(flags & nonempty).astype(np.int64)


def minhash_signatures(texts: pa.Array, settings: NearDupSettings) -> tuple[npt.NDArray[np.uint32], I64]:
    """MinHash signature rows and shingle counts of every text, sketched a chunk of documents at a time.

    rensa hands signatures back as Python lists; converting a chunk at a time keeps that transient small.
    """
    bands, rows = settings.bands_rows
    sig = np.empty((len(texts), bands * rows), dtype=np.uint32)
    sizes = np.empty(len(texts), dtype=np.int64)
    for start in range(0, len(texts), _VERIFY_CHUNK_DOCS):
        flat, offsets = shingle_hashes(texts.slice(start, _VERIFY_CHUNK_DOCS), settings)
        stop = start + len(offsets) - 1
        sizes[start:stop] = np.diff(offsets)
        if stop > start:
            sig[start:stop] = np.asarray(sketch(flat, offsets, settings).to_rows(), dtype=np.uint32)
    return sig, sizes


@dataclass
class BandEntries:
    """(band key, document, the document's shingle count) of every band of some documents, in document
    order; ``n_docs`` is the number of documents pair codes are counted in."""

    keys: U64
    doc: I64
    size: I64
    n_docs: int


def bucket_pair_codes(entries: BandEntries, settings: NearDupSettings, stats: NearDupStats) -> I64:
    """Sorted distinct codes ``lo * n_docs + hi`` of the document pairs sharing a band bucket."""
    a, b = _bucket_pairs(entries.keys, entries.doc, entries.size, settings, stats)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return sorted_unique(lo[lo != hi] * np.int64(entries.n_docs) + hi[lo != hi])


def candidate_pairs(
    sig: npt.NDArray[np.uint32],
    size: I64,
    settings: NearDupSettings,
    stats: NearDupStats,
    executor: Executor | None = None,
    partitions: int | None = None,
) -> tuple[I64, I64]:
    """Pairs (i < j) of rows of ``sig`` (signatures) that share at least one LSH band.

    ``executor``: the buckets per hash partition of the band keys there (``BucketPartitions``).
    """
    bands, rows = settings.bands_rows
    n = len(sig)
    keys = band_keys(sig, bands, rows)
    doc = np.repeat(np.arange(n, dtype=np.int64), bands)
    entries = BandEntries(keys, doc, size[doc], n)
    code = run_step(BucketPartitions(entries, settings, stats, partitions), executor)
    return code // n, code % n


def estimated_jaccard(sig: npt.NDArray[np.uint32], i: I64, j: I64, chunk: int = 200_000) -> F32:
    """MinHash estimate of each pair's Jaccard: the share of equal signature slots (chunked for memory)."""
    out = np.empty(len(i), dtype=np.float32)
    for start in range(0, len(i), chunk):
        stop = start + chunk
        out[start:stop] = (sig[i[start:stop]] == sig[j[start:stop]]).mean(axis=1)
    return out


def _unique_shingle_sets(
    flat: U64, offsets: I64, docs: I64, chunk: int = _VERIFY_CHUNK_DOCS
) -> tuple[npt.NDArray[np.uint32], I64]:
    """Each document's distinct shingle hashes (truncated to 32 bits), concatenated, and their counts.

    Built a chunk of documents at a time, so the sort keys and gathers never span all shingles at once:
    at a million documents the whole-array version peaked at several times the shingle array's size.
    """
    parts: list[npt.NDArray[np.uint32]] = []
    counts: list[I64] = []
    for start in range(0, len(docs), chunk):
        part_docs = docs[start : start + chunk]
        sub, sub_off = _gather_rows(flat, offsets, part_docs)
        owner = np.repeat(np.arange(len(part_docs), dtype=np.uint64), np.diff(sub_off))
        uniq = sorted_unique((owner << np.uint64(32)) | (sub >> np.uint64(32)))
        del sub, owner
        parts.append((uniq & np.uint64(0xFFFFFFFF)).astype(np.uint32))
        counts.append(np.bincount((uniq >> np.uint64(32)).astype(np.int64), minlength=len(part_docs)))
    if not parts:
        return np.zeros(0, np.uint32), np.zeros(0, np.int64)
    return np.concatenate(parts), np.concatenate(counts).astype(np.int64)


def verify(
    flat: U64, offsets: I64, i: I64, j: I64, threshold: float, chunk: int = 4_000_000
) -> tuple[I64, I64, F32]:
    """Exact Jaccard of the shingle sets of each pair; keeps pairs at or above ``threshold``.

    Shingle hashes are truncated to 32 bits here so that (pair, hash) fits one 64-bit sort key; a false
    collision inside one pair's few hundred shingles has probability ~1e-5 and can only raise a
    similarity by one shingle.
    """
    if len(i) == 0:
        return i, j, np.zeros(0, np.float32)
    docs = sorted_unique(np.concatenate([i, j]))
    u_hash, u_count = _unique_shingle_sets(flat, offsets, docs)
    u_off = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(u_count, out=u_off[1:])
    ii = np.searchsorted(docs, i)
    jj = np.searchsorted(docs, j)
    sims = np.zeros(len(i), dtype=np.float32)
    cost = np.cumsum(u_count[ii] + u_count[jj])
    cuts = np.unique(np.searchsorted(cost, np.arange(chunk, int(cost[-1]), chunk), side="right"))
    for start, stop in zip([0, *cuts.tolist()], [*cuts.tolist(), len(i)], strict=True):
        if stop <= start:
            continue
        p = np.arange(start, stop, dtype=np.int64)
        a_h, a_off = _gather_rows(u_hash, u_off, ii[p])
        b_h, b_off = _gather_rows(u_hash, u_off, jj[p])
        a_h, b_h = a_h.astype(np.uint64), b_h.astype(np.uint64)
        a_pair = np.repeat(np.arange(len(p), dtype=np.uint64), np.diff(a_off))
        b_pair = np.repeat(np.arange(len(p), dtype=np.uint64), np.diff(b_off))
        both = np.sort(np.concatenate([(a_pair << np.uint64(32)) | a_h, (b_pair << np.uint64(32)) | b_h]))
        dup = both[1:] == both[:-1]
        inter = np.bincount((both[1:][dup] >> np.uint64(32)).astype(np.int64), minlength=len(p))
        union = np.diff(a_off) + np.diff(b_off) - inter
        sims[start:stop] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    keep = sims >= threshold - 1e-9
    return i[keep], j[keep], sims[keep]


@dataclass
class NearPairs:
    """Verified near-duplicate pairs between documents (indices into the texts given), with similarity."""

    i: I64
    j: I64
    similarity: F32
    stats: NearDupStats


def near_pairs(
    texts: pa.Array,
    settings: NearDupSettings | None = None,
    cross: Cross | None = None,
    executor: Executor | None = None,
    *,
    block_docs: int = SKETCH_BLOCK_DOCS,
    partitions: int | None = None,
) -> NearPairs:
    """All verified pairs of texts with shingle Jaccard >= threshold (cross-group only if ``cross`` given).

    ``texts`` should already be normalised (``normalize_texts``); identical texts are best collapsed by the
    caller first, since they are exact matches and only inflate the buckets. Empty texts never match.
    ``executor``: where the flagging, the signatures and the band buckets run, in blocks of ``block_docs``
    texts or ``partitions`` hash partitions of the band keys (twice the workers by default); the pairs,
    their order and their similarities are the same.
    """
    settings = settings or NearDupSettings()
    stats = NearDupStats(documents=len(texts))
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    t0 = time.perf_counter()
    flagged = flag_shared_bands(texts, settings, stats, executor, block_docs, partitions)
    stats.flagged = len(flagged)
    t1 = time.perf_counter()
    # Only documents sharing a band can be in a pair: sketch them again, chunk by chunk, keeping signatures.
    flagged_texts = texts.take(pa.array(flagged))
    i = j = np.zeros(0, np.int64)
    if len(flagged) > 1:
        sig, sizes = run_step(SignatureBlocks(flagged_texts, settings, block_docs), executor)
        i, j = candidate_pairs(sig, sizes, settings, stats, executor, partitions)
        if cross is not None:
            keep = _is_cross(cross, flagged[i], flagged[j])
            i, j = i[keep], j[keep]
        stats.candidate_pairs = len(i)
        keep = estimated_jaccard(sig, i, j) >= settings.estimate_floor
        i, j = i[keep], j[keep]
        del sig
    stats.estimate_passed = len(i)
    t2 = time.perf_counter()
    # Exact shingle sets are needed only for documents in a surviving candidate pair.
    docs = sorted_unique(np.concatenate([i, j]))
    flat, offsets = shingle_hashes(flagged_texts.take(pa.array(docs)), settings)
    vi, vj, sim = verify(
        flat, offsets, np.searchsorted(docs, i), np.searchsorted(docs, j), settings.threshold
    )
    i, j = docs[vi], docs[vj]
    t3 = time.perf_counter()
    stats.verified_pairs = len(i)
    stats.seconds = {"minhash_lsh": t1 - t0, "candidates": t2 - t1, "verify": t3 - t2}
    return NearPairs(flagged[i], flagged[j], sim, stats)


# ------------------------------------------------------------------------ the search's steps in blocks


def _text_blocks(texts: pa.Array, rows: int) -> list[pa.Array]:
    return [texts.slice(start, rows) for start in range(0, len(texts), rows)] or [texts]


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


def bucket_pairs_block(entries: BandEntries, settings: NearDupSettings) -> tuple[I64, int]:
    """Per partition of the band keys: ``bucket_pair_codes`` of its buckets, and how many of them were
    windowed."""
    stats = NearDupStats()
    return bucket_pair_codes(entries, settings, stats), stats.windowed_buckets


def _union(parts: list[I64]) -> I64:
    return sorted_unique(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)


class BandKeyBlocks(BlockStep[pa.Array, tuple[U64, int], tuple[U64, I64]]):
    """Flagging, first round on an executor: the band keys of every text, a block of texts each; merged
    into the keys of the non-empty texts, flat, with the document owning each."""

    def __init__(self, texts: pa.Array, settings: NearDupSettings, stats: NearDupStats, block_docs: int):
        self.texts, self.settings, self.stats, self.block_docs = texts, settings, stats, block_docs

    def blocks(self, workers: int) -> list[pa.Array]:
        return _text_blocks(self.texts, self.block_docs)

    @property
    def work(self) -> Callable[[pa.Array], tuple[U64, int]]:
        return partial(band_keys_block, settings=self.settings)

    def merge(self, parts: Iterator[tuple[U64, int]]) -> tuple[U64, I64]:
        done = list(parts)
        self.stats.shingles += sum(n for _, n in done)
        keys = np.concatenate([k for k, _ in done]) if done else np.zeros((0, 1), np.uint64)
        del done
        nonempty = np.asarray(pc.binary_length(self.texts).to_numpy(zero_copy_only=False) > 0, dtype=bool)
        return keys[nonempty].ravel(), np.repeat(np.flatnonzero(nonempty), keys.shape[1])


class SharedBandOwners(BlockStep[tuple[U64, I64], I64, I64]):
    """Flagging, second round: the documents sharing a band key, one hash partition of the keys each
    (a sort inside each; rensa's LSH index finds the same documents in one process: the two disagree
    only on a 64-bit hash collision)."""

    def __init__(self, keys: U64, owner: I64, partitions: int | None) -> None:
        self.keys, self.owner, self.partitions = keys, owner, partitions

    def blocks(self, workers: int) -> Iterator[tuple[U64, I64]]:
        parts = hash_partitions(self.keys, self.partitions or 2 * workers)
        return ((self.keys[p], self.owner[p]) for p in parts if len(p))

    @property
    def work(self) -> Callable[[tuple[U64, I64]], I64]:
        return shared_band_owners

    def merge(self, parts: Iterator[I64]) -> I64:
        return _union(list(parts))


def flag_shared_bands(
    texts: pa.Array,
    settings: NearDupSettings,
    stats: NearDupStats,
    executor: Executor | None,
    block_docs: int = SKETCH_BLOCK_DOCS,
    partitions: int | None = None,
) -> I64:
    """Documents sharing at least one LSH band with another document, sorted.

    In one process rensa's LSH index answers in one pass; on an executor the band keys are cut per block
    of texts and the shared ones found per hash partition of the keys: two rounds of blocks.
    """
    if executor is None:
        return _flag_shared_band(texts, settings, stats)
    keys, owner = run_step(BandKeyBlocks(texts, settings, stats, block_docs), executor)
    return run_step(SharedBandOwners(keys, owner, partitions), executor)


class SignatureBlocks(
    BlockStep[pa.Array, tuple[npt.NDArray[np.uint32], I64], tuple[npt.NDArray[np.uint32], I64]]
):
    """MinHash signatures and shingle counts of the flagged texts, a block of texts each."""

    def __init__(self, texts: pa.Array, settings: NearDupSettings, block_docs: int) -> None:
        self.texts, self.settings, self.block_docs = texts, settings, block_docs

    def blocks(self, workers: int) -> list[pa.Array]:
        return _text_blocks(self.texts, self.block_docs)

    @property
    def work(self) -> Callable[[pa.Array], tuple[npt.NDArray[np.uint32], I64]]:
        return partial(minhash_signatures, settings=self.settings)

    def merge(
        self, parts: Iterator[tuple[npt.NDArray[np.uint32], I64]]
    ) -> tuple[npt.NDArray[np.uint32], I64]:
        done = list(parts)
        return np.concatenate([s for s, _ in done]), np.concatenate([n for _, n in done])

    def whole(self) -> tuple[npt.NDArray[np.uint32], I64]:
        return minhash_signatures(self.texts, self.settings)


class BucketPartitions(BlockStep[BandEntries, tuple[I64, int], I64]):
    """Candidate pair codes of the band buckets, one hash partition of the band keys each: a bucket is
    one key, so it lies whole in one partition, and its members keep their document order, so its pairs
    are those of one pass; the driver takes the union of the partitions' sorted codes."""

    def __init__(
        self, entries: BandEntries, settings: NearDupSettings, stats: NearDupStats, partitions: int | None
    ) -> None:
        self.entries, self.settings, self.stats, self.partitions = entries, settings, stats, partitions

    def blocks(self, workers: int) -> Iterator[BandEntries]:
        e = self.entries
        return (
            BandEntries(e.keys[p], e.doc[p], e.size[p], e.n_docs)
            for p in hash_partitions(e.keys, self.partitions or 2 * workers)
            if len(p)
        )

    @property
    def work(self) -> Callable[[BandEntries], tuple[I64, int]]:
        return partial(bucket_pairs_block, settings=self.settings)

    def merge(self, parts: Iterator[tuple[I64, int]]) -> I64:
        done = list(parts)
        self.stats.windowed_buckets += sum(w for _, w in done)
        return _union([c for c, _ in done])

    def whole(self) -> I64:
        return bucket_pair_codes(self.entries, self.settings, self.stats)


def clusters(n: int, i: I64, j: I64) -> I64:
    """Cluster label of each of ``n`` documents: connected components of the pairs (union-find)."""
    if n == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)
