"""Metrics for three-way preference predictions, the reliability diagram, and ``arenapref evaluate``.

Log loss is the competition's score; it is computed against soft labels as a cross-entropy
(``-Σ_c y_c log p_c``), which equals the usual log loss for one-hot human votes. On synthetic data the
generator knows every battle's true probabilities, so the best log loss any model could reach on those
labels is known too; the gap to it says how much is left to learn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arenapref.atomic import atomic_path, write_text
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError, InputFormatError
from arenapref.metrics import log_loss, row_log_loss
from arenapref.model.estimators import battle_labels
from arenapref.model.kinds import load_model
from arenapref.model.settings import EvaluateSettings
from arenapref.model.task import Task, accuracy, binary_labels, binary_proba, check_task
from arenapref.model.training import read_labeled
from arenapref.rejects import RejectLog

CLASS_NAMES = ("A", "B", "tie")


def _weights(n: int, weights: np.ndarray | None) -> np.ndarray:
    return np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


@dataclass
class Metrics:
    """The figures ``arenapref evaluate`` prints; ``task`` says which one is the score (``model.task``)."""

    n: int
    log_loss: float
    accuracy: float
    accuracy_no_ties: float
    per_class_log_loss: dict[str, float]
    class_share: dict[str, float]
    best_log_loss: float | None = None
    task: Task = "three-way"
    n_ties_left_out: int = 0

    @property
    def gap_to_best(self) -> float | None:
        return None if self.best_log_loss is None else self.log_loss - self.best_log_loss

    def lines(self) -> list[str]:
        if self.task == "binary":
            out = [
                f"battles: {self.n} (task: binary"
                + (f"; {self.n_ties_left_out} tie rows left out" if self.n_ties_left_out else "")
                + ")",
                f"accuracy: {self.accuracy:.4f} (the binary task's score)   log loss: {self.log_loss:.4f}",
            ]
        else:
            out = [
                f"battles: {self.n}",
                f"log loss: {self.log_loss:.4f}",
                f"accuracy: {self.accuracy:.4f}   accuracy without ties: {self.accuracy_no_ties:.4f}",
            ]
        out += [
            "per-class log loss: "
            + ", ".join(
                f"{k} {v:.4f} ({self.class_share[k]:.1%} of rows)"
                for k, v in self.per_class_log_loss.items()
                if self.task == "three-way" or k != "tie"
            ),
        ]
        if self.best_log_loss is not None and self.gap_to_best is not None:
            out.append(
                f"best possible log loss (true probabilities): {self.best_log_loss:.4f}"
                f"   gap: {self.gap_to_best:+.4f}"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures; NaN (a class absent from the data) becomes null."""
        return {
            "task": self.task,
            "n": self.n,
            "n_ties_left_out": self.n_ties_left_out,
            "log_loss": _finite(self.log_loss),
            "accuracy": _finite(self.accuracy),
            "accuracy_no_ties": _finite(self.accuracy_no_ties),
            "per_class_log_loss": {k: _finite(v) for k, v in self.per_class_log_loss.items()},
            "class_share": {k: _finite(v) for k, v in self.class_share.items()},
            "best_log_loss": _finite(self.best_log_loss),
            "gap_to_best": _finite(self.gap_to_best),
        }


