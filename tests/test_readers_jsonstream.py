"""The JSON readers stream (``readers.jsonrecords``): a JSON array one element at a time, JSON lines a block
at a time. On irregular input they must give what reading the whole file with ``json.loads`` gives: the
same records, the same rejects (row, reason, detail, raw text) and the same recoveries. The reference
below is that whole-file reading, written out plainly; small blocks put every boundary mid-record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from arenapref.errors import InputFormatError
from arenapref.readers import jsonrecords, open_source
from arenapref.readers.jsoncells import repair_strings
from arenapref.readers.jsonrecords import NOT_JSON_AFTER, iter_json_records
from arenapref.rejects import RejectLog

DEEP = "[" * 100_000 + "]" * 100_000
LONE = '"lone \\ud83d surrogate"'
PAIR = '"pair \\ud83d\\ude00 and \\u00e9"'


def _whole_file(path: Path, rejects: RejectLog) -> Iterator[tuple[int, dict[str, object]]]:
    """The plain reading: the whole file decoded, parsed by ``json.loads``, repaired."""
    raw = path.read_bytes()
    if raw.decode("utf-8", "replace").lstrip("\ufeff \t\r\n").startswith("["):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            rejects.recover("bytes not UTF-8 replaced by U+FFFD")
            text = raw.decode("utf-8", "replace")
        try:
            data = json.loads(text.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        except RecursionError as exc:
            raise InputFormatError(f"{path}: JSON nested too deeply to read") from exc
        if "\\ud" in text.lower():
            data, n = repair_strings(data)
            if n:
                rejects.recover("lone surrogate")
        for i, rec in enumerate(data, start=1):
            if isinstance(rec, dict):
                yield i, rec
            else:
                rejects.add(path, i, "not a JSON object", type(rec).__name__, json.dumps(rec)[:500])
        return
    parts = raw.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    for line_no, raw_line in enumerate(lines, start=1):
        try:  # each line decoded alone: every line with bytes that are not UTF-8 is counted
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError:
            rejects.recover("bytes not UTF-8 replaced by U+FFFD")
            line = raw_line.decode("utf-8", "replace")
        line = line.lstrip("\ufeff") if line_no == 1 else line
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            rejects.add(path, line_no, "not a JSON object", msg, line[:500])
            continue
        if not isinstance(rec, dict):
            rejects.add(path, line_no, "not a JSON object", type(rec).__name__, line[:500])
            continue
        if "\\ud" in line.lower():
            rec, n = repair_strings(rec)
            if n:
                rejects.recover("lone surrogate")
        assert isinstance(rec, dict)
        yield line_no, rec


def _read(fn: object, path: Path) -> tuple[object, ...]:
    """Records, rejects and recoveries; for a file that cannot be read, the error alone (the read stops,
    so what it had logged is never written)."""
    log = RejectLog()
    try:
        recs: object = list(fn(path, log))  # type: ignore[operator]
    except InputFormatError as exc:
        return (str(exc),)
    rejects = [(r.row, r.reason, r.detail, r.raw) for r in log.rejects]
    return recs, rejects, dict(log.recovered)


ELEMENTS = [
    '{"id": 1, "text": "plain", "n": 12345678901234567890123, "f": 1.5e300, "big": -0}',
    '{"id": 2, "text": ' + LONE + ', "more": [' + LONE + ", {" + LONE + ": 1}]}",
    '{"id": 3, "text": ' + PAIR + "}",
    "[1, 2, 3]",
    "42",
    '"a string"',
    "null",
    '{"id": 4, "nested": ' + "[" * 50 + "]" * 50 + "}",
    '{"id": 5, "text": "caf\u00e9 \u4e2d\u6587 \U0001f600", "x": NaN, "y": -Infinity}',
    '{"id": 6, "dup": 1, "dup": 2}',
    '{"id": 9, "low": "\\udc00 alone", "reversed": "\\ude00\\ud83d", "bad_pair": "\\ud83d\\u0041"}',
    '{"id": 10, "inf": 1e400, "tiny": 1e-400, "nul": "\\u0000", "neg": -12345678901234567890123}',
    '  {"id": 11, "lead": "space"}',
    '{"id": 12, "tab": "raw\ttab"}',
    '{"id": 13, "deep": ' + "[" * 300 + "]" * 300 + "}",
    "{}",
]


def _variants() -> dict[str, bytes]:
    lines = [e.encode("utf-8") for e in ELEMENTS]
    body = [e for e in lines if b"\t" not in e]  # an array with a raw tab in a string is not JSON
    bad = b'{"id": 7, "text": "bad \xff\xfe bytes \xc3"}'
    return {
        "lines": b"\n".join(lines) + b"\n",
        "lines_bom_crlf_blank": b"\xef\xbb\xbf" + b"\r\n\n  \n".join(body) + b"\r\n",
        "lines_bad_bytes": b"\n".join([*body[:3], bad, *body[3:]]),
        "lines_broken_and_deep": b"\n".join(
            [body[0], b'{"id": 8, "text": "unterminated', DEEP.encode(), b"{'python': 'dict'}", body[2]]
        ),
        "lines_bom_later_line": b"\n".join([body[0], b"\xef\xbb\xbf" + body[2]]),
        "array": b"[" + b", ".join(body) + b"]",
        "array_pretty_bom": b"\xef\xbb\xbf\xef\xbb\xbf \n[\n  " + b",\n  ".join(body) + b"\n]\n",
        "array_bad_bytes": b"[" + b",".join([*body[:2], bad, *body[2:]]) + b"]",
        "array_empty": b" [ \n ] ",
        "array_numbers": b"[123456789, 1.25e-3, true, false, null, {}]",
        "array_deep": b"[" + body[0] + b", " + DEEP.encode() + b"]",
        "array_missing_comma": b"[" + body[0] + b"\n" + body[2] + b"]",
        "array_trailing_comma": b"[" + body[0] + b",]",
        "array_extra_data": b"[" + body[0] + b"] [" + body[2] + b"]",
        "array_unterminated": b"[" + body[0] + b", " + body[2],
        "array_not_closed_element": b'[{"id": 1, "text": "x"',
        "array_raw_tab": b"[" + b", ".join(lines) + b"]",
    }


@pytest.mark.parametrize("block", [7, 64, 1 << 22])
@pytest.mark.parametrize("name", list(_variants()))
def test_streamed_json_equals_whole_file_json(
    tmp_path: Path, name: str, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonrecords, "BLOCK", block)
    path = tmp_path / f"{name}.{'json' if name.startswith('array') else 'jsonl'}"
    path.write_bytes(_variants()[name])
    streamed, expected = _read(iter_json_records, path), _read(_whole_file, path)
    assert streamed == expected
    if name in ("lines", "array", "array_bad_bytes", "lines_bad_bytes"):  # the repairs did happen
        assert expected[2]


def test_array_of_a_layout_reads_the_same_in_small_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole reader over a streamed array: blocks of 100 bytes split every record, table unchanged."""
    recs = [
        {
            "question_id": f"q{i}",
            "model_a": "m1",
            "model_b": "m2",
            "winner": "model_a",
            "conversation_a": [
                {"role": "user", "content": f"question \u00e9 {i} \\ud83d"},
                {"role": "assistant", "content": "answer \U0001f600"},
            ],
            "conversation_b": [
                {"role": "user", "content": f"question \u00e9 {i} \\ud83d"},
                {"role": "assistant", "content": "other"},
            ],
        }
        for i in range(30)
    ]
    path = tmp_path / "arena.json"
    path.write_text(json.dumps(recs, ensure_ascii=False).replace("\\\\ud83d", "\\ud83d"), encoding="utf-8")
    whole = open_source(path)
    table = whole.read_table()
    monkeypatch.setattr(jsonrecords, "BLOCK", 100)
    small = open_source(path)
    assert small.read_table().equals(table) and table.num_rows == 30
    assert dict(small.rejects.recovered) == dict(whole.rejects.recovered) == {"lone surrogate": 1}


def test_jsonl_of_garbage_is_named_not_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("not json\n" * NOT_JSON_AFTER, encoding="utf-8")
    with pytest.raises(
        InputFormatError, match=f"not JSON lines \\(none of the first {NOT_JSON_AFTER} parsed"
    ):
        list(iter_json_records(path, RejectLog()))
