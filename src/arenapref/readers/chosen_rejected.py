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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.readers.base import Peek, ReadOptions, preferred_pair, record_id
from arenapref.readers.columnar import (
    Fast,
    Messages,
    battle_table,
    blank,
    coins,
    columnar_reader,
    first_text,
    ids_or_rows,
    in_set,
    lists,
    messages,
    pairs_of,
    per_row,
    same_texts,
    text_column,
)
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text
from arenapref.readers.messages import Message

ID_KEYS = ("prompt_id", "id", "question_id")
USER_ROLES = ("user", "human")
ANSWER_ROLES = ("assistant", "gpt", "bot")
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


Sides = tuple[list[str | None], list[str | None]]  # the user turns and the answers of a conversation


def _sides(messages: list[Message], field: str, opts: ReadOptions) -> Sides:
    users: list[str | None] = []
    answers: list[str | None] = []
    for role, text in messages:
        if role in USER_ROLES:
            users.append(text)
        elif role in ANSWER_ROLES:
            answers.append(text)
        elif role == "system":
            opts.rejects.recover("system message left out")
        else:
            raise CellError(f"{field}: message role {role!r} is not user, assistant or system")
    return users, answers


def _plain_sides(value: object) -> tuple[Sides, int] | None:
    """``_sides(messages_of(value))`` in one pass for the common shape, a list of ``{role, content}``
    objects with string (or null) content and a known role, and the number of system messages in it;
    None for anything else, which ``messages_of`` and ``_sides`` then read (and name)."""
    if type(value) is not list:
        return None
    users: list[str | None] = []
    answers: list[str | None] = []
    systems = 0
    for msg in value:
        if type(msg) is not dict:
            return None
        role, text = msg.get("role"), msg.get("content")
        if text is not None and type(text) is not str:
            return None
        if role in USER_ROLES:
            users.append(text)
        elif role in ANSWER_ROLES:
            answers.append(text)
        elif role == "system":
            systems += 1
        else:
            return None
    return (users, answers), systems


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
    return pair_of_sides(rid, _sides(chosen, "chosen", opts), _sides(rejected, "rejected", opts), rec, source)


def pair_of_sides(
    rid: str, chosen: Sides, rejected: Sides, rec: dict[str, object], source: str
) -> dict[str, object] | str:
    """``pair_row`` once the conversations are split into user turns and answers."""
    (users_c, ans_c), (users_r, ans_r) = chosen, rejected
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
        rid = record_id(rec, ID_KEYS, opts.where, row_no)
        plain_c, plain_r = _plain_sides(rec.get("chosen")), _plain_sides(rec.get("rejected"))
        if plain_c is None or plain_r is None:
            chosen = messages_of(rec.get("chosen"), "chosen")
            rejected = messages_of(rec.get("rejected"), "rejected")
            return pair_row(rid, chosen, rejected, rec, "chosen-rejected", opts)
        if plain_c[1] + plain_r[1]:
            opts.rejects.recover("system message left out", plain_c[1] + plain_r[1])
        return pair_of_sides(rid, plain_c[0], plain_r[0], rec, "chosen-rejected")
    except CellError as exc:
        return str(exc)


