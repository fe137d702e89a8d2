"""The leakage guard: drop every candidate record whose prompt matches a protected prompt.

Mining and training call ``decontaminate`` before anything reaches a model, so that no test prompt (or
a near copy of it, or a copy that differs only in names) leaks into training data. ``find_leaks`` is
the read-only check behind ``arenapref check-leakage``.

Default matching (``turns="all"``): a candidate leaks when its user turns **begin with** a protected
record's user turns, or the protected turns begin with the candidate's, compared turn by turn: exactly,
after masking (NAME_k placeholders and, with ``mask_pii``, names, e-mails, phones, URLs), or as
near-duplicates (the shorter record's turns against the same number of opening turns of the longer one).
Why prefixes: a test prompt that opens a longer LMSYS-Chat-1M conversation is in that conversation's
training text, and a whole-list comparison (the top team's exact filter) misses it.

Why a minimum: every conversation that opens with "hi" would otherwise match a protected "hi". A match on
a *part* of either record counts only when the shared turns hold at least ``min_chars`` characters (32 by
default: the LMSYS-Chat-1M paper's own minimum prompt length), counted on the normalised masked text (a
masked name counts as one character). A match of both whole turn lists counts at any length: that is the
plain duplicate every guard must catch, and it matches only records that are the same short prompt.

``turns="first"`` compares first user turns only (so two conversations with the same opening and
different follow-ups match); the same minimum applies unless both records are single-turn.

How it stays fast: every record gets one 128-bit key per prefix of its turns (a position-weighted sum of
per-turn hashes, so all prefixes of all records come from one cumulative sum), and matching is a hash
join of candidate prefixes with protected prefixes, never a loop over pairs. Near-duplicates are searched
once per distinct masked prefix text with MinHash-LSH (``compare.near``), every candidate pair verified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.compare.near import NearDupSettings, near_pairs
from arenapref.compare.normalize import TURN_SEPARATOR, normalize_texts
from arenapref.compare.overlap import KINDS, TurnsMode, record_ids
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.records import is_shared_schema, user_turns

if TYPE_CHECKING:
    from arenapref.readers import Source

LEAK_COLUMNS = (
    "leak_reason",
    "leak_protected_id",
    "leak_protected_source",
    "leak_similarity",
    "leak_scope",
    "leak_shared_turns",
)
MIN_SHARED_CHARS = 32
"""The paper's minimum prompt length: a partial (prefix) match must share at least this many characters."""

SCOPES = ("whole", "protected_opens_candidate", "candidate_opens_protected", "first_turn")
# Odd multipliers of the two hash lanes: a prefix key is sum(h_k * P^k) mod 2^64 over its turns k.
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_SEEDS = (11, 12, 13, 14)

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, repr=False)
class GuardResult(NotebookResult):
    """What ``decontaminate`` kept and dropped.

    ``dropped`` holds the dropped candidate rows with the ``LEAK_COLUMNS``: ``leak_reason`` ('exact',
    'placeholder' or 'near'), ``leak_protected_id`` (the matched protected record), ``leak_protected_source``
    (index of the protected source in ``protect``), ``leak_similarity`` (1.0 for key matches),
    ``leak_scope`` (one of ``SCOPES``: both whole, or which side's turns open the other's) and
    ``leak_shared_turns``. ``counts`` has one entry per reason plus 'kept' and 'candidates'.
    """

    kept: pa.Table
    dropped: pa.Table
    counts: dict[str, int]

    def to_arrow(self) -> pa.Table:
        """The kept records (``dropped`` holds the others)."""
        return self.kept

    def summary_lines(self) -> list[str]:
        return [", ".join(f"{k} {v:,}" for k, v in self.counts.items())]


@dataclass(frozen=True, repr=False)
class Leaks(NotebookResult):
    """What ``find_leaks`` found in a set nobody is going to filter: one row per leaking record.

    ``to_arrow()`` is that table (row, id, reason, the protected record matched, similarity, scope);
    ``checked`` counts the records looked at, so "no leaks" is a figure, not a bare empty table.
    """

    leaks: pa.Table
    checked: int

    def to_arrow(self) -> pa.Table:
        return self.leaks

    def summary_lines(self) -> list[str]:
        n = self.leaks.num_rows
        out = [f"{n:,} of {self.checked:,} records match a protected record"]
        if n:
            reasons = self.leaks.column("reason").value_counts().to_pylist()
            out.append(", ".join(f"{r['values']} {r['counts']:,}" for r in reasons))
        return out


