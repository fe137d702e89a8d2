"""Preference sets whose ``chosen``/``rejected`` are one transcript string each (Anthropic HH-RLHF, and
PKU-SafeRLHF or other sets exported in its style): ``"\\n\\nHuman: ...\\n\\nAssistant: ..."``.

Each transcript is split into turns at the ``Human:``/``Assistant:`` markers; the two share the user
turns (the shared prefix), which become the prompt, and differ in the answers. The pair is then read as
``chosen_rejected`` reads message lists: the preferred answer placed by the seeded coin, the placement
recorded in ``provenance``. A transcript without the markers is a counted reject naming the column.
"""

from __future__ import annotations

import re

from arenapref.readers.base import Peek, ReadOptions, record_id, record_reader
from arenapref.readers.chosen_rejected import ID_KEYS, USED, pair_row
from arenapref.readers.files import CSV_SUFFIXES, JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError
from arenapref.readers.messages import Message

# A literal "\n\n" opens every marker, so the regex engine scans for it at C speed.
_MARK = re.compile(r"\n\n(Human|Assistant):[ \t]?")
_ROLE = {"Human": "user", "Assistant": "assistant"}


def split_transcript(text: object, field: str) -> list[Message]:
    """``\\n\\nHuman: q\\n\\nAssistant: a`` as [("user", "q"), ("assistant", "a")]."""
    if not isinstance(text, str):
        raise CellError(f"{field}: expected a Human:/Assistant: transcript, got {type(text).__name__}")
    pieces = _MARK.split(text if text.startswith("\n\n") else "\n\n" + text)
    if len(pieces) < 3 or pieces[0].strip():
        raise CellError(f"{field}: not a Human:/Assistant: transcript")
    return [(_ROLE[pieces[i]], pieces[i + 1].strip()) for i in range(1, len(pieces), 2)]


def _row(rec: dict[str, object], row_no: int, opts: ReadOptions) -> dict[str, object] | str:
    try:
        chosen = split_transcript(rec.get("chosen"), "chosen")
        rejected = split_transcript(rec.get("rejected"), "rejected")
    except CellError as exc:
        return str(exc)
    return pair_row(record_id(rec, ID_KEYS, opts.where, row_no), chosen, rejected, rec, "transcript", opts)


def _sniff(p: Peek) -> bool:
    return p.has("chosen", "rejected") and p.type_of("chosen") == "string"


READER = record_reader(
    "transcript",
    CSV_SUFFIXES + JSON_SUFFIXES + TABLE_SUFFIXES,
    ("chosen", "rejected"),
    _sniff,
    _row,
    used=USED,
)
