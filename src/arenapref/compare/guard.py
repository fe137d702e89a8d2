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
masked name counts as one character, a Han, kana or Hangul character as ``WIDE_WEIGHT``: in those scripts
one character is about a word). A match of both whole turn lists counts at any length: that is the plain
duplicate every guard must catch, and it matches only records that are the same short prompt.

Two more rules for candidates no key matched (``RULES``; every match reports the rule that fired):
*contained*, a protected prompt (a protected record of one compared turn, at least ``min_chars``) inside
any candidate user turn at word boundaries, or equal to a later one, since a test prompt pasted into a
longer request is in the training text just the same; *name span*, a ``NAME_k`` placeholder on either side
against any name-like span on the other (any case, a title and surname, hyphens, apostrophes, two parts),
since the name list of ``mask_pii`` cannot know every name. All matchers read the one normalisation of
``compare.normalize`` (HTML entities, NFKC, typography, invisible characters, escaped newlines,
look-alike letters).

``turns="first"`` compares first user turns only (so two conversations with the same opening and
different follow-ups match); the same minimum applies unless both records are single-turn.

How it stays fast: every record gets one 128-bit key per prefix of its turns (a position-weighted sum of
per-turn hashes, so all prefixes of all records come from one cumulative sum), and matching is a hash
join of candidate prefixes with protected prefixes, never a loop over pairs. Near-duplicates are searched
once per distinct masked prefix text with MinHash-LSH (``compare.near``), every candidate pair verified.
Each distinct turn text is normalised, hashed and measured once (``prefix_side``). Containment hashes
every word start of every distinct candidate turn (in slices, on every core) and checks only the turns
holding a protected prompt's two rarest stretches (``_anchored_pairs``) and every literal part of it
(``_holding_every_part``), so Python sees only the few pairs left.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.compare.near import NearDupSettings, _text_buffers, near_pairs, sorted_unique
from arenapref.compare.normalize import (
    MASK,
    TURN_SEPARATOR,
    WIDE_RANGES,
    plain_and_masked,
    text_sizes,
)
from arenapref.compare.overlap import KINDS, record_ids
from arenapref.compare.settings import GuardSettings, TurnsMode
from arenapref.compare.sources import as_table
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import table_blocks
from arenapref.records import user_turns
from arenapref.settings import settings_or_fields
from arenapref.threads import default_threads

LEAK_COLUMNS = (
    "leak_reason",
    "leak_rule",
    "leak_protected_id",
    "leak_protected_source",
    "leak_similarity",
    "leak_scope",
    "leak_shared_turns",
)

SCOPES = (
    "whole",
    "protected_opens_candidate",
    "candidate_opens_protected",
    "first_turn",
    "protected_inside_candidate",
)
RULES = ("turns_key", "turns_near", "contained", "name_span")
"""Which rule matched: the user-turn lists (one opens the other, or equal) by key or as near-duplicates;
a protected prompt inside (or as) a later or longer candidate turn; a ``NAME_k`` placeholder on either
side against a name-like span on the other."""
_ANCHOR_BYTES = 16  # how much of a template's anchor (its longest literal part) is looked up by hash
_SCAN_BYTES = 1 << 24  # bytes of texts whose word starts are hashed per step (bounds memory)
_BLOOM_MASK = np.uint64((1 << 24) - 1)
_SAMPLE_EVERY = 16  # anchors are chosen by their frequency in every 16th text searched
_CHOICES = 16  # about this many evenly spread stretches of each template are anchor candidates
# Odd multipliers of the two hash lanes: a prefix key is sum(h_k * P^k) mod 2^64 over its turns k.
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_SEEDS = (11, 12, 13, 14)

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True, repr=False)
class GuardResult(NotebookResult):
    """What ``decontaminate`` kept and dropped.

    ``dropped`` holds the dropped candidate rows with the ``LEAK_COLUMNS``: ``leak_reason`` ('exact',
    'placeholder' or 'near'), ``leak_protected_id`` (the matched protected record), ``leak_protected_source``
    (index of the protected source in ``protect``), ``leak_similarity`` (1.0 for key matches),
    ``leak_scope`` (one of ``SCOPES``: both whole, or which side's turns open the other's) and
    ``leak_shared_turns``; ``leak_rule`` says which rule matched (one of ``RULES``). ``counts`` has one
    entry per reason, one per rule (``rule_<name>``) plus 'kept' and 'candidates'.
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
class PrefixSide:
    """All compared prefixes of one side's records, one row per (record, number of turns)."""

    n_records: int
    ids: pa.Array
    turns: I64  # user turns of each record (whole list, before any --turns first cut)
    frame: pl.DataFrame  # rec, depth, k1..k4 (plain key lanes 1-2, masked 3-4), chars, end, whole
    masked_turns: pa.ListArray  # normalised masked turns of each record (cut to the compared depth)


