"""The Chatbot Arena human-vote release (33k conversations) and files shaped like it.

Each record holds both conversations (``conversation_a``/``conversation_b``) and the vote. Files of the
same family that carry only the user turns (``turns``), like arena_battles_1135.jsonl, read as battles
with empty answers, so their prompts and votes are still usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from arenapref.readers.files import TABLE_SUFFIXES, iter_table_file
from arenapref.readers.jsoncells import CellError, content_text
from arenapref.readers.jsonrecords import iter_json_records
from arenapref.records import BATTLE_SCHEMA
from arenapref.rejects import RejectLog

WINNERS: dict[str, tuple[float, float, float]] = {
    "model_a": (1.0, 0.0, 0.0),
    "model_b": (0.0, 1.0, 0.0),
    "tie": (0.0, 0.0, 1.0),
    "tie (bothbad)": (0.0, 0.0, 1.0),
}


def _split(conv: object, role: str, field: str) -> list[str | None] | None:
    if not isinstance(conv, list):
        return None
    out: list[str | None] = []
    for msg in conv:
        if not isinstance(msg, dict):
            return None
        if msg.get("role") == role:
            out.append(content_text(msg.get("content"), f"{field} content"))
    return out


def battle_row(rec: dict[str, object]) -> dict[str, object] | str:
    """One Arena record as a battle row, or the reason it cannot be one."""
    rid = rec.get("question_id", rec.get("id"))
    if rid is None or str(rid) == "":
        return "missing question_id"
    winner = rec.get("winner")
    label = None
    if winner is not None:
        if not isinstance(winner, str) or winner not in WINNERS:
            return f"winner {winner!r} is not one of {', '.join(WINNERS)}"
        label = WINNERS[str(winner)]
    try:
        if "conversation_a" in rec or "conversation_b" in rec:
            prompt = _split(rec.get("conversation_a"), "user", "conversation_a")
            resp_a = _split(rec.get("conversation_a"), "assistant", "conversation_a")
            resp_b = _split(rec.get("conversation_b"), "assistant", "conversation_b")
            if prompt is None or resp_a is None or resp_b is None:
                return "conversation_a/conversation_b must be lists of role/content messages"
        else:
            turns = rec.get("turns")
            if not isinstance(turns, list):
                return "neither conversation_a/conversation_b nor turns present"
            prompt = [content_text(t, "turns") for t in turns]
            resp_a, resp_b = [], []
    except CellError as exc:
        return str(exc)
    p_a, p_b, p_tie = label if label is not None else (None, None, None)
    return {
        "id": str(rid),
        "prompt": prompt,
        "response_a": resp_a,
        "response_b": resp_b,
        "model_a": None if rec.get("model_a") is None else str(rec.get("model_a")),
        "model_b": None if rec.get("model_b") is None else str(rec.get("model_b")),
        "p_a": p_a,
        "p_b": p_b,
        "p_tie": p_tie,
        "source": "arena",
        "provenance": [],
    }


def _records(path: Path, rejects: RejectLog, batch_size: int) -> Iterator[tuple[int, dict[str, object]]]:
    if path.suffix.lower() in TABLE_SUFFIXES:
        row_no = 0
        for batch in iter_table_file(path, batch_size):
            for rec in batch.to_pylist():
                row_no += 1
                yield row_no, rec
    else:
        yield from iter_json_records(path, rejects)


def rows_to_batches(
    records: Iterator[tuple[int, dict[str, object]]], where: Path | str, rejects: RejectLog, batch_size: int
) -> Iterator[pa.RecordBatch]:
    """Arena records (from a file or a table) as battle batches; unusable records are rejected."""
    rows: list[dict[str, object]] = []
    for row_no, rec in records:
        row = battle_row(rec)
        if isinstance(row, str):
            rejects.add(where, row_no, row)
            continue
        rows.append(row)
        if len(rows) >= batch_size:
            yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)


def read(path: Path, rejects: RejectLog, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream one Arena vote file (JSON, JSON lines, Parquet or Arrow) as battle batches."""
    yield from rows_to_batches(_records(path, rejects, batch_size), path, rejects, batch_size)
