"""Mine battle pairs from single-model conversations: the ``arenapref mine`` pipeline as plain functions.

LMSYS-Chat-1M holds one model per conversation, but many prompts reached several models. The pipeline,
each step a short function over columns (no per-record Python on the million-record path):

1. ``scan``: stream every source, apply the record filters (``filters.inspect_batch``), key each record by
   the placeholder-aware key of its user turns (``compare.normalize.turns_keys``), and spill the used turns
   to a memory-mapped Arrow file, so that peak memory holds only light per-record columns, not the text.
2. ``group``: optionally merge keys whose prompts are near-duplicates; drop exact duplicate records (same key,
   identical answer: the top team's rule) and answers that are the same after normalisation or nearly the
   same as an earlier answer in the group (a pair of them teaches nothing).
3. ``pair``: keep groups answered by two or more models and match records of different models
   (``pairing.match``), then the caps.
4. ``build``: assemble battles with each side in slot A or B at random (seeded), run the leakage guard against
   every excluded source, and count everything in the funnel.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arenapref.atomic import atomic_path, output_suffix, refuse_input_as_output
from arenapref.compare.guard import find_leaks, read_protected
from arenapref.compare.near import NearDupSettings, clusters, near_pairs, shingle_hashes, verify
from arenapref.compare.normalize import TURN_SEPARATOR, normalize_texts, normalize_turns
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.mine import filters as F
from arenapref.mine.filters import ERROR_TEXTS, FilterSettings, error_regex, inspect_batch
from arenapref.mine.funnel import Funnel
from arenapref.mine.pairing import PairingSettings, apply_caps, match
from arenapref.mine.regenerate import RegenerateSettings, regenerate
from arenapref.mine.settings import MineSettings
from arenapref.readers import Source, open_source
from arenapref.records import BATTLE_SCHEMA
from arenapref.writers import write_competition_csv

# Answer-repeat search (see answer_pairs_to_compare).
LENGTH_WINDOW = 8
END_CHARS = 40
ENDS_CHUNK = 65536
SHORT_ANSWER_CHARS = 200
SHORT_SLACK_CHARS = 16
PAIR_CHUNK = 4096
MINED_SOURCE = "mined"
REGENERATED_SOURCE = "regenerated"

DROPPED_SCHEMA = pa.schema(
    [
        pa.field("stage", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("conversation_ids", pa.list_(pa.string())),
        pa.field("models", pa.list_(pa.string())),
        pa.field("source", pa.string()),
        pa.field("group_key", pa.string()),
        pa.field("detail", pa.string()),
    ]
)


def filter_settings(settings: MineSettings) -> FilterSettings:
    return FilterSettings(
        settings.key, settings.languages, settings.min_answer_chars, settings.max_answer_chars, ERROR_TEXTS
    )


def pairing_settings(settings: MineSettings) -> PairingSettings:
    return PairingSettings(
        settings.max_uses, settings.max_pairs_per_prompt, settings.max_pairs_per_model_pair, settings.seed
    )


@dataclass(repr=False)
class MineResult(NotebookResult):
    """Mined battles (BATTLE_SCHEMA plus group_key, language, topic), the funnel and every dropped record.

    ``to_arrow()`` is the mined battles (``dropped`` holds the drops).
    """

    pairs: pa.Table
    funnel: Funnel
    dropped: pa.Table

    def to_arrow(self) -> pa.Table:
        return self.pairs

    def summary_lines(self) -> list[str]:
        f = self.funnel
        return [
            f"{f.pairs_out:,} pairs from {f.total_in:,} records ({f.groups:,} prompt groups, "
            f"{f.minable_groups:,} with two or more models); {self.dropped.num_rows:,} records dropped",
            *(f"dropped: {k} {v:,}" for k, v in list(f.dropped.items())[:6]),
        ]


class TextStore:
    """The used turns of every record that passed the filters, spilled to an Arrow IPC file.

    Why spill: the full LMSYS-Chat-1M text is several GB, and only the records that end up in pairs need
    their text again. Rows are read back batch by batch (plain reads, not a memory map, whose touched
    pages would count as resident memory), so taking rows costs the batches that hold them and the rows
    themselves, never the whole file.
    """

    SCHEMA = pa.schema(
        [pa.field("prompts", pa.list_(pa.string())), pa.field("answers", pa.list_(pa.string()))]
    )

    def __init__(self, directory: Path) -> None:
        self.path = directory / "texts.arrow"
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(self._sink, self.SCHEMA)
        self._starts: list[int] = []
        self.rows = 0
        self._source: pa.OSFile | None = None
        self._reader: pa.ipc.RecordBatchFileReader | None = None

    def append(self, prompts: pa.Array, answers: pa.Array) -> np.ndarray:
        """Store rows; returns their row numbers in the store."""
        assert self._writer is not None, "the store is read-only once rows have been taken"
        self._writer.write_batch(pa.record_batch([prompts, answers], schema=self.SCHEMA))
        self._starts.append(self.rows)
        ids = np.arange(self.rows, self.rows + len(prompts), dtype=np.int64)
        self.rows += len(prompts)
        return ids

    def _open(self) -> pa.ipc.RecordBatchFileReader:
        if self._reader is None:
            self._finish_writing()
            self._source = pa.OSFile(str(self.path), "rb")
            self._reader = pa.ipc.open_file(self._source)
        return self._reader

    def _finish_writing(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def take(self, rows: np.ndarray) -> pa.Table:
        """The stored rows ``rows`` (any order, repeats allowed), in that order."""
        reader = self._open()
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        starts = np.asarray(self._starts, dtype=np.int64)
        batch_of = np.searchsorted(starts, wanted, side="right") - 1
        cuts = np.flatnonzero(np.diff(batch_of)) + 1
        parts = []
        for chunk in np.split(np.arange(len(wanted)), cuts) if len(wanted) else []:
            b = int(batch_of[chunk[0]])
            batch = reader.get_batch(b)
            parts.append(batch.take(pa.array(wanted[chunk] - starts[b], pa.int64())))
        taken = pa.Table.from_batches(parts, schema=self.SCHEMA)
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order))
        return taken.take(pa.array(back, pa.int64()))

    def close(self) -> None:
        self._finish_writing()
        if self._source is not None:
            self._source.close()
        self._reader = None
        self._source = None


@contextmanager
def text_store(work_dir: Path | None = None) -> Iterator[TextStore]:
    with tempfile.TemporaryDirectory(prefix="arenapref-mine-", dir=work_dir) as tmp:
        store = TextStore(Path(tmp))
        try:
            yield store
        finally:
            store.close()


def _answer_hash(answers: pa.Array) -> pa.Array:
    """A 64-bit hash of the exact answer turns (stable within one run, which is all dedup needs)."""
    series = pl.from_arrow(answers)
    assert isinstance(series, pl.Series)  # from_arrow of an Array is always a Series
    return series.list.join("\x1f").hash(seed=0).to_arrow()


KEY_SEEDS = (21, 22)


def hex_keys(k1: np.ndarray, k2: np.ndarray) -> pa.Array:
    """32 hex characters per row from two 64-bit lanes, without a Python loop (one ``bytes.hex`` call)."""
    n = len(k1)
    lanes = np.empty((n, 2), dtype=">u8")
    lanes[:, 0], lanes[:, 1] = k1, k2
    data = lanes.tobytes().hex().encode("ascii")
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


class KeyCache:
    """Group keys by a 64-bit hash of the raw user turns, so each distinct prompt is normalised once.

    Why: normalising is the costly part of keying (a dozen regex passes), and popular prompts repeat
    thousands of times across shards. A 64-bit collision between two different raw prompts among a
    million has a probability around 1e-8.

    Why not ``compare.normalize.turns_keys``: its BLAKE2b keys are stable across versions (compare and
    topics rely on that) but hashing in Python cost as much as the regexes. A group key only has to be
    equal for equal normalised prompts within one run, so it is two seeded Polars hashes of the normalised
    text (128 bits), computed in Rust; the cache is sorted NumPy arrays, looked up with ``searchsorted``.
    """

    def __init__(self) -> None:
        self._raw = np.zeros(0, dtype=np.uint64)  # sorted raw hashes seen so far
        self._k1 = np.zeros(0, dtype=np.uint64)
        self._k2 = np.zeros(0, dtype=np.uint64)

    @staticmethod
    def _fresh(prompts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        norm = pl.Series(normalize_turns(prompts, mask=True))
        return norm.hash(KEY_SEEDS[0]).to_numpy(), norm.hash(KEY_SEEDS[1]).to_numpy()

    def keys(self, prompts: pa.Array) -> pa.Array:
        """The group key of every row of ``prompts`` (list<string>), as 32 hex characters."""
        raw = pl.from_arrow(prompts)
        assert isinstance(raw, pl.Series)  # from_arrow of an Array is always a Series
        hashes = raw.list.join(TURN_SEPARATOR).hash(seed=0).to_numpy()
        uniq, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        pos = np.searchsorted(self._raw, uniq)
        known = pos < len(self._raw)
        known[known] = self._raw[pos[known]] == uniq[known]
        if not known.all():
            rows = first[~known]
            k1, k2 = self._fresh(prompts.take(pa.array(rows, pa.int64())))
            raw_all = np.concatenate([self._raw, uniq[~known]])
            order = np.argsort(raw_all, kind="stable")
            self._raw = raw_all[order]
            self._k1 = np.concatenate([self._k1, k1])[order]
            self._k2 = np.concatenate([self._k2, k2])[order]
            pos = np.searchsorted(self._raw, uniq)
        at = pos[inverse]
        return hex_keys(self._k1[at], self._k2[at])


@dataclass
class ScannedBatch:
    """One batch after the filters: light per-record columns, and the used turns of the records kept."""

    columns: pl.DataFrame  # cid, model, language, filter, key, ahash, alen: one row per record
    kept: np.ndarray  # per record, its row in ``prompts``/``answers``; -1 where a filter dropped it
    prompts: pa.Array
    answers: pa.Array


def scan_batch(batch: pa.RecordBatch, filters: FilterSettings, key_cache: KeyCache) -> ScannedBatch:
    """Filter, key and hash one batch of records (no text is stored yet: ``scan`` does that)."""
    n = batch.num_rows
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
    return ScannedBatch(columns, where, prompts, answers)


def scan_source(source: Source, filters: FilterSettings) -> Iterator[ScannedBatch]:
    """Every batch of one source, scanned in order (``executors.mine`` runs this per file)."""
    key_cache = KeyCache()
    for batch in source.batches():
        yield scan_batch(batch, filters, key_cache)


#: ``scan_source``'s shape: a source's scanned batches in source order (its rejects in its log).
SourceScanner = Callable[[Source, FilterSettings], Iterable[ScannedBatch]]


def scan(
    sources: Sequence[Source],
    settings: MineSettings,
    store: TextStore,
    funnel: Funnel,
    progress: Callable[[str, int], None] | None = None,
    scanner: SourceScanner = scan_source,
) -> pl.DataFrame:
    """Filter and key every record of every source; texts of the records that passed go to ``store``.

    Texts are appended in source and batch order, so row ids and text ids do not depend on where
    ``scanner`` ran the batches.
    """
    fs = filter_settings(settings)
    frames: list[pl.DataFrame] = []
    for src in sources:
        n_in = 0
        for part in scanner(src, fs):
            n = part.columns.height
            n_in += n
            spread = pa.array(part.kept, pa.int64(), mask=part.kept < 0)
            tids = pa.array(store.append(part.prompts, part.answers)).take(spread)
            frames.append(
                part.columns.select(
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
            if progress is not None:
                progress("scan", n)
        funnel.records_in[src.name] = funnel.records_in.get(src.name, 0) + n_in
        if len(src.rejects):
            funnel.unreadable[src.name] = len(src.rejects)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, rechunk=True).with_row_index("rid")


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


def group_records(recs: pl.DataFrame, store: TextStore, settings: MineSettings) -> pl.DataFrame:
    """The records that passed the filters with their ``group`` and group-stage verdict (``stage_reason``).

    Returns columns rid, group, model, tid, stage_reason (null = still a candidate for pairing).
    """
    ok = recs.filter(pl.col("filter") == 0).select("rid", "key", "model", "ahash", "alen", "tid")
    if settings.near and ok.height:
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


#: ``group_records``'s shape: (records, text store, settings) -> grouped records.
Grouper = Callable[[pl.DataFrame, TextStore, MineSettings], pl.DataFrame]


def _pair_id(a: str, b: str) -> str:
    return "mine-" + hashlib.blake2b(f"{a}\x1f{b}".encode(), digest_size=8).hexdigest()


def guard_pairs(
    table: pa.Table, protect: list[pa.Table], names: list[str], settings: MineSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``table`` whose prompt leaks into a protected source, with reason ("leak_<kind>") and detail.

    The guard compares the same turns the pairs were grouped by (all user turns, or the first one).
    """
    leaks = find_leaks(table, protect, settings.exclude_threshold, turns=settings.key, protect_names=names)
    rows = leaks.column("row").to_numpy()
    reason = np.array([f"leak_{r}" for r in leaks.column("reason").to_pylist()], dtype=object)
    detail = np.array(
        [
            f"matches {pid} in {names[src]} (rule {rule}, similarity {sim:.2f}, {scope.replace('_', ' ')})"
            for pid, src, rule, sim, scope in zip(
                leaks.column("protected_id").to_pylist(),
                leaks.column("protected_source").to_pylist(),
                leaks.column("rule").to_pylist(),
                leaks.column("similarity").to_pylist(),
                leaks.column("scope").to_pylist(),
                strict=True,
            )
        ],
        dtype=object,
    )
    return rows, reason, detail