def as_table(obj: object, what: str = "input") -> tuple[pa.Table, str, Source | None]:
    """A records table from a path, a pyarrow Table, a reader ``Source``, a pandas/polars DataFrame or a
    Hugging Face Dataset; also its display name and its source (None for a table already in the shared
    schema, which is used as it is)."""
    from arenapref.readers import as_source

    if isinstance(obj, pa.Table) and is_shared_schema(obj.schema):
        return obj, f"{what} (table)", None  # otherwise the readers map its columns
    if isinstance(obj, (str, Path)):
        from arenapref.compare.report import load_source

        table, src = load_source(obj)
        return table, str(obj), src
    src = as_source(obj)
    return src.read_table(), str(src.path), src


def read_protected(
    protect: Sequence[object], names: Sequence[str] | None = None
) -> tuple[list[pa.Table], list[str]]:
    """Read every protected source; a source with unreadable rows is an error, since the guard could not
    look at them (a check that could not look must not pass)."""
    if not protect:
        raise ArenaprefError("the leakage guard needs at least one protected source")
    from arenapref.readers import count_prompts

    tables, shown = [], []
    for k, item in enumerate(protect):
        table, name, src = as_table(item, f"protected source {k}")
        if names is not None:
            name = names[k]
        if src is not None and len(src.rejects):
            raise ArenaprefError(
                f"protected source {name}: {len(src.rejects):,} rows could not be read, so the guard "
                "cannot vouch for them; fix or remove them first (see `arenapref convert --rejects`)"
            )
        if count_prompts(table) == 0:
            raise ArenaprefError(
                f"protected source {name} holds no prompts ({table.num_rows:,} records, none with a "
                "non-empty user turn), so the leakage guard would compare against nothing; check the file "
                "and its format"
            )
        tables.append(table)
        shown.append(name)
    return tables, shown


@dataclass
class _Side:
    """All compared prefixes of one side's records, one row per (record, number of turns)."""

    n_records: int
    ids: pa.Array
    turns: I64  # user turns of each record (whole list, before any --turns first cut)
    frame: pl.DataFrame  # rec, depth, k1..k4 (plain key lanes 1-2, masked 3-4), chars, end, whole
    masked_turns: pa.ListArray  # normalised masked turns of each record (cut to the compared depth)


#: ``_side``'s shape: (table, turns, mask_pii) -> the side; ``find_leaks(side=)`` takes another such.
SideBuilder = Callable[[pa.Table, TurnsMode, bool], _Side]


def _segment_cumsum(values: np.ndarray, starts: I64) -> np.ndarray:
    """Cumulative sums restarting at each record (``starts``: the row's record start); uint64 wraps."""
    with np.errstate(over="ignore"):
        total = np.cumsum(values, dtype=values.dtype)
        before = np.where(starts > 0, total[np.maximum(starts - 1, 0)], values.dtype.type(0))
        out: np.ndarray = total - before
    return out


def _prefix_lanes(texts: pl.Series, seeds: tuple[int, int], local: I64, starts: I64) -> list[np.ndarray]:
    """Two 64-bit lanes of every prefix key: a position-weighted sum of per-turn hashes per record."""
    lanes = []
    for seed, p in zip(seeds, (_P1, _P2), strict=True):
        top = int(local.max(initial=0))
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.concatenate([[1], np.full(top, p)]).astype(np.uint64), dtype=np.uint64)
            # Odd hashes: an empty turn still changes the key, so [a] and [a, ""] differ.
            h = texts.hash(seed).to_numpy() | np.uint64(1)
            lanes.append(_segment_cumsum(h * powers[local], starts))
    return lanes


