"""The one log loss and the one softmax of arenapref (numpy only, so every stage may import them).

Log loss is the competition's score; it is computed against soft labels as a cross-entropy
(``-Σ_c y_c log p_c``), which equals the usual log loss for one-hot human votes. Predictions are clipped
to [1e-15, 1] and renormalised, as the competition's scorer does.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-15


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def row_log_loss(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-row cross-entropy of predictions against (soft) labels."""
    p = np.clip(proba, EPS, 1.0)
    p = p / p.sum(axis=-1, keepdims=True)
    return np.asarray(-(labels * np.log(p)).sum(axis=-1))


def log_loss(proba: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Weighted mean cross-entropy; NaN for no rows."""
    if len(proba) == 0:
        return float("nan")
    w = np.ones(len(proba)) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(np.average(row_log_loss(proba, labels), weights=w))


__all__ = ["EPS", "log_loss", "row_log_loss", "softmax"]
