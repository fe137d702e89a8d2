"""Training: grouped cross-validation, out-of-fold predictions, temperature scaling, per-source weights.

``CalibratedPreferenceModel`` is the model a user trains and submits. Like scikit-learn's
``CalibratedClassifierCV`` it runs cross-validation inside ``fit``: it fits one copy of the base estimator
per grouped fold, keeps the out-of-fold (OOF) predictions, fits a single temperature on them, and refits
the base estimator on everything. The OOF predictions are the honest estimate of how the model does on
unseen prompts, and the only data the temperature may be fitted on.

``fit_and_save`` is what ``arenapref train`` runs for the estimator kinds (``model.kinds``): weight the
rows, fit, save the model and ``oof.parquet`` (id, p_a, p_b, p_tie, fold).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.base import clone

from arenapref.atomic import atomic_dir
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.metrics import log_loss
from arenapref.model.estimators import (
    BattleEstimator,
    LGBMPreferenceModel,
    battle_labels,
    fit_table,
    with_labels,
)
from arenapref.model.groups import group_ids, grouped_folds
from arenapref.model.io import write_model_files
from arenapref.model.labels import source_weights
from arenapref.model.task import (
    Task,
    accuracy,
    binary_labels,
    binary_proba,
    check_task,
    check_ties,
    detect_task,
)
from arenapref.model.temperature import (
    apply_temperature,
    choose_temperature,
    cross_fitted_temperature,
    fit_temperature,
)
from arenapref.readers import open_source
from arenapref.rejects import RejectLog
from arenapref.writers import write_parquet


def honest_oof(
    proba: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    folds: np.ndarray,
    fit_on: np.ndarray,
    calibrate: bool = True,
    task: Task = "three-way",
) -> np.ndarray:
    """OOF predictions post-processed as a competitor's new rows will be: for each fold, the whole rule of
    ``choose_temperature`` (fit *and* the keep-or-drop decision) runs on the other folds' ``fit_on`` rows
    only, and its temperature is applied to this fold.

    Why: the temperature fitted on all OOF rows lowers their log loss by construction: on 999 real rows
    (seed 0) that figure read 1.0247 against a raw 1.0274, while the whole rule, cross-fitted, gives
    1.0310; this figure has no such optimism.
    """
    out = np.empty_like(proba)
    for k in np.unique(folds):
        test = folds == k
        rest = ~test & fit_on
        t = choose_temperature(proba[rest], labels[rest], weights[rest], folds[rest], calibrate, task)[0]
        out[test] = apply_temperature(proba[test], t, task)
    return out


def pseudo_labeled(table: pa.Table) -> np.ndarray:
    """Rows whose label came from a judge or a teacher (the label stage's ``label_source`` is set).

    Such rows are scored against their own soft labels, a different target from human votes, so OOF is
    reported on the human rows and on these apart, never as one mixed figure.
    """
    if "label_source" not in table.column_names:
        return np.zeros(table.num_rows, dtype=bool)
    return np.asarray(table.column("label_source").is_valid().to_numpy(zero_copy_only=False), dtype=bool)


class CalibratedPreferenceModel(BattleEstimator):
    """A base estimator cross-validated on grouped folds, temperature-scaled on its OOF predictions.

    After ``fit``: ``estimator_`` (refit on all rows), ``task_`` (``three-way`` or ``binary``, see
    ``model.task``), ``oof_proba_`` (raw OOF predictions, rows of the labeled input in order),
    ``oof_honest_`` (the same with the post-processing cross-fitted: the figure to expect on new rows),
    ``folds_``, ``human_`` (rows labeled by people, not by a judge or teacher), ``temperature_`` (1.0
    unless a cross-fitted temperature lowered the human rows' OOF log loss), ``fold_log_loss_`` (per
    fold, honest, human rows), ``seed_log_loss_`` (raw OOF log loss of each seed-ensemble member alone,
    when the estimator is an ensemble: the training randomness), ``class_prior_`` (for rows a reader
    rejected), ``n_ties_dropped_`` (tie rows left out of a binary model's training).

    ``task``: None detects it from the data (``model.task.detect_task``); ``ties``: how a binary model
    treats tie labels (``drop`` or ``split``, see ``model.task.binary_labels``).
    """

    def __init__(
        self,
        estimator: Any = None,
        n_folds: int = 5,
        group_column: str | None = None,
        calibrate: bool = True,
        random_state: int = 0,
        task: str | None = None,
        ties: str = "drop",
    ) -> None:
        self.estimator = estimator
        self.n_folds = n_folds
        self.group_column = group_column
        self.calibrate = calibrate
        self.random_state = random_state
        self.task = task
        self.ties = ties

    def _task_labels(
        self, table: pa.Table, labels: np.ndarray, ok: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Labels and usable rows for the task (sets ``task_`` and ``n_ties_dropped_``)."""
        self.task_: Task = check_task(self.task) or detect_task(table.filter(pa.array(ok)), labels[ok])
        self.n_ties_dropped_ = 0
        if self.task_ == "binary":
            labels, keep = binary_labels(labels, check_ties(self.ties))
            self.n_ties_dropped_ = int((ok & ~keep).sum())
            ok = ok & keep
        return labels, ok

    def fit(
        self, X: Any, y: Any = None, sample_weight: np.ndarray | None = None
    ) -> CalibratedPreferenceModel:
        base = self.estimator if self.estimator is not None else LGBMPreferenceModel()
        table = fit_table(X, y)
        labels, ok = battle_labels(table)
        labels, ok = self._task_labels(table, labels, ok)
        w = np.ones(table.num_rows) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (table.num_rows,):
            raise ArenaprefError(f"sample_weight has shape {w.shape}; expected ({table.num_rows},)")
        ok &= w > 0
        if not ok.any():
            raise ArenaprefError("no labeled battles with positive weight to train on")
        table, labels, w = table.filter(pa.array(ok)), labels[ok], w[ok]
        if self.task_ == "binary":
            table = with_labels(table, labels)
        folds = grouped_folds(group_ids(table, self.group_column), self.n_folds, seed=self.random_state)
        # Features have no learned state: compute them once, not once per fold.
        feats = base.features(table) if callable(getattr(base, "features", None)) else None
        members = callable(getattr(base, "predict_members", None)) and feats is not None
        oof = np.full((table.num_rows, 3), np.nan)
        oof_members: np.ndarray | None = None
        for k in range(self.n_folds):
            test = folds == k
            train_t, test_t = table.filter(pa.array(~test)), table.filter(pa.array(test))
            model = clone(base)
            if feats is None:
                model.fit(train_t, sample_weight=w[~test])
                oof[test] = model.predict_proba(test_t)
                continue
            model.fit(train_t, sample_weight=w[~test], features=feats.take(~test))
            if members:
                pm = model.predict_members(test_t, features=feats.take(test))
                if oof_members is None:
                    oof_members = np.full((pm.shape[0], table.num_rows, 3), np.nan)
                oof_members[:, test] = pm
                oof[test] = pm.mean(axis=0)
            else:
                oof[test] = model.predict_proba(test_t, features=feats.take(test))
        if self.task_ == "binary":
            oof = binary_proba(oof)
            oof_members = None if oof_members is None else np.stack([binary_proba(m) for m in oof_members])
        human = ~pseudo_labeled(table)
        fit_on = human if human.any() else np.ones(len(human), dtype=bool)
        self.temperature_, self.temperature_fitted_, self.cross_fitted_log_loss_ = choose_temperature(
            oof[fit_on], labels[fit_on], w[fit_on], folds[fit_on], self.calibrate, self.task_
        )
        honest = honest_oof(oof, labels, w, folds, fit_on, self.calibrate, self.task_)
        self.fold_log_loss_ = [
            log_loss(honest[m], labels[m], w[m]) for m in ((folds == k) & fit_on for k in range(self.n_folds))
        ]
        self.seed_log_loss_ = (
            []
            if oof_members is None
            else [log_loss(m[fit_on], labels[fit_on], w[fit_on]) for m in oof_members]
        )
        self.oof_proba_ = oof
        self.oof_honest_ = honest
        self.human_ = human
        self.folds_ = folds
        self.oof_ids_ = table.column("id").to_pylist()
        self.oof_labels_ = labels
        self.oof_weights_ = w
        self.class_prior_ = (labels * w[:, None]).sum(axis=0) / w.sum()
        final = clone(base)
        if feats is None:
            final.fit(table, sample_weight=w)
        else:
            final.fit(table, sample_weight=w, features=feats)
        self.estimator_ = final
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self.estimator_.predict_proba(fit_table(X))
        task: Task = getattr(self, "task_", "three-way")
        if task == "binary":
            p = binary_proba(p)
        return apply_temperature(p, self.temperature_, task)

    def oof_table(self) -> pa.Table:
        """Honest OOF predictions (post-processing cross-fitted): id, p_a, p_b, p_tie, fold, human."""
        p = self.oof_honest_
        return pa.table(
            {
                "id": pa.array(self.oof_ids_, pa.string()),
                "p_a": p[:, 0],
                "p_b": p[:, 1],
                "p_tie": p[:, 2],
                "fold": pa.array(self.folds_, pa.int32()),
                "human": pa.array(self.human_, pa.bool_()),
            }
        )


def oof_prior(labels: np.ndarray, weights: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """The class-prior baseline's out-of-fold predictions: each fold gets the mean label of the others.

    Scored the same way as the model's OOF predictions, so the two log losses compare like with like.
    """
    out = np.empty_like(labels)
    for k in np.unique(folds):
        test = folds == k
        w = weights[~test]
        out[test] = (labels[~test] * w[:, None]).sum(axis=0) / w.sum()
    return out


def parse_weights(specs: Sequence[str]) -> dict[str, float]:
    """Parse ``SOURCE=W`` options (``--weight pairwise=0.5``) into a mapping."""
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not sep or not name.strip() or weight < 0:
            raise ArenaprefError(f"weight {spec!r}: expected SOURCE=W with W a non-negative number")
        out[name.strip()] = weight
    return out


def parse_params(specs: Sequence[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` hyper-parameters (``--param num_leaves=15``); values become int, float or bool
    where they look like one, so they reach the estimator with the type its ``__init__`` expects."""
    out: dict[str, Any] = {}
    for spec in specs:
        key, sep, raw = spec.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ArenaprefError(f"parameter {spec!r}: expected KEY=VALUE, e.g. num_leaves=15")
        value: Any = raw.strip()
        if value.lower() in {"true", "false"}:
            value = value.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(value)
                    break
                except ValueError:
                    continue
        out[key.strip()] = value
    return out


@dataclass(repr=False)
class TrainSummary(NotebookResult):
    """What ``fit_and_save`` did: sizes, honest OOF figures of model and prior, temperature, output paths.

    ``to_arrow()`` is the OOF log loss of each fold.

    ``oof_log_loss`` (and ``oof_accuracy`` for the binary task) is the headline: human-labeled rows only,
    post-processing cross-fitted (``honest_oof``), so it is what a competitor can expect on new rows.
    ``oof_log_loss_in_sample`` is the same rows with the final temperature, fitted on them: shown only
    to say how optimistic it is. ``pseudo_*`` cover the judge/teacher-labeled rows apart (None if none).
    """

    task: Task
    n_rows: int
    n_labeled: int
    n_human: int
    oof_log_loss: float
    oof_accuracy: float | None
    oof_log_loss_raw: float
    oof_log_loss_in_sample: float
    prior_log_loss: float
    temperature: float
    temperature_fitted: float
    fold_log_loss: list[float]
    seed_log_loss: list[float]
    seconds: float
    model_dir: Path
    oof_path: Path
    n_pseudo: int = 0
    pseudo_log_loss: float | None = None
    pseudo_accuracy: float | None = None
    n_ties_dropped: int = 0
    rejects: RejectLog = field(default_factory=RejectLog)

    def lines(self) -> list[str]:
        kept = (
            "kept" if self.temperature != 1.0 else "not kept: a cross-fitted one did not lower OOF log loss"
        )
        score = (
            f"log loss {self.oof_log_loss:.4f}"
            if self.oof_accuracy is None
            else f"accuracy {self.oof_accuracy:.4f} (rows with a winner), log loss {self.oof_log_loss:.4f}"
        )
        out = [
            f"trained on {self.n_labeled} labeled battles of {self.n_rows} read ({self.seconds:.1f} s); "
            f"task: {self.task}",
            f"OOF {score} on {self.n_human} human-labeled battles: what to expect on new rows (the "
            f"temperature chosen and fitted on the other folds each time); raw log loss "
            f"{self.oof_log_loss_raw:.4f}; class prior {self.prior_log_loss:.4f}",
            f"final model: T = {self.temperature_fitted:.3f} {kept} (with it fitted on these same rows "
            f"their log loss reads {self.oof_log_loss_in_sample:.4f}, an optimistic figure)",
            "per fold: " + ", ".join(f"{v:.4f}" for v in self.fold_log_loss),
        ]
        if self.n_pseudo:
            acc = "" if self.pseudo_accuracy is None else f"accuracy {self.pseudo_accuracy:.4f}, "
            out.append(
                f"OOF on the {self.n_pseudo} pseudo-labeled battles apart: {acc}log loss "
                f"{self.pseudo_log_loss:.4f} (against their judge/teacher labels, not human votes)"
            )
        if self.n_ties_dropped:
            out.append(f"{self.n_ties_dropped} tie rows left out (a binary model has no tie to learn)")
        if len(self.seed_log_loss) > 1:
            sl = np.asarray(self.seed_log_loss)
            out.append(
                f"raw OOF log loss of each ensemble seed alone: {', '.join(f'{v:.4f}' for v in sl)} "
                f"(spread {sl.max() - sl.min():.4f}, sd {sl.std(ddof=1):.4f}); the ensemble: "
                f"{self.oof_log_loss_raw:.4f}"
            )
        out.append(f"model: {self.model_dir}   OOF predictions: {self.oof_path}")
        if len(self.rejects) or self.rejects.recovered:
            out.append(f"input: {self.rejects.summary()}")
        return out

    def brief(self) -> str:
        """One line for a pipeline's stage summary."""
        acc = "" if self.oof_accuracy is None else f"OOF accuracy {self.oof_accuracy:.4f}, "
        return (
            f"{self.n_labeled:,} labeled battles ({self.task}), {acc}OOF log loss "
            f"{self.oof_log_loss:.4f} on {self.n_human:,} human-labeled "
            f"(class prior {self.prior_log_loss:.4f})"
        )

    def counts(self) -> dict[str, Any]:
        """The figures a pipeline's manifest records."""
        return {
            "rows": self.n_rows,
            "labeled": self.n_labeled,
            "oof_log_loss": self.oof_log_loss,
            "oof_accuracy": self.oof_accuracy,
            "task": self.task,
            "prior_log_loss": self.prior_log_loss,
            "temperature": self.temperature,
        }

    def to_arrow(self) -> pa.Table:
        folds = list(range(1, len(self.fold_log_loss) + 1))
        return pa.table({"fold": pa.array(folds, pa.int64()), "oof_log_loss": self.fold_log_loss})

    def summary_lines(self) -> list[str]:
        return self.lines()

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "rejects"}
        d["rejected_rows"] = len(self.rejects)
        return d


def read_labeled(
    data: Any, rejects: RejectLog, format: str | None = None, split: str | None = None
) -> tuple[pa.Table, list[str]]:
    """Battles to train on, and how to describe them in the model's metadata.

    ``data``: a path or a list of paths (each row gets an ``input`` column with its path, which per-input
    sample weights key on), or one table-like object (a Table, a DataFrame, a Dataset). Everything is read
    by ``arenapref.readers``: the layout detected unless ``format`` is given, ``split`` picking one split.
    """
    paths = [data] if isinstance(data, (str, Path)) else data
    if not (isinstance(paths, (list, tuple)) and all(isinstance(d, (str, Path)) for d in paths)):
        return _battles(data, rejects, format, split), [type(data).__name__]
    if not paths:
        raise ArenaprefError("no input data given")
    tables = []
    for p in paths:
        t = _battles(p, rejects, format, split)
        tables.append(t.append_column("input", pa.array([str(p)] * t.num_rows, pa.string())))
    return pa.concat_tables(tables, promote_options="permissive"), [str(p) for p in paths]


def _battles(data: Any, rejects: RejectLog, format: str | None, split: str | None) -> pa.Table:
    source = open_source(data, format, rejects, split=split)
    if source.kind != "battles":
        raise ArenaprefError(f"{source.path}: holds {source.kind}, but a preference model needs battles")
    return source.read_table()


def fit_and_save(
    table: pa.Table,
    out_dir: str | Path,
    estimator: BattleEstimator,
    *,
    model: str,
    described: list[str],
    n_folds: int = 5,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    group_column: str | None = None,
    task: str | None = None,
    ties: str = "drop",
    rejects: RejectLog | None = None,
    started: float | None = None,
) -> TrainSummary:
    """Cross-validate and calibrate ``estimator`` on ``table``, save it and its OOF predictions.

    The model folder is written atomically: complete (model.pkl, meta.json, oof.parquet) or absent.
    ``model`` is the kind's name recorded in meta.json (``model.kinds`` reads it back); ``task``:
    ``three-way``, ``binary`` or None (detected from the data); ``ties``: see ``model.task``.
    """
    start = time.perf_counter() if started is None else started
    w = source_weights(table, weights or {})
    est = CalibratedPreferenceModel(
        estimator, n_folds=n_folds, group_column=group_column, random_state=seed, task=task, ties=ties
    )
    est.fit(table, sample_weight=w)
    out = Path(out_dir)
    info = {"data": described, "weights": dict(weights or {}), "model": model, "task": est.task_}
    with atomic_dir(out) as tmp:
        write_model_files(est, tmp, info=info)
        write_parquet(est.oof_table(), tmp / "oof.parquet")
    y, wy, h = est.oof_labels_, est.oof_weights_, est.human_
    fit_on = h if h.any() else np.ones(len(h), dtype=bool)
    honest, raw = est.oof_honest_, est.oof_proba_
    prior = oof_prior(y[fit_on], wy[fit_on], est.folds_[fit_on])
    binary = est.task_ == "binary"
    pseudo = ~h
    return TrainSummary(
        task=est.task_,
        n_rows=table.num_rows,
        n_labeled=len(y),
        n_human=int(fit_on.sum()),
        oof_log_loss=log_loss(honest[fit_on], y[fit_on], wy[fit_on]),
        oof_accuracy=accuracy(honest[fit_on], y[fit_on], wy[fit_on]) if binary else None,
        oof_log_loss_raw=log_loss(raw[fit_on], y[fit_on], wy[fit_on]),
        oof_log_loss_in_sample=log_loss(
            apply_temperature(raw[fit_on], est.temperature_fitted_, est.task_), y[fit_on], wy[fit_on]
        ),
        prior_log_loss=log_loss(prior, y[fit_on], wy[fit_on]),
        temperature=est.temperature_,
        temperature_fitted=est.temperature_fitted_,
        fold_log_loss=list(est.fold_log_loss_),
        seed_log_loss=list(est.seed_log_loss_),
        seconds=time.perf_counter() - start,
        model_dir=out,
        oof_path=out / "oof.parquet",
        n_pseudo=int(pseudo.sum()) if h.any() else 0,
        pseudo_log_loss=log_loss(honest[pseudo], y[pseudo], wy[pseudo]) if pseudo.any() and h.any() else None,
        pseudo_accuracy=accuracy(honest[pseudo], y[pseudo], wy[pseudo])
        if binary and pseudo.any() and h.any()
        else None,
        n_ties_dropped=est.n_ties_dropped_,
        rejects=rejects if rejects is not None else RejectLog(),
    )


__all__ = [
    "CalibratedPreferenceModel",
    "TrainSummary",
    "apply_temperature",
    "choose_temperature",
    "cross_fitted_temperature",
    "fit_and_save",
    "fit_temperature",
    "honest_oof",
    "oof_prior",
    "parse_params",
    "parse_weights",
    "pseudo_labeled",
    "read_labeled",
    "source_weights",
]