def _side(table: pa.Table, turns: TurnsMode, mask_pii: bool) -> _Side:
    """Prefix keys of every record's user turns (only the first turn with ``turns="first"``)."""
    lists = user_turns(table).cast(pa.list_(pa.string()))
    if lists.null_count or lists.offset:
        lists = pc.if_else(pc.is_null(lists), pa.scalar([], lists.type), lists)
    n_turns = np.asarray(pc.list_value_length(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
    compared = np.minimum(n_turns, 1) if turns == "first" else n_turns
    if turns == "first":
        lists = pc.list_slice(lists, 0, 1).cast(pa.list_(pa.string()))
    flat = pc.list_flatten(lists)
    rec = np.repeat(np.arange(len(n_turns), dtype=np.int64), compared)
    offsets = np.zeros(len(n_turns) + 1, dtype=np.int64)
    np.cumsum(compared, out=offsets[1:])
    starts = offsets[:-1][rec]
    local = np.arange(len(rec), dtype=np.int64) - starts
    plain = pl.Series(normalize_texts(flat, mask=False))
    masked_arr = normalize_texts(flat, mask=True, mask_pii=mask_pii)
    masked = pl.Series(masked_arr)
    k1, k2 = _prefix_lanes(plain, (_SEEDS[0], _SEEDS[1]), local, starts)
    k3, k4 = _prefix_lanes(masked, (_SEEDS[2], _SEEDS[3]), local, starts)
    chars = _segment_cumsum(masked.str.len_chars().to_numpy().astype(np.int64), starts)
    depth = local + 1
    frame = pl.DataFrame(
        {
            "rec": rec,
            "depth": depth,
            "k1": k1,
            "k2": k2,
            "k3": k3,
            "k4": k4,
            "chars": chars,
            "end": depth == compared[rec],
            "whole": depth == n_turns[rec],
        }
    )
    masked_turns = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), masked_arr)
    return _Side(len(n_turns), record_ids(table), n_turns, frame, masked_turns)


def _protected_stats(prot: pl.DataFrame, lanes: tuple[str, str]) -> pl.DataFrame:
    """Per protected prefix key: the first record with that prefix, one ending there, one whole there."""
    return prot.group_by(*lanes).agg(
        pl.col("chars").first().alias("p_chars"),
        pl.col("rec").min().alias("any_rec"),
        pl.col("rec").filter(pl.col("end")).min().alias("end_rec"),
        pl.col("rec").filter(pl.col("whole")).min().alias("whole_rec"),
    )


def _choose_partner(joined: pl.DataFrame, min_chars: int) -> pl.DataFrame:
    """Apply the matching rule to candidate prefix rows joined with protected prefix statistics.

    ``shared`` is the size of the shared turns. Both whole lists match at any non-zero size; otherwise the
    shared part needs ``min_chars``, and a candidate prefix that is not where the candidate's compared turns
    end must meet a protected record whose compared turns end there (one side's turns open the other's).
    """
    long_enough = pl.col("shared") >= min_chars
    whole_ok = pl.col("whole_rec").is_not_null() & (pl.col("shared") > 0) & (long_enough | pl.col("whole"))
    end_ok = pl.col("end_rec").is_not_null() & long_enough
    any_ok = pl.col("end") & long_enough
    partner = (
        pl.when(whole_ok)
        .then(pl.col("whole_rec"))
        .when(end_ok)
        .then(pl.col("end_rec"))
        .when(any_ok)
        .then(pl.col("any_rec"))
    )
    out = joined.with_columns(partner.alias("partner")).filter(pl.col("partner").is_not_null())
    return out.select("rec", "depth", "partner", "similarity")


def _key_matches(cand: _Side, prot: _Side, lanes: tuple[str, str], min_chars: int) -> pl.DataFrame:
    """Candidate prefix rows whose key (plain or masked lanes) equals a protected prefix key."""
    stats = _protected_stats(prot.frame, lanes)
    joined = cand.frame.join(stats, on=list(lanes)).with_columns(
        pl.col("chars").alias("shared"), pl.lit(1.0, pl.Float32).alias("similarity")
    )
    return _choose_partner(joined, min_chars)


def _doc_texts(docs: pl.DataFrame, sides: tuple[_Side, _Side]) -> pa.Array:
    """The masked text (turns joined) of every document, from its first record's opening turns."""
    parts: list[tuple[np.ndarray, pa.Array]] = []
    for (side_code, depth), group in docs.group_by("first_side", "depth"):
        side = sides[int(side_code)]
        recs = group.get_column("rec").to_numpy()
        taken = side.masked_turns.take(pa.array(recs, pa.int64()))
        cut = pc.list_slice(taken, 0, int(depth)).cast(pa.list_(pa.string()))
        parts.append((group.get_column("doc").to_numpy(), pc.binary_join(cut, TURN_SEPARATOR)))
    rows = np.concatenate([p[0] for p in parts])
    joined = pa.concat_arrays([p[1] for p in parts])
    return joined.take(pa.array(np.argsort(rows), pa.int64()))


