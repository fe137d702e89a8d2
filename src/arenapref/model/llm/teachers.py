"""Several teachers' soft labels for distillation (``-p teachers=...``), read and checked before training.

The 1st-place LMSYS 2024 solution distilled two large fine-tuned teachers into the submitted model with a
loss of CE + KL + cosine against each teacher. Here a teacher is what arenapref already produces: one
probability triple (A, B, tie) per battle. Each entry of ``teachers`` is either

* a column of the training table holding three probabilities per row (a list; null where the teacher
  did not score the row), or
* a ``.parquet`` or ``.csv`` file with ``id`` and ``p_a, p_b, p_tie`` (what ``label --teacher`` writes, and a
  model folder's ``oof.parquet``) or ``winner_model_a, winner_model_b, winner_tie`` (a submission from
  ``arenapref predict``), joined to the training rows by ``id``.

Probabilities, not logits: that is what every labeler writes, and nothing is lost, because a softmax at
any temperature of ``log p`` equals that of the teacher's own logits (softmax ignores a shift). A row a
teacher did not score is left out of that teacher's terms only; the counts are in ``metrics.json``.
No torch here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arenapref.errors import ArenaprefError
from arenapref.metrics import log_loss

TEACHER_FILE_SUFFIXES = (".parquet", ".csv")
_COLUMN_SETS = (("p_a", "p_b", "p_tie"), ("winner_model_a", "winner_model_b", "winner_tie"))
#: Probabilities are floored here before the log, so a teacher's 0 is a large finite logit gap.
FLOOR = 1e-7


def _checked(values: np.ndarray, where: str) -> np.ndarray:
    """Rows normalised to sum 1; NaN rows stay NaN (not scored); anything else wrong is one sentence."""
    scored = ~np.isnan(values).any(axis=1)
    v = values[scored]
    sums = v.sum(axis=1)
    bad = ~(np.isfinite(v).all(axis=1) & (v >= 0).all(axis=1) & (np.abs(sums - 1.0) <= 1e-3))
    if bad.any():
        row = int(np.flatnonzero(scored)[np.flatnonzero(bad)[0]])
        raise ArenaprefError(
            f"{where}, row {row + 1}: expected three probabilities (A, B, tie) summing to 1, got "
            f"{values[row].tolist()} (for logits, store their softmax)"
        )
    out = values.copy()
    out[scored] = v / sums[:, None]
    return out


def _from_column(table: pa.Table, name: str) -> np.ndarray:
    where = f"teacher column {name!r}"
    out = np.full((table.num_rows, 3), np.nan)
    for i, cell in enumerate(table.column(name).to_pylist()):
        if cell is None:
            continue
        if not isinstance(cell, list | tuple) or len(cell) != 3 or any(c is None for c in cell):
            raise ArenaprefError(
                f"{where}, row {i + 1}: expected a list of three probabilities, got {cell!r}"
            )
        out[i] = cell
    return _checked(out, where)


def _read_file(path: Path) -> pa.Table:
    try:
        return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ArenaprefError(f"teacher file {path}: cannot be read as {path.suffix[1:]} ({exc})") from exc


def _from_file(table: pa.Table, path: Path) -> np.ndarray:
    data = _read_file(path)
    cols = next((c for c in _COLUMN_SETS if set(c) <= set(data.column_names)), None)
    if "id" not in data.column_names or cols is None:
        raise ArenaprefError(
            f"teacher file {path}: expected columns id and p_a, p_b, p_tie (or winner_model_a, "
            f"winner_model_b, winner_tie); it has {', '.join(data.column_names)}"
        )
    ids = [str(i) for i in data.column("id").to_pylist()]
    values = np.column_stack(
        [np.asarray(data.column(c).to_numpy(zero_copy_only=False), dtype=np.float64) for c in cols]
    )
    values = _checked(values, f"teacher file {path}")
    at: dict[str, int] = {}
    for row, key in enumerate(ids):
        if key in at:
            raise ArenaprefError(f"teacher file {path}, row {row + 1}: id {key!r} also on row {at[key] + 1}")
        at[key] = row
    out = np.full((table.num_rows, 3), np.nan)
    for i, key in enumerate(str(k) for k in table.column("id").to_pylist()):
        if key in at:
            out[i] = values[at[key]]
    return out


def read_teachers(table: pa.Table, entries: list[str]) -> np.ndarray:
    """(n rows, m teachers, 3) probabilities for the rows of ``table``; NaN where a teacher gave none."""
    if not entries:
        return np.zeros((table.num_rows, 0, 3))
    found = []
    for entry in entries:
        path = Path(entry)
        if entry in table.column_names:
            found.append(_from_column(table, entry))
        elif path.suffix in TEACHER_FILE_SUFFIXES and path.is_file():
            found.append(_from_file(table, path))
        else:
            raise ArenaprefError(
                f"-p teachers: {entry!r} is neither a column of the training data nor an existing "
                f".parquet or .csv file; the columns are {', '.join(table.column_names)}"
            )
    return np.stack(found, axis=1)


def teacher_log_probs(proba: np.ndarray) -> np.ndarray:
    """Floored log-probabilities: the teacher logits the loss uses (NaN rows stay NaN)."""
    return np.asarray(np.log(np.maximum(proba, FLOOR)))


def teacher_report(entries: list[str], proba: np.ndarray, y: np.ndarray) -> list[dict[str, object]]:
    """Per teacher: how many training rows it scored and its log loss against their labels."""
    out: list[dict[str, object]] = []
    for k, name in enumerate(entries):
        scored = ~np.isnan(proba[:, k]).any(axis=1)
        loss = log_loss(proba[scored, k], y[scored]) if scored.any() else None
        out.append({"teacher": name, "rows": int(scored.sum()), "log_loss": loss})
    return out


__all__ = ["TEACHER_FILE_SUFFIXES", "read_teachers", "teacher_log_probs", "teacher_report"]
