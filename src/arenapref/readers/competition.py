"""The Kaggle competition CSVs: train.csv, test.csv and sample_submission.csv.

Cells are JSON-encoded lists of turns; labels are three one-hot columns. The file is streamed with the
standard ``csv`` module (answers contain newlines and quotes, which it handles), in batches.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from arenapref.errors import InputFormatError
from arenapref.readers.jsoncells import CellError, decode_turns
from arenapref.records import BATTLE_SCHEMA
from arenapref.rejects import RejectLog

LABELS = ("winner_model_a", "winner_model_b", "winner_tie")
BATTLE_COLUMNS = ("id", "prompt", "response_a", "response_b")

csv.field_size_limit(sys.maxsize)


class LabelError(CellError):
    """The winner columns are not a valid label."""


def _parse_label(values: list[str], submission: bool) -> tuple[float, float, float] | None:
    """One-hot human labels, or probabilities (submissions and pseudo-labeled pairs); None when empty.

    0/1 values must be exactly one-hot (``1,1,0`` is a broken row, not a soft label); other values must be
    probabilities in [0, 1] summing to 1.
    """
    if all(v.strip() == "" for v in values):
        return None
    try:
        nums = [float(v) for v in values]
    except ValueError as exc:
        raise LabelError(f"label cells {values} are not numbers") from exc
    if not submission and all(n in (0.0, 1.0) for n in nums):
        if sorted(nums) != [0.0, 0.0, 1.0]:
            raise LabelError(f"labels {values} are not one-hot (exactly one of the three must be 1)")
    elif any(n < 0 or n > 1 for n in nums) or abs(sum(nums) - 1.0) > 1e-3:
        raise LabelError(f"probabilities {values} must be in [0, 1] and sum to 1")
    return (nums[0], nums[1], nums[2])


def read(path: Path, rejects: RejectLog, batch_size: int, submission: bool) -> Iterator[pa.RecordBatch]:
    """Stream a competition CSV (or a submission file) as battle batches."""
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        needed = ("id", *LABELS) if submission else BATTLE_COLUMNS
        missing = [c for c in needed if c not in header]
        if missing:
            raise InputFormatError(
                f"{path}: not a competition {'submission' if submission else 'CSV'}: "
                f"missing column(s) {', '.join(missing)}"
            )
        idx = {name: i for i, name in enumerate(header)}
        has_labels = all(c in idx for c in LABELS)
        rows: list[dict[str, object]] = []
        row_no = 0
        for row_no, cells in enumerate(reader, start=1):
            if len(cells) != len(header):
                rejects.add(
                    path,
                    row_no,
                    "wrong number of cells",
                    f"expected {len(header)} cells, found {len(cells)}",
                    ",".join(cells)[:500],
                )
                continue
            try:
                rows.append(_row(cells, idx, has_labels, submission, rejects))
            except LabelError as exc:
                rejects.add(path, row_no, "invalid label", str(exc), ",".join(cells)[:500])
                continue
            except CellError as exc:
                rejects.add(path, row_no, "unreadable cell", str(exc), ",".join(cells)[:500])
                continue
            if len(rows) >= batch_size:
                yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)
                rows = []
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=BATTLE_SCHEMA)


def _cell(cells: list[str], idx: dict[str, int], name: str) -> str | None:
    i = idx.get(name)
    if i is None:
        return None
    value = cells[i]
    # The file was opened with surrogateescape so that undecodable bytes do not stop the stream;
    # turn them into U+FFFD here.
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if value else value


def _row(
    cells: list[str], idx: dict[str, int], has_labels: bool, submission: bool, rejects: RejectLog
) -> dict[str, object]:
    row_id = _cell(cells, idx, "id")
    if not row_id:
        raise CellError("empty id")
    label = _parse_label([cells[idx[c]] for c in LABELS], submission) if has_labels else None
    turns: dict[str, list[str | None]] = {}
    if not submission:
        for name in ("prompt", "response_a", "response_b"):
            try:
                turns[name], repair = decode_turns(_cell(cells, idx, name) or "")
            except CellError as exc:
                raise CellError(f"column {name}: {exc}") from exc
            if repair:
                rejects.recover(f"{name}: {repair}")
    p_a, p_b, p_tie = label if label is not None else (None, None, None)
    return {
        "id": row_id,
        "prompt": turns.get("prompt", []),
        "response_a": turns.get("response_a", []),
        "response_b": turns.get("response_b", []),
        "model_a": _cell(cells, idx, "model_a") or None,
        "model_b": _cell(cells, idx, "model_b") or None,
        "p_a": p_a,
        "p_b": p_b,
        "p_tie": p_tie,
        "source": "competition",
        "provenance": [],
    }
