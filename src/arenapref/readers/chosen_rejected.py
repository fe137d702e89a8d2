"""Preference sets with ``chosen``/``rejected`` message lists: UltraFeedback-binarized, orpo-dpo-mix-40k,
Capybara-Preferences, Skywork-Reward-Preference, RLHFlow "-standard" sets.

``chosen`` and ``rejected`` are whole conversations (``[{role, content}, ...]``) that share the user
turns and differ in the answers; a ``prompt`` column, where present, is used only when the lists hold no
user turn (sets that store the answer alone). Optional columns: ``prompt_id``/``id``,
``chosen_model``/``rejected_model``; ``score_chosen``/``score_rejected`` and ``chosen_rating``/
``rejected_rating`` are kept out of the label (the set already says which answer is preferred) except
that equal scores make the pair a tie. System messages are not part of a battle; each one left out is
counted as a recovery. The preferred answer goes to A or B by a coin seeded with the record id (see
``base.coin``), recorded in ``provenance`` as ``preferred:a`` or ``preferred:b``.
"""

from __future__ import annotations

from arenapref.readers.base import Peek, ReadOptions, preferred_pair, record_id, record_reader
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text
from arenapref.readers.messages import Message

ID_KEYS = ("prompt_id", "id", "question_id")
SCORES = (("score_chosen", "score_rejected"), ("chosen_rating", "rejected_rating"))


def messages_of(value: object, field: str) -> list[Message]:
    """A ``[{role, content}]`` list as (role, text) pairs; any other shape raises ``CellError`` naming it."""
    if not isinstance(value, list):
        raise CellError(f"{field}: expected a list of role/content messages, got {type(value).__name__}")
    out: list[Message] = []
    for msg in value:
        if isinstance(msg, tuple):  # decoded column-wise (messages.message_lists)
            out.append(msg)
            continue
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise CellError(f"{field}: expected role/content messages")
        out.append((str(msg["role"]), content_text(msg.get("content"), f"{field} content")))
    return out


def _sides(
    messages: list[Message], field: str, opts: ReadOptions
) -> tuple[list[str | None], list[str | None]]:
    users: list[str | None] = []
    answers: list[str | None] = []
    for role, text in messages:
        if role in ("user", "human"):
            users.append(text)
        elif role in ("assistant", "gpt", "bot"):
            answers.append(text)
        elif role == "system":
            opts.rejects.recover("system message left out")
        else:
            raise CellError(f"{field}: message role {role!r} is not user, assistant or system")
    return users, answers


def _prompt_text(value: object) -> list[str | None]:
    if isinstance(value, list):
        return [content_text(v, "prompt") for v in value]
    return [] if value is None else [content_text(value, "prompt")]


def pair_row(
    rid: str,
    chosen: list[Message],
    rejected: list[Message],
    rec: dict[str, object],
    source: str,
    opts: ReadOptions,
) -> dict[str, object] | str:
    """A battle from two conversations with the same user turns; the reason when they are not that."""
    users_c, ans_c = _sides(chosen, "chosen", opts)
    users_r, ans_r = _sides(rejected, "rejected", opts)
    if not users_c and not users_r:
        users_c = users_r = _prompt_text(rec.get("prompt"))
    if users_c != users_r:
        return "chosen and rejected do not hold the same user turns"
    if not users_c or not any(u and u.strip() for u in users_c):
        return "no user turn (chosen/rejected hold none and there is no prompt)"
    if len(ans_c) != len(users_c) or len(ans_r) != len(users_c):
        return f"{len(users_c)} user turn(s) but {len(ans_c)} chosen and {len(ans_r)} rejected answer(s)"
    tie = any(rec.get(a) is not None and rec.get(a) == rec.get(b) for a, b in SCORES if a in rec and b in rec)
    models = rec.get("chosen_model"), rec.get("rejected_model")
    return preferred_pair(rid, users_c, (ans_c, models[0]), (ans_r, models[1]), source, tie)


def _row(rec: dict[str, object], row_no: int, opts: ReadOptions) -> dict[str, object] | str:
    try:
        chosen = messages_of(rec.get("chosen"), "chosen")
        rejected = messages_of(rec.get("rejected"), "rejected")
        return pair_row(
            record_id(rec, ID_KEYS, opts.where, row_no), chosen, rejected, rec, "chosen-rejected", opts
        )
    except CellError as exc:
        return str(exc)


def _sniff(p: Peek) -> bool:
    return p.has("chosen", "rejected") and p.type_of("chosen") == "list"


USED = (
    "chosen",
    "rejected",
    "prompt",
    "chosen_model",
    "rejected_model",
    *ID_KEYS,
    *(c for p in SCORES for c in p),
)
READER = record_reader(
    "chosen-rejected",
    JSON_SUFFIXES + TABLE_SUFFIXES,
    ("chosen", "rejected"),
    _sniff,
    _row,
    used=USED,
    message_columns=("chosen", "rejected"),
)
