"""The estimators are scikit-learn classifiers: DataFrame/Table input, classes_, predict, the API checks
that apply to text-pair input, and cross_val_score giving numbers.

Skipped from ``sklearn.utils.estimator_checks`` and why: every check that fits on a random numeric
matrix (``make_blobs`` data: dtype, NaN/inf, sparse, sample-weight equivalence, n_features_in_ on
arrays, pickling after fitting on arrays, ...). A battle is two texts and a prompt, not a row of
numbers; the estimators declare ``input_tags.two_d_array = False`` (so ``check_estimator`` itself
yields nothing), and we run the API checks below, which do not need fitted numeric data.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.utils import estimator_checks as ec

from arenapref.model.estimators import CLASSES, LengthLogisticModel, LGBMPreferenceModel, PriorModel
from arenapref.model.training import CalibratedPreferenceModel

API_CHECKS = [
    ec.check_no_attributes_set_in_init,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_parameters_default_constructible,
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_do_not_raise_errors_in_init_or_set_params,
]
ESTIMATORS = [
    PriorModel(),
    LengthLogisticModel(),
    LGBMPreferenceModel(n_estimators=20, n_seeds=2),
    CalibratedPreferenceModel(PriorModel(), n_folds=2),
]


def competition_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A competition-layout DataFrame (JSON-string cells, winner columns) where the longer answer wins."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        la, lb = rng.integers(1, 60, 2)
        win = 0 if la > lb + 5 else 1 if lb > la + 5 else 2
        if rng.random() < 0.2:
            win = int(rng.integers(0, 3))
        rows.append(
            {
                "id": str(i),
                "prompt": json.dumps([f"question {i % 40} about topic {i % 7}"]),
                "response_a": json.dumps([" ".join(["word"] * int(la))]),
                "response_b": json.dumps([" ".join(["term"] * int(lb))]),
                "winner_model_a": int(win == 0),
                "winner_model_b": int(win == 1),
                "winner_tie": int(win == 2),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_api_checks(est: object) -> None:
    name = type(est).__name__
    for check in API_CHECKS:
        check(name, clone(est))


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_dataframe_in_classes_predict(est: object) -> None:
    df = competition_frame()
    model = clone(est).fit(df)
    assert list(model.classes_) == list(CLASSES) == ["winner_model_a", "winner_model_b", "winner_tie"]
    p_pd = model.predict_proba(df)
    p_pl = model.predict_proba(pl.from_pandas(df))
    assert p_pd.shape == (len(df), 3) and np.allclose(p_pd.sum(axis=1), 1.0)
    assert np.allclose(p_pd, p_pl)
    pred = model.predict(df)
    assert set(pred.tolist()) <= set(CLASSES) and len(pred) == len(df)


def test_fit_with_y_overrides_labels() -> None:
    df = competition_frame()
    y = np.array(["winner_model_a"] * len(df))
    model = PriorModel().fit(df.drop(columns=["winner_model_a", "winner_model_b", "winner_tie"]), y)
    assert np.allclose(model.class_prior_, [1.0, 0.0, 0.0])
    with pytest.raises(Exception, match="expected one of"):
        PriorModel().fit(df, np.array(["nobody"] * len(df)))


def test_cross_val_score_gives_numbers() -> None:
    df = competition_frame(160)
    y = np.array(CLASSES)[df[["winner_model_a", "winner_model_b", "winner_tie"]].to_numpy().argmax(axis=1)]
    groups = df["prompt"].to_numpy()
    for est in (LengthLogisticModel(), LGBMPreferenceModel(n_estimators=30, n_seeds=1, min_child_samples=10)):
        scores = cross_val_score(est, df, y, groups=groups, cv=GroupKFold(3), scoring="neg_log_loss")
        assert np.isfinite(scores).all() and (scores < 0).all(), scores
        acc = cross_val_score(est, df, y, groups=groups, cv=GroupKFold(3))
        assert np.isfinite(acc).all()
    # the length model learns that the longer answer wins: better than the prior
    prior = cross_val_score(PriorModel(), df, y, groups=groups, cv=GroupKFold(3), scoring="neg_log_loss")
    length = cross_val_score(
        LengthLogisticModel(), df, y, groups=groups, cv=GroupKFold(3), scoring="neg_log_loss"
    )
    assert length.mean() > prior.mean()
