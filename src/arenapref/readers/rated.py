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

import itertools
from dataclasses import dataclass

from arenapref.readers.base import Peek, ReadOptions, battle, coin, record_id, record_reader
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text

MAX_PAIRS = 6
RATING_KEYS = ("overall_score", "fine-grained_score", "score", "rating")
ID_KEYS = ("id", "prompt_id", "question_id")


@dataclass(frozen=True)
class Rated:
    """One usable completion: its text, model and rating, and its index in the record."""

    index: int
    text: str | None
    model: object
    rating: float


def rating_of(value: object) -> float | None:
    """A numeric rating, or None for a missing or non-numeric one (booleans are not ratings)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        r = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return r if r == r else None


def rated_pairs(
    rid: str, prompt: list[str | None], items: list[Rated], source: str
) -> list[dict[str, object]]:
    """Battles between rated answers of one prompt, by the pairing rule above."""
    rows: list[dict[str, object]] = []
    for x, y in itertools.islice(itertools.combinations(items, 2), MAX_PAIRS):
        pid = f"{rid}:{x.index}-{y.index}"
        first, second = (y, x) if coin(pid) else (x, y)
        diff = first.rating - second.rating
        label = (0.0, 0.0, 1.0) if diff == 0 else ((1.0, 0.0, 0.0) if diff > 0 else (0.0, 1.0, 0.0))
        rows.append(
            battle(
                pid,
                prompt,
                [first.text],
                [second.text],
                first.model,
                second.model,
                label,
                source,
                [rid, f"completions:{first.index},{second.index}"],
            )
        )
    return rows


def _row(rec: dict[str, object], row_no: int, opts: ReadOptions) -> list[dict[str, object]] | str:
    completions = rec.get("completions")
    if not isinstance(completions, list):
        return f"completions: expected a list of rated completions, got {type(completions).__name__}"
    try:
        prompt = content_text(rec.get("instruction"), "instruction")
        items: list[Rated] = []
        for i, comp in enumerate(completions):
            if not isinstance(comp, dict):
                return f"completions[{i}]: expected an object with response and a rating"
            rating = next((r for k in RATING_KEYS if (r := rating_of(comp.get(k))) is not None), None)
            text = content_text(comp.get("response"), f"completions[{i}].response")
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
    return rated_pairs(record_id(rec, ID_KEYS, opts.where, row_no), [prompt], items, "rated")


def _sniff(p: Peek) -> bool:
    return p.has("instruction", "completions") and p.type_of("completions") == "list"


READER = record_reader("rated", JSON_SUFFIXES + TABLE_SUFFIXES, ("instruction", "completions"), _sniff, _row)