def regenerate_pairs(
    recs: pl.DataFrame,
    grouped: pl.DataFrame,
    store: TextStore,
    settings: MineSettings,
    regen: RegenerateSettings,
    protect: list[pa.Table],
    funnel: Funnel,
) -> tuple[pa.Table, np.ndarray, pl.DataFrame]:
    """Pairs of (original answer, regenerated answer) for single-model prompt groups.

    One record per single-model group (its first), multi-turn ones included (every assistant turn is
    regenerated, see ``mine.regenerate``), not already answered by the regeneration model, and not leaking
    into a protected source (checked before anything is sent, so no money is spent on a prompt that would
    be dropped). Returns the battles, the record ids they use, and
    one row per prompt that did not become a pair (for the dropped file).
    """
    singles = (
        grouped.filter(pl.col("stage_reason") == F.SINGLE_MODEL)
        .group_by("group", maintain_order=True)
        .agg(pl.col("rid").first(), pl.col("model").first(), pl.col("tid").first())
        .filter(pl.col("model") != regen.model)
    )
    counts: dict[str, int] = {"single_model_groups": singles.height}
    texts = store.take(singles.get_column("tid").to_numpy())
    counts["multi_turn"] = int(
        pc.sum(pc.greater(pc.list_value_length(texts.column("prompts")), 1)).as_py() or 0
    )
    if regen.max_prompts is not None and singles.height > regen.max_prompts:
        counts["skipped_max_prompts"] = singles.height - regen.max_prompts
        singles, texts = singles.head(regen.max_prompts), texts.slice(0, regen.max_prompts)
    failed: list[tuple[int, str, str]] = []
    if protect and singles.height:
        probe = pa.table(
            {
                "id": pa.array([str(i) for i in range(singles.height)]),
                "prompt": texts.column("prompts"),
                "response_a": texts.column("answers"),
                "response_b": texts.column("answers"),
            }
        )
        leaks = find_leaks(probe, protect, settings.exclude_threshold, turns=settings.key)
        leaking = np.zeros(singles.height, dtype=bool)
        leaking[leaks.column("row").to_numpy()] = True
        counts["excluded_before_asking"] = int(leaking.sum())
        failed += [(int(r), "regen_leak", "") for r in singles.filter(pl.Series(leaking)).get_column("rid")]
        singles, texts = singles.filter(pl.Series(~leaking)), texts.filter(pa.array(~leaking))
    prompts = [[turn or "" for turn in turns] for turns in texts.column("prompts").to_pylist()]
    result = regenerate(prompts, regen)
    counts.update({k: v for k, v in result.counts.items() if k != "asked"})
    counts["asked"] = len(prompts)
    pattern = error_regex(ERROR_TEXTS)
    good = np.zeros(len(prompts), dtype=bool)
    for k, (answer, reason) in enumerate(zip(result.answers, result.reasons, strict=True)):
        rid = int(singles.get_column("rid")[k])
        bad = [a for a in answer or [] if not a.strip() or (pattern is not None and re.search(pattern, a))]
        if answer is None:
            failed.append((rid, f"regen_{reason}", ""))
        elif bad:
            failed.append((rid, "regen_bad_answer", bad[0][:200]))
        else:
            good[k] = True
    counts["pairs"] = int(good.sum())
    funnel.regenerated = counts
    funnel.settings["regenerate"] = {
        "model": regen.model,
        "base_url": regen.base_url,
        "cost_usd": round(result.cost, 6),
    }
    keep = np.nonzero(good)[0]
    rids = singles.get_column("rid").to_numpy()[keep]
    new_answers = pa.array([result.answers[k] for k in keep], pa.list_(pa.string()))
    orig = texts.take(pa.array(keep, pa.int64()))
    m = len(keep)
    flip = np.random.default_rng([settings.seed, 3]).random(m) < 0.5
    both = pa.chunked_array([orig.column("answers").combine_chunks(), new_answers])
    idx = np.arange(m)
    orig_models = recs.get_column("model").gather(rids).to_list()
    cids = recs.get_column("cid").gather(rids).to_list()
    regen_id = f"regenerated:{regen.model}"
    model_a = [regen.model if f else om for f, om in zip(flip, orig_models, strict=True)]
    model_b = [om if f else regen.model for f, om in zip(flip, orig_models, strict=True)]
    prov = [[regen_id, c] if f else [c, regen_id] for f, c in zip(flip, cids, strict=True)]
    table = pa.table(
        {
            "id": pa.array([_pair_id(p[0], p[1]) for p in prov], pa.string()),
            "prompt": orig.column("prompts"),
            "response_a": both.take(pa.array(np.where(flip, idx + m, idx))),
            "response_b": both.take(pa.array(np.where(flip, idx, idx + m))),
            "model_a": pa.array(model_a, pa.string()),
            "model_b": pa.array(model_b, pa.string()),
            "p_a": pa.nulls(m, pa.float64()),
            "p_b": pa.nulls(m, pa.float64()),
            "p_tie": pa.nulls(m, pa.float64()),
            "source": pa.array([REGENERATED_SOURCE] * m, pa.string()),
            "provenance": pa.array(prov, pa.list_(pa.string())),
            "group_key": singles.get_column("group").gather(keep).to_arrow().cast(pa.string()),
            "language": recs.get_column("language").gather(rids).to_arrow().cast(pa.string()),
        }
    )
    failures = pl.DataFrame(
        {"rid": [f[0] for f in failed], "reason": [f[1] for f in failed], "detail": [f[2] for f in failed]},
        schema={"rid": pl.UInt32, "reason": pl.String, "detail": pl.String},
    )
    return table, rids, failures


