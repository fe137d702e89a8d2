"""Rated completions: several answers to one instruction, each with a rating (UltraFeedback's
``instruction`` + ``completions: [{model, response, overall_score, fine-grained_score, ...}]``).

Pairing rule: the rated completions of one record are paired in source order, (0,1), (0,2), ..., (1,2),
..., at most ``MAX_PAIRS`` pairs per prompt (UltraFeedback's four completions give all six). A pair's label
comes from the rating difference: the higher-rated answer wins, equal ratings are a tie. A completion
without a response or a numeric rating is not paired (counted as a recovery); a record with fewer than
two usable completions is a counted reject. The k-th pair of a record goes to A/B by bit k of the seeded
coins on its record id (``base.coins_of``; at most eight pairs, so every pair has its own coin), so
neither position is favoured; a pair's id is ``<record id>:<i>-<j>`` in source order, and ``provenance``
holds the record id and the completion indices as placed (A's first). The rating is ``overall_score``,
else ``fine-grained_score``, else ``score``/``rating``.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.readers.base import (
    LayoutReader,
    Peek,
    ReadOptions,
    Records,
    coins_of,
    file_records,
    layout_check,
    opt_str,
    record_id,
    table_records,
)
from arenapref.readers.columnar import battle_table, pairs_of
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text

MAX_PAIRS = 6  # at most 8: one bit of ``coins_of`` per pair
RATING_KEYS = ("overall_score", "fine-grained_score", "score", "rating")
ID_KEYS = ("id", "prompt_id", "question_id")
COLUMNS = ("instruction", "completions")


class Usable(NamedTuple):
    """A record's id, prompt turns and usable completions, as columns: each completion's position in the
    record, text, model and rating."""

    rid: str
    prompt: list[str | None]
    positions: list[int]
    texts: list[str | None]
    models: list[object]
    ratings: list[float]


# A record's usable completions, or the reason it has none to pair.
RatedFn = Callable[[dict[str, object], int, ReadOptions], "Usable | str"]


def rating_of(value: object) -> float | None:
    """A numeric rating, or None for a missing or non-numeric one (booleans are not ratings)."""
    if type(value) is float:
        return value if value == value else None
    if isinstance(value, bool) or value is None:
        return None
    try:
        r = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return r if r == r else None


@functools.lru_cache(maxsize=16)
def _pattern(most: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every count ``n`` up to ``most`` usable completions: the positions paired among them, (0,1),
    (0,2), ..., at most ``MAX_PAIRS`` (two ``[n, k]`` tables), and how many pairs that is."""
    first = np.zeros((most + 1, MAX_PAIRS), np.int64)
    second = np.zeros((most + 1, MAX_PAIRS), np.int64)
    count = np.zeros(most + 1, np.int64)
    for n in range(most + 1):
        for k, (i, j) in enumerate(itertools.islice(itertools.combinations(range(n), 2), MAX_PAIRS)):
            first[n, k], second[n, k], count[n] = i, j, k + 1
    return first, second, count


