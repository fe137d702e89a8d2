"""Exact, placeholder-only and near-duplicate matches between two prompt sets, and within one.

Three kinds of match, in order of precedence (a record is reported under the strongest one it has):

* ``exact``: the plain keys agree (normalised text, no masking);
* ``placeholder``: only the masked keys agree, i.e. the prompts differ in NAME_k placeholders (or, with
  ``mask_pii``, in names, e-mails, phone numbers, URLs) and nothing else: matches that masking found;
* ``near``: the masked texts have shingle Jaccard >= threshold (``arenapref.compare.near``).

Work is done once per distinct masked text ("document"), not per record: LMSYS-Chat-1M repeats popular
prompts thousands of times, and near-duplicate search over the distinct texts is both faster and free of
giant buckets of identical texts. Each record then inherits its document's matches, and the partner
reported for a record is one representative record of the best matching document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.compare.near import NearDupSettings, NearDupStats, clusters, near_pairs
from arenapref.compare.normalize import EMPTY_KEY, _hash_texts, normalize_turns, turns_keys
from arenapref.compare.settings import TextField, TurnsMode
from arenapref.errors import ArenaprefError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import hash_partitions
from arenapref.records import SCHEMAS, Kind, first_user_turn, kind_of, user_turns

KINDS = ("exact", "placeholder", "near")
NO_MATCH = -1

I64 = npt.NDArray[np.int64]


@dataclass
class PromptSet:
    """One source's prompts in the form matching needs; row ``i`` is row ``i`` of the source table.

    ``text`` is the normalised masked text (turns joined) that shingles are cut from; ``plain`` and
    ``masked`` are the keys without and with masking.
    """

    ids: pa.Array
    plain: pa.Array
    masked: pa.Array
    text: pa.Array
    prompts: pa.ListArray
    models: pa.ListArray
    language: pa.Array

    def __len__(self) -> int:
        return len(self.ids)


def _column(table: pa.Table | pa.RecordBatch, name: str) -> pa.Array:
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def record_ids(table: pa.Table | pa.RecordBatch) -> pa.Array:
    """The id column of either record kind, as strings."""
    name = "conversation_id" if kind_of(table.schema) == "conversations" else "id"
    return _column(table, name).cast(pa.string())


def _models(table: pa.Table | pa.RecordBatch) -> pa.ListArray:
    """Models of each record: [model] for conversations, [model_a, model_b] for battles (nulls dropped)."""
    n = table.num_rows
    names = ["model"] if kind_of(table.schema) == "conversations" else ["model_a", "model_b"]
    cols = [_column(table, c).cast(pa.string()) for c in names]
    frame = pl.DataFrame({f"m{k}": pl.from_arrow(c) for k, c in enumerate(cols)})
    lists = frame.select(pl.concat_list(pl.all()).list.drop_nulls().alias("m")).to_series()
    arr = lists.to_arrow().cast(pa.list_(pa.string()))
    assert len(arr) == n
    return arr


def assistant_turns(table: pa.Table | pa.RecordBatch) -> pa.ListArray:
    """Assistant turns (the answers) of every conversation, as list<string>."""
    turns = table.column("turns")
    if isinstance(turns, pa.ChunkedArray):
        turns = turns.combine_chunks()
    flat = pc.list_flatten(turns)
    parents = pc.list_parent_indices(turns).to_numpy(zero_copy_only=False)
    is_bot = pc.equal(flat.field("role"), "assistant").to_numpy(zero_copy_only=False).astype(bool)
    counts = np.bincount(parents[is_bot], minlength=len(turns))
    offsets = np.zeros(len(turns) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pc.filter(flat.field("content"), pa.array(is_bot)))


def _texts(table: pa.Table | pa.RecordBatch, turns: TurnsMode, field: TextField) -> pa.ListArray:
    """The turns a prompt set is built from: user turns (prompts) or assistant turns (answers)."""
    if field == "response":
        if kind_of(table.schema) != "conversations":
            raise ArenaprefError("`text`=response compares the answers of conversations, not of battles")
        answers = assistant_turns(table)
        return pc.list_slice(answers, 0, 1).cast(pa.list_(pa.string())) if turns == "first" else answers
    if turns == "first":
        first = first_user_turn(table)
        offsets = pa.array(np.arange(len(first) + 1, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, first)
    return user_turns(table)


def prompt_set(
    table: pa.Table | pa.RecordBatch,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    field: TextField = "prompt",
) -> PromptSet:
    """Keys and normalised text of every record of a conversations or battles table (or batch)."""
    prompts = _texts(table, turns, field)
    text = normalize_turns(prompts, mask=True, mask_pii=mask_pii)
    language = (
        _column(table, "language").cast(pa.string())
        if "language" in table.schema.names
        else pa.nulls(table.num_rows, pa.string())
    )
    return PromptSet(
        ids=record_ids(table),
        plain=turns_keys(prompts, mask=False),
        masked=_hash_texts(text),
        text=text,
        prompts=prompts.cast(pa.list_(pa.string())),
        models=_models(table),
        language=language,
    )


def prompt_set_of_batches(
    batches: Iterable[pa.Table | pa.RecordBatch],
    kind: Kind,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    field: TextField = "prompt",
) -> PromptSet:
    """A prompt set built batch by batch, so a large source is never held as records (only its prompts)."""
    sets = [prompt_set(b, turns, mask_pii, field) for b in batches if b.num_rows]
    if not sets:
        return prompt_set(pa.Table.from_batches([], SCHEMAS[kind]), turns, mask_pii, field)
    return concat_prompt_sets(sets)


def concat_prompt_sets(sets: list[PromptSet]) -> PromptSet:
    """Several prompt sets as one (rows in order); used for several protected sources."""
    return PromptSet(
        ids=pa.concat_arrays([s.ids for s in sets]),
        plain=pa.concat_arrays([s.plain for s in sets]),
        masked=pa.concat_arrays([s.masked for s in sets]),
        text=pa.concat_arrays([s.text for s in sets]),
        prompts=pa.concat_arrays([s.prompts.cast(pa.list_(pa.string())) for s in sets]),
        models=pa.concat_arrays([s.models for s in sets]),
        language=pa.concat_arrays([s.language for s in sets]),
    )


def key_codes(*key_arrays: pa.Array) -> list[I64]:
    """Integer codes of key values shared across arrays (equal key, equal code), numbered by first
    appearance in the arrays one after another: the join of the sides on the key."""
    allk = pa.concat_arrays(list(key_arrays))
    enc = pc.dictionary_encode(allk)
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    out, start = [], 0
    for arr in key_arrays:
        out.append(codes[start : start + len(arr)])
        start += len(arr)
    return out


def first_rows(codes: I64, n_codes: int) -> I64:
    """For every code, the first row holding it (NO_MATCH when none)."""
    first = np.full(n_codes, NO_MATCH, dtype=np.int64)
    rows = np.arange(len(codes), dtype=np.int64)
    first[codes[::-1]] = rows[::-1]
    return first


def _empty_code(keys: pa.Array, codes: I64) -> int:
    hits = np.flatnonzero(np.asarray(pc.equal(keys, EMPTY_KEY).to_numpy(zero_copy_only=False)))
    return int(codes[hits[0]]) if len(hits) else NO_MATCH


#: Seed of the key hash that cuts partitions (any fixed value: the codes do not depend on it).
PARTITION_SEED = 17


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


class KeyCodeStep(BlockStep[KeyPartition, tuple[I64, I64], list[I64]]):
    """``key_codes`` with the join per hash partition of the keys.

    Every partition numbers its keys by first appearance; the driver ranks all partitions' keys by the
    position of their first appearance, which is exactly the numbering of one ``key_codes`` pass.
    """

    def __init__(self, key_arrays: Sequence[pa.Array], partitions: int | None = None) -> None:
        self.key_arrays, self.partitions = list(key_arrays), partitions
        self._rows: list[I64] = []  # the partitions' positions, set by ``blocks`` for ``merge``

    def blocks(self, workers: int) -> Iterator[KeyPartition]:
        keys = pa.concat_arrays(self.key_arrays)
        hashes = pl.Series("key", keys).hash(seed=PARTITION_SEED).to_numpy()
        self._rows = [r for r in hash_partitions(hashes, self.partitions or 2 * workers) if len(r)]
        return (KeyPartition(keys.take(pa.array(r)), r) for r in self._rows)

    @property
    def work(self) -> Callable[[KeyPartition], tuple[I64, I64]]:
        return key_partition_codes

    def merge(self, parts: Iterator[tuple[I64, I64]]) -> list[I64]:
        done = list(parts)
        firsts = np.concatenate([f for _, f in done]) if done else np.zeros(0, np.int64)
        rank = np.empty(len(firsts), dtype=np.int64)
        rank[np.argsort(firsts, kind="stable")] = np.arange(len(firsts))
        out = np.empty(sum(len(k) for k in self.key_arrays), dtype=np.int64)
        offset = 0
        for r, (local, first) in zip(self._rows, done, strict=True):
            out[r] = rank[offset + local]
            offset += len(first)
        return np.split(out, np.cumsum([len(k) for k in self.key_arrays])[:-1].astype(np.int64))

    def whole(self) -> list[I64]:
        return key_codes(*self.key_arrays)


@dataclass
class BestMatch:
    """For every record of one side: its strongest match on the other side (or NO_MATCH)."""

    partner: I64  # row on the other side, NO_MATCH when none
    kind: npt.NDArray[np.int8]  # index into KINDS, -1 when none
    similarity: npt.NDArray[np.float32]


@dataclass
class SelfDuplicates:
    """Duplicate structure inside one side: cluster of every record, and counts per kind."""

    cluster: I64
    exact_rows: int  # records sharing their plain key with another record of the side
    placeholder_rows: int  # records sharing only their masked key with another record
    near_rows: int  # records whose only duplicates are near ones
    clusters_with_duplicates: int


@dataclass
class OverlapResult:
    """Everything ``compare`` reports: best matches both ways, duplicates inside each side, counters."""

    left_to_right: BestMatch
    right_to_left: BestMatch
    left_dups: SelfDuplicates | None
    right_dups: SelfDuplicates | None
    near_stats: NearDupStats
    documents: int
    left_docs: I64  # document (distinct masked text) of every LEFT record
    right_docs: I64  # ... of every RIGHT record (LEFT's when comparing one source with itself)
    pairs: tuple[I64, I64, npt.NDArray[np.float32]]  # verified near pairs of documents, with similarity
    seconds: dict[str, float] = field(default_factory=dict)


def _exact_best(a_codes: I64, b_codes: I64, n_codes: int, empty: int) -> tuple[I64, npt.NDArray[np.bool_]]:
    first_b = first_rows(b_codes, n_codes)
    partner = first_b[a_codes]
    if empty != NO_MATCH:
        partner[a_codes == empty] = NO_MATCH
    return partner, partner != NO_MATCH


def _best_from_pairs(
    n_docs: int, u: I64, v: I64, sim: npt.NDArray[np.float32], target_ok: npt.NDArray[np.bool_]
) -> tuple[I64, npt.NDArray[np.float32]]:
    """For every document: the most similar partner document accepted by ``target_ok``."""
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    s = np.concatenate([sim, sim])
    ok = target_ok[dst]
    src, dst, s = src[ok], dst[ok], s[ok]
    order = np.lexsort((-s, src))
    src, dst, s = src[order], dst[order], s[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = src[1:] != src[:-1]
    best = np.full(n_docs, NO_MATCH, dtype=np.int64)
    best_sim = np.zeros(n_docs, dtype=np.float32)
    best[src[first]] = dst[first]
    best_sim[src[first]] = s[first]
    return best, best_sim


def _one_way(
    a_plain: I64,
    b_plain: I64,
    n_plain: int,
    empty_plain: int,
    a_doc: I64,
    b_doc: I64,
    n_docs: int,
    empty_doc: int,
    near_best: I64,
    near_sim: npt.NDArray[np.float32],
) -> BestMatch:
    """Best match of every ``a`` record among the ``b`` records."""
    n = len(a_plain)
    partner = np.full(n, NO_MATCH, dtype=np.int64)
    kind = np.full(n, -1, dtype=np.int8)
    sim = np.zeros(n, dtype=np.float32)
    ex, has_ex = _exact_best(a_plain, b_plain, n_plain, empty_plain)
    partner[has_ex], kind[has_ex], sim[has_ex] = ex[has_ex], 0, 1.0
    ph, has_ph = _exact_best(a_doc, b_doc, n_docs, empty_doc)
    has_ph &= ~has_ex
    partner[has_ph], kind[has_ph], sim[has_ph] = ph[has_ph], 1, 1.0
    first_b_doc = first_rows(b_doc, n_docs)
    nb = near_best[a_doc]
    has_near = (nb != NO_MATCH) & ~has_ex & ~has_ph
    if empty_doc != NO_MATCH:
        has_near &= a_doc != empty_doc
    partner[has_near] = first_b_doc[nb[has_near]]
    kind[has_near] = 2
    sim[has_near] = near_sim[a_doc[has_near]]
    return BestMatch(partner, kind, sim)


def _self_duplicates(plain: I64, doc: I64, n_docs: int, empty_doc: int, u: I64, v: I64) -> SelfDuplicates:
    """Clusters inside one side: records with equal masked text, joined through near pairs."""
    present = np.zeros(n_docs, dtype=bool)
    present[doc] = True
    keep = present[u] & present[v]
    labels = clusters(n_docs, u[keep], v[keep])
    rec_cluster = labels[doc]
    valid = doc != empty_doc
    cl_size = np.bincount(rec_cluster[valid], minlength=n_docs)
    doc_size = np.bincount(doc[valid], minlength=n_docs)
    plain_size = np.bincount(plain[valid], minlength=int(plain.max()) + 1 if len(plain) else 0)
    in_exact = valid & (plain_size[plain] > 1)
    in_ph = valid & ~in_exact & (doc_size[doc] > 1)
    in_near = valid & ~in_exact & ~in_ph & (cl_size[rec_cluster] > 1)
    return SelfDuplicates(
        cluster=rec_cluster,
        exact_rows=int(in_exact.sum()),
        placeholder_rows=int(in_ph.sum()),
        near_rows=int(in_near.sum()),
        clusters_with_duplicates=int(np.count_nonzero(cl_size > 1)),
    )


def overlap(
    left: PromptSet,
    right: PromptSet | None,
    settings: NearDupSettings | None = None,
    near: bool = True,
    within: bool = True,
    executor: Executor | None = None,
    partitions: int | None = None,
) -> OverlapResult:
    """Matches of ``left`` in ``right`` and back; ``right=None`` compares ``left`` with itself.

    ``within`` also finds the duplicate clusters inside each side (near pairs inside a side are then
    searched too, which costs more candidates than cross-side matching alone). ``executor``: where the key
    joins (``KeyCodeStep``) and the near-duplicate search run, ``partitions`` hash partitions of the keys
    each (twice the workers by default); the result is the same.
    """
    settings = settings or NearDupSettings()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    same = right is None
    rs = left if right is None else right
    lp, rp = run_step(KeyCodeStep([left.plain, rs.plain], partitions), executor)
    ld, rd = run_step(KeyCodeStep([left.masked, rs.masked], partitions), executor)
    n_plain = int(max(lp.max(initial=-1), rp.max(initial=-1))) + 1
    n_docs = int(max(ld.max(initial=-1), rd.max(initial=-1))) + 1
    empty_plain = max(_empty_code(left.plain, lp), _empty_code(rs.plain, rp))
    empty_doc = max(_empty_code(left.masked, ld), _empty_code(rs.masked, rd))
    timings["codes"] = time.perf_counter() - t0

    # One text per document; documents of either side.
    in_left = np.zeros(n_docs, dtype=bool)
    in_left[ld] = True
    in_right = np.zeros(n_docs, dtype=bool)
    in_right[rd] = True
    u = v = np.zeros(0, np.int64)
    sim = np.zeros(0, np.float32)
    stats = NearDupStats()
    if near and n_docs:
        all_docs = np.concatenate([ld, rd]) if not same else ld
        all_text = pa.concat_arrays([left.text, rs.text]) if not same else left.text
        doc_text = all_text.take(pa.array(first_rows(all_docs, n_docs)))
        if empty_doc != NO_MATCH:
            doc_text = pc.if_else(pc.equal(pa.array(np.arange(n_docs)), empty_doc), "", doc_text)
        t1 = time.perf_counter()
        cross = None if (within or same) else (in_left, in_right)
        res = near_pairs(doc_text, settings, cross, executor, partitions=partitions)
        u, v, sim, stats = res.i, res.j, res.similarity, res.stats
        timings["near"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    if same:
        # Within one source a record's match must be another record: use self-duplicate structure.
        l2r = _self_best(lp, ld, n_docs, empty_plain, empty_doc, u, v, sim)
        r2l = l2r
    else:
        near_l, sim_l = _best_from_pairs(n_docs, u, v, sim, in_right)
        near_r, sim_r = _best_from_pairs(n_docs, u, v, sim, in_left)
        l2r = _one_way(lp, rp, n_plain, empty_plain, ld, rd, n_docs, empty_doc, near_l, sim_l)
        r2l = _one_way(rp, lp, n_plain, empty_plain, rd, ld, n_docs, empty_doc, near_r, sim_r)
    left_dups = _self_duplicates(lp, ld, n_docs, empty_doc, u, v) if within or same else None
    right_dups = None if same or not within else _self_duplicates(rp, rd, n_docs, empty_doc, u, v)
    timings["match"] = time.perf_counter() - t2
    return OverlapResult(l2r, r2l, left_dups, right_dups, stats, n_docs, ld, rd, (u, v, sim), timings)


def _self_best(
    plain: I64,
    doc: I64,
    n_docs: int,
    empty_plain: int,
    empty_doc: int,
    u: I64,
    v: I64,
    sim: npt.NDArray[np.float32],
) -> BestMatch:
    """Best match of every record among the *other* records of the same source."""
    n = len(plain)
    rows = np.arange(n, dtype=np.int64)
    partner = np.full(n, NO_MATCH, dtype=np.int64)
    kind = np.full(n, -1, dtype=np.int8)
    out_sim = np.zeros(n, dtype=np.float32)
    for k, codes, empty in ((0, plain, empty_plain), (1, doc, empty_doc)):
        n_codes = int(codes.max(initial=-1)) + 1
        first = first_rows(codes, n_codes)
        # The second row of each code, for the first row's own partner.
        second = np.full(n_codes, NO_MATCH, dtype=np.int64)
        later = rows != first[codes]
        second[codes[later][::-1]] = rows[later][::-1]
        cand = np.where(first[codes] != rows, first[codes], second[codes])
        ok = (cand != NO_MATCH) & (kind < 0) & (codes != empty)
        partner[ok], kind[ok], out_sim[ok] = cand[ok], k, 1.0
    present = np.ones(n_docs, dtype=bool)
    near_best, near_sim = _best_from_pairs(n_docs, u, v, sim, present)
    first_doc = first_rows(doc, n_docs)
    nb = near_best[doc]
    ok = (nb != NO_MATCH) & (kind < 0) & (doc != empty_doc)
    partner[ok] = first_doc[nb[ok]]
    kind[ok] = 2
    out_sim[ok] = near_sim[doc[ok]]
    return BestMatch(partner, kind, out_sim)
