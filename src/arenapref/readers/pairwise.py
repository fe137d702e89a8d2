"""Any pairwise preference file (CSV, JSON or JSON lines) read through a column mapping.

The mapping names which column holds the prompt, the two answers and the preference. Without one, a
known layout is recognised (AlpacaEval: instruction/input/output_1/output_2/preference; generic
prompt/response_a/response_b/winner ...). Preferences may be 1/2 (AlpacaEval, 1.5 = tie, fractions are
soft), "a"/"b"/"tie", "model_a"/"model_b", or probabilities in three columns.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from arenapref.errors import InputFormatError
from arenapref.readers.base import LayoutReader, Peek, ReadOptions, file_records, table_records
from arenapref.readers.files import CSV_SUFFIXES, JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text
from arenapref.records import BATTLE_SCHEMA
from arenapref.rejects import RejectLog

# Mapping keys: the roles a column can play. Values: candidate column names, first match wins.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "id": ("id", "question_id", "pair_id", "uid"),
    "prompt": ("prompt", "instruction", "question", "query", "input_text"),
    "input": ("input",),
    "a": ("response_a", "output_1", "answer_a", "completion_a", "chosen_a", "output_a"),
    "b": ("response_b", "output_2", "answer_b", "completion_b", "output_b"),
    "label": ("preference", "winner", "label", "choice"),
    "model_a": ("model_a", "generator_1"),
    "model_b": ("model_b", "generator_2"),
}
ROLES = tuple(CANDIDATES)
# What each role means, for the mapping's help and errors.
ROLE_HELP: dict[str, str] = {
    "id": "the record id",
    "prompt": "the user's prompt (text or a list of turns)",
    "input": "extra input appended to the prompt (AlpacaEval/PandaLM style)",
    "a": "answer A",
    "b": "answer B",
    "label": "the preference (1/2/1.5, a/b/tie, model_a/model_b)",
    "model_a": "the model of answer A",
    "model_b": "the model of answer B",
}
REQUIRED = ("prompt", "a", "b")
TEXT_LABELS: dict[str, tuple[float, float, float]] = {
    "a": (1.0, 0.0, 0.0),
    "model_a": (1.0, 0.0, 0.0),
    "1": (1.0, 0.0, 0.0),
    "b": (0.0, 1.0, 0.0),
    "model_b": (0.0, 1.0, 0.0),
    "2": (0.0, 1.0, 0.0),
    "tie": (0.0, 0.0, 1.0),
    "tie (bothbad)": (0.0, 0.0, 1.0),
    "0": (0.0, 0.0, 1.0),
}


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``prompt=instruction,a=output_1,b=output_2,label=preference`` into a mapping."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, column = part.partition("=")
        if not sep or role.strip() not in ROLES:
            close = difflib.get_close_matches(role.strip(), ROLES, n=1)
            hint = f" (did you mean {close[0]}?)" if close and sep else ""
            raise InputFormatError(
                f"mapping entry {part!r}: expected ROLE=COLUMN{hint} with ROLE one of "
                + ", ".join(f"{r} ({ROLE_HELP[r]})" for r in ROLES)
            )
        mapping[role.strip()] = column.strip()
    return mapping


def resolve_mapping(columns: list[str], path: Path, given: dict[str, str] | None) -> dict[str, str]:
    """Fill the roles the user did not map from the known candidate names; check what is required."""
    mapping = dict(given or {})
    for role, names in CANDIDATES.items():
        if role not in mapping:
            found = next((n for n in names if n in columns), None)
            if found is not None:
                mapping[role] = found
    if not columns:
        raise InputFormatError(f"{path}: is empty (no columns, no records)")
    missing = [r for r in REQUIRED if r not in mapping]
    if missing:
        raise InputFormatError(
            f"{path}: cannot find the column(s) for role(s) "
            + ", ".join(f"{r} ({ROLE_HELP[r]})" for r in missing)
            + f" among {columns[:12]}; pass a mapping such as "
            "prompt=instruction,a=output_1,b=output_2,label=preference"
        )
    absent = [c for c in mapping.values() if c not in columns]
    if absent:
        hints = [
            f"{c} (closest: {close[0]})" if (close := difflib.get_close_matches(c, columns, n=1)) else c
            for c in absent
        ]
        raise InputFormatError(f"{path}: mapped column(s) {', '.join(hints)} not in the file")
    return mapping


def parse_label(value: object) -> tuple[float, float, float] | None:
    """A preference value as (P(A), P(B), P(tie)); None for a missing label."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise ValueError(f"preference {value!r} is ambiguous")
    if isinstance(value, (int, float)):
        v = float(value)
        if v == 0:
            return (0.0, 0.0, 1.0)
        if v == 1.5:
            return (0.0, 0.0, 1.0)
        if 1.0 <= v <= 2.0:
            return (2.0 - v, v - 1.0, 0.0)
        raise ValueError(f"preference {value!r} outside 1..2 (or 0 for tie)")
    text = str(value).strip().lower()
    if text in TEXT_LABELS:
        return TEXT_LABELS[text]
    try:
        return parse_label(float(text))
    except ValueError:
        raise ValueError(
            f"preference {value!r} is not one of 1, 2, 1.5, a, b, tie, model_a, model_b"
        ) from None


