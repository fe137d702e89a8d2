"""Every public function of ``arenapref`` with every kind of input a notebook holds.

The kinds: a path, a pyarrow Table, a pandas DataFrame, a polars DataFrame and a Hugging Face
``Dataset`` (real ``datasets`` package; skipped where it is not installed - ``./dev test`` installs it).
Each call must give the same answer as the path: the same row count, the same records read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

import arenapref as ap
from arenapref.synth import generate
from arenapref.testing.judge_server import ServerSettings, serve_in_thread

KINDS = ["path", "arrow", "pandas", "polars", "dataset"]


def _arrow(path: Path) -> pa.Table:
    return pa_csv.read_csv(path) if path.suffix == ".csv" else pq.read_table(path)


def _dataset(path: Path) -> Any:
    datasets = pytest.importorskip("datasets")
    return datasets.Dataset(_arrow(path))


AS: dict[str, Callable[[Path], Any]] = {
    "path": lambda p: p,
    "arrow": _arrow,
    "pandas": lambda p: _arrow(p).to_pandas(),
    "polars": lambda p: pl.from_arrow(_arrow(p)),
    "dataset": _dataset,
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return generate(tmp_path_factory.mktemp("inputs") / "ws", conversations=800, battles=300, seed=1)


@pytest.fixture(scope="module")
def model_dir(ws: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m"
    ap.train(ws.train_csv, out, folds=2, params={"n_estimators": 20, "n_seeds": 1})
    return out


@pytest.fixture(scope="module")
def topic_model(ws: Any) -> Any:
    return ap.fit_topics(ws.lmsys_shards[0], k=3, embedder="tfidf", progress=False)


@pytest.fixture(scope="module")
def judge() -> Iterator[dict[str, str]]:
    server = serve_in_thread(ServerSettings())
    try:
        yield {"base_url": server.base_url, "model": "local-judge", "api_key_env": ""}
    finally:
        server.close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.slow
def test_every_function_takes_every_input_kind(
    kind: str, ws: Any, model_dir: Path, topic_model: Any, judge: dict[str, str], tmp_path: Path
) -> None:
    as_kind = AS[kind]
    train, test, lmsys = as_kind(ws.train_csv), as_kind(ws.test_csv), as_kind(ws.lmsys_shards[0])
    n_train, n_test = ws.n_train, ws.n_test
    n_lmsys = pq.read_metadata(ws.lmsys_shards[0]).num_rows

    assert ap.read(train, kind="battles").num_rows == n_train
    assert ap.read(lmsys, kind="conversations").num_rows == n_lmsys
    assert ap.profile(train).rows == n_train and ap.profile(lmsys).rows == n_lmsys
    assert ap.compare(train, test).report["left"]["records"] == n_train
    assert ap.decontaminate(train, test).counts["candidates"] == n_train
    assert ap.check_leakage(train, [test, lmsys]).checked == n_train
    assert ap.fit_topics(lmsys, k=3, embedder="tfidf", progress=False).k == 3
    assert ap.assign_topics(topic_model, train).num_rows == n_train
    assert (
        ap.probe(topic_model, {"a": lmsys, "b": train}).mixes[1].n
        + ap.probe(topic_model, {"a": lmsys, "b": train}).mixes[1].unassigned
        == n_train
    )
    mined = ap.mine(lmsys, exclude=[train, test], progress=False)
    assert mined.funnel.total_in == n_lmsys

    few = _head(train, 6)
    assert ap.label(few, progress=False, **judge).table.num_rows == 6
    report = ap.judge_eval(_head(train, 30), out_dir=tmp_path / "je", progress=False, **judge)
    assert report.rows_labeled_by_humans == 30
    assert (
        ap.train(train, tmp_path / "m", folds=2, params={"n_estimators": 10, "n_seeds": 1}).n_rows == n_train
    )
    assert ap.evaluate(model_dir, train).model.n == n_train
    assert ap.predict(model_dir, test, tmp_path / "sub.csv").n_rows == n_test
    ab = ap.ablate(train, train, holdout_frac=0.3, repeats=1, n_boot=20, progress=False)
    assert ab.n_extra > 0
    assert len(ap.leaderboard(train, n_boot=5).models) >= 2
    est = ap.LGBMPreferenceModel(n_estimators=10, n_seeds=1).fit(train)
    assert est.predict_proba(test).shape == (n_test, 3)


def _head(data: Any, n: int) -> Any:
    """The first ``n`` rows, in the same kind of object (a path becomes a CSV of those rows)."""
    if isinstance(data, Path):
        out = data.with_name(f"head{n}.csv")
        pd.read_csv(data).head(n).to_csv(out, index=False)
        return out
    if isinstance(data, pa.Table):
        return data.slice(0, n)
    if isinstance(data, (pd.DataFrame, pl.DataFrame)):
        return data.head(n)
    return data.select(range(n))  # a datasets.Dataset


def test_unreadable_object_is_one_sentence() -> None:
    from arenapref.errors import ArenaprefError

    with pytest.raises(ArenaprefError, match="cannot read a int"):
        ap.read(3)


def test_the_known_failures_of_the_issue(ws: Any, model_dir: Path, topic_model: Any, tmp_path: Path) -> None:
    """Each call the issue reported failing on a DataFrame, called the way it was."""
    from arenapref.model.predict import predict_submission
    from arenapref.topics.fit import assign_topics, with_topic_columns

    train_df, test_df = pd.read_csv(ws.train_csv), pd.read_csv(ws.test_csv)
    assert with_topic_columns(topic_model, train_df).num_rows == len(train_df)  # was AttributeError
    assert len(assign_topics(topic_model, train_df)) == len(train_df)
    summary = predict_submission(model_dir, test_df, tmp_path / "sub.csv")  # was TypeError (paths only)
    assert summary.to_pandas()["id"].astype(str).tolist() == test_df["id"].astype(str).tolist()
    for result in (ap.profile(train_df), ap.probe(topic_model, [train_df]), topic_model):
        assert isinstance(result.to_pandas(), pd.DataFrame) and len(result.to_pandas()) > 0
    assert len(repr(ap.compare(train_df, train_df))) < 3000  # was 68,364 characters
