"""Temperature scaling of preference probabilities, shared by the LightGBM trainer and the LLM trainer.

Its own module so that ``model.llm`` can use it without importing ``model.training``, which imports
``model.io``, which dispatches to ``model.llm``: that was a cycle.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from arenapref.metrics import EPS, log_loss, softmax
from arenapref.model.task import Task


def apply_temperature(proba: np.ndarray, temperature: float, task: Task = "three-way") -> np.ndarray:
    """Soften (T > 1) or sharpen (T < 1) probabilities: softmax(log p / T).

    One temperature for all classes keeps the A/B swap symmetry of the underlying model. For the binary
    task only the A and B columns are scaled, so the tie column stays exactly 0.
    """
    if temperature == 1.0:
        return proba
    if task == "binary":
        out = np.zeros_like(proba)
        out[:, :2] = softmax(np.log(np.clip(proba[:, :2], EPS, 1.0)) / temperature)
        return out
    return softmax(np.log(np.clip(proba, EPS, 1.0)) / temperature)


def fit_temperature(
    proba: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None, task: Task = "three-way"
) -> float:
    """The temperature in [0.2, 5] that minimises the (weighted) log loss of ``proba`` against ``labels``."""
    if len(proba) == 0:
        return 1.0
    result = minimize_scalar(
        lambda t: log_loss(apply_temperature(proba, float(t), task), labels, weights),
        bounds=(0.2, 5.0),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(result.x)


def cross_fitted_temperature(
    proba: np.ndarray, labels: np.ndarray, weights: np.ndarray, folds: np.ndarray, task: Task = "three-way"
) -> tuple[float, float]:
    """OOF log loss with the temperature fitted on the *other* folds, against the raw OOF log loss.

    Why: a temperature fitted on all OOF rows always lowers their log loss (it is fitted on them), so that
    number cannot say whether scaling helps on new rows; this one can (T = 1.17 once made a held-out set
    worse). Returns (scaled, raw).
    """
    scaled = np.empty_like(proba)
    for k in np.unique(folds):
        test = folds == k
        t = fit_temperature(proba[~test], labels[~test], weights[~test], task)
        scaled[test] = apply_temperature(proba[test], t, task)
    return log_loss(scaled, labels, weights), log_loss(proba, labels, weights)


def choose_temperature(
    proba: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    folds: np.ndarray,
    calibrate: bool = True,
    task: Task = "three-way",
) -> tuple[float, float, float]:
    """The post-processing rule ``fit`` applies: fit a temperature on these rows and keep it only when a
    cross-fitted temperature lowers their log loss. Returns (temperature kept, temperature fitted,
    cross-fitted log loss)."""
    fitted = fit_temperature(proba, labels, weights, task) if calibrate else 1.0
    cross, raw = cross_fitted_temperature(proba, labels, weights, folds, task)
    return (fitted if calibrate and cross < raw else 1.0), fitted, cross


__all__ = ["apply_temperature", "choose_temperature", "cross_fitted_temperature", "fit_temperature"]
