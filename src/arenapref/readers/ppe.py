"""lmarena's PPE human-preference set: ``prompt``, ``response_1``, ``response_2``, ``winner``
(``model_a``/``model_b``/``tie``/``tie (bothbad)``/``both_bad``, as in the Arena releases), ``model_a``,
``model_b``, ``question_id``.

``response_1`` is model_a's answer and becomes A; the votes are human Arena votes, so positions stay as
voted. A release that also carries ``conversation_a``/``conversation_b`` reads as the arena layout (the
full multi-turn conversations), which comes first in detection.
"""

from __future__ import annotations

from arenapref.readers.arena import winner_label
from arenapref.readers.base import Peek, ReadOptions, battle, record_id, record_reader
from arenapref.readers.chosen_rejected import ID_KEYS
from arenapref.readers.files import CSV_SUFFIXES, JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text

COLUMNS = ("prompt", "response_1", "response_2")


def _turns(value: object, field: str) -> list[str | None]:
    if isinstance(value, list):
        return [content_text(v, field) for v in value]
    return [content_text(value, field)]


def _row(rec: dict[str, object], row_no: int, opts: ReadOptions) -> dict[str, object] | str:
    label = winner_label(rec.get("winner"))
    if isinstance(label, str):
        return label
    try:
        prompt = _turns(rec.get("prompt"), "prompt")
        resp_a = _turns(rec.get("response_1"), "response_1")
        resp_b = _turns(rec.get("response_2"), "response_2")
    except CellError as exc:
        return str(exc)
    if not any(p and p.strip() for p in prompt):
        return "empty prompt"
    rid = record_id(rec, ID_KEYS, opts.where, row_no)
    return battle(rid, prompt, resp_a, resp_b, rec.get("model_a"), rec.get("model_b"), label, "ppe", [])


def _sniff(p: Peek) -> bool:
    return p.has(*COLUMNS)


READER = record_reader(
    "ppe",
    CSV_SUFFIXES + JSON_SUFFIXES + TABLE_SUFFIXES,
    COLUMNS,
    _sniff,
    _row,
    used=(*COLUMNS, "winner", "model_a", "model_b", *ID_KEYS),
)
