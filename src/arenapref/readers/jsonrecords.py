"""Iterating the records of a JSON array file or a JSON-lines file, with row numbers for rejects.

Every JSON reader (LMSYS, Arena, pairwise, FastChat) goes through here, so the repairs are the same
everywhere and counted in ``RejectLog.recovered``: a lone surrogate escape (``"\\ud83d"``) becomes U+FFFD,
bytes that are not UTF-8 become U+FFFD, and a UTF-8 byte-order mark is dropped.

Both kinds of file are streamed a block at a time, so memory stays bounded however large the file (the
Arena 33k release is one JSON array; a million records of it are 4 GB). An array is decoded one element
at a time with ``json.JSONDecoder.raw_decode``, which reads an element exactly as ``json.loads`` of the
whole array does; an array that is not valid JSON is then parsed whole, so its error names the line
``json`` names.

A JSON line is parsed by ``msgspec`` first (twice as fast as ``json`` on these records, and it takes the
bytes as they are read): it accepts only what ``json`` reads the same way (strict UTF-8, no lone
surrogate, no NaN, no byte-order mark; integers of any size stay integers). Any line it refuses goes
through ``json`` and the repairs above, so the records, rejects and recoveries are those of ``json``.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from arenapref.errors import InputFormatError
from arenapref.readers.jsoncells import repair_strings
from arenapref.rejects import RejectLog

NOT_JSON_AFTER = 50
BOM = "\ufeff"
BLOCK = 1 << 22  # bytes read at a time
# A JSON escape of a UTF-16 surrogate half: only records holding one need the (slower) repair walk.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_WHITESPACE = re.compile(r"[ \t\n\r]*")  # what JSON allows between values
_NOT_UTF8 = "bytes not UTF-8 replaced by U+FFFD"
_SURROGATE = "lone surrogate"
_FAST_DECODE = msgspec.json.Decoder().decode


def _decode(raw: bytes, rejects: RejectLog) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        rejects.recover(_NOT_UTF8)
        return raw.decode("utf-8", "replace")


def _repaired(rec: object, raw: str, rejects: RejectLog) -> object:
    if not _SURROGATE_ESCAPE.search(raw):
        return rec
    fixed, n = repair_strings(rec)
    if n:
        rejects.recover(_SURROGATE)
    return fixed


def iter_json_records(path: Path, rejects: RejectLog) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (row number, object) pairs; lines or elements that are not JSON objects go to ``rejects``."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace").lstrip(BOM + " \t\r\n")
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if head.startswith("["):
        yield from _array_records(path, rejects)
    else:
        yield from _line_records(path, rejects)


def _line_records(path: Path, rejects: RejectLog) -> Iterator[tuple[int, dict[str, object]]]:
    good = 0
    line_no = 0
    with path.open("rb") as fh:
        while block := fh.readlines(BLOCK):
            for raw in block:
                line_no += 1
                if raw[:1] == b"{":
                    try:
                        rec = _FAST_DECODE(raw)
                    except (ValueError, RecursionError):  # not strict JSON: json and the repairs decide
                        pass
                    else:
                        good += 1
                        yield line_no, rec
                        continue
                line = _decode(raw, rejects)
                if line_no == 1:
                    line = line.lstrip(BOM)
                if not line or line.isspace():
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


class ArrayError(Exception):
    """The array is not valid JSON (or nested too deeply) at this point: the whole-file parse says how."""


class _Text:
    """A JSON file's text, decoded a block at a time (bytes that are not UTF-8 replaced and counted once,
    as decoding the whole file counts them), with a read position."""

    def __init__(self, fh: BinaryIO, rejects: RejectLog) -> None:
        self.fh, self.rejects = fh, rejects
        self.buf, self.pos, self.eof = "", 0, False
        self._strict = codecs.getincrementaldecoder("utf-8")()
        self._lenient = codecs.getincrementaldecoder("utf-8")("replace")
        self._clean = True

    def more(self) -> bool:
        """Append the next block (at least as much again as is held, so a huge element is re-parsed only
        a few times), dropping what was read; False at the end of the file."""
        if self.eof:
            return False
        raw = self.fh.read(max(BLOCK, len(self.buf) - self.pos))
        self.eof = not raw
        if self._clean:
            try:
                self._strict.decode(raw, self.eof)
            except UnicodeDecodeError:
                self._clean = False
                self.rejects.recover(_NOT_UTF8)
        self.buf = self.buf[self.pos :] + self._lenient.decode(raw, self.eof)
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character, or "" at the end of the file."""
        while self.pos >= len(self.buf):
            if not self.more():
                return ""
        return self.buf[self.pos]

    def skip_space(self) -> str:
        """Move past whitespace; the next character, or "" at the end of the file."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self.more():
                return self.peek()


def array_items(path: Path, rejects: RejectLog) -> Iterator[tuple[object, bool]]:
    """The elements of a JSON array file, each with whether its text holds a surrogate escape; raises
    ``ArrayError`` where the file stops being a valid array."""
    decoder = json.JSONDecoder()
    with path.open("rb") as fh:
        text = _Text(fh, rejects)
        while text.peek() == BOM:
            text.pos += 1  # a byte-order mark (or several) before the array is dropped
        if text.skip_space() != "[":
            raise ArrayError
        text.pos += 1
        if text.skip_space() == "]":
            text.pos += 1
        else:
            while True:
                text.skip_space()
                try:
                    value, end = decoder.raw_decode(text.buf, text.pos)
                except json.JSONDecodeError:
                    if text.more():
                        continue  # the element runs past the block: read on, parse it again
                    raise ArrayError from None
                except RecursionError:
                    raise ArrayError from None
                after = _WHITESPACE.match(text.buf, end).end()  # type: ignore[union-attr]
                sep = text.buf[after : after + 1]
                if sep not in (",", "]"):
                    if text.more():
                        continue  # a number such as 1.5e3 may go on in the next block: parse it again
                    raise ArrayError
                yield value, _SURROGATE_ESCAPE.search(text.buf, text.pos, end) is not None
                text.pos = after + 1
                if sep == "]":
                    break
        if text.skip_space():
            raise ArrayError  # data after the array


def _array_records(path: Path, rejects: RejectLog) -> Iterator[tuple[int, dict[str, object]]]:
    repaired = False
    i = 0
    try:
        for value, flagged in array_items(path, rejects):
            i += 1
            rec = value
            if flagged:
                rec, n = repair_strings(value)
                if n and not repaired:
                    rejects.recover(_SURROGATE)  # counted once for the file, as for the whole array
                    repaired = True
            if isinstance(rec, dict):
                yield i, rec
            else:
                rejects.add(path, i, "not a JSON object", type(rec).__name__, json.dumps(rec)[:500])
    except ArrayError:
        raise _whole_file_error(path) from None


def _whole_file_error(path: Path) -> InputFormatError:
    """Why a JSON array file is not valid JSON, in ``json``'s words for the whole file (line number too)."""
    text = path.read_bytes().decode("utf-8", "replace").lstrip(BOM)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return InputFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})")
    except RecursionError:
        return InputFormatError(f"{path}: JSON nested too deeply to read")
    if not isinstance(data, list):
        return InputFormatError(f"{path}: expected a JSON array of objects")
    # json reads it whole: only an element nested near the recursion limit stops the element-wise read.
    return InputFormatError(f"{path}: JSON nested too deeply to read")
