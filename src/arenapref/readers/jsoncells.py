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


def fix_surrogates(text: str) -> tuple[str, bool]:
    """The surrogate repair, shared by the JSON and table readers (same repair, same count as CSV)."""
    return _fix_surrogates(text)


def repair_strings(value: object) -> tuple[object, int]:
    """Repair lone surrogates in every string of a parsed JSON value; return it and how many strings changed.

    ``json.loads`` turns ``"\\ud83d"`` into a Python string that cannot be encoded, which would stop the
    Arrow conversion of the whole batch; the JSON readers run this on records whose raw text holds a
    surrogate escape, so the cost is paid only there.
    """
    if isinstance(value, str):
        fixed, changed = _fix_surrogates(value)
        return fixed, int(changed)
    if isinstance(value, list):
        total = 0
        out_list = []
        for item in value:
            fixed_item, n = repair_strings(item)
            out_list.append(fixed_item)
            total += n
        return out_list, total
    if isinstance(value, dict):
        total = 0
        out_dict: dict[object, object] = {}
        for key, item in value.items():
            fixed_key, nk = repair_strings(key)
            fixed_item, n = repair_strings(item)
            out_dict[fixed_key] = fixed_item
            total += n + nk
        return out_dict, total
    return value, 0


def content_text(value: object, field: str = "content") -> str | None:
    """A message's content as text, whatever shape the layout wraps it in.

    Strings pass through; OpenAI-style parts (``[{"type": "text", "text": ...}]``) and message objects
    (``{"content": ...}``, as Arena-Hard and FastChat write turns, with ``role``/``token_len`` beside it)
    become their text, recursively. Non-text parts (images, audio) have no text to compare or judge; they
    are left out. Anything else raises ``CellError`` naming ``field``: text with structure inside it would
    reach the leakage guard as a string no test prompt can equal, so it is never produced.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        texts: list[str] = []
        for part in value:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and "content" in part:
                inner = content_text(part["content"], field)
                if inner is not None:
                    texts.append(inner)
            elif isinstance(part, dict) and "type" in part:
                continue
            else:
                raise CellError(f"{field}: expected text, a message object or text parts, got {_shape(part)}")
        return "\n".join(texts)
    if isinstance(value, (int, float, bool)):
        return json.dumps(value)
    raise CellError(f"{field}: expected text, got {_shape(value)}")


def _shape(value: object) -> str:
    """A short description of an unexpected value for an error message (its keys, never its text)."""
    if isinstance(value, dict):
        return "an object with keys " + ", ".join(sorted(map(str, value))[:6])
    return type(value).__name__