def compute_metrics(
    proba: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    true_proba: np.ndarray | None = None,
    task: Task = "three-way",
) -> Metrics:
    """Log loss, accuracy (label = argmax of the label row), accuracy on rows whose label is not a tie
    (prediction = the likelier of A and B), per-class log loss, and with ``true_proba`` the best log
    loss reachable: the cross-entropy of the labels against the generator's true probabilities.

    ``task="binary"``: predictions and labels become binary first (``model.task``; tie rows left out
    and counted), and accuracy is the binary accuracy, the task's score.
    """
    n_ties = 0
    if task == "binary":
        labels, keep = binary_labels(labels, "drop")
        n_ties = int((~keep).sum())
        proba, labels = binary_proba(proba[keep]), labels[keep]
        weights = None if weights is None else np.asarray(weights)[keep]
        true_proba = None if true_proba is None else binary_proba(true_proba[keep])
    w = _weights(len(proba), weights)
    truth = labels.argmax(axis=1)
    pred = proba.argmax(axis=1)
    losses = row_log_loss(proba, labels)
    no_tie = truth != 2
    per_class: dict[str, float] = {}
    share: dict[str, float] = {}
    for c, name in enumerate(CLASS_NAMES):
        mask = truth == c
        per_class[name] = float(np.average(losses[mask], weights=w[mask])) if mask.any() else float("nan")
        share[name] = float(w[mask].sum() / w.sum()) if len(w) else float("nan")
    acc_nt = (
        float(np.average((proba[no_tie, 0] >= proba[no_tie, 1]) == (truth[no_tie] == 0), weights=w[no_tie]))
        if no_tie.any()
        else float("nan")
    )
    binary = task == "binary"
    return Metrics(
        n=len(proba),
        log_loss=log_loss(proba, labels, w),
        accuracy=accuracy(proba, labels, w)
        if binary
        else float(np.average(pred == truth, weights=w))
        if len(w)
        else float("nan"),
        accuracy_no_ties=acc_nt,
        per_class_log_loss=per_class,
        class_share=share,
        best_log_loss=None if true_proba is None else log_loss(true_proba, labels, w),
        task=task,
        n_ties_left_out=n_ties,
    )