def mine_pairs(
    sources: Sequence[object],
    settings: MineSettings | None = None,
    *,
    exclude: Sequence[object] = (),
    topics: str | Path | None = None,
    regenerate: RegenerateSettings | None = None,
    work_dir: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
    scanner: SourceScanner = scan_source,
    grouper: Grouper = group_records,
) -> MineResult:
    """Mine different-model battle pairs from conversation sources (see the module docstring).

    ``sources``: paths, reader ``Source`` objects, pyarrow Tables or pandas/polars DataFrames of
    conversations. ``exclude``: protected sources (the same kinds, any record kind) no mined prompt may
    leak into; one without prompts is an error.
    ``topics``: a topic map folder (``arenapref topics fit``); adds ``topic`` and ``topic_label`` columns.
    ``regenerate``: ask an OpenAI-compatible endpoint for second answers to single-model prompts.
    ``work_dir``: where the temporary text spill goes (the system temp folder by default).
    ``progress``: called as ``progress(stage, records)`` while the scan reads records (``records`` new
    records) and once at the start of every later stage (``records`` 0); the CLI draws its bar from it.
    ``scanner`` and ``grouper``: where the per-record scan (``scan_source``) and the grouping
    (``group_records``) run; ``executors.mine`` passes ones that run them on a cluster.
    """
    settings = settings or MineSettings()
    opened = [open_source(s) for s in sources]
    for src in opened:
        if src.kind != "conversations":
            raise ArenaprefError(f"{src.path} holds {src.kind}; mining needs conversations (one model each)")
    tell = progress or (lambda stage, n: None)
    # Read (and check) the protected sources first: one with no prompts is an error before any work.
    protect, protect_names = read_protected(exclude) if exclude else ([], [])
    topic_model = None
    if topics is not None:
        # Imported here: the topic map pulls in scikit-learn, which most mining runs do not need.
        from arenapref.topics import load_model, with_topic_columns

        topic_model = load_model(topics)
    funnel = Funnel(settings={**settings.model_dump(), "error_texts": len(ERROR_TEXTS)})
    clock = time.perf_counter()

    def lap(name: str, following: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        funnel.seconds[name] = round(now - clock, 3)
        clock = now
        tell(following, 0)

    with text_store(work_dir) as store:
        recs = scan(opened, settings, store, funnel, tell, scanner)
        lap("scan", "group")
        if recs.height == 0:
            return MineResult(BATTLE_SCHEMA.empty_table(), funnel, DROPPED_SCHEMA.empty_table())
        grouped = grouper(recs, store, settings)
        lap("group", "pair")
        cand, pairs, pair_reason = _pair(grouped, settings)
        lap("pair", "build")
        kept = np.nonzero(pair_reason == "")[0]
        table = _build(recs, cand, pairs[kept], store, settings)
        lap("build", "guard" if protect else "finish")
        regen_rids = np.zeros(0, dtype=np.int64)
        regen_failed: pl.DataFrame | None = None
        if regenerate is not None:
            regen_table, regen_rids, regen_failed = regenerate_pairs(
                recs, grouped, store, settings, regenerate, protect, funnel
            )
            lap("regenerate", "guard")
    pair_detail = np.full(len(pairs), "", dtype=object)
    if protect:
        rows, reason, detail = guard_pairs(table, protect, protect_names, settings)
        pair_reason[kept[rows]] = reason
        pair_detail[kept[rows]] = detail
        leaked = np.zeros(table.num_rows, dtype=bool)
        leaked[rows] = True
        table = table.filter(pa.array(~leaked))
        lap("guard", "finish")
    if regenerate is not None:
        table = pa.concat_tables([table, regen_table])
    if topic_model is not None:
        from arenapref.topics import with_topic_columns

        table = with_topic_columns(topic_model, table)
        lap("topics", "finish")
    result = _finish(recs, grouped, cand, pairs, pair_reason, pair_detail, table, funnel, regen_rids)
    if regen_failed is not None and regen_failed.height:
        result.dropped = pa.concat_tables([result.dropped, _regen_dropped(recs, regen_failed)])
    return result


def _regen_dropped(recs: pl.DataFrame, failed: pl.DataFrame) -> pa.Table:
    rows = recs[failed.get_column("rid").to_numpy()]
    frame = pl.DataFrame(
        {
            "stage": pl.repeat("regenerate", failed.height, eager=True, dtype=pl.String),
            "reason": failed.get_column("reason"),
            "conversation_ids": rows.get_column("cid").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "models": rows.get_column("model").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "source": rows.get_column("source"),
            "group_key": rows.get_column("key"),
            "detail": failed.get_column("detail"),
        }
    )
    return frame.to_arrow().cast(DROPPED_SCHEMA)


def _pair(grouped: pl.DataFrame, settings: MineSettings) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Match candidates: returns ``cand``, pairs (rows of ``cand``) and a reason per pair ("" = kept)."""
    cand = grouped.filter(pl.col("stage_reason").is_null()).with_columns(
        pl.col("group").rank("dense").alias("gcode"), pl.col("model").rank("dense").alias("mcode")
    )
    gcode = cand.get_column("gcode").to_numpy().astype(np.int64)
    mcode = cand.get_column("mcode").to_numpy().astype(np.int64)
    ps = pairing_settings(settings)
    pairs = match(gcode, mcode, ps)
    prompt_drop, model_drop = apply_caps(pairs, gcode, mcode, ps)
    reason = np.full(len(pairs), "", dtype=object)
    reason[prompt_drop] = F.PROMPT_CAP
    reason[model_drop] = F.MODEL_PAIR_CAP
    return cand, pairs, reason


def _build(
    recs: pl.DataFrame, cand: pl.DataFrame, pairs: np.ndarray, store: TextStore, settings: MineSettings
) -> pa.Table:
    """Battles for the kept pairs: prompt of the earlier record, sides in random slots (seeded)."""
    m = len(pairs)
    rid = cand.get_column("rid").to_numpy()
    first, second = rid[pairs[:, 0]], rid[pairs[:, 1]]
    tid = recs.get_column("tid").to_numpy()
    texts_first = store.take(tid[first])
    texts_second = store.take(tid[second])
    flip = np.random.default_rng([settings.seed, 2]).random(m) < 0.5
    a_rows = np.where(flip, second, first)
    b_rows = np.where(flip, first, second)
    both = pa.chunked_array(texts_first.column("answers").chunks + texts_second.column("answers").chunks)
    idx = np.arange(m)
    response_a = both.take(pa.array(np.where(flip, idx + m, idx)))
    response_b = both.take(pa.array(np.where(flip, idx, idx + m)))
    cids = recs.get_column("cid")
    models = recs.get_column("model")
    cid_a, cid_b = cids.gather(a_rows).to_list(), cids.gather(b_rows).to_list()
    group_key = cand.get_column("group").gather(pairs[:, 0]).to_arrow()
    return pa.table(
        {
            "id": pa.array([_pair_id(a, b) for a, b in zip(cid_a, cid_b, strict=True)], pa.string()),
            "prompt": texts_first.column("prompts"),
            "response_a": response_a,
            "response_b": response_b,
            "model_a": models.gather(a_rows).to_arrow().cast(pa.string()),
            "model_b": models.gather(b_rows).to_arrow().cast(pa.string()),
            "p_a": pa.nulls(m, pa.float64()),
            "p_b": pa.nulls(m, pa.float64()),
            "p_tie": pa.nulls(m, pa.float64()),
            "source": pa.array([MINED_SOURCE] * m, pa.string()),
            "provenance": pa.array(
                [[a, b] for a, b in zip(cid_a, cid_b, strict=True)], pa.list_(pa.string())
            ),
            "group_key": group_key.cast(pa.string()),
            "language": recs.get_column("language").gather(first).to_arrow().cast(pa.string()),
        }
    )


def _finish(
    recs: pl.DataFrame,
    grouped: pl.DataFrame,
    cand: pl.DataFrame,
    pairs: np.ndarray,
    pair_reason: np.ndarray,
    pair_detail: np.ndarray,
    table: pa.Table,
    funnel: Funnel,
    regen_rids: np.ndarray,
) -> MineResult:
    """Give every record its final verdict, count the funnel and collect the dropped records and pairs."""
    n = recs.height
    cand_rid = cand.get_column("rid").to_numpy()
    reason = np.full(n, "", dtype=object)
    filt = recs.get_column("filter").to_numpy()
    names = np.array(["", *F.FILTER_REASONS], dtype=object)
    reason[:] = names[filt]
    stage = grouped.filter(pl.col("stage_reason").is_not_null())
    reason[stage.get_column("rid").to_numpy()] = stage.get_column("stage_reason").to_numpy()
    kept = pair_reason == ""
    in_pairs = np.zeros(n, dtype=bool)
    in_pairs[cand_rid[pairs.ravel()]] = True
    in_kept = np.zeros(n, dtype=bool)
    in_kept[cand_rid[pairs[kept].ravel()]] = True
    reason[cand_rid] = F.UNPAIRED
    reason[in_pairs & ~in_kept] = F.PAIR_DROPPED
    reason[in_kept] = ""
    in_kept[regen_rids] = True
    reason[regen_rids] = ""

    counts = pl.Series(reason[reason != ""].astype(str)).value_counts()
    by_reason = dict(zip(counts.get_column("").to_list(), counts.get_column("count").to_list(), strict=True))
    funnel.dropped = {r: int(by_reason[r]) for r in F.RECORD_REASONS if by_reason.get(r)}
    ok = recs.filter(pl.col("filter") == 0)
    funnel.groups = ok.get_column("key").n_unique()
    funnel.minable_groups = cand.get_column("group").n_unique()
    funnel.records_in_minable_groups = cand.height
    funnel.pairs_formed = len(pairs)
    dropped_pairs = pair_reason[~kept].astype(str)
    funnel.pairs_dropped = {r: int((dropped_pairs == r).sum()) for r in dict.fromkeys(dropped_pairs.tolist())}
    funnel.pairs_out = table.num_rows
    funnel.records_paired = int(in_kept.sum())
    cids = recs.get_column("cid")
    funnel.records_sharing_conversation_id = cids.drop_nulls().len() - cids.drop_nulls().n_unique()
    if funnel.records_sharing_conversation_id:
        cid = cids.cast(pl.String).to_numpy()
        a, b = cid[cand_rid[pairs[kept, 0]]], cid[cand_rid[pairs[kept, 1]]]
        funnel.pairs_within_one_conversation = int(((a == b) & (a != None)).sum())  # noqa: E711
    _count_outputs(table, funnel)
    dropped = _dropped_table(recs, reason, cand_rid, pairs[~kept], pair_reason[~kept], pair_detail[~kept])
    return MineResult(table, funnel, dropped)


def _count_outputs(table: pa.Table, funnel: Funnel) -> None:
    frame = pl.DataFrame(
        {
            "a": pl.from_arrow(table.column("model_a")),
            "b": pl.from_arrow(table.column("model_b")),
            "lang": pl.from_arrow(table.column("language")),
        }
    )
    pair_name = pl.concat_str(pl.min_horizontal("a", "b"), pl.lit(" vs "), pl.max_horizontal("a", "b"))
    for attr, expr in (("per_model_pair", pair_name), ("per_language", pl.col("lang").fill_null("unknown"))):
        counts = frame.select(expr.alias("k")).get_column("k").value_counts(sort=True)
        setattr(
            funnel,
            attr,
            dict(zip(counts.get_column("k").to_list(), counts.get_column("count").to_list(), strict=True)),
        )


def _dropped_table(
    recs: pl.DataFrame,
    reason: np.ndarray,
    cand_rid: np.ndarray,
    pairs: np.ndarray,
    pair_reason: np.ndarray,
    pair_detail: np.ndarray,
) -> pa.Table:
    """One row per dropped record (stage "record") and per dropped pair (stage "pair")."""
    rows = np.nonzero(reason != "")[0]
    dropped_recs = recs[rows]
    record_part = pl.DataFrame(
        {
            "stage": pl.repeat("record", len(rows), eager=True, dtype=pl.String),
            "reason": pl.Series(reason[rows].astype(str), dtype=pl.String),
            "conversation_ids": dropped_recs.get_column("cid").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "models": dropped_recs.get_column("model").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "source": dropped_recs.get_column("source"),
            "group_key": dropped_recs.get_column("key"),
            "detail": pl.repeat("", len(rows), eager=True, dtype=pl.String),
        }
    )
    first, second = cand_rid[pairs[:, 0]], cand_rid[pairs[:, 1]]
    one, two = recs[first], recs[second]
    pair_part = pl.DataFrame(
        {
            "stage": pl.repeat("pair", len(pairs), eager=True, dtype=pl.String),
            "reason": pl.Series(pair_reason.astype(str), dtype=pl.String),
            "c1": one.get_column("cid"),
            "c2": two.get_column("cid"),
            "m1": one.get_column("model"),
            "m2": two.get_column("model"),
            "source": one.get_column("source"),
            "group_key": one.get_column("key"),
            "detail": pl.Series(pair_detail.astype(str), dtype=pl.String),
        }
    ).select(
        "stage",
        "reason",
        pl.concat_list("c1", "c2").alias("conversation_ids"),
        pl.concat_list("m1", "m2").alias("models"),
        "source",
        "group_key",
        "detail",
    )
    out = pl.concat([record_part, pair_part], how="vertical_relaxed")
    return out.to_arrow().cast(DROPPED_SCHEMA)


def funnel_paths(out: Path) -> tuple[Path, Path]:
    """Where the funnel report of an output file goes: beside it, as JSON and Markdown."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.funnel.json"), out.with_name(f"{stem}.funnel.md")


