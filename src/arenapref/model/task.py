"""The two prediction tasks: the LMSYS competition's three-way log loss and WSDM Cup 2025's binary accuracy.

* ``three-way``: P(A wins), P(B wins), P(tie), scored by multi-class log loss (LMSYS 2024).
* ``binary``: which answer won, scored by accuracy (WSDM Cup 2025 – Multilingual Chatbot Arena; its data
  has no ties). Predictions keep the (n, 3) shape every estimator returns, with the tie column 0 and
  P(A) + P(B) = 1, so saved models, teachers and the ablation handle both tasks alike; log loss is
  still reported beside accuracy (it is the binary log loss, since the tie column is 0).

The task is detected from the data (``detect_task``) and can be set explicitly everywhere (``task=``,
``--task``). Three-way data trains a binary model after its ties are handled by one documented rule
(``binary_labels``): ``drop`` (default) conditions each label on "not a tie" — a hard tie is dropped, a
soft label's A/B mass is renormalised — and ``split`` gives half of the tie mass to each side.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa

from arenapref.errors import ArenaprefError
from arenapref.metrics import row_log_loss

Task = Literal["three-way", "binary"]
TieRule = Literal["drop", "split"]
TASKS: tuple[Task, ...] = ("three-way", "binary")
TIE_RULES: tuple[TieRule, ...] = ("drop", "split")
#: Sources (the readers' ``source`` value) whose layout is a binary winner column: WSDM Cup 2025.
BINARY_SOURCES = ("wsdm",)


def check_task(task: str | None) -> Task | None:
    """``task`` validated (None means: detect it from the data)."""
    if task is None or task == "auto":
        return None
    if task not in TASKS:
        raise ArenaprefError(f"task {task!r}: expected one of auto, {', '.join(TASKS)}")
    return task


def check_ties(ties: str) -> TieRule:
    """``ties`` validated: how a binary model treats tie labels of three-way data."""
    if ties not in TIE_RULES:
        raise ArenaprefError(f"ties {ties!r}: expected one of {', '.join(TIE_RULES)}")
    return ties


def detect_task(table: pa.Table, labels: np.ndarray) -> Task:
    """``binary`` when no labeled row puts any weight on a tie and some row comes from a binary-winner
    layout (WSDM's ``winner`` column); ``three-way`` otherwise.

    Both conditions are needed: a three-way set without ties is rare but possible in a small sample, and a
    WSDM file mixed with three-way data that has ties needs an explicit ``task``. ``labels``: the (n, 3)
    labels of the table's labeled rows (``estimators.battle_labels``).
    """
    sources = set(table.column("source").to_pylist()) if "source" in table.column_names else set()
    if not sources & set(BINARY_SOURCES):
        return "three-way"
    return "binary" if not (labels[:, 2] > 0).any() else "three-way"


def binary_labels(labels: np.ndarray, ties: TieRule = "drop") -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) labels with no tie mass, and the mask of rows that keep a label.

    ``drop``: P(A | not a tie), P(B | not a tie); rows that are all tie are dropped. ``split``: half of
    P(tie) goes to each side, every row is kept.
    """
    out = np.zeros_like(labels)
    if ties == "split":
        out[:, 0] = labels[:, 0] + labels[:, 2] / 2.0
        out[:, 1] = labels[:, 1] + labels[:, 2] / 2.0
        return out, np.ones(len(labels), dtype=bool)
    ab = labels[:, 0] + labels[:, 1]
    keep = ab > 0
    out[keep, 0] = labels[keep, 0] / ab[keep]
    out[keep, 1] = labels[keep, 1] / ab[keep]
    return out, keep


def binary_proba(proba: np.ndarray) -> np.ndarray:
    """A three-way prediction as a binary one: P(A | not a tie), P(B | not a tie), 0."""
    out = np.zeros_like(proba)
    ab = proba[:, 0] + proba[:, 1]
    safe = np.where(ab > 0, ab, 1.0)
    out[:, 0] = np.where(ab > 0, proba[:, 0] / safe, 0.5)
    out[:, 1] = np.where(ab > 0, proba[:, 1] / safe, 0.5)
    return out


def row_error(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1 - accuracy per row of a binary prediction: 0 when the likelier answer won, 1 when it lost, 0.5
    when the prediction or the label is exactly even (a coin flip's expected score; a split tie's label
    has no winner)."""
    pred = np.sign(proba[:, 0] - proba[:, 1])
    truth = np.sign(labels[:, 0] - labels[:, 1])
    return np.asarray(np.where((pred == 0) | (truth == 0), 0.5, (pred != truth).astype(np.float64)))


def accuracy(proba: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Binary accuracy (WSDM Cup's score) over the rows whose label has a winner (a tie split in half has
    none and is not counted); NaN when no row has one."""
    decided = labels[:, 0] != labels[:, 1]
    if not decided.any():
        return float("nan")
    w = None if weights is None else np.asarray(weights)[decided]
    return float(1.0 - np.average(row_error(proba[decided], labels[decided]), weights=w))


def row_loss(task: Task, proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The per-row loss the task is judged by (lower is better): log loss, or the binary error."""
    return row_log_loss(proba, labels) if task == "three-way" else row_error(proba, labels)


#: What ``row_loss`` measures per task, for reports (lower is better for both).
LOSS_NAMES: dict[Task, str] = {"three-way": "log loss", "binary": "error rate (1 - accuracy)"}

__all__ = [
    "BINARY_SOURCES",
    "LOSS_NAMES",
    "TASKS",
    "TIE_RULES",
    "Task",
    "TieRule",
    "accuracy",
    "binary_labels",
    "binary_proba",
    "check_task",
    "check_ties",
    "detect_task",
    "row_error",
    "row_loss",
]
