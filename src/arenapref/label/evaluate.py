"""``judge-eval``: how well a judge (or teacher) agrees with human labels, and a calibration map for it.

The labeler runs on a human-labeled battle set; we report three-way accuracy, accuracy without ties,
log loss, position-swap consistency and cost; then fit ``CalibrationMap`` on a seeded part of the rows
and report log loss before and after calibration on the held-out rest, so the gain is measured on rows
the map never saw. Outputs in the run directory: the labeler's output table, its failures, the map
(``calibration.json``, usable as ``label --calibration``) and ``report.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arenapref.atomic import atomic_dir, write_text
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.label.calibration import (
    CalibrationMap,
    accuracy,
    accuracy_without_ties,
    fit_calibration,
    log_loss,
    split_rows,
)
from arenapref.label.judge import LabelResult
from arenapref.label.output import write_outputs
from arenapref.label.settings import JudgeEvalSettings
from arenapref.records import LABEL_COLUMNS

MIN_TRAIN = 20
MIN_HELDOUT = 10


@dataclass
class Agreement:
    """Agreement figures of one set of probabilities against human labels."""

    rows: int
    accuracy: float
    accuracy_without_ties: float
    rows_without_ties: int
    log_loss: float


@dataclass(repr=False)
class EvalReport(NotebookResult):
    """Everything ``judge-eval`` measured; ``report.json`` is this, serialised.

    ``to_arrow()`` is one row of the agreement figures (accuracy, without ties, log loss, swap consistency).
    """

    label_source: str
    rows_labeled_by_humans: int
    rows_judged: int
    rows_failed: int
    failure_reasons: dict[str, int]
    agreement: Agreement
    swap_consistency: float
    cost: float
    cost_per_pair: float
    cost_this_run: float
    http_requests: int
    calibration: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist(
            [asdict(self.agreement) | {"swap_consistency": self.swap_consistency, "cost": self.cost}]
        )

    def summary_lines(self) -> list[str]:
        return self.lines()

    def lines(self) -> list[str]:
        """A short human-readable summary."""
        a = self.agreement
        out = [
            f"{self.label_source}: judged {self.rows_judged} of {self.rows_labeled_by_humans} labeled pairs"
            + (f" ({self.rows_failed} failed: {self.failure_reasons})" if self.rows_failed else ""),
            f"agreement: accuracy {a.accuracy:.3f}, without ties {a.accuracy_without_ties:.3f} "
            f"({a.rows_without_ties} rows), log loss {a.log_loss:.4f}",
            f"position-swap consistency {self.swap_consistency:.3f}; labels cost ${self.cost:.4f} "
            f"(${self.cost_per_pair:.6f}/pair); this run ${self.cost_this_run:.4f}, "
            f"{self.http_requests} HTTP requests",
        ]
        c = self.calibration
        if c.get("fitted"):
            out.append(
                f"calibration on {c['heldout_rows']} held-out rows: log loss {c['log_loss_before']:.4f} -> "
                f"{c['log_loss_after']:.4f}, accuracy {c['accuracy_before']:.3f} -> {c['accuracy_after']:.3f}"
            )
        elif c:
            out.append(f"calibration not fitted: {c.get('reason')}")
        out += [f"{k}: {v}" for k, v in self.outputs.items()]
        return out


def human_labels(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) human label probabilities and the mask of rows that have one."""
    if any(c not in table.column_names for c in LABEL_COLUMNS):
        raise ArenaprefError("judge-eval needs a labeled battle file (p_a, p_b, p_tie or winner columns)")
    y = np.column_stack(
        [np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=np.float64) for c in LABEL_COLUMNS]
    )
    ok = np.isfinite(y).all(axis=1) & (np.nan_to_num(y).sum(axis=1) > 0)
    return y, ok


def agreement(probs: np.ndarray, targets: np.ndarray) -> Agreement:
    acc_nt, n_nt = accuracy_without_ties(probs, targets)
    return Agreement(len(probs), accuracy(probs, targets), acc_nt, n_nt, log_loss(probs, targets))


def _triples(table: pa.Table, name: str) -> np.ndarray:
    return np.array(
        [v if v is not None else [np.nan] * 3 for v in table.column(name).to_pylist()], np.float64
    )


