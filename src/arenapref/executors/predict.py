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

from arenapref.executors.base import Executor
from arenapref.executors.shards import table_blocks

if TYPE_CHECKING:
    from arenapref.model.predict import PredictSummary

#: Rows per prediction block (at least): a LightGBM call on fewer rows is dominated by overhead.
MIN_BLOCK_ROWS = 4096


@lru_cache(maxsize=4)
def _model(model_dir: str) -> object:
    from arenapref.model.kinds import load_model

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
    clip: float,
    format: str | None = None,
    split: str | None = None,
) -> PredictSummary:
    """``model.predict.predict_submission`` with the predictions made per block on ``executor``."""
    from arenapref.model.predict import predict_submission

    predict = partial(predict_proba_with, executor, model_dir)
    return predict_submission(model_dir, test_path, out, clip, format, predict=predict, split=split)
