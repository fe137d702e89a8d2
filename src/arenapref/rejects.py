"""Counted, written-out drops: every record a stage refuses is kept here with file, row and reason."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from arenapref.atomic import atomic_path

MAX_RAW_CHARS = 2000


@dataclass(slots=True)
class Reject:
    """One record that could not be used, and why."""

    file: str
    row: int | None
    reason: str
    detail: str = ""
    raw: str = ""


@dataclass
class RejectLog:
    """Collects rejects and recoveries across readers and stages.

    ``recovered`` counts rows that were *not* lost but needed repair (lone surrogates, stray escapes),
    so a report can say how much of the input was not strictly valid.
    """

    rejects: list[Reject] = field(default_factory=list)
    recovered: Counter[str] = field(default_factory=Counter)
    max_kept: int = 1_000_000

    def add(self, file: str | Path, row: int | None, reason: str, detail: str = "", raw: str = "") -> None:
        if len(self.rejects) < self.max_kept:
            # Raw excerpts may hold undecodable bytes (surrogate escapes); keep them writable as UTF-8.
            raw = raw[:MAX_RAW_CHARS].encode("utf-8", "replace").decode("utf-8")
            detail = detail.encode("utf-8", "replace").decode("utf-8")
            self.rejects.append(Reject(str(file), row, reason, detail, raw))
        self._counts[reason] += 1

    def extend(self, other: RejectLog) -> None:
        """Add another log's rejects, counts and recoveries (one rejects file for several inputs)."""
        room = max(self.max_kept - len(self.rejects), 0)
        self.rejects.extend(other.rejects[:room])
        self._counts.update(other.counts)
        self.recovered.update(other.recovered)

    def recover(self, reason: str, n: int = 1) -> None:
        self.recovered[reason] += n

    def __post_init__(self) -> None:
        self._counts: Counter[str] = Counter()

    @property
    def counts(self) -> Counter[str]:
        """Rejects per reason (complete even when more than ``max_kept`` were kept in memory)."""
        return self._counts

    def __len__(self) -> int:
        return sum(self._counts.values())

    def write(self, path: str | Path) -> Path:
        """Write every kept reject as one JSON line: file, row, reason, detail, raw excerpt."""
        path = Path(path)
        with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", errors="replace") as fh:
            for r in self.rejects:
                row = {"file": r.file, "row": r.row, "reason": r.reason, "detail": r.detail, "raw": r.raw}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path

    def summary(self) -> str:
        """One line per reason, for the end of a run."""
        if not self._counts and not self.recovered:
            return "no rejected rows"
        parts = [f"{n} rejected: {reason}" for reason, n in self._counts.most_common()]
        parts += [f"{n} recovered: {reason}" for reason, n in self.recovered.most_common()]
        return "; ".join(parts)
