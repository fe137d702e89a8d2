"""``predict`` per block: the battles cut into row slices, each predicted on a worker.

A preference model's ``predict_proba`` is a function of each row alone (features of that battle, the
fitted trees, the A/B swap average), so slices predict independently; each worker process loads the
model folder once (checksum checked there too). Probabilities equal the local run's to floating-point
rounding (the same float operations on the same rows; the tests allow 1e-12).
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from arenapref.errors import ArenaprefError
from arenapref.executors.base import Executor
from arenapref.executors.shards import table_blocks
from arenapref.rejects import RejectLog

if TYPE_CHECKING:
    from arenapref.model.io import PredictSummary

#: Rows per prediction block (at least): a LightGBM call on fewer rows is dominated by overhead.
MIN_BLOCK_ROWS = 4096


@lru_cache(maxsize=4)
def _model(model_dir: str) -> object:
    from arenapref.model.io import load_model

    return load_model(model_dir)


def predict_block(table: pa.Table, model_dir: str) -> np.ndarray:
    """The per-block function: (rows, 3) probabilities of one slice of battles."""
    proba: np.ndarray = _model(model_dir).predict_proba(table)  # type: ignore[attr-defined]
    return proba


def predict_proba_with(
    executor: Executor, model_dir: str | Path, table: pa.Table, min_rows: int = MIN_BLOCK_ROWS
) -> np.ndarray:
    """``load_model(model_dir).predict_proba(table)`` with the rows split over ``executor``'s workers."""
    blocks = table_blocks(table, 2 * executor.workers, min_rows)
    parts = executor.map(partial(predict_block, model_dir=str(model_dir)), blocks)
    return np.vstack(parts) if parts else np.zeros((0, 3))


def predict_submission_with(
    executor: Executor,
    model_dir: str | Path,
    test_path: str | Path,
    out: str | Path,
    clip: float = 1e-4,
    format: str | None = None,
) -> PredictSummary:
    """``model.io.predict_submission`` with the predictions made per block on ``executor``."""
    from arenapref.model.io import PredictSummary, _csv_ids, load_model, read_battles
    from arenapref.writers import write_submission_csv

    model = load_model(model_dir)  # on the driver too: checks the folder and gives the class prior
    rejects = RejectLog()
    test = Path(test_path)
    table = read_battles([test], rejects, format)
    proba = predict_proba_with(executor, model_dir, table)
    ids = [str(i) for i in table.column("id").to_pylist()]
    order = _csv_ids(test)
    n_fallback = 0
    if order is not None and order != ids:
        prior = getattr(model, "class_prior_", np.full(3, 1.0 / 3.0))
        where = {i: k for k, i in enumerate(ids)}
        rows = [proba[where[i]] if i in where else prior for i in order]
        n_fallback = sum(1 for i in order if i not in where)
        if n_fallback > len(rejects):
            raise ArenaprefError(
                f"{test}: {n_fallback} ids of the file are missing from what was read, but only "
                f"{len(rejects)} rows were rejected; the ids do not match (e.g. {order[0]!r})"
            )
        proba = np.vstack(rows) if rows else np.zeros((0, 3))
        ids = order
    path = write_submission_csv(ids, proba, out, clip=clip)
    return PredictSummary(path, len(ids), n_fallback, rejects)