def _near_matches(
    cand: _Side, prot: _Side, settings: NearDupSettings, min_chars: int, done: pl.Series
) -> pl.DataFrame:
    """Candidate prefix rows with a near-duplicate protected prefix of the same number of turns.

    Only prefixes that could take part in a match are searched: candidate rows where the candidate's
    compared turns end or that are as deep as some protected record's end, protected rows long enough or
    whole, and never records already matched by key (``done``). Each distinct masked text is one document.
    """
    c, p = cand.frame.filter(~pl.col("rec").is_in(done.implode())), prot.frame
    end_depths = p.filter(pl.col("end")).get_column("depth").unique().implode()
    long_c = pl.col("chars") >= min_chars
    c_need = c.filter(
        (pl.col("chars") > 0)
        & ((pl.col("end") & long_c) | pl.col("whole") | (long_c & pl.col("depth").is_in(end_depths)))
    )
    p_need = p.filter((pl.col("chars") > 0) & ((pl.col("chars") >= min_chars) | pl.col("whole")))
    if c_need.height == 0 or p_need.height == 0:
        return pl.DataFrame()
    docs = (
        pl.concat(
            [
                c_need.select("k3", "k4", "rec", "depth", pl.lit(0, pl.Int8).alias("side")),
                p_need.select("k3", "k4", "rec", "depth", pl.lit(1, pl.Int8).alias("side")),
            ]
        )
        .group_by("k3", "k4")
        .agg(
            pl.col("rec").first(),
            pl.col("side").first().alias("first_side"),
            pl.col("depth").first(),
            (pl.col("side") == 0).any().alias("in_c"),
            (pl.col("side") == 1).any().alias("in_p"),
        )
        .sort("k3", "k4")
        .with_row_index("doc")
        .with_columns(pl.col("doc").cast(pl.Int64))
    )
    texts = _doc_texts(docs, (cand, prot))
    found = near_pairs(
        texts, settings, (docs.get_column("in_c").to_numpy(), docs.get_column("in_p").to_numpy())
    )
    if not len(found.i):
        return pl.DataFrame()
    both = pl.DataFrame(
        {
            "c_doc": np.concatenate([found.i, found.j]).astype(np.int64),
            "p_doc": np.concatenate([found.j, found.i]).astype(np.int64),
            "similarity": np.concatenate([found.similarity, found.similarity]).astype(np.float32),
        }
    )
    keys = docs.select("doc", "k3", "k4", "depth", "in_c", "in_p")
    pairs = (
        both.join(keys.select(pl.col("doc").alias("c_doc"), "k3", "k4", "depth", "in_c"), on="c_doc")
        .join(
            keys.select(
                pl.col("doc").alias("p_doc"),
                pl.col("k3").alias("pk3"),
                pl.col("k4").alias("pk4"),
                pl.col("depth").alias("p_depth"),
                "in_p",
            ),
            on="p_doc",
        )
        .filter(pl.col("in_c") & pl.col("in_p") & (pl.col("depth") == pl.col("p_depth")))
        .select("k3", "k4", "pk3", "pk4", "similarity")
    )
    stats = _protected_stats(p_need, ("k3", "k4")).rename({"k3": "pk3", "k4": "pk4"})
    joined = (
        c_need.join(pairs, on=["k3", "k4"])
        .join(stats, on=["pk3", "pk4"])
        .with_columns(pl.min_horizontal("chars", "p_chars").alias("shared"))
    )
    return _choose_partner(joined, min_chars)


def find_leaks(
    table: object,
    protect: Sequence[object],
    threshold: float = 0.8,
    *,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    near: bool = True,
    settings: NearDupSettings | None = None,
    min_chars: int = MIN_SHARED_CHARS,
    protect_names: Sequence[str] | None = None,
    side: SideBuilder | None = None,
) -> pa.Table:
    """One row per record of ``table`` (a Table, path or DataFrame) that matches any protected record,
    with the best such match.

    ``protect``: protected sources (pyarrow Tables or paths, any record kind); a source with no non-empty
    prompt is an error, not a pass. Columns of the result: ``row`` (index in ``table``), ``id``,
    ``reason`` ('exact', 'placeholder', 'near'), ``protected_id``, ``protected_source`` (index in
    ``protect``), ``similarity``, ``scope`` (one of ``SCOPES``) and ``shared_turns``. See the module
    docstring for the matching rule. Empty prompts never match. ``side``: what computes every record's
    prefix keys and masked turns, ``_side`` by default (``executors.guard`` passes one that computes
    them per row slice on a cluster); the matching then runs here.
    """
    if not 0.0 < threshold <= 1.0:
        raise ArenaprefError(f"the near-duplicate threshold must lie in (0, 1], got {threshold}")
    if min_chars < 0:
        raise ArenaprefError(f"min_chars must not be negative, got {min_chars}")
    tables, _ = read_protected(protect, protect_names)
    table, _, _ = as_table(table, "candidates")
    settings = replace(settings or NearDupSettings(), threshold=threshold)
    side = side or _side
    cand = side(table, turns, mask_pii)
    sides = [side(t, turns, mask_pii) for t in tables]
    prot = _concat_sides(sides)
    source_of = np.concatenate([np.full(s.n_records, k, dtype=np.int64) for k, s in enumerate(sides)])
    found = [
        _key_matches(cand, prot, ("k1", "k2"), min_chars).with_columns(pl.lit(0, pl.Int8).alias("kind")),
        _key_matches(cand, prot, ("k3", "k4"), min_chars).with_columns(pl.lit(1, pl.Int8).alias("kind")),
    ]
    if near:
        done = pl.concat([f.get_column("rec") for f in found]).unique()
        nm = _near_matches(cand, prot, settings, min_chars, done)
        if nm.height:
            found.append(nm.with_columns(pl.lit(2, pl.Int8).alias("kind")))
    best = (
        pl.concat(found)
        .sort(["rec", "kind", "similarity", "depth", "partner"], descending=[False, False, True, True, False])
        .unique("rec", keep="first", maintain_order=True)
    )
    return _leak_table(best, cand, prot, source_of)