def pair_batch(
    batch: pa.RecordBatch,
    row_nos: np.ndarray,
    opts: ReadOptions,
    sides: tuple[Messages, Messages],
    source: str,
) -> Fast | None:
    """``pair_row`` column-wise for the rows whose two conversations hold the same, non-blank user turns
    and one answer per user turn; every other row is left to ``pair_row`` (and so to its reasons)."""
    chosen, rejected = sides
    n = batch.num_rows
    ids = first_text(batch, ID_KEYS)
    model_c, model_r = text_column(batch, "chosen_model"), text_column(batch, "rejected_model")
    if ids is None or model_c is None or model_r is None:
        return None
    count: dict[str, list[np.ndarray]] = {"user": [], "answer": [], "system": []}
    bad = chosen.null_rows | rejected.null_rows
    for side in sides:
        user, answer, system = (in_set(side.roles, r) for r in (USER_ROLES, ANSWER_ROLES, ("system",)))
        for key, mask in (("user", user), ("answer", answer), ("system", system)):
            count[key].append(mask)
        bad |= per_row(side.parent, ~(user | answer | system), n) > 0
    users = [per_row(s.parent, m, n) for s, m in zip(sides, count["user"], strict=True)]
    answers = [per_row(s.parent, m, n) for s, m in zip(sides, count["answer"], strict=True)]
    bad |= (users[0] != users[1]) | (users[0] == 0) | (answers[0] != users[0]) | (answers[1] != users[0])
    aligned = users[0] == users[1]
    picked = [m & aligned[s.parent] for s, m in zip(sides, count["user"], strict=True)]
    differ = ~same_texts(chosen.texts.filter(pa.array(picked[0])), rejected.texts.filter(pa.array(picked[1])))
    bad |= per_row(chosen.parent[picked[0]], differ, n) > 0
    bad |= per_row(chosen.parent, count["user"][0] & ~blank(chosen.texts), n) == 0
    rows = np.flatnonzero(~bad)
    if not len(rows):
        return None
    systems = sum(
        int(per_row(s.parent, m, n)[rows].sum()) for s, m in zip(sides, count["system"], strict=True)
    )
    if systems:
        opts.rejects.recover("system message left out", systems)
    rid = ids_or_rows(ids, row_nos, opts).take(pa.array(rows))
    swap = coins(rid)
    tie = ties(batch)[rows]
    flip_row = np.zeros(n, bool)
    flip_row[rows] = swap
    ans_c, ans_r = count["answer"]
    keep_c, keep_r = ~flip_row[chosen.parent], ~flip_row[rejected.parent]
    resp_a = lists(
        [(chosen.texts, chosen.parent, ans_c & keep_c), (rejected.texts, rejected.parent, ans_r & ~keep_r)],
        rows,
        n,
    )
    resp_b = lists(
        [(chosen.texts, chosen.parent, ans_c & ~keep_c), (rejected.texts, rejected.parent, ans_r & keep_r)],
        rows,
        n,
    )
    prompt = lists([(chosen.texts, chosen.parent, count["user"][0])], rows, n)
    mod = [m.take(pa.array(rows)) for m in (model_c, model_r)]
    flip = pa.array(swap)
    where = pc.if_else(flip, "preferred:b", "preferred:a")
    table = battle_table(
        rid,
        prompt,
        (resp_a, resp_b),
        (pc.if_else(flip, mod[1], mod[0]), pc.if_else(flip, mod[0], mod[1])),
        (~tie & ~swap, ~tie & swap, tie),
        source,
        pairs_of(rid, where),
    )
    return Fast(table, rows)


def ties(batch: pa.RecordBatch) -> np.ndarray:
    """Rows whose two scores (or ratings) are equal: ``pair_row``'s tie rule."""
    tie = np.zeros(batch.num_rows, bool)
    for a, b in SCORES:
        if a in batch.schema.names and b in batch.schema.names:
            pairs = zip(batch.column(a).to_pylist(), batch.column(b).to_pylist(), strict=True)
            tie |= np.fromiter((x is not None and x == y for x, y in pairs), bool, batch.num_rows)
    return tie


def batch_battles(batch: pa.RecordBatch, row_nos: np.ndarray, opts: ReadOptions) -> Fast | None:
    names = batch.schema.names
    if "chosen" not in names or "rejected" not in names:
        return None
    sides = messages(batch.column("chosen")), messages(batch.column("rejected"))
    if sides[0] is None or sides[1] is None:
        return None
    return pair_batch(batch, row_nos, opts, (sides[0], sides[1]), "chosen-rejected")


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
READER = columnar_reader(
    "chosen-rejected",
    JSON_SUFFIXES + TABLE_SUFFIXES,
    ("chosen", "rejected"),
    _sniff,
    _row,
    batch_battles,
    used=USED,
    message_columns=("chosen", "rejected"),
)
