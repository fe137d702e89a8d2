"""PKU-Alignment's PKU-SafeRLHF as published: ``prompt``, ``response_0``, ``response_1``,
``better_response_id`` (0 or 1), with ``safer_response_id``, ``is_response_*_safe`` and the answers'
sources beside them.

The label is ``better_response_id`` (helpfulness preference): 0 makes ``response_0`` (A) the winner, 1
makes ``response_1`` (B) the winner. The two answers were sampled in no particular order, so they keep
their positions. ``safer_response_id`` is a second, different preference and is not the label; an export
in HH-RLHF's ``chosen``/``rejected`` transcripts reads as the ``transcript`` layout instead.
"""

from __future__ import annotations

from arenapref.readers.base import Peek, ReadOptions, battle, record_id, record_reader
from arenapref.readers.files import CSV_SUFFIXES, JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text

COLUMNS = ("prompt", "response_0", "response_1", "better_response_id")
LABELS: dict[object, tuple[float, float, float]] = {
    0: (1.0, 0.0, 0.0),
    1: (0.0, 1.0, 0.0),
    "0": (1.0, 0.0, 0.0),
    "1": (0.0, 1.0, 0.0),
}


def _row(rec: dict[str, object], row_no: int, opts: ReadOptions) -> dict[str, object] | str:
    better = rec.get("better_response_id")
    if isinstance(better, bool) or better not in LABELS:
        return f"better_response_id {better!r} is not 0 or 1"
    try:
        prompt = content_text(rec.get("prompt"), "prompt")
        resp_a = content_text(rec.get("response_0"), "response_0")
        resp_b = content_text(rec.get("response_1"), "response_1")
    except CellError as exc:
        return str(exc)
    if not prompt or not prompt.strip():
        return "empty prompt"
    rid = record_id(rec, ("id",), opts.where, row_no)
    models = rec.get("response_0_source"), rec.get("response_1_source")
    return battle(rid, [prompt], [resp_a], [resp_b], models[0], models[1], LABELS[better], "saferlhf", [])


def _sniff(p: Peek) -> bool:
    return p.has(*COLUMNS)


READER = record_reader("saferlhf", CSV_SUFFIXES + JSON_SUFFIXES + TABLE_SUFFIXES, COLUMNS, _sniff, _row)
