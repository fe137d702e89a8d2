"""Calibrating a judge (or teacher) against human labels, and the agreement figures that justify it.

Judge verdicts are noisy and often over-confident (a hard ``[[A]]`` is probability 1); their log loss
against human votes is poor even when their accuracy is fine. A small map learned on a labeled sample
fixes the scale and the position bias: multinomial logistic regression from the log-probabilities of both
presentation orders (6 features) to the human (A, B, tie) distribution. It is a page of numpy + one
L-BFGS call, which handles soft human labels directly (no one-hot expansion) and stays finite when a
class (ties, in AlpacaFarm) never occurs. On small labeled sets the map is reduced to a temperature per
order and a bias per class (see ``fit_calibration``). The map is plain JSON so it can be read and audited.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arenapref import metrics
from arenapref.atomic import write_text
from arenapref.errors import ArenaprefError
from arenapref.metrics import softmax

FEATURE_EPS = 1e-4
FORMAT = "arenapref-calibration/1"


def _features(p_ab: np.ndarray, p_ba: np.ndarray) -> np.ndarray:
    return np.asarray(np.log(np.clip(np.hstack([p_ab, p_ba]), FEATURE_EPS, 1.0)))


@dataclass(frozen=True)
class CalibrationMap:
    """softmax(features @ coef.T + intercept), features = log of both orders' (P(A), P(B), P(tie))."""

    coef: np.ndarray  # (3, 6)
    intercept: np.ndarray  # (3,)
    fitted_on: str = ""
    n_train: int = 0

    def apply(self, p_ab: np.ndarray, p_ba: np.ndarray) -> np.ndarray:
        """Calibrated (n, 3) probabilities from the two orders' (n, 3) probabilities."""
        return softmax(_features(p_ab, p_ba) @ self.coef.T + self.intercept)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": "log(clip(p_ab, 1e-4)) ++ log(clip(p_ba, 1e-4)), classes A, B, tie",
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "fitted_on": self.fitted_on,
            "n_train": self.n_train,
        }

    def save(self, path: str | Path) -> Path:
        """Write the map as JSON, atomically (complete or absent)."""
        return write_text(path, json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> CalibrationMap:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            coef = np.asarray(data["coef"], dtype=np.float64)
            intercept = np.asarray(data["intercept"], dtype=np.float64)
            if coef.shape != (3, 6) or intercept.shape != (3,):
                raise ValueError("coefficients have the wrong shape")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArenaprefError(f"{path}: not a calibration map written by judge-eval ({exc})") from exc
        return cls(coef, intercept, str(data.get("fitted_on", "")), int(data.get("n_train", 0)))


FULL_MAP_MIN_ROWS = 1000


def _basis(full: bool) -> np.ndarray:
    """Basis matrices B_j with coef = sum_j theta_j B_j: 18 free weights, or one scale per order."""
    if full:
        return np.eye(18).reshape(18, 3, 6)
    return np.stack([np.hstack([np.eye(3), np.zeros((3, 3))]), np.hstack([np.zeros((3, 3)), np.eye(3)])])


def fit_calibration(
    p_ab: np.ndarray,
    p_ba: np.ndarray,
    targets: np.ndarray,
    l2: float = 1e-2,
    fitted_on: str = "",
    full: bool | None = None,
) -> CalibrationMap:
    """Fit the map by minimising mean cross-entropy to (possibly soft) ``targets`` plus an L2 penalty.

    Two shapes: a *scale-and-bias* map (one temperature per presentation order plus a bias per class:
    5 parameters, safe on a few dozen rows) and the *full* 3x6 multinomial regression (21 parameters,
    which can also undo cross-class confusions but overfits small samples; a 70-row demo set got worse
    with it). ``full=None`` picks the full map from ``FULL_MAP_MIN_ROWS`` rows on. The penalty pulls
    towards the identity map (the geometric mean of both orders), i.e. towards trusting the judge as is.
    """
    # Imported here: scipy.optimize costs a noticeable start-up time that labeling alone never needs.
    from scipy.optimize import minimize

    x = _features(p_ab, p_ba)
    n = len(x)
    y = targets / targets.sum(axis=1, keepdims=True)
    basis = _basis(n >= FULL_MAP_MIN_ROWS if full is None else full)
    k = len(basis)
    identity = 0.5 * (_basis(False)[0] + _basis(False)[1])
    theta0 = np.einsum("jab,ab->j", basis, identity) / np.einsum("jab,jab->j", basis, basis)

    def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        theta, b = w[:k], w[k:]
        coef = np.tensordot(theta, basis, axes=1)
        z = x @ coef.T + b
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(y * logp).sum() / n + 0.5 * l2 * float(((theta - theta0) ** 2).sum())
        diff = (np.exp(logp) - y) / n
        g_theta = np.einsum("ab,jab->j", diff.T @ x, basis) + l2 * (theta - theta0)
        return float(loss), np.concatenate([g_theta, diff.sum(axis=0)])

    start = np.concatenate([theta0, np.zeros(3)])
    res = minimize(loss_grad, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    coef = np.tensordot(res.x[:k], basis, axes=1)
    return CalibrationMap(coef, res.x[k:], fitted_on, n)


def log_loss(probs: np.ndarray, targets: np.ndarray) -> float:
    """Multi-class log loss as the competition scores it, against targets renormalised to sum to 1."""
    return metrics.log_loss(probs, targets / targets.sum(axis=1, keepdims=True))


def accuracy(probs: np.ndarray, targets: np.ndarray) -> float:
    """Three-way agreement: the judge's most likely outcome equals the human label's."""
    return float((np.argmax(probs, axis=1) == np.argmax(targets, axis=1)).mean())


def accuracy_without_ties(probs: np.ndarray, targets: np.ndarray) -> tuple[float, int]:
    """Among rows whose human label is a win, how often the judge favours the same side (P(A) vs P(B)).

    Returns (accuracy, number of rows counted); NaN when there are none.
    """
    human = np.argmax(targets, axis=1)
    keep = human != 2
    if not keep.any():
        return float("nan"), 0
    judge = np.where(probs[keep, 0] >= probs[keep, 1], 0, 1)
    return float((judge == human[keep]).mean()), int(keep.sum())


def split_rows(ids: list[str], holdout: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out rows, a seeded random split that does not depend on row order."""
    scores = np.array(
        [int.from_bytes(hashlib.sha256(f"{seed}:{i}".encode()).digest()[:8], "big") for i in ids],
        dtype=np.float64,
    )
    held: np.ndarray = scores / 2.0**64 < holdout
    return held
