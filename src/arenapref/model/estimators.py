"""Preference estimators with the scikit-learn shape.

Every estimator takes battles (a ``BATTLE_SCHEMA`` table, or a pandas/polars DataFrame in our layout or
the competition's, with JSON-string cells and winner_model_a/b/tie columns; see ``arenapref.readers``)
instead of a feature matrix, because what a battle *is* (two answers to one prompt, A/B order
arbitrary) decides how features are built and how the model must behave under a swap. Otherwise they
are ordinary scikit-learn classifiers: hyper-parameters in ``__init__`` only, learned state ending in
``_`` set by ``fit(X, y=None, sample_weight=None)``, which returns ``self``; ``classes_`` is
``["winner_model_a", "winner_model_b", "winner_tie"]`` (the competition's column names, sorted, so
scikit-learn's scorers line up), ``predict_proba`` returns (n, 3) in that order and ``predict`` the
likeliest class name. ``y`` is optional (labels are read from the battles) and, when given, is an
(n, 3) array of (soft) label probabilities or one class name or index per row. So ``clone``,
``get_params``, ``set_params``, ``cross_val_score`` and pipelines work as everywhere else.

scikit-learn's ``check_estimator`` generates its checks from numeric 2-D arrays; these estimators
declare (``__sklearn_tags__``) that they take text battles, not a 2-D array, so the checks that fit on
random matrices do not apply. The API checks that do apply run in ``tests/test_model_sklearn.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import Tags

from arenapref.errors import ArenaprefError
from arenapref.model.features import BattleFeatures, design_matrix, design_names, extract_features
from arenapref.model.groups import group_ids, grouped_split
from arenapref.model.labels import battle_labels
from arenapref.readers import read_battles
from arenapref.records import LABEL_COLUMNS
from arenapref.threads import resolve_threads

CLASSES = ("winner_model_a", "winner_model_b", "winner_tie")
SWAP = [1, 0, 2]


def labels_from_y(y: Any, n: int) -> np.ndarray:
    """``y`` as an (n, 3) label array: given as (n, 3) probabilities, or one class name/index per row."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape == (n, 3):
        return np.asarray(arr, dtype=np.float64)
    if arr.ndim != 1 or len(arr) != n:
        raise ArenaprefError(
            f"y has shape {arr.shape}; expected ({n},) class labels or ({n}, 3) probabilities"
        )
    names = {c: k for k, c in enumerate(CLASSES)} | {"a": 0, "b": 1, "tie": 2, "model_a": 0, "model_b": 1}
    out = np.zeros((n, 3))
    for i, v in enumerate(arr.tolist()):
        k = names.get(v) if isinstance(v, str) else (int(v) if float(v) in (0.0, 1.0, 2.0) else None)
        if k is None:
            raise ArenaprefError(f"y[{i}] = {v!r}: expected one of {', '.join(CLASSES)} or 0, 1, 2")
        out[i, k] = 1.0
    return out


def with_labels(table: pa.Table, y: Any) -> pa.Table:
    """``table`` with its p_a, p_b, p_tie columns replaced by ``y`` (see ``labels_from_y``)."""
    lab = labels_from_y(y, table.num_rows)
    for k, c in enumerate(LABEL_COLUMNS):
        col = pa.array(lab[:, k], pa.float64())
        if c in table.column_names:
            table = table.set_column(table.column_names.index(c), c, col)
        else:
            table = table.append_column(c, col)
    return table