PAIR_SUFFIXES = (".parquet", ".csv")
DROPPED_SUFFIXES = (".jsonl", ".json", ".parquet")


def check_output_path(out: Path, what: str = "`out`") -> str:
    """The output kind from the suffix: "csv" (competition layout) or "parquet" (native)."""
    suffix = out.suffix.lower()
    if suffix not in PAIR_SUFFIXES:
        shown = suffix or "no extension"
        raise ArenaprefError(
            f"{what} {out}: cannot tell the output format from {shown}; use .csv (competition layout) "
            "or .parquet (native battles)"
        )
    return suffix[1:]


def check_outputs(out: Path, dropped: Path | None, inputs: Sequence[object]) -> None:
    """Refuse, before any work, output names whose format is unknown or that are one of the inputs."""
    check_output_path(out)
    outputs = [out, *funnel_paths(out)]
    if dropped is not None:
        output_suffix(dropped, DROPPED_SUFFIXES)
        outputs.append(dropped)
    paths = [p for p in inputs if isinstance(p, (str, Path))]
    for path in outputs:
        refuse_input_as_output(path, paths)
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise ArenaprefError(
            f"`dropped` {dropped} is also the pairs file or a funnel file; choose another name"
        )


def write_result(
    result: MineResult, out: Path, dropped: Path | None = None, inputs: Sequence[object] = ()
) -> list[Path]:
    """Write the pairs (CSV or Parquet by suffix), the funnel beside them and, on request, the drops.

    Every file is written under a temporary name and renamed into place when complete, so a killed run
    leaves each output complete or absent. The dropped file is JSON lines unless its suffix is
    ``.parquet``. ``inputs``: paths the outputs must not overwrite.
    """
    check_outputs(out, dropped, inputs)
    kind = check_output_path(out)
    with atomic_path(out) as tmp:
        if kind == "csv":
            write_competition_csv(result.pairs, tmp, labels=True)
        else:
            pq.write_table(result.pairs, tmp, compression="zstd")
    written = [out]
    json_path, md_path = funnel_paths(out)
    written += [result.funnel.write_json(json_path), result.funnel.write_markdown(md_path)]
    if dropped is not None:
        frame = pl.from_arrow(result.dropped)
        assert isinstance(frame, pl.DataFrame)
        with atomic_path(dropped) as tmp:
            if dropped.suffix.lower() == ".parquet":
                frame.write_parquet(tmp)
            else:
                frame.write_ndjson(tmp)
        written.append(dropped)
    return written
