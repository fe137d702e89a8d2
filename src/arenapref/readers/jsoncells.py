"""Lenient decoding of JSON-list cells such as the competition's ``["first turn", "follow-up"]``.

A few hundred competition rows are not strict JSON: lone UTF-16 surrogates (``"\\ud83d"`` with no low
half), stray escapes (``"\\q"``), or raw control characters. Those rows are still worth reading, so
decoding tries strict JSON first and then a short list of repairs, reporting which one was needed.
Anything still unreadable raises ``CellError`` with a reason the caller writes to the rejects file.
"""

from __future__ import annotations

import json
import re

_STRAY_ESCAPE = re.compile(r'\\(?!["\\/bfnrtu])|\\u(?![0-9a-fA-F]{4})')
_CONTROL = re.compile(r"[\x00-\x1f]")


class CellError(ValueError):
    """A cell that no repair could turn into a list of strings."""


def _fix_surrogates(text: str) -> tuple[str, bool]:
    """Pair valid surrogate halves and replace lone ones with U+FFFD; report whether anything changed."""
    try:
        text.encode("utf-8")
        return text, False
    except UnicodeEncodeError:
        fixed = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return fixed, True


def _as_turns(value: object) -> list[str | None]:
    if not isinstance(value, list):
        raise CellError(f"expected a JSON list of strings, got {type(value).__name__}")
    turns: list[str | None] = []
    for item in value:
        if item is None or isinstance(item, str):
            turns.append(item)
        elif isinstance(item, (int, float, bool)):
            turns.append(json.dumps(item))
        else:
            raise CellError(f"expected string or null turns, got {type(item).__name__}")
    return turns


def decode_turns(cell: str) -> tuple[list[str | None], str | None]:
    """Decode a JSON-list cell; return the turns and the repair used (None when the cell was strict JSON).

    Raises ``CellError`` when nothing can be recovered.
    """
    if cell is None or not cell.strip():
        raise CellError("empty cell, expected a JSON list of strings")
    repair: str | None = None
    try:
        value = json.loads(cell)
    except json.JSONDecodeError as exc:
        candidates = []
        if _STRAY_ESCAPE.search(cell):
            candidates.append(("stray escape", _STRAY_ESCAPE.sub(lambda m: "\\" + m.group(0), cell)))
        if _CONTROL.search(cell):
            candidates.append(("raw control character", cell))
        value = None
        for name, text in candidates:
            try:
                value = json.loads(text, strict=False)
                repair = name
                break
            except json.JSONDecodeError:
                continue
        if value is None:
            raise CellError(f"not a JSON list ({exc.msg} at char {exc.pos})") from exc
    turns = _as_turns(value)
    out: list[str | None] = []
    for t in turns:
        if t is None:
            out.append(None)
            continue
        fixed, changed = _fix_surrogates(t)
        if changed:
            repair = repair or "lone surrogate"
        out.append(fixed)
    return out, repair
