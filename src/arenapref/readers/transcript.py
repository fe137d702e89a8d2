"""Preference sets whose ``chosen``/``rejected`` are one transcript string each (Anthropic HH-RLHF, and
PKU-SafeRLHF or other sets exported in its style): ``"\\n\\nHuman: ...\\n\\nAssistant: ..."``.

Each transcript is split into turns at the ``Human:``/``Assistant:`` markers; the two share the user
turns (the shared prefix), which become the prompt, and differ in the answers. The pair is then read as
``chosen_rejected`` reads message lists: the preferred answer placed by the seeded coin, the placement
recorded in ``provenance``. A transcript without the markers is a counted reject naming the column.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.readers.base import Peek, ReadOptions, record_id
from arenapref.readers.chosen_rejected import ID_KEYS, USED, Sides, pair_batch, pair_of_sides
from arenapref.readers.columnar import Fast, Messages, columnar_reader
from arenapref.readers.files import CSV_SUFFIXES, JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError

# A literal "\n\n" opens every marker, so the regex engine scans for it at C speed.
_MARK = re.compile(r"\n\n(Human|Assistant):[ \t]?")


def _pieces(text: str) -> list[str] | None:
    """A transcript split at its markers (``[lead, role, text, role, text, ...]``); None when it has no
    marker or text before the first one."""
    pieces = _MARK.split(text if text.startswith("\n\n") else "\n\n" + text)
    return None if len(pieces) < 3 or pieces[0].strip() else pieces


def transcript_sides(text: object, field: str) -> Sides:
    """``\\n\\nHuman: q\\n\\nAssistant: a`` as its user turns and its answers: (["q"], ["a"])."""
    if not isinstance(text, str):
        raise CellError(f"{field}: expected a Human:/Assistant: transcript, got {type(text).__name__}")
    pieces = _pieces(text)
    if pieces is None:
        raise CellError(f"{field}: not a Human:/Assistant: transcript")
    users: list[str | None] = []
    answers: list[str | None] = []
    for i in range(1, len(pieces), 2):
        (users if pieces[i] == "Human" else answers).append(pieces[i + 1].strip())
    return users, answers


def _row(rec: dict[str, object], row_no: int, opts: ReadOptions) -> dict[str, object] | str:
    try:
        chosen = transcript_sides(rec.get("chosen"), "chosen")
        rejected = transcript_sides(rec.get("rejected"), "rejected")
    except CellError as exc:
        return str(exc)
    return pair_of_sides(record_id(rec, ID_KEYS, opts.where, row_no), chosen, rejected, rec, "transcript")


def split_transcripts(arr: pa.Array) -> Messages | None:
    """``transcript_sides`` over a column, flattened; a cell it refuses is a null row (left to it, for
    its reason). Python's ``re`` splits: it scans for the literal ``\\n\\n`` faster than Arrow's RE2."""
    if not pa.types.is_string(arr.type):
        return None
    split = [None if t is None else _pieces(t) for t in arr.to_pylist()]
    sizes = np.fromiter((0 if p is None else len(p) // 2 for p in split), np.int64, len(split))
    roles = pa.array([r for p in split if p is not None for r in p[1::2]], pa.string())
    texts = [t.strip() for p in split if p is not None for t in p[2::2]]
    return Messages(
        pc.if_else(pc.equal(roles, "Human"), "user", "assistant"),
        pa.array(texts, pa.string()),
        np.repeat(np.arange(len(split)), sizes),
        sizes == 0,
    )


def batch_battles(batch: pa.RecordBatch, row_nos: np.ndarray, opts: ReadOptions) -> Fast | None:
    sides = (
        split_transcripts(batch.column("chosen")),
        split_transcripts(batch.column("rejected")),
    )
    if sides[0] is None or sides[1] is None:
        return None
    return pair_batch(batch, row_nos, opts, (sides[0], sides[1]), "transcript")


def _sniff(p: Peek) -> bool:
    return p.has("chosen", "rejected") and p.type_of("chosen") == "string"


READER = columnar_reader(
    "transcript",
    CSV_SUFFIXES + JSON_SUFFIXES + TABLE_SUFFIXES,
    ("chosen", "rejected"),
    _sniff,
    _row,
    batch_battles,
    used=USED,
)
