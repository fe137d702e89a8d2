"""Training: grouped cross-validation, out-of-fold predictions, temperature scaling, per-source weights.

``CalibratedPreferenceModel`` is the model a user trains and submits. Like scikit-learn's
``CalibratedClassifierCV`` it runs cross-validation inside ``fit``: it fits one copy of the base estimator
per grouped fold, keeps the out-of-fold (OOF) predictions, fits a single temperature on them, and refits
the base estimator on everything. The OOF predictions are the honest estimate of how the model does on
unseen prompts, and the only data the temperature may be fitted on.

``train_model`` is the file-level entry point behind ``arenapref train``: read sources, weight them,
fit, save the model and ``oof.parquet`` (id, p_a, p_b, p_tie, fold).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.optimize import minimize_scalar
from sklearn.base import clone

from arenapref.atomic import atomic_dir
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.metrics import EPS, log_loss, softmax
from arenapref.model.estimators import BattleEstimator, battle_labels, fit_table, make_estimator
from arenapref.model.groups import group_ids, grouped_folds
from arenapref.model.io import as_battles, read_battles, write_model_files
from arenapref.rejects import RejectLog
from arenapref.writers import write_parquet


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Soften (T > 1) or sharpen (T < 1) probabilities: softmax(log p / T).

    One temperature for all three classes keeps the A/B swap symmetry of the underlying model.
    """
    if temperature == 1.0:
        return proba
    return softmax(np.log(np.clip(proba, EPS, 1.0)) / temperature)


