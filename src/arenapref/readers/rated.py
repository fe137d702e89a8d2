"""Rated completions: several answers to one instruction, each with a rating (UltraFeedback's
``instruction`` + ``completions: [{model, response, overall_score, fine-grained_score, ...}]``).

Pairing rule: the rated completions of one record are paired in source order, (0,1), (0,2), ..., (1,2),
..., at most ``MAX_PAIRS`` pairs per prompt (UltraFeedback's four completions give all six). A pair's label
comes from the rating difference: the higher-rated answer wins, equal ratings are a tie. A completion
without a response or a numeric rating is not paired (counted as a recovery); a record with fewer than
two usable completions is a counted reject. Each pair goes to A/B by the seeded coin on its id
(``<record id>:<i>-<j>``), so neither position is favoured; ``provenance`` holds the record id and the
completion indices. The rating is ``overall_score``, else ``fine-grained_score``, else ``score``/``rating``.
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

from arenapref.readers.base import (
    LayoutReader,
    Peek,
    ReadOptions,
    Records,
    coin,
    file_records,
    layout_check,
    opt_str,
    record_id,
    table_records,
)
from arenapref.readers.columnar import battle_table, pairs_of
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text

MAX_PAIRS = 6
RATING_KEYS = ("overall_score", "fine-grained_score", "score", "rating")
ID_KEYS = ("id", "prompt_id", "question_id")
COLUMNS = ("instruction", "completions")


class Rated(NamedTuple):
    """One usable completion: its position in the record, text, model and rating."""

    position: int
    text: str | None
    model: object
    rating: float


# A record's id, prompt and usable completions, or the reason it has none to pair.
Prompt = tuple[str, list[str | None], list[Rated]]
RatedFn = Callable[[dict[str, object], int, ReadOptions], "Prompt | str"]


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


@functools.lru_cache(maxsize=64)
def _pairing(n: int) -> tuple[tuple[int, int], ...]:
    """The positions paired among ``n`` usable completions: (0,1), (0,2), ..., at most ``MAX_PAIRS``."""
    return tuple(itertools.islice(itertools.combinations(range(n), 2), MAX_PAIRS))


@dataclass
class _Pairs:
    """Battles between rated answers, gathered column by column: each text, model and prompt is converted
    to Arrow once and ``take`` places it in every pair that uses it (a prompt with four completions is in
    six pairs), which is most of the cost of building the same rows one dict at a time."""

    source: str
    rids: list[str] = field(default_factory=list)
    prompts: list[list[str | None]] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)
    models: list[str | None] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)
    first: list[int] = field(default_factory=list)
    second: list[int] = field(default_factory=list)
    label: list[int] = field(default_factory=list)  # 0: A wins, 1: B wins, 2: tie
    where: list[str] = field(default_factory=list)

    def add(self, rid: str, prompt: list[str | None], items: list[Rated]) -> None:
        """The pairs of one prompt, by the pairing rule above; each goes to A/B by the coin on its id."""
        base, rec = len(self.texts), len(self.rids)
        self.rids.append(rid)
        self.prompts.append(prompt)
        self.texts.extend([x.text for x in items])
        self.models.extend([opt_str(x.model) for x in items])
        for kx, ky in _pairing(len(items)):
            x, y = items[kx], items[ky]
            pid = f"{rid}:{x.position}-{y.position}"
            if coin(pid):
                kx, ky, x, y = ky, kx, y, x
            diff = x.rating - y.rating
            self.ids.append(pid)
            self.owner.append(rec)
            self.first.append(base + kx)
            self.second.append(base + ky)
            self.label.append(2 if diff == 0 else (0 if diff > 0 else 1))
            self.where.append(f"completions:{x.position},{y.position}")

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self) -> pa.Table:
        n = len(self.ids)
        one = pa.array(np.arange(n + 1, dtype=np.int32))
        texts, models = pa.array(self.texts, pa.string()), pa.array(self.models, pa.string())
        first, second, owner = (pa.array(v, pa.int64()) for v in (self.first, self.second, self.owner))
        label = np.asarray(self.label, np.int8)
        return battle_table(
            pa.array(self.ids, pa.string()),
            pa.array(self.prompts, pa.list_(pa.string())).take(owner),
            (
                pa.ListArray.from_arrays(one, texts.take(first)),
                pa.ListArray.from_arrays(one, texts.take(second)),
            ),
            (models.take(first), models.take(second)),
            (label == 0, label == 1, label == 2),
            self.source,
            pairs_of(pa.array(self.rids, pa.string()).take(owner), pa.array(self.where, pa.string())),
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
        pairs.add(*got)
        if len(pairs) >= opts.batch_size:
            yield from pairs.batch().to_batches()
            pairs = _Pairs(source)
    if len(pairs):
        yield from pairs.batch().to_batches()


def _usable(rec: dict[str, object], row_no: int, opts: ReadOptions) -> Prompt | str:
    completions = rec.get("completions")
    if not isinstance(completions, list):
        return f"completions: expected a list of rated completions, got {type(completions).__name__}"
    try:
        prompt = content_text(rec.get("instruction"), "instruction")
        items: list[Rated] = []
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
            items.append(Rated(i, text, comp.get("model"), rating))
    except CellError as exc:
        return str(exc)
    if not prompt or not prompt.strip():
        return "empty instruction"
    if len(items) < 2:
        return "fewer than two rated completions"
    return record_id(rec, ID_KEYS, opts.where, row_no), [prompt], items


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
