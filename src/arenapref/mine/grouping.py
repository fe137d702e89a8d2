"""The grouping of a mining run: prompt groups, and the records that cannot be paired within them.

Optionally merge keys whose prompts are near-duplicates; drop exact duplicate records (same key,
identical answer: the top team's rule) and answers that are the same after normalisation or nearly the
same as an earlier answer in the group (a pair of them teaches nothing); mark groups left with one model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.compare.near import NearDupSettings, clusters, near_pairs, shingle_hashes, verify
from arenapref.compare.normalize import TURN_SEPARATOR, normalize_texts, normalize_turns
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.mine import filters as F
from arenapref.mine.store import TextStore, text_store

# Answer-repeat search (see answer_pairs_to_compare).
LENGTH_WINDOW = 8
END_CHARS = 40
ENDS_CHUNK = 65536
SHORT_ANSWER_CHARS = 200
SHORT_SLACK_CHARS = 16
PAIR_CHUNK = 4096


def _first_per_component(rids: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Given edges between positions of ``rids``, the positions that are not the first of their component."""
    labels = clusters(len(rids), a, b)
    frame = pl.DataFrame({"label": labels, "rid": rids, "pos": np.arange(len(rids))})
    first = frame.select(pl.col("rid").min().over("label") != pl.col("rid")).to_series().to_numpy()
    return np.asarray(frame.get_column("pos").to_numpy()[first])