def judge_eval(
    labeled: pa.Table,
    labeler: Callable[[pa.Table], LabelResult],
    out_dir: str | Path,
    *,
    settings: JudgeEvalSettings | None = None,
    seed: int = 0,
) -> EvalReport:
    """Run ``labeler`` on the human-labeled rows of ``labeled``; measure agreement; fit and save a map.

    ``settings``: the held-out share (``label.settings.JudgeEvalSettings``; its defaults when None)."""
    holdout = (settings or JudgeEvalSettings()).holdout
    out = Path(out_dir)
    targets_all, has_label = human_labels(labeled)
    if not has_label.any():
        raise ArenaprefError("the labeled set holds no row with a human label")
    table = labeled.filter(pa.array(has_label))
    targets_all = targets_all[has_label]
    result = labeler(table)
    judged = result.table
    ok = np.asarray(judged.column("p_a").is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if not ok.any():
        why = result.stats.stopped or str(result.stats.failure_reasons)
        raise ArenaprefError(f"the labeler produced no label on the {table.num_rows} rows ({why})")
    probs = np.column_stack(
        [np.asarray(judged.column(c).to_numpy(zero_copy_only=False), np.float64) for c in LABEL_COLUMNS]
    )[ok]
    p_ab, p_ba = _triples(judged, "p_ab")[ok], _triples(judged, "p_ba")[ok]
    consistent = np.asarray(judged.column("order_consistent").to_numpy(zero_copy_only=False), dtype=bool)[ok]
    label_source = str(judged.column("label_source")[0].as_py())
    # The run folder is written as a whole (complete or absent): never labels of one run beside the
    # calibration of another.
    with atomic_dir(out) as tmp:
        report = _evaluate(
            result, table, targets_all, ok, p_ab, p_ba, consistent, probs, label_source, tmp, holdout, seed
        )
        report.outputs = {k: str(out / Path(v).name) for k, v in report.outputs.items()}
        if report.calibration.get("path"):
            report.calibration["path"] = str(out / Path(report.calibration["path"]).name)
        write_text(tmp / "report.json", json.dumps(asdict(report), indent=2, default=float))
    return report


def _evaluate(
    result: LabelResult,
    table: pa.Table,
    targets_all: np.ndarray,
    ok: np.ndarray,
    p_ab: np.ndarray,
    p_ba: np.ndarray,
    consistent: np.ndarray,
    probs: np.ndarray,
    label_source: str,
    out: Path,
    holdout: float,
    seed: int,
) -> EvalReport:
    """The report and the files of one evaluation, written into ``out`` (the temporary run folder)."""
    judged = result.table
    targets = targets_all[ok]
    labels_path, failures_path = write_outputs(
        judged, result.failures, out / "labels.parquet", out / "failures.jsonl"
    )
    n_pairs = int(ok.sum())
    # What the labels cost when they were made (cached answers keep their original cost).
    labels_cost = float(np.asarray(judged.column("cost").to_numpy(zero_copy_only=False))[ok].sum())
    report = EvalReport(
        label_source=label_source,
        rows_labeled_by_humans=table.num_rows,
        rows_judged=n_pairs,
        rows_failed=table.num_rows - n_pairs,
        failure_reasons=dict(result.stats.failure_reasons),
        agreement=agreement(probs, targets),
        swap_consistency=float(consistent.mean()),
        cost=labels_cost,
        cost_per_pair=labels_cost / max(n_pairs, 1),
        cost_this_run=result.stats.cost,
        http_requests=result.stats.http_requests,
        outputs={"labels": str(labels_path), "failures": str(failures_path)},
    )
    ids = [str(i) for i in judged.column("id").to_pylist()]
    held = split_rows([i for i, k in zip(ids, ok, strict=True) if k], holdout, seed)
    n_train, n_held = int((~held).sum()), int(held.sum())
    if n_train < MIN_TRAIN or n_held < MIN_HELDOUT:
        report.calibration = {
            "fitted": False,
            "reason": f"{n_train} training and {n_held} held-out rows; need {MIN_TRAIN} and {MIN_HELDOUT}",
        }
    else:
        cmap = fit_calibration(p_ab[~held], p_ba[~held], targets[~held], fitted_on=label_source)
        calibrated = cmap.apply(p_ab[held], p_ba[held])
        before, after = agreement(probs[held], targets[held]), agreement(calibrated, targets[held])
        path = cmap.save(out / "calibration.json")
        report.calibration = {
            "fitted": True,
            "train_rows": n_train,
            "heldout_rows": n_held,
            "log_loss_before": before.log_loss,
            "log_loss_after": after.log_loss,
            "accuracy_before": before.accuracy,
            "accuracy_after": after.accuracy,
            "path": str(path),
        }
        report.outputs["calibration"] = str(path)
    report.outputs["report"] = str(out / "report.json")
    return report


def load_calibration(path: str | Path | None) -> CalibrationMap | None:
    return CalibrationMap.load(path) if path is not None else None