def fit_temperature(proba: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The temperature in [0.2, 5] that minimises the (weighted) log loss of ``proba`` against ``labels``."""
    if len(proba) == 0:
        return 1.0
    result = minimize_scalar(
        lambda t: log_loss(apply_temperature(proba, float(t)), labels, weights),
        bounds=(0.2, 5.0),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(result.x)


def cross_fitted_temperature(
    proba: np.ndarray, labels: np.ndarray, weights: np.ndarray, folds: np.ndarray
) -> tuple[float, float]:
    """OOF log loss with the temperature fitted on the *other* folds, against the raw OOF log loss.

    Why: a temperature fitted on all OOF rows always lowers their log loss (it is fitted on them), so that
    number cannot say whether scaling helps on new rows; this one can (T = 1.17 once made a held-out set
    worse). Returns (scaled, raw).
    """
    scaled = np.empty_like(proba)
    for k in np.unique(folds):
        test = folds == k
        t = fit_temperature(proba[~test], labels[~test], weights[~test])
        scaled[test] = apply_temperature(proba[test], t)
    return log_loss(scaled, labels, weights), log_loss(proba, labels, weights)


class CalibratedPreferenceModel(BattleEstimator):
    """A base estimator cross-validated on grouped folds, temperature-scaled on its OOF predictions.

    After ``fit``: ``estimator_`` (refit on all rows), ``oof_proba_`` (raw OOF predictions, rows of the
    labeled input in order), ``folds_``, ``temperature_`` (1.0 unless a cross-fitted temperature lowered
    the OOF log loss), ``fold_log_loss_`` (per fold, after temperature), ``seed_log_loss_`` (OOF log loss
    of each seed-ensemble member alone, when the estimator is an ensemble: the training randomness),
    ``class_prior_`` (for rows a reader rejected).
    """

    def __init__(
        self,
        estimator: Any = None,
        n_folds: int = 5,
        group_column: str | None = None,
        calibrate: bool = True,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.n_folds = n_folds
        self.group_column = group_column
        self.calibrate = calibrate
        self.random_state = random_state

    def fit(
        self, X: Any, y: Any = None, sample_weight: np.ndarray | None = None
    ) -> CalibratedPreferenceModel:
        base = self.estimator if self.estimator is not None else make_estimator("lgbm")
        table = fit_table(X, y)
        labels, ok = battle_labels(table)
        w = np.ones(table.num_rows) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (table.num_rows,):
            raise ArenaprefError(f"sample_weight has shape {w.shape}; expected ({table.num_rows},)")
        ok &= w > 0
        if not ok.any():
            raise ArenaprefError("no labeled battles with positive weight to train on")
        table, labels, w = table.filter(pa.array(ok)), labels[ok], w[ok]
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
        self.temperature_ = 1.0
        self.temperature_fitted_ = fit_temperature(oof, labels, w) if self.calibrate else 1.0
        self.cross_fitted_log_loss_, raw = cross_fitted_temperature(oof, labels, w, folds)
        if self.calibrate and self.cross_fitted_log_loss_ < raw:
            self.temperature_ = self.temperature_fitted_
        scaled = apply_temperature(oof, self.temperature_)
        self.fold_log_loss_ = [
            log_loss(scaled[folds == k], labels[folds == k], w[folds == k]) for k in range(self.n_folds)
        ]
        self.seed_log_loss_ = [] if oof_members is None else [log_loss(m, labels, w) for m in oof_members]
        self.oof_proba_ = oof
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
        return apply_temperature(self.estimator_.predict_proba(as_battles(X)), self.temperature_)

    def oof_table(self) -> pa.Table:
        """OOF predictions after temperature scaling: id, p_a, p_b, p_tie, fold."""
        p = apply_temperature(self.oof_proba_, self.temperature_)
        return pa.table(
            {
                "id": pa.array(self.oof_ids_, pa.string()),
                "p_a": p[:, 0],
                "p_b": p[:, 1],
                "p_tie": p[:, 2],
                "fold": pa.array(self.folds_, pa.int32()),
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
        raise ArenaprefError(f"--weight names no source or input in the data: {', '.join(unused)}")
    return w


@dataclass(repr=False)
class TrainSummary(NotebookResult):
    """What ``train_model`` did: sizes, OOF log loss of model and prior, temperature, output paths.

    ``to_arrow()`` is the OOF log loss of each fold.
    """

    n_rows: int
    n_labeled: int
    oof_log_loss: float
    oof_log_loss_raw: float
    oof_log_loss_cross_fitted: float
    prior_log_loss: float
    temperature: float
    temperature_fitted: float
    fold_log_loss: list[float]
    seed_log_loss: list[float]
    seconds: float
    model_dir: Path
    oof_path: Path
    rejects: RejectLog = field(default_factory=RejectLog)

    def lines(self) -> list[str]:
        kept = (
            "kept" if self.temperature != 1.0 else "not kept: it did not lower the cross-fitted OOF log loss"
        )
        out = [
            f"trained on {self.n_labeled} labeled battles of {self.n_rows} read ({self.seconds:.1f} s)",
            f"OOF log loss {self.oof_log_loss:.4f} (raw {self.oof_log_loss_raw:.4f}, with a cross-fitted "
            f"temperature {self.oof_log_loss_cross_fitted:.4f}; T = {self.temperature_fitted:.3f} {kept}); "
            f"class prior {self.prior_log_loss:.4f}",
            "per fold: " + ", ".join(f"{v:.4f}" for v in self.fold_log_loss),
        ]
        if len(self.seed_log_loss) > 1:
            sl = np.asarray(self.seed_log_loss)
            out.append(
                f"OOF log loss of each ensemble seed alone: {', '.join(f'{v:.4f}' for v in sl)} "
                f"(spread {sl.max() - sl.min():.4f}, sd {sl.std(ddof=1):.4f}); the ensemble: "
                f"{self.oof_log_loss_raw:.4f}"
            )
        out.append(f"model: {self.model_dir}   OOF predictions: {self.oof_path}")
        if len(self.rejects) or self.rejects.recovered:
            out.append(f"input: {self.rejects.summary()}")
        return out

    def to_arrow(self) -> pa.Table:
        folds = list(range(1, len(self.fold_log_loss) + 1))
        return pa.table({"fold": pa.array(folds, pa.int64()), "oof_log_loss": self.fold_log_loss})

    def summary_lines(self) -> list[str]:
        return self.lines()

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "rejects"}
        d["rejected_rows"] = len(self.rejects)
        return d


def train_model(
    data: Any,
    out_dir: str | Path,
    model: str = "lgbm",
    n_folds: int = 5,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    group_column: str | None = None,
    params: Mapping[str, Any] | None = None,
    format: str | None = None,
) -> TrainSummary:
    """Read labeled battles, cross-validate and calibrate a model, save it and its OOF predictions.

    ``data`` is a list of paths, or one path, Table or DataFrame (see ``io.as_battles``). The model
    folder is written atomically: complete (model.pkl, meta.json, oof.parquet) or absent.
    """
    start = time.perf_counter()
    rejects = RejectLog()
    if isinstance(data, (list, tuple)) and all(isinstance(d, (str, Path)) for d in data):
        table = read_battles(list(data), rejects, format)
        described = [str(p) for p in data]
    else:
        table = as_battles(data)
        described = [str(data) if isinstance(data, (str, Path)) else type(data).__name__]
    w = source_weights(table, weights or {})
    extra = dict(params or {})
    if model == "lgbm":
        extra.setdefault("random_state", seed)
    est = CalibratedPreferenceModel(
        make_estimator(model, **extra), n_folds=n_folds, group_column=group_column, random_state=seed
    )
    est.fit(table, sample_weight=w)
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        write_model_files(est, tmp, info={"data": described, "weights": dict(weights or {}), "model": model})
        write_parquet(est.oof_table(), tmp / "oof.parquet")
    y, wy = est.oof_labels_, est.oof_weights_
    prior = oof_prior(y, wy, est.folds_)
    return TrainSummary(
        n_rows=table.num_rows,
        n_labeled=len(y),
        oof_log_loss=log_loss(apply_temperature(est.oof_proba_, est.temperature_), y, wy),
        oof_log_loss_raw=log_loss(est.oof_proba_, y, wy),
        oof_log_loss_cross_fitted=est.cross_fitted_log_loss_,
        prior_log_loss=log_loss(prior, y, wy),
        temperature=est.temperature_,
        temperature_fitted=est.temperature_fitted_,
        fold_log_loss=list(est.fold_log_loss_),
        seed_log_loss=list(est.seed_log_loss_),
        seconds=time.perf_counter() - start,
        model_dir=out,
        oof_path=out / "oof.parquet",
        rejects=rejects,
    )


__all__ = [
    "CalibratedPreferenceModel",
    "TrainSummary",
    "apply_temperature",
    "cross_fitted_temperature",
    "fit_temperature",
    "oof_prior",
    "parse_params",
    "parse_weights",
    "source_weights",
    "train_model",
]