@dataclass
class _Pairs:
    """Battles between rated answers, gathered column by column and paired in one vectorised pass at
    ``batch``: each text, model and prompt is converted to Arrow once and ``take`` places it in every pair
    that uses it (a prompt with four completions is in six pairs). Pairing, the coins, labels and ids per
    pair in Python were most of this reader's time (2.4x the competition reader's per record)."""

    source: str
    rids: list[str] = field(default_factory=list)
    coins: list[int] = field(default_factory=list)
    prompts: list[list[str | None]] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)
    models: list[str | None] = field(default_factory=list)
    ratings: list[float] = field(default_factory=list)
    pairs: int = 0

    def add(self, got: Usable) -> None:
        """One record's completions; its pairs are made by the pairing rule above at ``batch``."""
        self.rids.append(got.rid)
        self.coins.append(coins_of(got.rid))
        self.prompts.append(got.prompt)
        self.counts.append(len(got.texts))
        self.positions.extend(got.positions)
        self.texts.extend(got.texts)
        self.models.extend([opt_str(m) for m in got.models])
        self.ratings.extend(got.ratings)
        n = len(got.texts)
        self.pairs += min(n * (n - 1) // 2, MAX_PAIRS)

    def batch(self) -> pa.Table:
        """The pairs of every record added: the k-th pair of a record goes to A/B by bit k of the coins
        on its record id, and its label is the sign of the rating difference (0: a tie)."""
        counts = np.asarray(self.counts, np.int64)
        first_of, second_of, pairs_of_n = _pattern(int(counts.max()))
        per = pairs_of_n[counts]
        owner = np.repeat(np.arange(len(counts)), per)
        local = np.arange(len(owner)) - np.repeat(np.cumsum(per) - per, per)
        base = np.repeat(np.cumsum(counts) - counts, per)
        x = base + first_of[counts[owner], local]
        y = base + second_of[counts[owner], local]
        swap = ((np.asarray(self.coins, np.int64)[owner] >> local) & 1).astype(bool)
        a, b = np.where(swap, y, x), np.where(swap, x, y)
        ratings = np.asarray(self.ratings, np.float64)
        diff = ratings[a] - ratings[b]
        position = pc.cast(pa.array(self.positions, pa.int64()), pa.string())
        rid = pa.array(self.rids, pa.string()).take(owner)
        texts, models = pa.array(self.texts, pa.string()), pa.array(self.models, pa.string())
        one = pa.array(np.arange(len(owner) + 1, dtype=np.int32))
        return battle_table(
            pc.binary_join_element_wise(rid, ":", position.take(x), "-", position.take(y), ""),
            pa.array(self.prompts, pa.list_(pa.string())).take(owner),
            (pa.ListArray.from_arrays(one, texts.take(a)), pa.ListArray.from_arrays(one, texts.take(b))),
            (models.take(a), models.take(b)),
            (diff > 0, diff < 0, diff == 0),
            self.source,
            pairs_of(
                rid, pc.binary_join_element_wise("completions:", position.take(a), ",", position.take(b), "")
            ),
        )


def rated_batches(
    records: Records, rated_fn: RatedFn, opts: ReadOptions, source: str
) -> Iterator[pa.RecordBatch]:
    """Battles of every record ``rated_fn`` finds usable, in record order; the others are counted rejects."""
    pairs = _Pairs(source)
    for row_no, rec in records:
        got = rated_fn(rec, row_no, opts)
        if isinstance(got, str):
            opts.rejects.add(opts.where, row_no, got, raw=json.dumps(rec, default=str)[:500])
            continue
        pairs.add(got)
        if pairs.pairs >= opts.batch_size:
            yield from pairs.batch().to_batches()
            pairs = _Pairs(source)
    if pairs.pairs:
        yield from pairs.batch().to_batches()


def _usable(rec: dict[str, object], row_no: int, opts: ReadOptions) -> Usable | str:
    completions = rec.get("completions")
    if not isinstance(completions, list):
        return f"completions: expected a list of rated completions, got {type(completions).__name__}"
    positions: list[int] = []
    texts: list[str | None] = []
    models: list[object] = []
    ratings: list[float] = []
    try:
        prompt = content_text(rec.get("instruction"), "instruction")
        for i, comp in enumerate(completions):
            if not isinstance(comp, dict):
                return f"completions[{i}]: expected an object with response and a rating"
            rating = rating_of(comp.get(RATING_KEYS[0]))
            if rating is None:
                rating = next((r for k in RATING_KEYS[1:] if (r := rating_of(comp.get(k))) is not None), None)
            text = comp.get("response")
            if text is not None and type(text) is not str:
                text = content_text(text, f"completions[{i}].response")
            if rating is None or text is None:
                opts.rejects.recover("completion without a response or rating not paired")
                continue
            positions.append(i)
            texts.append(text)
            models.append(comp.get("model"))
            ratings.append(rating)
    except CellError as exc:
        return str(exc)
    if not prompt or not prompt.strip():
        return "empty instruction"
    if len(texts) < 2:
        return "fewer than two rated completions"
    return Usable(record_id(rec, ID_KEYS, opts.where, row_no), [prompt], positions, texts, models, ratings)


def _read(path: Path, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
    opts.where = path
    return rated_batches(
        file_records(path, opts, layout_check("rated", COLUMNS, path)), _usable, opts, "rated"
    )


def _from_table(table: pa.Table, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
    layout_check("rated", COLUMNS, opts.where)(table.column_names)
    return rated_batches(table_records(table, opts.batch_size), _usable, opts, "rated")


def _sniff(p: Peek) -> bool:
    return p.has(*COLUMNS) and p.type_of("completions") == "list"


READER = LayoutReader("rated", "battles", JSON_SUFFIXES + TABLE_SUFFIXES, COLUMNS, _sniff, _read, _from_table)
