"""Every layout arenapref reads, in detection order: the first reader whose ``sniff`` accepts a peek wins.

Adding a layout is one module exporting a ``Reader`` and one line in ``READERS``. Order matters only
where two layouts share columns: the specific ones (LMSYS, Arena, the preference sets) come before the
competition layout, our own tables, submissions, and the generic pairwise fallback.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from arenapref.errors import InputFormatError
from arenapref.readers import (
    arena,
    chosen_rejected,
    competition,
    fastchat,
    helpsteer,
    lmsys,
    native,
    pairwise,
    pandalm,
    ppe,
    rated,
    saferlhf,
    transcript,
    wsdm,
)
from arenapref.readers.base import Peek, Reader
from arenapref.records import Kind

READERS: tuple[Reader, ...] = (
    lmsys.READER,
    native.CONVERSATIONS,
    arena.READER,
    fastchat.READER,
    chosen_rejected.READER,
    transcript.READER,
    rated.READER,
    helpsteer.READER,
    pandalm.READER,
    ppe.READER,
    saferlhf.READER,
    wsdm.READER,
    competition.READER,
    native.BATTLES,
    competition.SUBMISSION,
    pairwise.READER,
)
BY_NAME: dict[str, Reader] = {r.name: r for r in READERS}
FORMATS: dict[str, Kind] = {r.name: r.kind for r in READERS}
# Layouts that only a near-miss of the competition layout could be mistaken for: checked after it.
_AFTER_NEAR_MISS = ("submission", "pairwise")


def reader(name: str) -> Reader:
    """The reader called ``name``; an unknown name is one sentence listing the layouts and the closest."""
    if name in BY_NAME:
        return BY_NAME[name]
    close = difflib.get_close_matches(name, list(BY_NAME), n=1, cutoff=0.4)
    hint = f"; closest: {close[0]}" if close else ""
    raise InputFormatError(f"unknown format {name!r}{hint}; expected one of {', '.join(BY_NAME)}")


def closest(peek: Peek) -> tuple[Reader, list[str]] | None:
    """The layout sharing most of its identifying columns with ``peek``, and the columns it lacks."""
    best: tuple[float, Reader] | None = None
    for r in READERS:
        if not r.columns:
            continue
        share = len(peek.columns & set(r.columns)) / len(r.columns)
        if share > 0 and (best is None or share > best[0]):
            best = (share, r)
    if best is None:
        return None
    return best[1], [c for c in best[1].columns if c not in peek.columns]


def detect(peek: Peek, where: Path | str) -> Reader:
    """The reader for an input, or one sentence: empty, almost the competition layout, or no layout (with
    the layouts recognised and the closest match)."""
    if not peek.columns:
        raise InputFormatError(f"{where}: is empty (no columns, no records)")
    for r in READERS:
        if r.name in _AFTER_NEAR_MISS:
            miss = competition.near_miss(peek)
            if miss is not None:
                raise InputFormatError(f"{where}: {miss}")
        try:
            if r.sniff(peek):
                return r
        except InputFormatError as exc:  # a reader that recognises a part of its layout it cannot read alone
            raise InputFormatError(f"{where}: {exc}") from None
    near = closest(peek)
    hint = f"; closest: {near[0].name} (lacks {', '.join(near[1])})" if near is not None and near[1] else ""
    raise InputFormatError(
        f"{where}: columns {sorted(peek.columns)[:12]} match no known layout{hint}; recognised layouts: "
        f"{', '.join(BY_NAME)} (or give a column mapping for a pairwise file)"
    )