def _ends(store: TextStore, tids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the first and of the last ``END_CHARS`` characters of each normalised answer.

    Only the ends are normalised (slices of ``2 * END_CHARS`` characters), so this costs a fixed amount
    per answer, not its length.
    """
    order = np.argsort(tids, kind="stable")
    head = np.zeros(len(tids), dtype=np.uint64)
    tail = np.zeros(len(tids), dtype=np.uint64)
    span = 2 * END_CHARS
    # Chunks in store order read each spilled batch about once; only the ends stay in memory.
    for start in range(0, len(order), ENDS_CHUNK):
        part = order[start : start + ENDS_CHUNK]
        flat = pl.from_arrow(store.take(tids[part]).column("answers"))
        assert isinstance(flat, pl.Series)
        joined = flat.list.join(TURN_SEPARATOR)
        heads = pl.Series(normalize_texts(joined.str.slice(0, span).to_arrow()))
        tails = pl.Series(normalize_texts(joined.str.slice(-span).to_arrow()))
        head[part] = heads.str.slice(0, END_CHARS).hash(seed=1).to_numpy()
        tail[part] = tails.str.slice(-END_CHARS).hash(seed=2).to_numpy()
    return head, tail


def answer_pairs_to_compare(
    check: pl.DataFrame, store: TextStore, similarity: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows of ``check`` worth comparing: same group, same normalised start or end, close lengths.

    Near-identical answers (5-gram Jaccard >= 0.9) almost always keep their first or their last
    ``END_CHARS`` characters: an edit would have to touch both ends. Jaccard >= t also needs lengths
    within a factor t (short answers, under ``SHORT_ANSWER_CHARS``, are compared when within
    ``SHORT_SLACK_CHARS``, so that "Paris" and "Paris." meet). Inside a bucket of equal (group, end),
    records are sorted by length and each is compared with its next ``LENGTH_WINDOW`` neighbours only,
    which bounds the work where thousands of answers open alike (greetings). These are the documented
    approximations that keep the check proportional to the few plausible pairs, not to all text.
    """
    head, tail = _ends(store, check.get_column("tid").to_numpy())
    base = check.select(pl.col("group").rank("dense").alias("g"), "alen").with_row_index("pos")
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for end in (head, tail):
        frame = base.with_columns(pl.Series("e", end)).sort(["g", "e", "alen", "pos"])
        g = frame.get_column("g").to_numpy()
        e = frame.get_column("e").to_numpy()
        length = frame.get_column("alen").to_numpy().astype(np.float64)
        pos = frame.get_column("pos").to_numpy().astype(np.int64)
        for w in range(1, LENGTH_WINDOW + 1):
            a = np.arange(max(len(g) - w, 0))
            b = a + w
            short = length[b] < SHORT_ANSWER_CHARS
            close = (length[a] >= similarity * length[b]) | (
                short & (length[b] - length[a] <= SHORT_SLACK_CHARS)
            )
            keep = (g[a] == g[b]) & (e[a] == e[b]) & close
            left.append(np.minimum(pos[a[keep]], pos[b[keep]]))
            right.append(np.maximum(pos[a[keep]], pos[b[keep]]))
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([np.concatenate(left), np.concatenate(right)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _repeated(store: TextStore, tid_a: np.ndarray, tid_b: np.ndarray, similarity: float) -> np.ndarray:
    """Which answer pairs are equal after normalisation or have 5-gram Jaccard >= ``similarity``.

    Pairs are checked in chunks so that shingles of at most ``PAIR_CHUNK`` pairs are in memory at once.
    """
    out = np.zeros(len(tid_a), dtype=bool)
    near = NearDupSettings(threshold=similarity)
    for start in range(0, len(tid_a), PAIR_CHUNK):
        a, b = tid_a[start : start + PAIR_CHUNK], tid_b[start : start + PAIR_CHUNK]
        rows, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
        ia, ib = inverse[: len(a)], inverse[len(a) :]
        norm = normalize_turns(store.take(rows).column("answers"), mask=False)
        texts = np.asarray(norm.to_pylist(), dtype=object)
        equal = texts[ia] == texts[ib]
        flat, offsets = shingle_hashes(norm, near)
        vi, vj, _ = verify(flat, offsets, ia, ib, similarity)
        code = ia * len(rows) + ib
        out[start : start + len(a)] = equal | np.isin(code, vi * len(rows) + vj)
    return out


def near_identical_answers(check: pl.DataFrame, store: TextStore, similarity: float | None) -> np.ndarray:
    """Rows of ``check`` (rid, group, tid, alen) whose answer repeats an earlier one of the same group.

    A repeat is an answer equal after normalisation (case, spacing, punctuation runs) to another answer of
    the group or, when ``similarity`` is set, with byte 5-gram Jaccard at or above it (exact, via
    compare.near). Only plausible pairs are compared (``answer_pairs_to_compare``), which keeps the cost
    proportional to those pairs' text rather than to all answers. Of each connected set of repeats the first
    record (in input order) stays.
    """
    threshold = 1.0 if similarity is None else similarity
    a, b = answer_pairs_to_compare(check, store, threshold)
    tid = check.get_column("tid").to_numpy()
    hit = _repeated(store, tid[a], tid[b], threshold) if len(a) else np.zeros(0, dtype=bool)
    rid = check.get_column("rid").to_numpy()
    return _first_per_component(rid, a[hit], b[hit])


def near_prompt_groups(ok: pl.DataFrame, store: TextStore, threshold: float) -> pl.DataFrame:
    """Map each prompt key to the smallest key of its near-duplicate cluster (``--near``).

    One representative prompt per key is compared (masked, normalised text; compare.near), so the work is
    per distinct prompt, not per record.
    """
    reps = ok.group_by("key").agg(pl.col("tid").first()).sort("key")
    prompts = store.take(reps.get_column("tid").to_numpy()).column("prompts")
    found = near_pairs(normalize_turns(prompts, mask=True), NearDupSettings(threshold=threshold))
    labels = clusters(reps.height, found.i, found.j)
    return (
        reps.select("key")
        .with_columns(pl.Series("label", labels))
        .select("key", pl.col("key").min().over("label").alias("group"))
    )


@dataclass(frozen=True)
class GroupSettings:
    """What the grouping needs of a mining run's settings: the near-duplicate prompt threshold (None:
    group by exact key only) and the answer similarity above which an answer repeats another (the defaults
    are ``MineSettings``')."""

    near_threshold: float | None
    answer_similarity: float | None


def group_records(recs: pl.DataFrame, store: TextStore, settings: GroupSettings) -> pl.DataFrame:
    """The records that passed the filters with their ``group`` and group-stage verdict (``stage_reason``).

    Returns columns rid, group, model, tid, stage_reason (null = still a candidate for pairing).
    """
    ok = recs.filter(pl.col("filter") == 0).select("rid", "key", "model", "ahash", "alen", "tid")
    if settings.near_threshold is not None and ok.height:
        ok = ok.join(near_prompt_groups(ok, store, settings.near_threshold), on="key", how="left")
        ok = ok.sort("rid").drop("key")
    else:
        ok = ok.rename({"key": "group"})
    dup = ~pl.struct("group", "ahash").is_first_distinct()
    ok = ok.with_columns(pl.when(dup).then(pl.lit(F.DUPLICATE)).alias("stage_reason"))
    # Repeated answers only matter where a pair could form: groups with two models.
    live = pl.col("stage_reason").is_null()
    multi = pl.col("model").filter(live).n_unique().over("group") >= 2
    check = ok.filter(live & multi)
    if check.height:
        near = near_identical_answers(check, store, settings.answer_similarity)
        near_rids = check.get_column("rid").gather(near).implode()
        ok = ok.with_columns(
            pl.when(pl.col("rid").is_in(near_rids))
            .then(pl.lit(F.NEAR_IDENTICAL))
            .otherwise(pl.col("stage_reason"))
            .alias("stage_reason")
        )
    live_models = pl.col("model").filter(pl.col("stage_reason").is_null()).n_unique().over("group")
    ok = ok.with_columns(
        pl.when(pl.col("stage_reason").is_null() & (live_models < 2))
        .then(pl.lit(F.SINGLE_MODEL))
        .otherwise(pl.col("stage_reason"))
        .alias("stage_reason")
    )
    return ok.select("rid", "group", "model", "tid", "stage_reason")


#: Seed of the partition hash (any fixed value: the result does not depend on the partitioning).
PARTITION_SEED = 31


@dataclass
class GroupPartition:
    """Every passing record of some prompt groups, and the answers of those a worker may compare.

    ``records``: rid, key (the group), model, ahash, alen, tid (the driver's text id), filter.
    ``shipped``: rows of ``records`` whose answers are in ``answers``, in that order.
    """

    records: pl.DataFrame
    shipped: np.ndarray
    answers: pa.Array


def group_partition(part: GroupPartition, settings: GroupSettings) -> pl.DataFrame:
    """The per-block work of the grouping: ``group_records`` over one partition's groups.

    The shipped answers go to a spill file of the worker's own; text ids are renumbered into it for the
    call and given back afterwards (rows not shipped are never read: see ``GroupStep``).
    """
    local = np.full(part.records.height, -1, dtype=np.int64)
    local[part.shipped] = np.arange(len(part.shipped))
    records = part.records.with_columns(pl.Series("tid", pa.array(local, pa.int64(), mask=local < 0)))
    with text_store() as store:
        store.append(pa.nulls(len(part.answers), TextStore.SCHEMA.field("prompts").type), part.answers)
        grouped = group_records(records, store, replace(settings, near_threshold=None))
    tids = part.records.select("rid", "tid")
    return grouped.drop("tid").join(tids, on="rid").select("rid", "group", "model", "tid", "stage_reason")


class GroupStep(BlockStep[GroupPartition, pl.DataFrame, pl.DataFrame]):
    """``group_records`` over hash partitions of the prompts (twice the workers unless ``partitions``).

    Every record of a prompt group lands in one partition, and every rule of ``group_records`` looks
    inside one group only, in row order, so the partitions' results concatenated and sorted by row id
    are the frame of one pass, whatever the partitioning. With near-duplicate prompt groups the clusters
    span keys, so they are found on the driver first (one text per distinct prompt) and the partitions
    are cut by cluster. Only the answers of prompts answered by two or more models are shipped:
    ``group_records`` compares answers only within groups that still have two models after the duplicate
    rule, a subset of those. What stays on the driver: the light columns of every record and the answers
    of the partitions in flight.
    """

    def __init__(
        self, recs: pl.DataFrame, store: TextStore, settings: GroupSettings, partitions: int | None = None
    ) -> None:
        self.recs, self.store, self.settings, self.partitions = recs, store, settings, partitions

    def blocks(self, workers: int) -> Iterator[GroupPartition]:
        light = ("rid", "key", "model", "ahash", "alen", "tid", "filter")
        ok = self.recs.filter(pl.col("filter") == 0).select(light)
        if self.settings.near_threshold is not None:
            clusters = near_prompt_groups(ok, self.store, self.settings.near_threshold)
            ok = ok.join(clusters, on="key", how="left").sort("rid")
            ok = ok.with_columns(pl.col("group").alias("key")).drop("group")
        n = max(1, self.partitions or 2 * workers)
        ok = ok.with_columns(
            (pl.col("key").hash(seed=PARTITION_SEED) % n).alias("part"),
            (pl.col("model").n_unique().over("key") >= 2).alias("ship"),
        )
        # Lazily, so the driver reads a partition's answers only when its task is submitted.
        for frame in ok.partition_by("part", maintain_order=True, include_key=False):
            shipped = np.flatnonzero(frame.get_column("ship").to_numpy())
            tids = frame.get_column("tid").to_numpy()[shipped]
            answers = self.store.take(tids).column("answers").combine_chunks()
            yield GroupPartition(frame.drop("ship"), shipped, answers)

    @property
    def work(self) -> Callable[[GroupPartition], pl.DataFrame]:
        return partial(group_partition, settings=self.settings)

    def merge(self, parts: Iterator[pl.DataFrame]) -> pl.DataFrame:
        return pl.concat(list(parts)).sort("rid")

    def whole(self) -> pl.DataFrame:
        return group_records(self.recs, self.store, self.settings)


def group(
    recs: pl.DataFrame,
    store: TextStore,
    settings: GroupSettings,
    executor: Executor | None = None,
    partitions: int | None = None,
) -> pl.DataFrame:
    """``group_records`` of every record, on ``executor`` per prompt partition when one is given."""
    if recs.filter(pl.col("filter") == 0).height == 0:
        return group_records(recs, store, settings)
    return run_step(GroupStep(recs, store, settings, partitions), executor)
