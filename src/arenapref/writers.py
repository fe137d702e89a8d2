"""Writers: native Parquet, the competition CSV layout, and the submission layout."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arenapref.atomic import atomic_path, output_suffix
from arenapref.errors import ArenaprefError
from arenapref.records import kind_of

COMPETITION_COLUMNS = (
    "id",
    "model_a",
    "model_b",
    "prompt",
    "response_a",
    "response_b",
    "winner_model_a",
    "winner_model_b",
    "winner_tie",
)
SUBMISSION_COLUMNS = ("id", "winner_model_a", "winner_model_b", "winner_tie")
#: WSDM Cup 2025's submission: the winner's side per id (scored by accuracy).
BINARY_SUBMISSION_COLUMNS = ("id", "winner")
WINNER_VALUES = ("model_a", "model_b")
# Kaggle scores log loss; a probability of exactly 0 on the true class costs infinity.
DEFAULT_CLIP = 1e-4


def write_parquet(table: pa.Table, path: str | Path) -> Path:
    """Write a table (any schema) as one Parquet file, creating the folder."""
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path


def write_battles(table: pa.Table, path: str | Path) -> Path:
    """Write battles in the format the file name says: ``.parquet`` (shared schema) or ``.csv`` (competition).

    The CSV carries labels when any row has one; an unknown extension is one sentence, never Parquet bytes
    under a ``.csv`` name.
    """
    suffix = output_suffix(path, (".parquet", ".csv"))
    if suffix == ".parquet":
        return write_parquet(table, path)
    labels = (
        table.num_rows > 0 and "p_a" in table.column_names and table.column("p_a").null_count < table.num_rows
    )
    return write_competition_csv(table, path, labels=bool(labels))


def _label_cell(value: float | None, one_hot: bool) -> str:
    if value is None:
        return ""
    return str(int(value)) if one_hot else repr(float(value))


def write_competition_csv(table: pa.Table, path: str | Path, labels: bool = True) -> Path:
    """Write battles in the competition's train.csv layout (test.csv layout when ``labels`` is False).

    Turn lists are JSON-encoded like the original files; one-hot labels are written as 0/1, soft labels
    as probabilities, missing labels as empty cells. Extra columns (provenance, topic) follow.
    """
    if kind_of(table.schema) != "battles":
        raise ArenaprefError("the competition layout holds battles; this table holds conversations")
    path = Path(path)
    base = list(COMPETITION_COLUMNS) if labels else ["id", "prompt", "response_a", "response_b"]
    schema_cols = {
        "id",
        "prompt",
        "response_a",
        "response_b",
        "model_a",
        "model_b",
        "p_a",
        "p_b",
        "p_tie",
        "source",
    }
    extra = [c for c in table.column_names if c not in schema_cols]
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(base + extra)
        for batch in table.to_batches(max_chunksize=4096):
            for row in batch.to_pylist():
                trio = (row["p_a"], row["p_b"], row["p_tie"])
                one_hot = all(v in (0.0, 1.0) for v in trio if v is not None)
                values = {
                    "id": row["id"],
                    "model_a": row["model_a"] or "",
                    "model_b": row["model_b"] or "",
                    "prompt": json.dumps(row["prompt"] or []),
                    "response_a": json.dumps(row["response_a"] or []),
                    "response_b": json.dumps(row["response_b"] or []),
                    "winner_model_a": _label_cell(trio[0], one_hot),
                    "winner_model_b": _label_cell(trio[1], one_hot),
                    "winner_tie": _label_cell(trio[2], one_hot),
                }
                cells = [values[c] for c in base]
                cells += [json.dumps(row[c]) if isinstance(row[c], (list, dict)) else row[c] for c in extra]
                writer.writerow(cells)
    return path


def normalise_probabilities(probs: np.ndarray, clip: float = DEFAULT_CLIP) -> np.ndarray:
    """Clip away from 0 and 1, then renormalise rows to sum to 1."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ArenaprefError(f"expected an (n, 3) array of probabilities, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ArenaprefError("probabilities contain NaN or infinity")
    p = np.clip(p, clip, 1.0)
    out: np.ndarray = p / p.sum(axis=1, keepdims=True)
    return out


def _write_rows(
    path: str | Path, header: Sequence[str], ids: Sequence[str], cells: Iterable[list[str]]
) -> Path:
    """One CSV of ``header`` then ``id, *cells`` per row, complete or absent (both submission layouts)."""
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i, row in zip(ids, cells, strict=True):
            writer.writerow([i, *row])
    return path


def _check_lengths(ids: Sequence[str], p: np.ndarray) -> None:
    if len(ids) != len(p):
        raise ArenaprefError(f"{len(ids)} ids but {len(p)} probability rows")


def write_submission_csv(
    ids: Sequence[str], probs: np.ndarray, path: str | Path, clip: float = DEFAULT_CLIP
) -> Path:
    """Write ``id, winner_model_a, winner_model_b, winner_tie`` in the given order, rows summing to 1."""
    p = normalise_probabilities(probs, clip)
    _check_lengths(ids, p)
    return _write_rows(path, SUBMISSION_COLUMNS, ids, ([f"{v:.6f}" for v in row[:3]] for row in p))


def write_binary_submission_csv(ids: Sequence[str], probs: np.ndarray, path: str | Path) -> Path:
    """Write ``id, winner`` (``model_a`` where P(A) >= P(B), else ``model_b``) in the given order."""
    p = np.asarray(probs, dtype=np.float64)
    _check_lengths(ids, p)
    winners = ([WINNER_VALUES[0] if row[0] >= row[1] else WINNER_VALUES[1]] for row in p)
    return _write_rows(path, BINARY_SUBMISSION_COLUMNS, ids, winners)
