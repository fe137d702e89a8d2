"""The one output layout every labeler writes: the battle table plus a few columns saying how it was labeled.

Judge and teacher labels share it so that training, ``judge-eval`` and calibration never care where a
label came from. Columns after BATTLE_SCHEMA:

* ``label_source`` — ``judge:<name>/<model>`` or ``teacher:<model dir name>``;
* ``p_ab`` / ``p_ba`` — the labeler's (P(A), P(B), P(tie)) with the answers shown as (A, B) and as
  (B, A), both expressed for the original A and B (the calibration map reads these);
* ``order_consistent`` — whether both orders picked the same winner (position-swap consistency);
* ``n_requests`` / ``cost`` — HTTP requests and USD the label took (0 for teachers).

``p_a``/``p_b``/``p_tie`` hold the swap-averaged (and, with a calibration map, calibrated) label; they are
null for a pair that could not be labeled, whose reason is in the failures file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arenapref.atomic import atomic_path, output_suffix, write_text
from arenapref.label.calibration import CalibrationMap
from arenapref.records import conform
from arenapref.writers import write_competition_csv

LABEL_FORMATS = (".parquet", ".csv")

EXTRA_COLUMNS = ("label_source", "p_ab", "p_ba", "order_consistent", "n_requests", "cost")


@dataclass(frozen=True, slots=True)
class Failure:
    """A (pair, order) that ended without a label, and why; written to the failures file."""

    id: str
    row: int
    order: str
    reason: str
    detail: str = ""
    raw: str = ""


def assemble(
    table: pa.Table,
    p_ab: np.ndarray,
    p_ba: np.ndarray,
    label_source: str,
    n_requests: np.ndarray,
    cost: np.ndarray,
    calibration: CalibrationMap | None = None,
) -> pa.Table:
    """The labeled table: ``p_ab``/``p_ba`` are (n, 3) arrays (NaN rows = no label in that order)."""
    ok = ~(np.isnan(p_ab).any(axis=1) | np.isnan(p_ba).any(axis=1))
    combined = (p_ab + p_ba) / 2.0
    if calibration is not None and ok.any():
        combined[ok] = calibration.apply(p_ab[ok], p_ba[ok])
    consistent = np.argmax(np.nan_to_num(p_ab), axis=1) == np.argmax(np.nan_to_num(p_ba), axis=1)
    base = conform(table.drop_columns([c for c in EXTRA_COLUMNS if c in table.column_names]), "battles")
    for k, name in enumerate(("p_a", "p_b", "p_tie")):
        idx = base.schema.get_field_index(name)
        base = base.set_column(idx, name, pa.array(combined[:, k], pa.float64(), mask=~ok))
    n = table.num_rows

    def triples(p: np.ndarray, valid: np.ndarray) -> pa.Array:
        rows = [list(map(float, r)) if v else None for r, v in zip(p, valid, strict=True)]
        return pa.array(rows, pa.list_(pa.float64()))

    extras = {
        "label_source": pa.array([label_source] * n, pa.string()),
        "p_ab": triples(p_ab, ~np.isnan(p_ab).any(axis=1)),
        "p_ba": triples(p_ba, ~np.isnan(p_ba).any(axis=1)),
        "order_consistent": pa.array(consistent, pa.bool_(), mask=~ok),
        "n_requests": pa.array(n_requests, pa.int64()),
        "cost": pa.array(cost, pa.float64()),
    }
    for name, arr in extras.items():
        base = base.append_column(name, arr)
    return base


def labeled_rows(table: pa.Table) -> pa.Table:
    """Only the rows that received a label."""
    return table.filter(pc.is_valid(table.column("p_a")))


def write_labels(table: pa.Table, out: Path) -> Path:
    """Write labeled rows atomically in the format the name says: ``.parquet`` (native battle schema
    plus the label columns) or ``.csv`` (the competition train.csv layout, label columns after it)."""
    suffix = output_suffix(out, LABEL_FORMATS)
    rows = labeled_rows(table)
    with atomic_path(out) as tmp:
        if suffix == ".csv":
            write_competition_csv(rows, tmp)
        else:
            pq.write_table(rows, tmp, compression="zstd")
    return out


def write_outputs(
    table: pa.Table, failures: list[Failure], out: Path, failures_path: Path
) -> tuple[Path, Path]:
    """Write the labels (see ``write_labels``) and the failures as JSON lines (always, even when empty).

    Each file is complete or absent. The failures file is written first: a kill between the two leaves
    at worst the failures of this run beside the previous labels, never labels without their failures.
    """
    output_suffix(out, LABEL_FORMATS)  # refuse a bad name before anything is written
    lines = "".join(json.dumps(asdict(f), ensure_ascii=False) + "\n" for f in failures)
    write_text(failures_path, lines)
    write_labels(table, out)
    return out, failures_path


def default_failures_path(out: Path) -> Path:
    """``OUT.failures.jsonl`` beside the labels (``labels.csv`` -> ``labels.failures.jsonl``)."""
    return out.with_name(out.stem + ".failures.jsonl")