def _segment_cumsum(values: np.ndarray, starts: I64) -> np.ndarray:
    """Cumulative sums restarting at each record (``starts``: the row's record start); uint64 wraps."""
    with np.errstate(over="ignore"):
        total = np.cumsum(values, dtype=values.dtype)
        before = np.where(starts > 0, total[np.maximum(starts - 1, 0)], values.dtype.type(0))
        out: np.ndarray = total - before
    return out


def _prefix_lanes(hashes: tuple[U64, U64], local: I64, starts: I64) -> list[np.ndarray]:
    """Two 64-bit lanes of every prefix key: a position-weighted sum of per-turn hashes per record."""
    lanes = []
    for h, p in zip(hashes, (_P1, _P2), strict=True):
        top = int(local.max(initial=0))
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.concatenate([[1], np.full(top, p)]).astype(np.uint64), dtype=np.uint64)
            lanes.append(_segment_cumsum(h * powers[local], starts))
    return lanes


def _turn_hashes(texts: pa.Array, seeds: tuple[int, int], index: npt.NDArray[np.int32]) -> tuple[U64, U64]:
    """Two 64-bit hashes of each turn, from its distinct text (``index``: the turn's row in ``texts``).
    Odd, so that an empty turn still changes a key: [a] and [a, ""] differ."""
    series = pl.Series(texts)
    first, second = ((series.hash(seed).to_numpy() | np.uint64(1))[index] for seed in seeds)
    return first, second


def prefix_side(table: pa.Table, turns: TurnsMode, mask_pii: bool) -> PrefixSide:
    """Prefix keys of every record's user turns (only the first turn with ``turns="first"``).

    Each distinct turn text is normalised, hashed and measured once (logs repeat their prompts: "hi",
    templates, the same question asked again), then spread back to the turns.
    """
    lists = user_turns(table).cast(pa.list_(pa.string()))
    if lists.null_count or lists.offset:
        lists = pc.if_else(pc.is_null(lists), pa.scalar([], lists.type), lists)
    n_turns = np.asarray(pc.list_value_length(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
    compared = np.minimum(n_turns, 1) if turns == "first" else n_turns
    if turns == "first":
        lists = pc.list_slice(lists, 0, 1).cast(pa.list_(pa.string()))
    distinct = pc.dictionary_encode(pc.fill_null(pc.list_flatten(lists), ""))
    index = distinct.indices.to_numpy(zero_copy_only=False)
    rec = np.repeat(np.arange(len(n_turns), dtype=np.int64), compared)
    offsets = np.zeros(len(n_turns) + 1, dtype=np.int64)
    np.cumsum(compared, out=offsets[1:])
    starts = offsets[:-1][rec]
    local = np.arange(len(rec), dtype=np.int64) - starts
    plain, masked = plain_and_masked(distinct.dictionary, mask_pii)
    k1, k2 = _prefix_lanes(_turn_hashes(plain, (_SEEDS[0], _SEEDS[1]), index), local, starts)
    k3, k4 = _prefix_lanes(_turn_hashes(masked, (_SEEDS[2], _SEEDS[3]), index), local, starts)
    sizes = text_sizes(masked).to_numpy().astype(np.int64)
    chars = _segment_cumsum(sizes[index], starts)
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
    masked_turns = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), masked.take(pa.array(index, pa.int32()))
    )
    return PrefixSide(len(n_turns), record_ids(table), n_turns, frame, masked_turns)


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


def _key_matches(cand: PrefixSide, prot: PrefixSide, lanes: tuple[str, str], min_chars: int) -> pl.DataFrame:
    """Candidate prefix rows whose key (plain or masked lanes) equals a protected prefix key."""
    stats = _protected_stats(prot.frame, lanes)
    joined = cand.frame.join(stats, on=list(lanes)).with_columns(
        pl.col("chars").alias("shared"), pl.lit(1.0, pl.Float32).alias("similarity")
    )
    return _choose_partner(joined, min_chars)


