"""The README's notebook session, through ``import arenapref as ap`` alone, on pandas and polars inputs.

One session per frame library runs the whole workflow on small generated data (read, profile, compare,
check_leakage, decontaminate, fit/assign topics, probe, mine, label against a real local judge server,
judge_eval, train, evaluate, ablate, predict, leaderboard, the estimators); another on the real rows in
../shared/data. Every result is displayed the way a notebook would (repr and HTML) and turned into a
DataFrame.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

import arenapref as ap
from arenapref.synth import generate
from arenapref.testing.judge_server import ServerSettings, serve_in_thread

LOAD: dict[str, Callable[[Path], Any]] = {
    "pandas": lambda p: pd.read_csv(p) if p.suffix == ".csv" else pd.read_parquet(p),
    "polars": lambda p: pl.read_csv(p) if p.suffix == ".csv" else pl.read_parquet(p),
}
# Where the repr of any result must fit: one screen.
SCREEN_LINES = 40
SCREEN_CHARS = 6000


def shown(result: Any) -> Any:
    """Display a result as a notebook would and check it is one screen; return its pandas frame."""
    text = repr(result)
    assert len(text.splitlines()) <= SCREEN_LINES and len(text) <= SCREEN_CHARS, text[:500]
    assert result._repr_html_().startswith("<div>")
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert isinstance(result.to_polars(), pl.DataFrame)
    return frame


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return generate(tmp_path_factory.mktemp("nb") / "ws", conversations=3000, battles=800, seed=0)


@pytest.fixture(scope="module")
def judge_url() -> Iterator[str]:
    server = serve_in_thread(ServerSettings())
    try:
        yield server.base_url
    finally:
        server.close()


@pytest.mark.parametrize("lib", ["pandas", "polars"])
@pytest.mark.slow
def test_notebook_session(lib: str, workspace: Any, judge_url: str, tmp_path: Path) -> None:
    load = LOAD[lib]
    train, test = load(workspace.train_csv), load(workspace.test_csv)
    lmsys = load(workspace.lmsys_shards[0])

    battles = ap.read(train, kind="battles")
    assert battles.num_rows == len(train)
    prof = ap.profile(lmsys)
    assert prof.rows == len(lmsys) and len(shown(prof)) == prof.models

    overlap = ap.compare(train, train)
    assert len(repr(overlap)) < SCREEN_CHARS  # the 68k-character repr of the issue
    shown(overlap)
    leaks = ap.check_leakage(train, [train])
    assert leaks.checked == len(train) and len(shown(leaks)) == len(train)  # every row leaks into itself

    tm = ap.fit_topics(lmsys, k=5, embedder="tfidf", progress=False)
    assert len(shown(tm)) == 5
    with_topics = ap.assign_topics(tm, train).to_pandas()
    assert len(with_topics) == len(train) and "topic_label" in with_topics
    rep = ap.probe(tm, {"lmsys": lmsys, "train": train})
    assert set(shown(rep)["source"]) == {"lmsys", "train"}

    steps: list[tuple[str, int, int | None]] = []
    mined = ap.mine(lmsys, exclude=[train, test], progress=lambda s, d, t: steps.append((s, d, t)))
    pairs = shown(mined)
    assert len(pairs) == mined.funnel.pairs_out > 0 and steps
    clean = ap.decontaminate(pairs, [train, test])
    assert shown(clean).shape[0] == len(pairs)  # mine already excluded them: nothing more to drop

    judge = {"base_url": judge_url, "model": "local-judge", "api_key_env": ""}
    labeled = ap.label(pairs.head(20), progress=False, **judge)
    assert shown(labeled)["p_a"].notna().sum() == 20
    report = ap.judge_eval(train.head(60), out_dir=tmp_path / "je", progress=False, **judge)
    assert report.rows_judged > 0 and len(shown(report)) == 1

    summary = ap.train(train, tmp_path / "model", folds=3, params={"n_estimators": 50, "n_seeds": 1})
    assert len(shown(summary)) == 3 and 0.5 < summary.oof_log_loss < 1.5
    assert shown(ap.evaluate(tmp_path / "model", train.head(200)))["scorer"].tolist()[0] == "model"
    sub = ap.predict(tmp_path / "model", test, tmp_path / "submission.csv")
    frame = shown(sub)
    assert frame["id"].astype(str).tolist() == [str(i) for i in (test["id"].to_list())]
    ab = ap.ablate(train, labeled.to_pandas(), holdout_frac=0.3, repeats=2, n_boot=100, progress=False)
    assert len(shown(ab)) == 1
    board = ap.leaderboard(train, n_boot=10)
    assert len(shown(board)) >= 2

    est = ap.LGBMPreferenceModel(n_estimators=30, n_seeds=1).fit(train)
    assert est.predict_proba(test).shape == (len(test), 3)


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_notebook_session_on_real_rows(lib: str, shared_data: Path, tmp_path: Path) -> None:
    """Kaggle's train rows and LMSYS-Chat-1M rows, as a competitor's notebook holds them."""
    train = LOAD[lib](shared_data / "competition_train_999" / "train_999.csv")
    lmsys = ap.read(shared_data / "lmsys_chat_1m_sample" / "lmsys_1000.jsonl", kind="conversations")
    lmsys_frame = lmsys.to_pandas() if lib == "pandas" else pl.from_arrow(lmsys)

    assert ap.profile(train).rows == len(train)
    tm = ap.fit_topics(lmsys_frame, k=4, embedder="tfidf", progress=False)
    topics = ap.assign_topics(tm, train).to_pandas()
    assert topics["topic"].notna().sum() > len(train) // 2
    summary = ap.train(train, tmp_path / "m", folds=3, params={"n_estimators": 60, "n_seeds": 1})
    assert 0.9 < summary.oof_log_loss < 1.2  # three classes, real rows: below the uniform 1.0986 or near
    sub = ap.predict(tmp_path / "m", train.head(50), tmp_path / "sub.csv").to_pandas()
    assert sub["id"].astype(str).tolist() == [str(i) for i in train["id"].head(50).to_list()]
    total = sub[["winner_model_a", "winner_model_b", "winner_tie"]].sum(axis=1)
    assert (total - 1).abs().max() < 1e-5
    shown(ap.compare(lmsys_frame, train))


def test_every_name_has_an_example() -> None:
    for name in ap.__all__:
        if name == "__version__":
            continue
        obj = getattr(ap, name)
        assert obj.__doc__, name
        if not isinstance(obj, type):
            assert "Example::" in obj.__doc__ and f"ap.{name}(" in obj.__doc__, name


def test_import_is_lazy_and_fast() -> None:
    """``import arenapref`` loads none of the heavy libraries; the names load on first use."""
    code = (
        "import sys, time; t = time.perf_counter(); import arenapref as ap; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('pyarrow', 'lightgbm', 'sklearn', 'polars', 'numpy') if m in sys.modules]; "
        "print(heavy, dt); assert not heavy, heavy; assert callable(ap.train)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