class BattleEstimator(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """What every preference estimator shares: battle input, ``classes_``, ``predict``, sklearn tags."""

    classes_ = np.array(CLASSES)
    # Bounds of numeric hyper-parameters, checked before training: (what is allowed, test).
    param_bounds: ClassVar[Mapping[str, tuple[str, Callable[[float], bool]]]] = {}

    def check_params(self) -> None:
        """Refuse, before any training, a hyper-parameter of the wrong type or out of bounds, naming it.

        The type expected is the default's (bool, int, or float, which takes an int too), so
        ``num_leaves="abc"`` from a command line or a config file is one sentence here, not a
        LightGBM traceback minutes into training.
        """
        for name, spec in inspect.signature(type(self).__init__).parameters.items():
            default: object = spec.default
            value: Any = getattr(self, name, None)
            kind = type(default)
            if kind is bool:
                ok, expected = isinstance(value, bool), "true or false"
            elif kind is int:
                ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
            elif kind is float:
                ok, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
            else:
                continue
            if not ok:
                raise ArenaprefError(f"parameter {name}: expected {expected}, got {value!r}")
            bound = self.param_bounds.get(name)
            if bound is not None and not bound[1](value):
                raise ArenaprefError(f"parameter {name}: must be {bound[0]}, got {value!r}")

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # battles of text, not a numeric matrix
        tags.input_tags.string = True
        tags.target_tags.required = False  # labels may come inside the battles
        tags.non_deterministic = False
        return tags

    def predict_proba(self, X: Any) -> np.ndarray:  # pragma: no cover - every estimator overrides it
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """The likeliest class name per battle (``classes_`` order breaks ties)."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


def fit_table(X: Any, y: Any = None) -> pa.Table:
    """The battle table ``fit`` trains on: ``X`` read by ``arenapref.readers``, labels from ``y`` if given."""
    table = read_battles(X)
    return table if y is None else with_labels(table, y)


def _checked_fit_inputs(
    table: pa.Table, sample_weight: np.ndarray | None
) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """The usable rows of ``table`` (labeled, positive weight), their labels, weights, and the row mask;
    clear errors for unusable input."""
    y, ok = battle_labels(table)
    w = np.ones(table.num_rows) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (table.num_rows,):
        raise ArenaprefError(f"sample_weight has shape {w.shape}; expected ({table.num_rows},)")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ArenaprefError("sample weights must be finite and non-negative")
    ok &= w > 0
    if not ok.any():
        raise ArenaprefError("no labeled battles with positive weight to fit on")
    return table.filter(pa.array(ok)), y[ok], w[ok], ok


class PriorModel(BattleEstimator):
    """The class-prior baseline: every battle gets the (weighted) mean label of the training set.

    This is the number any real model must beat; it is also the fallback for rows a reader rejected.
    """

    def fit(self, X: Any, y: Any = None, sample_weight: np.ndarray | None = None) -> PriorModel:
        _, labels, w, _ = _checked_fit_inputs(fit_table(X, y), sample_weight)
        self.class_prior_ = (labels * w[:, None]).sum(axis=0) / w.sum()
        self.n_train_ = len(labels)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.tile(self.class_prior_, (read_battles(X).num_rows, 1))


def expand_soft_labels(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Turn soft labels into hard-labeled weighted rows: row i becomes one row per class c, weight y_ic·w_i.

    Why: LightGBM's multiclass objective needs a hard class per row. The weighted sum over the expanded
    rows of -log p_c equals the soft-label cross-entropy -Σ_c y_c log p_c exactly, so this is the same
    objective, keeps LightGBM's own multiclass machinery (init score, metric, early stopping), and costs
    nothing for one-hot labels because zero-weight rows are dropped.
    """
    rows, cls = np.nonzero(y > 0)
    return x[rows], cls.astype(np.int64), y[rows, cls] * w[rows], groups[rows]


class LGBMPreferenceModel(BattleEstimator):
    """Gradient boosting (LightGBM, multiclass) on engineered features of the two answers and the prompt.

    Swap symmetry: features are laid out so the swapped battle is a column permutation
    (``features.design_matrix``); with ``swap_augment`` every training battle is also seen swapped with
    its A/B label swapped, and with ``test_time_swap`` the prediction averages the battle and its swap.
    With ``test_time_swap`` on, ``predict_proba(swapped)[:, [1, 0, 2]] == predict_proba(original)``
    holds exactly, whatever the trees learned.

    Seed ensemble: ``n_seeds`` boosters (seeds ``random_state``, ``random_state + 1``, ...; each its own
    bagging, column sampling and early-stopping split) are averaged. Why: on 999 real battles single
    boosters with seeds 0, 1, 2 scored 1.075, 1.056 and 1.051 on the same held-out rows, a spread as
    large as the effects users judge; the average of three moves far less between trainings.

    Early stopping holds out ``validation_fraction`` of the prompt groups (never a split prompt) and stops
    when the weighted multiclass log loss has not improved for ``n_iter_no_change`` rounds; on tiny data
    (fewer than 10 held-out groups) all ``n_estimators`` rounds are used.

    ``embeddings=True`` adds sentence-embedding features (MiniLM, offline; needs the ``embed`` extra):
    cosine of each answer with the prompt, of the two answers with each other, and each answer's
    embedding projected on ``embedding_dims`` fixed random directions (see ``model.embed``).

    Small trees by default (7 leaves, at least 100 rows a leaf): preference signals from surface features
    are close to additive, and on both synthetic battles and AlpacaFarm's GPT-4 labels these beat
    31-leaf trees in out-of-fold log loss (1.0093 vs 1.0122 on 14k synthetic battles).

    ``n_jobs`` defaults to -1, every core this process may use (``ARENAPREF_THREADS`` caps it: on a busy
    shared machine LightGBM's OpenMP threads spin-wait against other processes, and two threads once
    measured 40x slower than one on 648 battles; see ``arenapref.threads``).
    """

    param_bounds: ClassVar[Mapping[str, tuple[str, Callable[[float], bool]]]] = {
        "n_estimators": ("at least 1", lambda v: v >= 1),
        "learning_rate": ("above 0", lambda v: v > 0),
        "num_leaves": ("at least 2", lambda v: v >= 2),
        "min_child_samples": ("at least 0", lambda v: v >= 0),
        "subsample": ("above 0 and at most 1", lambda v: 0 < v <= 1),
        "colsample_bytree": ("above 0 and at most 1", lambda v: 0 < v <= 1),
        "reg_lambda": ("at least 0", lambda v: v >= 0),
        "validation_fraction": ("between 0 and 1", lambda v: 0 < v < 1),
        "n_iter_no_change": ("at least 1", lambda v: v >= 1),
        "embedding_dims": ("at least 1", lambda v: v >= 1),
        "n_seeds": ("at least 1", lambda v: v >= 1),
    }

    def __init__(
        self,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        num_leaves: int = 7,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 50,
        swap_augment: bool = True,
        test_time_swap: bool = True,
        embeddings: bool = False,
        embedding_dims: int = 8,
        n_seeds: int = 3,
        n_jobs: int = -1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.swap_augment = swap_augment
        self.test_time_swap = test_time_swap
        self.embeddings = embeddings
        self.embedding_dims = embedding_dims
        self.n_seeds = n_seeds
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _lgb_params(self, seed: int) -> dict[str, Any]:
        return {
            "objective": "multiclass",
            "num_class": 3,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "num_threads": resolve_threads(self.n_jobs),
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def features(self, X: Any) -> BattleFeatures:
        """The engineered (and, with ``embeddings``, embedding) features of every battle; no learned state.

        Public so cross-validation can compute them once and pass row subsets to ``fit``/``predict_proba``.
        """
        table = read_battles(X)
        feats = extract_features(table)
        if not self.embeddings:
            return feats
        from arenapref.model.embed import embedding_features

        return embedding_features(feats, table, self.embedding_dims)

    def fit(
        self,
        X: Any,
        y: Any = None,
        sample_weight: np.ndarray | None = None,
        features: BattleFeatures | None = None,
    ) -> LGBMPreferenceModel:
        """Fit on the labeled rows of ``X``; ``features`` (rows of ``self.features(X)``) skips
        recomputing them."""
        self.check_params()
        table = fit_table(X, y)
        feats_all = self.features(table) if features is None else features
        table, labels, w, ok = _checked_fit_inputs(table, sample_weight)
        feats = feats_all if ok.all() else feats_all.take(np.flatnonzero(ok))
        x = design_matrix(feats)
        groups = group_ids(table)
        if self.swap_augment:
            x = np.vstack([x, design_matrix(feats, swap=True)])
            labels = np.vstack([labels, labels[:, SWAP]])
            w = np.concatenate([w, w])
            groups = np.concatenate([groups, groups])
        x, cls, wx, gx = expand_soft_labels(x, labels, w, groups)
        self.feature_names_ = design_names(feats)
        self.n_features_in_ = x.shape[1]
        self.boosters_: list[lgb.Booster] = []
        self.n_iters_: list[int] = []
        for k in range(self.n_seeds):
            booster, n_iter = self._fit_one(x, cls, wx, gx, self.random_state + k)
            self.boosters_.append(booster)
            self.n_iters_.append(n_iter)
        self.n_iter_ = round(float(np.mean(self.n_iters_)))
        self.n_train_ = table.num_rows
        return self

    def _fit_one(
        self, x: np.ndarray, cls: np.ndarray, wx: np.ndarray, gx: np.ndarray, seed: int
    ) -> tuple[lgb.Booster, int]:
        valid = np.zeros(len(cls), dtype=bool)
        if self.early_stopping:
            valid = grouped_split(gx, self.validation_fraction, seed=seed)
            if len(np.unique(gx[valid])) < 10 or valid.all():
                valid[:] = False
        train_set = lgb.Dataset(x[~valid], cls[~valid], weight=wx[~valid], feature_name=self.feature_names_)
        callbacks: list[Callable[..., Any]] = []
        valid_sets = []
        if valid.any():
            valid_sets = [lgb.Dataset(x[valid], cls[valid], weight=wx[valid], reference=train_set)]
            callbacks = [lgb.early_stopping(self.n_iter_no_change, verbose=False)]
        booster = lgb.train(
            self._lgb_params(seed),
            train_set,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        stopped = valid.any() and booster.best_iteration > 0
        return booster, int(booster.best_iteration) if stopped else int(booster.current_iteration())

    def predict_members(self, X: Any, features: BattleFeatures | None = None) -> np.ndarray:
        """(n_seeds, n, 3): each ensemble member's probabilities (swap-averaged when ``test_time_swap``)."""
        feats = self.features(X) if features is None else features
        if len(feats) == 0:
            return np.zeros((len(self.boosters_), 0, 3))
        x = design_matrix(feats)
        xs = design_matrix(feats, swap=True) if self.test_time_swap else None
        out = []
        for booster, n_iter in zip(self.boosters_, self.n_iters_, strict=True):
            p = np.asarray(booster.predict(x, num_iteration=n_iter), dtype=np.float64)
            if xs is not None:
                p = 0.5 * (
                    p + np.asarray(booster.predict(xs, num_iteration=n_iter), dtype=np.float64)[:, SWAP]
                )
            out.append(p)
        return np.stack(out)

    def predict_proba(self, X: Any, features: BattleFeatures | None = None) -> np.ndarray:
        """(n, 3) probabilities A, B, tie: the ensemble's mean, each averaged over both A/B orders."""
        return np.asarray(self.predict_members(X, features).mean(axis=0))

    def feature_importances(self) -> dict[str, float]:
        """Total gain per design-matrix column over the ensemble (what the trees leaned on), largest first."""
        gains = sum(b.feature_importance(importance_type="gain") for b in self.boosters_)
        pairs = sorted(
            zip(self.feature_names_, np.asarray(gains).tolist(), strict=True), key=lambda kv: -kv[1]
        )
        return dict(pairs)


class LengthLogisticModel(BattleEstimator):
    """The length-only reference: a logistic regression on three length features of the answers.

    Features: log-ratio of the answers' characters, of their tokens, and |difference of log lengths|
    (which predicts ties). Why it exists: "does the model learn more than answer length?" needs this
    number beside the model's in the same run; on 999 real battles it scored 1.082 against 1.077.
    """

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    @staticmethod
    def _x(feats: BattleFeatures) -> np.ndarray:
        names = feats.response_names
        i_c, i_t = names.index("chars"), names.index("tokens")
        la, lb = np.log1p(feats.response_a[:, [i_c, i_t]]), np.log1p(feats.response_b[:, [i_c, i_t]])
        d = la - lb
        return np.column_stack([d, np.abs(d[:, :1])])

    def features(self, X: Any) -> BattleFeatures:
        return extract_features(read_battles(X))

    def fit(
        self,
        X: Any,
        y: Any = None,
        sample_weight: np.ndarray | None = None,
        features: BattleFeatures | None = None,
    ) -> LengthLogisticModel:
        from sklearn.linear_model import LogisticRegression

        table = fit_table(X, y)
        feats_all = self.features(table) if features is None else features
        _, labels, w, ok = _checked_fit_inputs(table, sample_weight)
        feats = feats_all.take(np.flatnonzero(ok))
        x = self._x(feats)
        xs = np.column_stack([-x[:, :2], x[:, 2:]])
        x2, cls, wx, _ = expand_soft_labels(
            np.vstack([x, xs]),
            np.vstack([labels, labels[:, SWAP]]),
            np.concatenate([w, w]),
            np.zeros(2 * len(w)),
        )
        self.lr_ = LogisticRegression(C=self.C, max_iter=1000).fit(x2, cls, sample_weight=wx)
        self.n_features_in_ = x.shape[1]
        return self

    def predict_proba(self, X: Any, features: BattleFeatures | None = None) -> np.ndarray:
        feats = self.features(X) if features is None else features
        if len(feats) == 0:
            return np.zeros((0, 3))
        x = self._x(feats)
        xs = np.column_stack([-x[:, :2], x[:, 2:]])
        p = np.zeros((len(x), 3))
        p[:, self.lr_.classes_] = self.lr_.predict_proba(x)
        ps = np.zeros((len(x), 3))
        ps[:, self.lr_.classes_] = self.lr_.predict_proba(xs)
        return np.asarray(0.5 * (p + ps[:, SWAP]))


__all__ = [
    "CLASSES",
    "SWAP",
    "BattleEstimator",
    "LGBMPreferenceModel",
    "LengthLogisticModel",
    "PriorModel",
    "battle_labels",
    "expand_soft_labels",
    "fit_table",
    "labels_from_y",
    "with_labels",
]