def _doc_texts(docs: pl.DataFrame, sides: tuple[PrefixSide, PrefixSide]) -> pa.Array:
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
    cand: PrefixSide, prot: PrefixSide, settings: NearDupSettings, min_chars: int, done: pl.Series
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


# Name-like spans (on normalised, case-folded text): one or two words of letters joined by apostrophes or
# hyphens, after an optional title ("dr. smith", "anne-marie o'neil", "xiaoling zhou"), or a mask token.
# Function words never start or continue a name, so "for my friend" is not "for NAME_1".
_TITLES = "mr|mrs|ms|miss|mx|dr|prof|sir|dame|lady|lord|madam|mme|mlle|herr|frau|sr|sra|srta|señor|señora"
_NOT_NAMES = """
a an the my your his her its our their this that these those me you him them us it i we they he she one some
any all each every no not and or but nor so yet if then than as of to in on at for with from by about into
onto over under after before between through during without within via per is are was were be been am do does
did have has had will would can could should may might must shall what which who whom whose when where why how
here there very more most less few many much also just only please thanks thank hi hello dear
""".split()  # noqa: SIM905  (a word list reads better as text)
_LETTER = rf"(?:[^\W\d_]|{MASK})"  # a mask token can be part of a name: "Anne-Marie" masks to MASK-marie
_NAME_WORD = re.compile(rf"(?!(?:{'|'.join(_NOT_NAMES)})(?![\w'-])){_LETTER}+(?:['-]{_LETTER}+)*")
_TITLE = re.compile(rf"(?:{_TITLES})\.? ")
_SPACED_WORD = re.compile(rf"[^\W{WIDE_RANGES}]")  # a word character of a script that spaces its words
_WORD_START = re.compile(r"(?<!\w)\w")


def _cuts_word(text: str, i: int) -> bool:
    """Whether position ``i`` of ``text`` lies inside a word: a spaced-script word character either side."""
    return 0 < i < len(text) and bool(_SPACED_WORD.match(text[i - 1]) and _SPACED_WORD.match(text[i]))


def _name_ends(text: str, pos: int) -> list[int]:
    """Where a name-like span starting at ``pos`` may end: one or two words of letters or mask tokens
    (joined by apostrophes or hyphens, each part a possible end: "maria's") after an optional title."""
    title = _TITLE.match(text, pos)
    ends = []
    for start in (pos, title.end()) if title else (pos,):
        first = _NAME_WORD.match(text, start)
        if first is None:
            continue
        ends += [start + k for k, ch in enumerate(first.group(0)) if ch in "'-"] + [first.end()]
        if text.startswith(" ", first.end()):
            second = _NAME_WORD.match(text, first.end() + 1)
            if second is not None:
                ends += [first.end() + 1 + k for k, ch in enumerate(second.group(0)) if ch in "'-"]
                ends.append(second.end())
    return ends


def _match_from(text: str, pieces: list[str], pos: int, whole: bool) -> int | None:
    """The end of a match of ``pieces`` (literal parts with a name-like span between each two) at
    ``pos``, trying every span length; None if there is none."""
    if not text.startswith(pieces[0], pos):
        return None
    pos += len(pieces[0])
    if len(pieces) == 1:
        return pos if not whole or pos == len(text) else None
    for end in _name_ends(text, pos):
        found = _match_from(text, pieces[1:], end, whole)
        if found is not None:
            return found
    return None


def _key_of(first: U64, second: U64) -> U64:
    """One 64-bit key from the two 8-byte halves of an anchor (collisions only cost a failed check)."""
    with np.errstate(over="ignore"):
        out: U64 = first * _P1 + second
    return out


def _window_keys(texts: pa.Array, with_first: bool = True) -> tuple[U64, I64]:
    """(key, byte position) of every place in ``texts`` where a word starts (after a space, or any
    character of a wide script, which does not space its words), as ``_key_of`` of the ``_ANCHOR_BYTES``
    from there; only windows that end inside their text. ``with_first``: each text's first position
    counts too (for a template part: a part that has no other window keeps it).

    Vectorised over the texts' bytes (a few NumPy passes), so every word start of a million turns is
    hashed in seconds. The text of a position is ``np.searchsorted(offsets, pos, "right") - 1``.
    """
    return _buffer_window_keys(*_text_buffers(texts), with_first)