def _turns(value: object, field: str) -> list[str | None]:
    if value is None:
        return [None]
    if isinstance(value, list):
        return [content_text(v, field) for v in value]
    return [content_text(value, field)]


def read(path: Path, o: ReadOptions) -> Iterator[pa.RecordBatch]:
    """Stream one pairwise file as battles, using (and completing) the column mapping."""
    records = file_records(path, o, lambda cols: resolve_mapping(cols, path, o.mapping))
    yield from read_records(records, path, o.rejects, o.batch_size, o.mapping)


def from_table(table: pa.Table, o: ReadOptions) -> Iterator[pa.RecordBatch]:
    """Battles from a pairwise table (a DataFrame or HF Dataset with prompt/answer/preference columns)."""
    resolve_mapping(table.column_names, Path(o.where), o.mapping)
    yield from read_records(
        table_records(table, o.batch_size), Path(o.where), o.rejects, o.batch_size, o.mapping
    )


def read_records(
    records: Iterator[tuple[int, dict[str, object]]],
    path: Path,
    rejects: RejectLog,
    batch_size: int,
    mapping: dict[str, str] | None,
) -> Iterator[pa.RecordBatch]:
    """Pairwise records as battle batches; unreadable preferences and empty prompts are rejected."""
    rows: list[dict[str, object]] = []
    resolved: dict[str, str] | None = None
    for row_no, rec in records:
        if resolved is None:
            resolved = resolve_mapping(list(rec), path, mapping)
        try:
            label = parse_label(rec.get(resolved["label"])) if "label" in resolved else None
        except ValueError as exc:
            rejects.add(path, row_no, "unreadable preference", str(exc), json.dumps(rec, default=str)[:500])
            continue
        prompt = rec.get(resolved["prompt"])
        extra = rec.get(resolved["input"]) if "input" in resolved else None
        if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
            rejects.add(path, row_no, "empty prompt", f"column {resolved['prompt']}")
            continue
        try:
            prompt_turns = _turns(prompt, resolved["prompt"])
            response_a = _turns(rec.get(resolved["a"]), resolved["a"])
            response_b = _turns(rec.get(resolved["b"]), resolved["b"])
        except CellError as exc:
            rejects.add(path, row_no, "unreadable text", str(exc))
            continue
        if isinstance(extra, str) and extra.strip() and len(prompt_turns) == 1:
            # AlpacaEval splits a task into instruction and input; the model saw both.
            prompt_turns = [f"{prompt_turns[0]}\n\n{extra}"]
        p_a, p_b, p_tie = label if label is not None else (None, None, None)
        rid = rec.get(resolved["id"]) if "id" in resolved else None
        rows.append(
            {
                "id": str(rid) if rid not in (None, "") else f"{path.stem}:{row_no}",
                "prompt": prompt_turns,
                "response_a": response_a,
                "response_b": response_b,
                "model_a": _opt(rec.get(resolved["model_a"])) if "model_a" in resolved else None,
                "model_b": _opt(rec.get(resolved["model_b"])) if "model_b" in resolved else None,
                "p_a": p_a,
                "p_b": p_b,
                "p_tie": p_tie,
                "source": "pairwise",
                "provenance": [],
            }
        )
        if len(rows) >= batch_size:
            yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)


def _opt(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _sniff(p: Peek) -> bool:
    """Columns that name a prompt and two answers among the known candidates."""
    return all(any(n in p.columns for n in CANDIDATES[r]) for r in REQUIRED)


READER = LayoutReader(
    "pairwise",
    "battles",
    CSV_SUFFIXES + JSON_SUFFIXES + TABLE_SUFFIXES,
    ("prompt", "response_a", "response_b"),
    _sniff,
    read,
    from_table,
)
