"""Teacher labels: a saved preference model labels pairs with its swap-averaged probabilities.

This is what the competition winners did with external pairs (their own fine-tuned models, averaged over
both A/B orders) instead of paying an LLM judge. The output has exactly the judge's layout (``p_ab``,
``p_ba``, ``order_consistent``, ...), so ``judge-eval`` and calibration treat both alike. Any object with
``predict_proba(table) -> (n, 3)`` in the order A, B, tie is a teacher; ``load_teacher`` loads the ones
``arenapref train`` saves.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from arenapref.errors import ArenaprefError
from arenapref.label.calibration import CalibrationMap
from arenapref.label.judge import LabelResult, LabelStats
from arenapref.label.output import assemble
from arenapref.readers import read_battles
from arenapref.records import conform


class PreferenceModel(Protocol):
    """What a teacher must offer: (n, 3) probabilities in the order A, B, tie."""

    def predict_proba(self, table: pa.Table) -> np.ndarray: ...


def swap_battles(table: pa.Table) -> pa.Table:
    """The same battles with A and B exchanged (answers, model names and labels)."""
    pairs = {
        "response_a": "response_b",
        "response_b": "response_a",
        "model_a": "model_b",
        "model_b": "model_a",
    }
    pairs |= {"p_a": "p_b", "p_b": "p_a"}
    cols = [table.column(pairs.get(n, n)) for n in table.column_names]
    return pa.Table.from_arrays(cols, schema=table.schema)


def _checked(probs: np.ndarray, n: int, what: str) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (n, 3) or not np.isfinite(p).all() or (p < 0).any():
        raise ArenaprefError(
            f"the teacher's predict_proba returned {p.shape} {what}; expected ({n}, 3) probabilities"
        )
    sums = p.sum(axis=1, keepdims=True)
    return np.asarray(np.divide(p, sums, out=np.full_like(p, 1.0 / 3.0), where=sums > 0))


def teacher_battles(
    table: Any,
    model: PreferenceModel,
    name: str,
    calibration: CalibrationMap | None = None,
) -> LabelResult:
    """Label every battle with the model in both orders; ``name`` goes into ``label_source``.

    ``table``: battles as a pa.Table, a path, a pandas/polars DataFrame or a Dataset.
    """
    started = time.perf_counter()
    table = read_battles(table)
    base = conform(table, "battles")
    n = base.num_rows
    p_ab = _checked(model.predict_proba(base), n, "on the battles")
    p_ba = _checked(model.predict_proba(swap_battles(base)), n, "on the swapped battles")[:, [1, 0, 2]]
    out = assemble(table, p_ab, p_ba, f"teacher:{name}", np.zeros(n, np.int64), np.zeros(n), calibration)
    stats = LabelStats(pairs=n, labeled=n, elapsed_s=time.perf_counter() - started)
    return LabelResult(out, [], stats)


def load_teacher(model_dir: str | Path) -> PreferenceModel:
    """Load a model folder saved by ``arenapref train``, of any kind (``arenapref.model.kinds``).

    Imported here: the model package pulls in LightGBM, which judge labeling never needs.
    """
    from arenapref.model.kinds import load_teacher as load

    model: PreferenceModel = load(model_dir)
    return model
