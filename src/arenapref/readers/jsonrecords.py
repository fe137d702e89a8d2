"""Iterating the records of a JSON array file or a JSON-lines file, with row numbers for rejects.

Every JSON reader (LMSYS, Arena, pairwise, FastChat) goes through here, so the repairs are the same
everywhere and counted in ``RejectLog.recovered``: a lone surrogate escape (``"\\ud83d"``) becomes U+FFFD,
bytes that are not UTF-8 become U+FFFD, and a UTF-8 byte-order mark is dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from arenapref.errors import InputFormatError
from arenapref.readers.jsoncells import repair_strings
from arenapref.rejects import RejectLog

NOT_JSON_AFTER = 50
BOM = "\ufeff"
# A JSON escape of a UTF-16 surrogate half: only records holding one need the (slower) repair walk.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _decode(raw: bytes, rejects: RejectLog) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        rejects.recover("bytes not UTF-8 replaced by U+FFFD")
        return raw.decode("utf-8", "replace")


def _repaired(rec: object, raw: str, rejects: RejectLog) -> object:
    if not _SURROGATE_ESCAPE.search(raw):
        return rec
    fixed, n = repair_strings(rec)
    if n:
        rejects.recover("lone surrogate")
    return fixed


def iter_json_records(path: Path, rejects: RejectLog) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (row number, object) pairs; lines that are not JSON objects go to ``rejects``.

    A JSON array file is loaded whole (such files are small in practice: AlpacaEval, the Arena 33k
    release); JSON lines are streamed.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace").lstrip(BOM + " \t\r\n")
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if head.startswith("["):
        text = _decode(path.read_bytes(), rejects).lstrip(BOM)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        except RecursionError as exc:
            raise InputFormatError(f"{path}: JSON nested too deeply to read") from exc
        if not isinstance(data, list):
            raise InputFormatError(f"{path}: expected a JSON array of objects")
        data = _repaired(data, text, rejects)
        assert isinstance(data, list)
        for i, rec in enumerate(data, start=1):
            if isinstance(rec, dict):
                yield i, rec
            else:
                rejects.add(path, i, "not a JSON object", type(rec).__name__, json.dumps(rec)[:500])
        return
    good = 0
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            line = _decode(raw, rejects)
            if line_no == 1:
                line = line.lstrip(BOM)
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                if good == 0 and line_no >= NOT_JSON_AFTER:
                    # Nothing readable so far: this is not a JSON-lines file, not a file with bad rows.
                    raise InputFormatError(
                        f"{path}: not JSON lines (none of the first {line_no} parsed)"
                    ) from exc
                rejects.add(path, line_no, "not a JSON object", msg, line[:500])
                continue
            good += 1
            if isinstance(rec, dict):
                fixed = _repaired(rec, line, rejects)
                assert isinstance(fixed, dict)
                yield line_no, fixed
            else:
                rejects.add(path, line_no, "not a JSON object", type(rec).__name__, line[:500])