def reliability_diagram(proba: np.ndarray, labels: np.ndarray, path: str | Path, n_bins: int = 10) -> Path:
    """A PNG with one calibration curve per class (predicted probability against observed frequency).

    Points sit on the diagonal when the model is calibrated; the bar chart below shows how many
    predictions fall in each bin, so a wild point backed by three rows is not over-read.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    fig, (ax, hx) = plt.subplots(2, 1, figsize=(6, 7), height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    width = 1.0 / n_bins / 3.5
    for c, name in enumerate(CLASS_NAMES):
        idx = np.clip(np.digitize(proba[:, c], edges[1:-1]), 0, n_bins - 1)
        counts = np.bincount(idx, minlength=n_bins)
        mean_p = np.bincount(idx, weights=proba[:, c], minlength=n_bins)
        freq = np.bincount(idx, weights=labels[:, c], minlength=n_bins)
        has = counts > 0
        ax.plot(mean_p[has] / counts[has], freq[has] / counts[has], marker="o", label=name)
        hx.bar(edges[:-1] + (c + 0.5) * width, counts, width=width, label=name)
    ax.set_ylabel("observed frequency")
    ax.set_title("Reliability diagram")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend()
    hx.set_xlabel("predicted probability")
    hx.set_ylabel("rows")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def read_truth(path: str | Path, ids: list[str]) -> np.ndarray:
    """True probabilities (id, p_a, p_b, p_tie Parquet, as ``arenapref.synth`` writes) in ``ids`` order."""
    try:
        truth = pq.read_table(path, columns=["id", "p_a", "p_b", "p_tie"])
    except (OSError, pa.ArrowInvalid, KeyError) as exc:
        raise InputFormatError(f"{path}: not a truth file with id, p_a, p_b, p_tie ({exc})") from exc
    where = {str(i): k for k, i in enumerate(truth.column("id").to_pylist())}
    missing = [i for i in ids if i not in where]
    if missing:
        raise ArenaprefError(
            f"{path}: {len(missing)} evaluated battles have no true probabilities (e.g. {missing[0]})"
        )
    rows = np.array([where[i] for i in ids], dtype=np.int64)
    cols = [
        np.asarray(truth.column(c).to_numpy(zero_copy_only=False), dtype=np.float64)[rows]
        for c in ("p_a", "p_b", "p_tie")
    ]
    return np.column_stack(cols) if rows.size else np.zeros((0, 3))


@dataclass(repr=False)
class EvalReport(NotebookResult):
    """``evaluate_model``'s result: the model's metrics, the class prior's, and the output files.

    ``to_arrow()`` is one row per scorer (the model, and the class prior where known).
    """

    model: Metrics
    prior: Metrics | None
    diagram: Path | None
    files: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = self.model.lines()
        if self.prior is not None:
            acc = f"accuracy {self.prior.accuracy:.4f}, " if self.model.task == "binary" else ""
            out.append(f"class prior of the training data: {acc}log loss {self.prior.log_loss:.4f}")
        out += [f"wrote {p}" for p in self.files]
        return out

    def to_arrow(self) -> pa.Table:
        scored = [("model", self.model)] + ([("class prior", self.prior)] if self.prior is not None else [])
        return pa.Table.from_pylist(
            [
                {
                    "scorer": name,
                    "n": m.n,
                    "log_loss": m.log_loss,
                    "accuracy": m.accuracy,
                    "accuracy_no_ties": m.accuracy_no_ties,
                }
                for name, m in scored
            ]
        )

    def summary_lines(self) -> list[str]:
        return self.lines()


def evaluate_model(
    model_dir: str | Path,
    data: list[str | Path] | Any,
    truth: str | Path | None = None,
    out_dir: str | Path | None = None,
    rejects: RejectLog | None = None,
    format: str | None = None,
    task: str | None = None,
    split: str | None = None,
    bins: int = EvaluateSettings().bins,
) -> EvalReport:
    """Score a saved model on labeled battles: metrics, the class prior's log loss, a reliability diagram.

    ``truth`` is a Parquet of true probabilities (id, p_a, p_b, p_tie); when omitted and the data sits in
    a ``synth`` workspace, ``<workspace>/truth/battles.parquet`` is used, giving the gap to the best
    possible log loss. Writes ``reliability.png`` and ``metrics.json`` under ``out_dir`` (default: the
    model directory's ``eval/``). ``data`` may also be a table or DataFrame of labeled battles. ``task``:
    the score to report (``three-way`` or ``binary``); by default the task the model was trained for.
    ``split`` picks one split of a data folder; ``bins``: the reliability diagram's bins.
    """
    model = load_model(model_dir)
    paths = isinstance(data, list) and all(isinstance(p, (str, Path)) for p in data)
    table, _ = read_labeled(data, rejects if rejects is not None else RejectLog(), format, split)
    labels, ok = battle_labels(table)
    if not ok.any():
        raise ArenaprefError("the evaluation data has no labeled battles")
    table, labels = table.filter(pa.array(ok)), labels[ok]
    proba = model.predict_proba(table)
    ids = [str(i) for i in table.column("id").to_pylist()]
    truth_path = (
        Path(truth) if truth is not None else (default_truth([Path(p) for p in data]) if paths else None)
    )
    true_proba = None
    if truth_path is not None:
        try:
            true_proba = read_truth(truth_path, ids)
        except ArenaprefError:
            if truth is not None:
                raise
            truth_path = None  # a truth file found beside the data but not covering it: no best-case figure
    trained_for: Task = getattr(model, "task_", "three-way")
    the_task: Task = check_task(task) or trained_for
    metrics = compute_metrics(proba, labels, true_proba=true_proba, task=the_task)
    prior = getattr(model, "class_prior_", None)
    prior_metrics = (
        None if prior is None else compute_metrics(np.tile(prior, (len(labels), 1)), labels, task=the_task)
    )
    out = Path(out_dir) if out_dir is not None else Path(model_dir) / "eval"
    diagram = reliability_diagram(proba, labels, out / "reliability.png", n_bins=bins)
    summary: dict[str, Any] = {
        "model": metrics.as_dict(),
        "prior": None if prior_metrics is None else prior_metrics.as_dict(),
    }
    summary["truth"] = None if truth_path is None else str(truth_path)
    metrics_path = write_text(out / "metrics.json", json.dumps(summary, indent=2) + "\n")
    return EvalReport(metrics, prior_metrics, diagram, [diagram, metrics_path])


def default_truth(paths: list[Path]) -> Path | None:
    """``<synth dir>/truth/battles.parquet`` beside a synthetic competition CSV, when it exists."""
    for p in paths:
        for parent in list(p.resolve().parents)[:3]:
            cand = parent / "truth" / "battles.parquet"
            if cand.is_file():
                return cand
    return None


__all__ = [
    "CLASS_NAMES",
    "EvalReport",
    "Metrics",
    "compute_metrics",
    "default_truth",
    "evaluate_model",
    "log_loss",
    "read_truth",
    "reliability_diagram",
    "row_log_loss",
]
