"""The model stage of ``arenapref demo``: train on synthetic train.csv, evaluate, predict test.csv.

The synthetic workspace knows every battle's true probabilities and the drawn test labels
(``truth/battles.parquet``), so the demo can score its own submission against the labels the test file
hides, next to the best log loss any model could reach on them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from arenapref.model.evaluate import evaluate_model, log_loss
from arenapref.model.io import check_submission, predict_submission
from arenapref.model.training import train_model

_LABEL_COLUMNS = {"model_a": 0, "model_b": 1, "tie": 2}


def _test_scores(submission: Path, truth: Path) -> tuple[float, float, int]:
    """Log loss of the submission and of the true probabilities on the hidden test labels."""
    t = pq.read_table(truth, columns=["id", "split", "label", "p_a", "p_b", "p_tie"]).to_pylist()
    rows = {str(r["id"]): r for r in t if r["split"] == "test" and r["label"] in _LABEL_COLUMNS}
    pred, best, labels = [], [], []
    with submission.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            r = rows.get(rec["id"])
            if r is None:
                continue
            pred.append([float(rec[c]) for c in ("winner_model_a", "winner_model_b", "winner_tie")])
            best.append([r["p_a"], r["p_b"], r["p_tie"]])
            labels.append(np.eye(3)[_LABEL_COLUMNS[r["label"]]])
    y = np.array(labels).reshape(-1, 3)
    return log_loss(np.array(pred).reshape(-1, 3), y), log_loss(np.array(best).reshape(-1, 3), y), len(y)


def demo_stage(synth_dir: Path, work_dir: Path) -> list[str]:
    """Train (2 grouped folds, small boosting) on the synthetic train.csv, evaluate, write a submission."""
    train_csv = synth_dir / "competition" / "train.csv"
    test_csv = synth_dir / "competition" / "test.csv"
    model_dir = work_dir / "model"
    summary = train_model(
        [train_csv], model_dir, n_folds=2, params={"n_estimators": 300, "learning_rate": 0.1}, seed=0
    )
    lines = summary.lines()
    report = evaluate_model(model_dir, [train_csv], out_dir=work_dir / "eval")
    lines.append(
        f"in-sample log loss {report.model.log_loss:.4f}, accuracy {report.model.accuracy:.3f}; "
        f"reliability diagram {report.diagram}"
    )
    sub = predict_submission(model_dir, test_csv, work_dir / "submission.csv")
    lines += sub.lines()
    check = check_submission(sub.path, test_csv)
    lines.append("submission format check: " + ("passed" if check.ok else "; ".join(check.problems)))
    truth = synth_dir / "truth" / "battles.parquet"
    if truth.is_file():
        ours, best, n = _test_scores(sub.path, truth)
        lines.append(
            f"hidden test labels ({n} battles): submission log loss {ours:.4f}, "
            f"best possible {best:.4f}, gap {ours - best:+.4f}"
        )
    return lines


__all__ = ["demo_stage"]