def _concat_sides(sides: list[_Side]) -> _Side:
    """Several protected sources as one side (records renumbered in order)."""
    shift = np.concatenate([[0], np.cumsum([s.n_records for s in sides])]).astype(np.int64)
    frames = [s.frame.with_columns(pl.col("rec") + int(shift[k])) for k, s in enumerate(sides)]
    return _Side(
        int(shift[-1]),
        pa.concat_arrays([s.ids for s in sides]),
        np.concatenate([s.turns for s in sides]),
        pl.concat(frames),
        pa.concat_arrays([s.masked_turns for s in sides]),
    )


def _leak_table(best: pl.DataFrame, cand: _Side, prot: _Side, source_of: I64) -> pa.Table:
    rows = best.get_column("rec").to_numpy().astype(np.int64)
    partner = best.get_column("partner").to_numpy().astype(np.int64)
    depth = best.get_column("depth").to_numpy().astype(np.int64)
    n_c, n_p = cand.turns[rows], prot.turns[partner]
    scope = np.select(
        [(n_c == depth) & (n_p == depth), (n_c > depth) & (n_p > depth), n_c > depth],
        [0, 3, 1],
        default=2,
    )
    kinds = np.asarray(KINDS, dtype=object)[best.get_column("kind").to_numpy()]
    return pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "id": cand.ids.take(pa.array(rows, pa.int64())),
            "reason": pa.array(kinds.tolist(), pa.string()),
            "protected_id": prot.ids.take(pa.array(partner, pa.int64())),
            "protected_source": pa.array(source_of[partner], pa.int64()),
            "similarity": pa.array(best.get_column("similarity").to_numpy(), pa.float32()),
            "scope": pa.array(np.asarray(SCOPES, dtype=object)[scope].tolist(), pa.string()),
            "shared_turns": pa.array(depth, pa.int64()),
        }
    )


def decontaminate(
    candidates: object,
    protect: Sequence[object],
    threshold: float = 0.8,
    *,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    near: bool = True,
    settings: NearDupSettings | None = None,
    min_chars: int = MIN_SHARED_CHARS,
    protect_names: Sequence[str] | None = None,
    side: SideBuilder | None = None,
) -> GuardResult:
    """Split ``candidates`` (a Table or a path) into records that match no protected record (kept) and
    those that do (dropped, with the reason and the matched protected id); see ``find_leaks``."""
    table, _, _ = as_table(candidates, "candidates")
    leaks = find_leaks(
        table,
        protect,
        threshold,
        turns=turns,
        mask_pii=mask_pii,
        near=near,
        settings=settings,
        min_chars=min_chars,
        protect_names=protect_names,
        side=side,
    )
    mask = np.zeros(table.num_rows, dtype=bool)
    rows = leaks.column("row").to_numpy()
    mask[rows] = True
    kept = table.filter(pa.array(~mask))
    dropped = table.take(pa.array(rows, pa.int64()))
    for name, col in zip(
        LEAK_COLUMNS,
        ("reason", "protected_id", "protected_source", "similarity", "scope", "shared_turns"),
        strict=True,
    ):
        dropped = dropped.append_column(name, leaks.column(col))
    reasons = leaks.column("reason").to_pylist()
    counts = {k: reasons.count(k) for k in KINDS}
    counts["kept"] = kept.num_rows
    counts["candidates"] = table.num_rows
    return GuardResult(kept=kept, dropped=dropped, counts=counts)
