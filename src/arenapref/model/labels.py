"""Battle labels as probability rows: what every model kind trains and is scored on.

Its own small module so that the LLM trainer (``model.llm.train``) can use it without importing the
LightGBM estimators, which import ``model.io``, which dispatches to ``model.llm``: that was a cycle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from arenapref.errors import ArenaprefError
from arenapref.records import LABEL_COLUMNS


def battle_labels(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Labels as an (n, 3) array of probabilities (rows normalised) and a mask of usable rows.

    A row is usable when all three label cells are present, finite, non-negative and not all zero;
    unusable rows get a label of zeros. Soft labels (pseudo-labels) pass through as they are.
    """
    missing = [c for c in LABEL_COLUMNS if c not in table.column_names]
    if missing:
        raise ArenaprefError(f"the table has no {', '.join(missing)} column; labeled battles are needed")
    cols = [
        np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=np.float64) for c in LABEL_COLUMNS
    ]
    y = np.column_stack(cols) if cols[0].size else np.zeros((0, 3))
    ok = np.isfinite(y).all(axis=1) & (y >= 0).all(axis=1) & (np.nan_to_num(y).sum(axis=1) > 0)
    out = np.zeros_like(y)
    out[ok] = y[ok] / y[ok].sum(axis=1, keepdims=True)
    return out, ok


__all__ = ["battle_labels"]
