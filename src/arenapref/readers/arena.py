"""Chatbot Arena vote releases: the 33k conversations set, arena-human-preference-100k and -140k.

Each record holds both conversations (``conversation_a``/``conversation_b``) and the vote. The 140k
release writes message content as parts (``[{"type": "text", "text": ...}]``, images beside the text)
and calls a both-bad tie ``both_bad``; both read like the older releases (image parts carry no text and
are left out). Files of the same family that carry only the user turns (``turns``), like
arena_battles_1135.jsonl, read as battles with empty answers, so their prompts and votes are still usable.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.readers.base import Peek, ReadOptions, battle
from arenapref.readers.columnar import (
    Fast,
    battle_table,
    columnar_reader,
    in_set,
    lists,
    messages,
    text_column,
)
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text

WINNERS: dict[str, tuple[float, float, float]] = {
    "model_a": (1.0, 0.0, 0.0),
    "model_b": (0.0, 1.0, 0.0),
    "tie": (0.0, 0.0, 1.0),
    "tie (bothbad)": (0.0, 0.0, 1.0),
    "both_bad": (0.0, 0.0, 1.0),
}


def _sides(conv: object, field: str) -> tuple[list[str | None], list[str | None]] | None:
    """The user and the assistant texts of a conversation, from dicts or (role, text) tuples (``messages``);
    None when it is not a list of messages."""
    if not isinstance(conv, list):
        return None
    users: list[str | None] = []
    answers: list[str | None] = []
    for msg in conv:
        if isinstance(msg, tuple):
            role, text = msg
        elif isinstance(msg, dict):
            role = msg.get("role")
            if role not in ("user", "assistant"):
                continue
            content = msg.get("content")
            text = content if content is None or isinstance(content, str) else content_text(content, field)
        else:
            return None
        if role == "user":
            users.append(text)
        elif role == "assistant":
            answers.append(text)
    return users, answers


def winner_label(winner: object) -> tuple[float, float, float] | str | None:
    """An Arena ``winner`` value as (P(A), P(B), P(tie)), None when absent, or the reason it is unusable."""
    if winner is None:
        return None
    if not isinstance(winner, str) or winner not in WINNERS:
        return f"winner {winner!r} is not one of {', '.join(WINNERS)}"
    return WINNERS[winner]


def battle_row(
    rec: dict[str, object], row_no: int = 0, opts: ReadOptions | None = None
) -> dict[str, object] | str:
    """One Arena record as a battle row, or the reason it cannot be one."""
    rid = rec.get("question_id", rec.get("id"))
    if rid is None or str(rid) == "":
        return "missing question_id"
    label = winner_label(rec.get("winner"))
    if isinstance(label, str):
        return label
    try:
        if "conversation_a" in rec or "conversation_b" in rec:
            side_a = _sides(rec.get("conversation_a"), "conversation_a content")
            side_b = _sides(rec.get("conversation_b"), "conversation_b content")
            if side_a is None or side_b is None:
                return "conversation_a/conversation_b must be lists of role/content messages"
            (prompt, resp_a), resp_b = side_a, side_b[1]
        else:
            turns = rec.get("turns")
            if not isinstance(turns, list):
                return "neither conversation_a/conversation_b nor turns present"
            prompt = [content_text(t, "turns") for t in turns]
            resp_a, resp_b = [], []
    except CellError as exc:
        return str(exc)
    return battle(
        str(rid), prompt, resp_a, resp_b, rec.get("model_a"), rec.get("model_b"), label, "arena", []
    )


def batch_battles(batch: pa.RecordBatch, row_nos: np.ndarray, opts: ReadOptions) -> Fast | None:
    """``battle_row`` column-wise for the rows with an id, a known or missing winner and two message
    lists; every other row is left to ``battle_row`` (and so to its reasons)."""
    names = batch.schema.names
    if "conversation_a" not in names or "conversation_b" not in names:
        return None
    side_a, side_b = messages(batch.column("conversation_a")), messages(batch.column("conversation_b"))
    ids = text_column(batch, "question_id" if "question_id" in names else "id")
    model_a, model_b = text_column(batch, "model_a"), text_column(batch, "model_b")
    winner = batch.column("winner") if "winner" in names else pa.nulls(batch.num_rows, pa.string())
    if pa.types.is_null(winner.type):
        winner = pa.nulls(batch.num_rows, pa.string())
    if (
        side_a is None
        or side_b is None
        or ids is None
        or model_a is None
        or model_b is None
        or not pa.types.is_string(winner.type)
    ):
        return None
    n = batch.num_rows
    known = in_set(winner, tuple(WINNERS)) | np.asarray(winner.is_null())
    rows = np.flatnonzero(~(side_a.null_rows | side_b.null_rows | np.asarray(ids.is_null()) | ~known))
    if not len(rows):
        return None
    take = pa.array(rows)
    user_a, answer_a, answer_b = (
        in_set(side_a.roles, ("user",)),
        in_set(side_a.roles, ("assistant",)),
        in_set(side_b.roles, ("assistant",)),
    )
    won = winner.take(take)
    label = tuple(
        pc.if_else(in_set(won, tuple(w for w, p in WINNERS.items() if p[k] == 1.0)), 1.0, 0.0)
        for k in range(3)
    )
    absent = won.is_null()
    p = [pc.if_else(absent, pa.scalar(None, pa.float64()), x) for x in label]
    table = battle_table(
        ids.take(take),
        lists([(side_a.texts, side_a.parent, user_a)], rows, n),
        (
            lists([(side_a.texts, side_a.parent, answer_a)], rows, n),
            lists([(side_b.texts, side_b.parent, answer_b)], rows, n),
        ),
        (model_a.take(take), model_b.take(take)),
        (p[0], p[1], p[2]),
        "arena",
        None,
    )
    return Fast(table, rows)


def _sniff(p: Peek) -> bool:
    if p.any_of("conversation_a", "conversation_b"):
        return True
    return p.origin == "json" and p.has("winner", "model_a", "model_b")


READER = columnar_reader(
    "arena",
    JSON_SUFFIXES + TABLE_SUFFIXES,
    ("conversation_a", "conversation_b"),
    _sniff,
    battle_row,
    batch_battles,
    required=(),
    message_columns=("conversation_a", "conversation_b"),
    used=("question_id", "id", "winner", "model_a", "model_b", "conversation_a", "conversation_b", "turns"),
)
