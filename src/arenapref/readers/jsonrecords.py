"""Iterating the records of a JSON array file or a JSON-lines file, with row numbers for rejects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from arenapref.errors import InputFormatError
from arenapref.rejects import RejectLog

NOT_JSON_AFTER = 50


def iter_json_records(path: Path, rejects: RejectLog) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (row number, object) pairs; lines that are not JSON objects go to ``rejects``.

    A JSON array file is loaded whole (such files are small in practice: AlpacaEval, the Arena 33k
    release); JSON lines are streamed.
    """
    with path.open(encoding="utf-8", errors="replace") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        try:
            data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        for i, rec in enumerate(data, start=1):
            if isinstance(rec, dict):
                yield i, rec
            else:
                rejects.add(path, i, "not a JSON object", type(rec).__name__, json.dumps(rec)[:500])
        return
    good = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                if good == 0 and line_no >= NOT_JSON_AFTER:
                    # Nothing readable so far: this is not a JSON-lines file, not a file with bad rows.
                    raise InputFormatError(
                        f"{path}: not JSON lines (none of the first {line_no} parsed)"
                    ) from exc
                rejects.add(path, line_no, "not a JSON object", exc.msg, line[:500])
                continue
            good += 1
            if isinstance(rec, dict):
                yield line_no, rec
            else:
                rejects.add(path, line_no, "not a JSON object", type(rec).__name__, line[:500])