def _buffer_window_keys(values: npt.NDArray[np.uint8], offsets: I64, with_first: bool) -> tuple[U64, I64]:
    """``_window_keys`` of texts given as their UTF-8 bytes and byte offsets (``near._text_buffers``)."""
    n = len(values)
    if n < _ANCHOR_BYTES:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    # Every byte position starts an unaligned 8-byte word; windows end inside their text, so within bounds.
    words = np.ndarray((n - 7,), dtype="<u8", buffer=np.ascontiguousarray(values), strides=(1,))
    start = values >= 0xE0  # the lead byte of a 3- or 4-byte character
    start[1:] |= (values[:-1] == 32) & (values[1:] != 32)
    if with_first:
        start[offsets[:-1][np.diff(offsets) >= _ANCHOR_BYTES]] = True
    # No window may run past its text's end.
    ends = offsets[1:][offsets[1:] > 0]
    start[np.maximum(ends[:, None] - np.arange(1, _ANCHOR_BYTES, dtype=np.int64)[None, :], 0).ravel()] = False
    pos = np.flatnonzero(start)
    return _key_of(words[pos], words[pos + 8]), pos


def _template_windows(templates: pa.Array) -> tuple[U64, I64]:
    """(key, template) of every ``_window_keys`` window inside a literal part of each template.

    A part's first position is a word start in a searched text only where a space precedes it there, so
    it is used only for parts that have no other window.
    """
    split = pc.split_pattern(templates, MASK)
    pieces = pc.utf8_trim(pc.list_flatten(split), " ")
    owner = np.asarray(pc.list_parent_indices(split).to_numpy(zero_copy_only=False), dtype=np.int64)
    keys, pos = _window_keys(pieces, with_first=False)
    piece = np.searchsorted(_text_buffers(pieces)[1], pos, side="right") - 1
    windowed = np.zeros(len(pieces), dtype=bool)
    windowed[piece] = True
    lonely = np.flatnonzero(~windowed)
    alone = pieces.take(pa.array(lonely, pa.int64()))
    f_keys, f_pos = _window_keys(alone)
    f_piece = lonely[np.searchsorted(_text_buffers(alone)[1], f_pos, side="right") - 1]
    return np.concatenate([keys, f_keys]), owner[np.concatenate([piece, f_piece])]


