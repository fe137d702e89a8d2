"""FastChat / MT-bench layout: ``question.jsonl`` beside ``model_answer/<model>.jsonl``.

The folder reads as one source of conversations, one per (question, model answer): the question's turns
interleaved with that answer's turns. This is the "same prompt, different models" material that pair
mining and judging need. A question file alone reads as prompts without answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from arenapref.errors import InputFormatError
from arenapref.readers.base import LayoutReader, Peek, ReadOptions
from arenapref.readers.files import JSON_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text
from arenapref.readers.jsonrecords import iter_json_records
from arenapref.records import CONVERSATION_SCHEMA
from arenapref.rejects import RejectLog


def _question_file(path: Path) -> Path:
    if path.is_dir():
        q = path / "question.jsonl"
        if not q.exists():
            raise InputFormatError(f"{path}: a FastChat folder needs question.jsonl")
        return q
    return path


def read(path: Path, rejects: RejectLog, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream one conversation per model answer (or per question when there are no answers)."""
    qfile = _question_file(path)
    questions: dict[str, tuple[list[str | None], str | None]] = {}
    for row_no, rec in iter_json_records(qfile, rejects):
        qid, turns = rec.get("question_id"), rec.get("turns")
        if qid is None or not isinstance(turns, list) or not turns:
            rejects.add(qfile, row_no, "question needs question_id and a non-empty turns list")
            continue
        lang = rec.get("language")
        try:
            q_turns = [content_text(t, "turns") for t in turns]
        except CellError as exc:
            rejects.add(qfile, row_no, "unreadable question", str(exc))
            continue
        questions[str(qid)] = (q_turns, None if lang is None else str(lang))
    answer_dir = qfile.parent / "model_answer"
    answer_files = sorted(answer_dir.glob("*.jsonl")) if answer_dir.is_dir() else []
    rows: list[dict[str, object]] = []

    def flush() -> Iterator[pa.RecordBatch]:
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=CONVERSATION_SCHEMA)
            rows.clear()

    if not answer_files:
        for qid, (q_turns, lang) in questions.items():
            rows.append(_row(qid, None, q_turns, [], lang))
            if len(rows) >= batch_size:
                yield from flush()
        yield from flush()
        return
    for afile in answer_files:
        for row_no, rec in iter_json_records(afile, rejects):
            qid = str(rec.get("question_id"))
            if qid not in questions:
                rejects.add(afile, row_no, "answer for a question_id not in question.jsonl", qid)
                continue
            choices = rec.get("choices")
            if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                rejects.add(afile, row_no, "answer needs a non-empty choices list")
                continue
            a_turns = choices[0].get("turns")
            if not isinstance(a_turns, list):
                rejects.add(afile, row_no, "answer choice needs a turns list")
                continue
            model = str(rec.get("model_id") or afile.stem)
            q_turns, lang = questions[qid]
            try:
                answers = [content_text(t, "choices[0].turns") for t in a_turns]
            except CellError as exc:
                rejects.add(afile, row_no, "unreadable answer", str(exc))
                continue
            rows.append(_row(f"{qid}:{model}", model, q_turns, answers, lang))
            if len(rows) >= batch_size:
                yield from flush()
    yield from flush()


def _row(
    cid: str, model: str | None, q_turns: list[str | None], a_turns: list[str | None], lang: str | None
) -> dict[str, object]:
    turns: list[dict[str, str | None]] = []
    for i, q in enumerate(q_turns):
        turns.append({"role": "user", "content": q})
        if i < len(a_turns):
            turns.append({"role": "assistant", "content": a_turns[i]})
    return {
        "conversation_id": cid,
        "model": model,
        "turns": turns,
        "n_user_turns": len(q_turns),
        "language": lang,
        "user_id": None,
        "moderation_flagged": None,
        "moderation_categories": [],
        "redacted": None,
        "source": "fastchat",
    }


def is_folder(path: Path) -> bool:
    """A FastChat folder: question.jsonl beside model_answer/ (read as one source, never file by file)."""
    return path.is_dir() and (path / "question.jsonl").exists() and (path / "model_answer").is_dir()


def _sniff(p: Peek) -> bool:
    if p.has("choices", "model_id"):
        raise InputFormatError(
            "a FastChat answer file needs its questions; "
            "pass the folder holding question.jsonl and model_answer/"
        )
    return p.origin == "json" and p.has("turns", "question_id")


def _no_table(table: pa.Table, o: ReadOptions) -> Iterator[pa.RecordBatch]:
    raise InputFormatError(f"{o.where}: the fastchat layout is a folder of files, not an in-memory table")


READER = LayoutReader(
    "fastchat",
    "conversations",
    JSON_SUFFIXES,
    ("question_id", "turns"),
    _sniff,
    lambda path, o: read(path, o.rejects, o.batch_size),
    _no_table,
)
