"""Battle labels as probability rows: what every model kind trains and is scored on.

Its own small module, with the per-source weights, so that the LLM trainer (``model.llm.train``) can use
them without importing the LightGBM estimators or the trainer, which import ``model.io``, which dispatches
to ``model.llm``: that was a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

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


def source_weights(table: pa.Table, weights: Mapping[str, float], input_column: str = "input") -> np.ndarray:
    """Per-row sample weights: a row's weight is the one given for its ``source`` value or its input file.

    ``input_column`` (added by ``read_battles``) holds each row's input path; a weight key matches the
    path, its file name or its stem, so ``--weight mined.parquet=0.5`` and ``--weight mined=0.5`` both work.
    Rows matched by nothing weigh 1.
    """
    w = np.ones(table.num_rows)
    if not weights:
        return w
    sources = table.column("source").to_pylist() if "source" in table.column_names else [None] * len(w)
    inputs = table.column(input_column).to_pylist() if input_column in table.column_names else [None] * len(w)
    used: set[str] = set()
    for i, (src, inp) in enumerate(zip(sources, inputs, strict=True)):
        names = [src] if src is not None else []
        if inp is not None:
            p = Path(inp)
            names += [inp, p.name, p.stem]
        for n in names:
            if n in weights:
                w[i] = weights[n]
                used.add(n)
                break
    unused = sorted(set(weights) - used)
    if unused:
        raise ArenaprefError(f"`weight` names no source or input in the data: {', '.join(unused)}")
    return w


__all__ = ["battle_labels", "source_weights"]
