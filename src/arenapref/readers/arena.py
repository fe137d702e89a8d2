"""Chatbot Arena vote releases: the 33k conversations set, arena-human-preference-100k and -140k.

Each record holds both conversations (``conversation_a``/``conversation_b``) and the vote. The 140k
release writes message content as parts (``[{"type": "text", "text": ...}]``, images beside the text)
and calls a both-bad tie ``both_bad``; both read like the older releases (image parts carry no text and
are left out). Files of the same family that carry only the user turns (``turns``), like
arena_battles_1135.jsonl, read as battles with empty answers, so their prompts and votes are still usable.
"""

from __future__ import annotations

from arenapref.readers.base import Peek, ReadOptions, battle, record_reader
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


def _sniff(p: Peek) -> bool:
    if p.any_of("conversation_a", "conversation_b"):
        return True
    return p.origin == "json" and p.has("winner", "model_a", "model_b")


READER = record_reader(
    "arena",
    JSON_SUFFIXES + TABLE_SUFFIXES,
    ("conversation_a", "conversation_b"),
    _sniff,
    battle_row,
    required=(),
    message_columns=("conversation_a", "conversation_b"),
    used=("question_id", "id", "winner", "model_a", "model_b", "conversation_a", "conversation_b", "turns"),
)