def _anchored_pairs(hay: pa.Array, templates: pa.Array) -> tuple[I64, I64]:
    """(hay text, template) pairs worth checking: the text holds the template's two rarest anchors,
    ``_ANCHOR_BYTES`` stretches of its literal parts (spaces stripped) starting where a word starts.

    Every such stretch of a matching template occurs in the text, so any of them finds all matches;
    the two least frequent in a sample of the texts (every ``_SAMPLE_EVERY``-th) keep the checks few even
    where thousands of texts share an opening ("write an article about the"). A template with no literal
    part that long is not searched. NumPy throughout: sorts and searches, no hash tables.
    """
    t_keys, t_of = _template_windows(templates)
    # At most about _CHOICES stretches per template are candidates for its anchors (evenly spread).
    by_t = np.argsort(t_of, kind="stable")
    size = np.bincount(t_of, minlength=len(templates))
    rank = np.arange(len(by_t)) - np.repeat(np.cumsum(size) - size, size)
    spread = by_t[rank % np.maximum(size // _CHOICES, 1)[t_of[by_t]] == 0]
    t_keys, t_of = t_keys[spread], t_of[spread]
    sample = np.sort(_window_keys(hay.take(pa.array(np.arange(0, len(hay), _SAMPLE_EVERY))))[0])
    distinct, back = np.unique(t_keys, return_inverse=True)  # sorted queries search faster
    freq = (np.searchsorted(sample, distinct, side="right") - np.searchsorted(sample, distinct))[back]
    # Per template its two least frequent distinct stretches (the later one on ties: openings are the
    # most shared).
    order = np.lexsort((-np.arange(len(t_keys)), freq, t_keys, t_of))
    fresh = np.ones(len(order), dtype=bool)
    fresh[1:] = (t_of[order][1:] != t_of[order][:-1]) | (t_keys[order][1:] != t_keys[order][:-1])
    kept = order[fresh]
    kept = kept[np.lexsort((-kept, freq[kept], t_of[kept]))]
    group = np.flatnonzero(np.r_[True, t_of[kept][1:] != t_of[kept][:-1]])
    rank = np.arange(len(kept)) - np.repeat(group, np.diff(np.r_[group, len(kept)]))
    chosen = kept[rank < 2]
    need = np.bincount(t_of[chosen], minlength=len(templates))
    by_key = chosen[np.argsort(t_keys[chosen], kind="stable")]
    keys = t_keys[by_key]
    distinct_keys, first_entry, entries = np.unique(keys, return_index=True, return_counts=True)
    # A bit table of the keys' low bits: most positions are ruled out by one look-up, not a search.
    bloom = np.zeros(int(_BLOOM_MASK) + 1, dtype=bool)
    bloom[keys & _BLOOM_MASK] = True
    values, offsets = _text_buffers(hay)

    def scan(lo: int, hi: int) -> I64:
        """One code per (text, chosen stretch) held, for the texts ``lo`` to ``hi``."""
        off = offsets[lo : hi + 1] - offsets[lo]
        h_keys, h_pos = _buffer_window_keys(values[offsets[lo] : offsets[hi]], off, True)
        maybe = np.flatnonzero(bloom[h_keys & _BLOOM_MASK])
        at = np.minimum(np.searchsorted(distinct_keys, h_keys[maybe]), len(distinct_keys) - 1)
        hit = distinct_keys[at] == h_keys[maybe]
        left, count, maybe = first_entry[at[hit]], entries[at[hit]], maybe[hit]
        doc = np.searchsorted(off, h_pos[maybe], side="right") - 1 + lo
        entry = np.repeat(left - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
        out: I64 = np.repeat(doc, count) * len(keys) + entry
        return out

    # Slices of about _SCAN_BYTES, searched on every core (NumPy releases the GIL in these passes).
    cuts = np.searchsorted(offsets, np.arange(0, int(offsets[-1]), _SCAN_BYTES), side="right") - 1
    cuts = np.unique(np.r_[0, cuts, len(hay)]) if len(keys) else np.zeros(1, np.int64)
    with ThreadPoolExecutor(default_threads()) as pool:
        codes = list(pool.map(scan, cuts[:-1].tolist(), cuts[1:].tolist()))
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    held = sorted_unique(np.concatenate(codes))
    h, t = held // len(keys), t_of[by_key[held % len(keys)]]
    pair, n = np.unique(h * len(templates) + t, return_counts=True)
    pair = pair[n == need[pair % len(templates)]]
    return pair // len(templates), pair % len(templates)


def _occurrence(text: str, template: str, whole: bool) -> str | None:
    """The first span of ``text`` that ``template`` matches (the whole text only with ``whole``), never
    starting or ending inside a word; its mask tokens match name-like spans. None if there is none."""
    pieces = template.split(MASK)
    if any(p.strip() not in text for p in pieces):
        return None
    if whole:
        end = _match_from(text, pieces, 0, whole)
        return text if end is not None else None
    if pieces[0]:
        starts = []
        at = text.find(pieces[0])
        while at >= 0:
            starts.append(at)
            at = text.find(pieces[0], at + 1)
    else:
        starts = [m.start() for m in _WORD_START.finditer(text)]
    for start in starts:
        if _cuts_word(text, start):
            continue
        end = _match_from(text, pieces, start, whole)
        if end is not None and not _cuts_word(text, end):
            return text[start:end]
    return None


def _turn_frame(side: PrefixSide, first_only: bool) -> pl.DataFrame:
    """One row per compared user turn (only each record's first with ``first_only``): text, rec, depth."""
    lists = side.masked_turns
    lengths = np.asarray(pc.list_value_length(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
    if first_only:
        lengths = np.minimum(lengths, 1)
        lists = pc.list_slice(lists, 0, 1).cast(pa.list_(pa.string()))
    rec = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    depth = np.arange(len(rec), dtype=np.int64) - starts[rec] + 1
    texts = pc.list_flatten(lists)
    return pl.DataFrame({"text": pl.Series(texts), "rec": rec, "depth": depth})


def _holding_every_part(
    texts: pl.Series, templates: pl.Series, h: I64, t: I64
) -> tuple[pl.Series, pl.Series]:
    """The pairs (``texts[h]``, ``templates[t]``) where the text holds every literal part of the template:
    ``_occurrence``'s first test, run in Polars so that only the few pairs left reach Python."""
    parts = (
        pl.DataFrame({"t": np.arange(len(templates)), "part": templates.str.split(MASK)})
        .explode("part")
        .with_columns(pl.col("part").str.strip_chars())
    )
    pairs = pl.DataFrame({"pair": np.arange(len(h)), "h": h, "t": t, "text": texts.gather(h)})
    held = (
        pairs.join(parts, on="t")
        .group_by("pair")
        .agg(pl.col("text").str.contains(pl.col("part"), literal=True).all())
        .filter(pl.col("text"))
        .get_column("pair")
        .sort()
    )
    return pl.Series(h).gather(held), pl.Series(t).gather(held)


def _verified(hay: pl.DataFrame, templates: pl.DataFrame, whole: bool) -> pl.DataFrame:
    """Every (hay row, template row) pair that really matches: the hay row's columns, the template row's
    (prefixed ``t_``) and the matched ``span``. Each distinct hay text is searched once, for each
    distinct template text."""
    rows = hay.with_row_index("row").group_by("text").agg(pl.col("row"))
    temps = templates.with_row_index("t").group_by("text").agg(pl.col("t"))
    h_np, t_np = _anchored_pairs(rows.get_column("text").to_arrow(), temps.get_column("text").to_arrow())
    h_all, t_all = _holding_every_part(rows.get_column("text"), temps.get_column("text"), h_np, t_np)
    texts = rows.get_column("text").gather(h_all).to_list()
    patterns = temps.get_column("text").gather(t_all).to_list()
    spans = [_occurrence(text, pattern, whole) for text, pattern in zip(texts, patterns, strict=True)]
    ok = pl.Series([span is not None for span in spans], dtype=pl.Boolean)
    hits = (
        pl.DataFrame(
            {
                "row": rows.get_column("row").gather(h_all.filter(ok)),
                "t": temps.get_column("t").gather(t_all.filter(ok)),
                "span": pl.Series([span for span in spans if span is not None], dtype=pl.String),
            }
        )
        .explode("row")
        .explode("t")
    )
    return pl.concat(
        [
            hay.select(pl.all().gather(hits.get_column("row"))),
            templates.select(pl.all().gather(hits.get_column("t"))).rename(lambda n: "t_" + n),
            hits.select("span"),
        ],
        how="horizontal",
    )


def _span_matches(
    cand: PrefixSide, prot: PrefixSide, turns: TurnsMode, min_chars: int, done: pl.Series
) -> pl.DataFrame:
    """The contained and name-span rules (``RULES``), for candidate records not matched by key.

    The protected prompts here are the protected records of one compared turn. Contained: such a prompt
    inside any candidate turn, at word boundaries, or equal to a later one; mask tokens in it match
    name-like spans. Name span: a candidate turn holding a mask token is a template that matches a whole
    protected prompt. The matched text needs ``min_chars`` in size (``text_sizes``), unless a whole
    single-turn record matches a whole single-turn record (as for the turn-list rule). Only texts that
    hold a template's rarest literal stretches (``_anchored_pairs``) are checked one by one.
    """
    c = _turn_frame(cand, turns == "first")
    c = c.filter(~pl.col("rec").is_in(done.implode()) & (pl.col("text") != ""))
    # A multi-turn protected record is matched by the turn-list rule only: its opening alone is no more
    # the protected prompt there than it is for that rule (that is what turns="first" is for).
    one = np.flatnonzero(
        np.asarray(pc.list_value_length(prot.masked_turns).to_numpy(zero_copy_only=False)) == 1
    )
    p = _turn_frame(prot, True).filter(pl.col("rec").is_in(pl.Series(one).implode()) & (pl.col("text") != ""))
    p = p.group_by("text").agg(pl.col("rec").min())
    p = p.sort("rec").with_columns(pl.Series("size", text_sizes(p.sort("rec").get_column("text").to_arrow())))
    has_mask = pl.col("text").str.contains(MASK, literal=True)
    inside = _verified(c, p.filter((pl.col("size") >= min_chars) | has_mask).drop("size"), whole=False)
    inside = inside.select(
        "rec",
        "depth",
        pl.col("t_rec").alias("partner"),
        "span",
        (pl.col("span") == pl.col("text")).alias("full"),
        pl.col("t_text").str.contains(MASK, literal=True).cast(pl.Int8).alias("kind"),
        pl.when(pl.col("span") == pl.col("t_text")).then(2).otherwise(3).cast(pl.Int8).alias("rule"),
    )
    named = _verified(p.select("text", "rec"), c.filter(has_mask), whole=True).select(
        pl.col("t_rec").alias("rec"),
        pl.col("t_depth").alias("depth"),
        pl.col("rec").alias("partner"),
        "span",
        pl.lit(True).alias("full"),
        pl.lit(1, pl.Int8).alias("kind"),
        pl.lit(3, pl.Int8).alias("rule"),
    )
    found = pl.concat([inside, named])
    rec = found.get_column("rec").to_numpy()
    partner = found.get_column("partner").to_numpy()
    first = (found.get_column("depth").to_numpy() == 1) & found.get_column("full").to_numpy()
    singles = first & (cand.turns[rec] == 1) & (prot.turns[partner] == 1)
    size = text_sizes(found.get_column("span").to_arrow()).to_numpy()
    found = found.with_columns(pl.Series("inside", ~first)).filter(pl.Series((size >= min_chars) | singles))
    return found.select(
        "rec", "depth", "partner", pl.lit(1.0, pl.Float32).alias("similarity"), "kind", "rule", "inside"
    )


def find_leaks(
    table: object,
    protect: Sequence[object],
    settings: GuardSettings | None = None,
    *,
    protect_names: Sequence[str] | None = None,
    executor: Executor | None = None,
    **fields: Any,
) -> pa.Table:
    """One row per record of ``table`` (a Table, path or DataFrame) that matches any protected record,
    with the best such match.

    ``protect``: protected sources (pyarrow Tables or paths, any record kind); a source with no non-empty
    prompt is an error, not a pass. Columns of the result: ``row`` (index in ``table``), ``id``,
    ``reason`` ('exact', 'placeholder', 'near'), ``rule`` (one of ``RULES``), ``protected_id``,
    ``protected_source`` (index in
    ``protect``), ``similarity``, ``scope`` (one of ``SCOPES``) and ``shared_turns``. See the module
    docstring for the matching rule. Empty prompts never match. ``settings``: the rule's knobs
    (``compare.settings.GuardSettings``), or its fields as keywords (``threshold=0.7``, ``turns="first"``).
    ``executor``: where every record's prefix keys and masked turns are computed, one row slice per block
    (``SideStep``); the matching then runs here, with the same result.
    """
    guard = settings_or_fields(GuardSettings, settings, fields)
    turns, mask_pii, min_chars = guard.turns, guard.mask_pii, guard.min_chars
    tables, _ = read_protected(protect, protect_names)
    table, _, _ = as_table(table, "candidates")
    cand = run_step(SideStep(table, turns, mask_pii), executor)
    sides = [run_step(SideStep(t, turns, mask_pii), executor) for t in tables]
    prot = concat_sides(sides)
    source_of = np.concatenate([np.full(s.n_records, k, dtype=np.int64) for k, s in enumerate(sides)])
    plain = _key_matches(cand, prot, ("k1", "k2"), min_chars).with_columns(pl.lit(0, pl.Int8).alias("kind"))
    masked = _key_matches(cand, prot, ("k3", "k4"), min_chars).with_columns(pl.lit(1, pl.Int8).alias("kind"))
    found = [
        f.with_columns(pl.lit(0, pl.Int8).alias("rule"), pl.lit(False).alias("inside"))
        for f in (plain, masked)
    ]
    done = pl.concat([f.get_column("rec") for f in found]).unique()
    spans = _span_matches(cand, prot, turns, min_chars, done)
    found.append(spans)
    if guard.near:
        done = pl.concat([done, spans.get_column("rec")]).unique()
        nm = _near_matches(cand, prot, NearDupSettings(threshold=guard.threshold), min_chars, done)
        if nm.height:
            found.append(
                nm.with_columns(
                    pl.lit(2, pl.Int8).alias("kind"),
                    pl.lit(1, pl.Int8).alias("rule"),
                    pl.lit(False).alias("inside"),
                )
            )
    columns = ["rec", "depth", "partner", "similarity", "kind", "rule", "inside"]
    best = (
        pl.concat([f.select(columns) for f in found], how="vertical_relaxed")
        .sort(
            ["rec", "kind", "rule", "similarity", "depth", "partner"],
            descending=[False, False, False, True, True, False],
        )
        .unique("rec", keep="first", maintain_order=True)
    )
    return _leak_table(best, cand, prot, source_of)


def concat_sides(sides: list[PrefixSide]) -> PrefixSide:
    """Several protected sources as one side (records renumbered in order)."""
    shift = np.concatenate([[0], np.cumsum([s.n_records for s in sides])]).astype(np.int64)
    frames = [s.frame.with_columns(pl.col("rec") + int(shift[k])) for k, s in enumerate(sides)]
    return PrefixSide(
        int(shift[-1]),
        pa.concat_arrays([s.ids for s in sides]),
        np.concatenate([s.turns for s in sides]),
        pl.concat(frames),
        pa.concat_arrays([s.masked_turns for s in sides]),
    )


class SideStep(BlockStep[pa.Table, PrefixSide, PrefixSide]):
    """``prefix_side`` of a whole table, one row slice per block (a dozen regex passes per turn, two
    128-bit prefix keys per turn); ``concat_sides`` renumbers the slices' records in order, so the merge is
    the side of the whole table."""

    def __init__(self, table: pa.Table, turns: TurnsMode, mask_pii: bool) -> None:
        self.table, self.turns, self.mask_pii = table, turns, mask_pii

    def blocks(self, workers: int) -> list[pa.Table]:
        return table_blocks(self.table, 2 * workers)

    @property
    def work(self) -> Callable[[pa.Table], PrefixSide]:
        return partial(prefix_side, turns=self.turns, mask_pii=self.mask_pii)

    def merge(self, parts: Iterator[PrefixSide]) -> PrefixSide:
        return concat_sides(list(parts))

    def whole(self) -> PrefixSide:
        return prefix_side(self.table, self.turns, self.mask_pii)


def _leak_table(best: pl.DataFrame, cand: PrefixSide, prot: PrefixSide, source_of: I64) -> pa.Table:
    rows = best.get_column("rec").to_numpy().astype(np.int64)
    partner = best.get_column("partner").to_numpy().astype(np.int64)
    depth = best.get_column("depth").to_numpy().astype(np.int64)
    n_c, n_p = cand.turns[rows], prot.turns[partner]
    inside = best.get_column("inside").to_numpy().astype(bool)
    scope = np.select(
        [inside, (n_c == depth) & (n_p == depth), (n_c > depth) & (n_p > depth), n_c > depth],
        [4, 0, 3, 1],
        default=2,
    )
    kinds = np.asarray(KINDS, dtype=object)[best.get_column("kind").to_numpy()]
    return pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "id": cand.ids.take(pa.array(rows, pa.int64())),
            "reason": pa.array(kinds.tolist(), pa.string()),
            "rule": pa.array(
                np.asarray(RULES, dtype=object)[best.get_column("rule").to_numpy()].tolist(), pa.string()
            ),
            "protected_id": prot.ids.take(pa.array(partner, pa.int64())),
            "protected_source": pa.array(source_of[partner], pa.int64()),
            "similarity": pa.array(best.get_column("similarity").to_numpy(), pa.float32()),
            "scope": pa.array(np.asarray(SCOPES, dtype=object)[scope].tolist(), pa.string()),
            "shared_turns": pa.array(depth, pa.int64()),
        }
    )


def decontaminate(
    candidates: object, protect: Sequence[object], settings: GuardSettings | None = None, **options: Any
) -> GuardResult:
    """Split ``candidates`` (a Table or a path) into records that match no protected record (kept) and
    those that do (dropped, with the reason and the matched protected id); ``settings`` and ``options``
    (``protect_names``, ``executor`` and the settings' fields) as ``find_leaks``'s."""
    table, _, _ = as_table(candidates, "candidates")
    leaks = find_leaks(table, protect, settings, **options)
    mask = np.zeros(table.num_rows, dtype=bool)
    rows = leaks.column("row").to_numpy()
    mask[rows] = True
    kept = table.filter(pa.array(~mask))
    dropped = table.take(pa.array(rows, pa.int64()))
    for name, col in zip(
        LEAK_COLUMNS,
        ("reason", "rule", "protected_id", "protected_source", "similarity", "scope", "shared_turns"),
        strict=True,
    ):
        dropped = dropped.append_column(name, leaks.column(col))
    reasons = leaks.column("reason").to_pylist()
    rules = leaks.column("rule").to_pylist()
    counts = {k: reasons.count(k) for k in KINDS} | {f"rule_{r}": rules.count(r) for r in RULES}
    counts["kept"] = kept.num_rows
    counts["candidates"] = table.num_rows
    return GuardResult(kept=kept, dropped=dropped, counts=counts)
