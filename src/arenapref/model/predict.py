"""Submissions: every battle of a test file predicted by a saved model, written in the file's order.

Apart from ``model.io`` because it loads a model folder of any kind (``model.kinds``), which itself
builds on ``model.io``'s estimator folders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from arenapref.atomic import atomic_path
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import table_blocks
from arenapref.model.io import PreferencePredictor, check_submission, csv_ids
from arenapref.model.kinds import load_model
from arenapref.model.settings import PredictSettings
from arenapref.readers import read_battles
from arenapref.rejects import RejectLog
from arenapref.writers import write_binary_submission_csv, write_submission_csv


@dataclass(repr=False)
class PredictSummary(NotebookResult):
    """What ``predict_submission`` wrote (``to_arrow`` reads it back), and how many rows got the prior."""

    path: Path
    n_rows: int
    n_fallback: int
    rejects: RejectLog = field(default_factory=RejectLog)
    n_without_id: int = 0

    def lines(self) -> list[str]:
        out = [f"wrote {self.n_rows} predictions to {self.path}"]
        if self.n_without_id:
            n = self.n_without_id
            rows = "1 test row without an id was" if n == 1 else f"{n} test rows without an id were"
            out.append(f"{rows} skipped (no submission row can name them)")
        if self.n_fallback:
            out.append(
                f"{self.n_fallback} rows the reader rejected got the class prior ({self.rejects.summary()})"
            )
        return out

    def to_arrow(self) -> pa.Table:
        return pa_csv.read_csv(
            self.path, convert_options=pa_csv.ConvertOptions(column_types={"id": pa.string()})
        )

    def summary_lines(self) -> list[str]:
        return self.lines()


#: Rows per prediction block (at least): a LightGBM call on fewer rows is dominated by overhead.
MIN_BLOCK_ROWS = 4096


@lru_cache(maxsize=4)
def _cached_model(model_dir: str) -> PreferencePredictor:
    """One model per worker process and folder (loading checks the checksum; it costs more than a block)."""
    return load_model(model_dir)


def predict_block(table: pa.Table, model: str | PreferencePredictor) -> np.ndarray:
    """The per-block work of ``predict``: (rows, 3) probabilities of one slice of battles."""
    fitted = _cached_model(model) if isinstance(model, str) else model
    return np.asarray(fitted.predict_proba(table))


class PredictStep(BlockStep[pa.Table, np.ndarray, np.ndarray]):
    """``predict_proba`` of a table, one row slice per block.

    A preference model's probabilities are a function of each row alone (features of that battle, the
    fitted trees, the A/B swap average), so slices predict independently and stack in order. ``model``:
    a model folder (each worker process loads it once) or a fitted model (shipped with every block);
    ``loaded``: the model already loaded here, for the single-process path.
    """

    def __init__(
        self,
        model: str | PreferencePredictor,
        table: pa.Table,
        min_rows: int = MIN_BLOCK_ROWS,
        loaded: PreferencePredictor | None = None,
    ) -> None:
        self.model, self.table, self.min_rows, self.loaded = model, table, min_rows, loaded

    def blocks(self, workers: int) -> list[pa.Table]:
        return table_blocks(self.table, 2 * workers, self.min_rows)

    @property
    def work(self) -> Callable[[pa.Table], np.ndarray]:
        return partial(predict_block, model=self.model)

    def merge(self, parts: Iterator[np.ndarray]) -> np.ndarray:
        done = list(parts)
        return np.vstack(done) if done else np.zeros((0, 3))

    def whole(self) -> np.ndarray:
        model = self.loaded or (_cached_model(self.model) if isinstance(self.model, str) else self.model)
        return model.predict_proba(self.table)


def predict_proba(
    model: str | Path | PreferencePredictor,
    table: pa.Table,
    executor: Executor | None = None,
    min_rows: int = MIN_BLOCK_ROWS,
    loaded: PreferencePredictor | None = None,
) -> np.ndarray:
    """(rows, 3) probabilities of ``table`` by ``model`` (a folder of any kind or a fitted model), in row
    slices of at least ``min_rows`` on ``executor`` when one is given (``PredictStep``)."""
    named = str(model) if isinstance(model, (str, Path)) else model
    return run_step(PredictStep(named, table, min_rows, loaded), executor)


def predict_submission(
    model_dir: str | Path | PreferencePredictor,
    test_path: str | Path | Any,
    out: str | Path,
    clip: float = PredictSettings().clip,
    format: str | None = None,
    split: str | None = None,
    executor: Executor | None = None,
) -> PredictSummary:
    """Predict every battle of a test file and write the competition's submission CSV in input order.

    Rows the reader could not parse still get a line (the class prior, counted in the summary): a
    submission missing an id scores nothing. Rows without an id are skipped and counted; duplicate ids
    are an error. The submission is checked (``check_submission``) before it is renamed into place, so
    a file that fails the check is never written. ``executor``: predict row slices of the battles
    there (``PredictStep``); the same probabilities up to floating-point rounding. A model trained for
    the binary task (``model.task``) writes WSDM Cup's ``id,winner`` layout instead. ``model_dir`` may
    also be a fitted estimator, and ``test_path`` a table or DataFrame (read by ``arenapref.readers``;
    its row order is the submission's); ``split`` picks one split of a folder or DatasetDict.
    """
    model = load_model(model_dir) if isinstance(model_dir, (str, Path)) else model_dir
    rejects = RejectLog()
    is_path = isinstance(test_path, (str, Path))
    test = Path(test_path) if is_path else Path("<test table>")
    table = read_battles(test if is_path else test_path, format, rejects, split=split)
    keep = [i is not None and str(i).strip() != "" for i in table.column("id").to_pylist()]
    if not all(keep):
        table = table.filter(pa.array(keep))
    ids = [str(i) for i in table.column("id").to_pylist()]
    every = csv_ids(test, keep_blank=True) if is_path else None
    order: list[str] | None = None
    n_without_id = len(keep) - len(ids)
    if every is not None:  # a CSV: its blank rows never reached the table, so count them here
        order = [i for i in every if i.strip()]
        n_without_id = len(every) - len(order)
    _refuse_duplicate_ids(test, order if order is not None else ids)
    named = str(model_dir) if isinstance(model_dir, (str, Path)) else model
    proba = predict_proba(named, table, executor, loaded=model)
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
    with atomic_path(out) as tmp:
        if getattr(model, "task_", "three-way") == "binary":
            write_binary_submission_csv(ids, proba, tmp)
        else:
            write_submission_csv(ids, proba, tmp, clip=clip)
        # A table has no file to check against; its ids were checked above (blank and duplicate).
        check = check_submission(tmp, test, format=format, split=split) if is_path else None
        if check is not None and not check.ok:
            raise ArenaprefError(
                f"{out} was not written: it failed the format check: {'; '.join(check.problems)}"
            )
    return PredictSummary(Path(out), len(ids), n_fallback, rejects, n_without_id)


def _refuse_duplicate_ids(test: Path, ids: Sequence[str]) -> None:
    """A test file naming one id twice cannot get a valid submission: say so before predicting."""
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            dups = len(ids) - len(set(ids))
            raise ArenaprefError(
                f"{test}: id {i!r} appears more than once ({dups} duplicate id{'s' if dups > 1 else ''}); "
                "a submission needs one row per id, so nothing was written"
            )
        seen.add(i)


__all__ = ["MIN_BLOCK_ROWS", "PredictStep", "PredictSummary", "predict_proba", "predict_submission"]
