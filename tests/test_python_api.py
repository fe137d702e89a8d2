"""The README's notebook session: DataFrames in, objects with ``.to_pandas()`` out, for every stage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from arenapref.compare import compare
from arenapref.label import ajudge_battles, load_judge
from arenapref.mine import mine_pairs
from arenapref.model.ablate import ablate
from arenapref.model.estimators import LGBMPreferenceModel
from arenapref.profile.core import profile_source
from arenapref.readers import read_battles
from arenapref.synth import generate
from arenapref.testing.judge_server import ServerSettings, serve_in_thread
from arenapref.topics.fit import FitSettings, fit_topics


@pytest.mark.slow
def test_notebook_session_with_dataframes(tmp_path: Path) -> None:
    m = generate(tmp_path / "ws", conversations=3000, battles=800, seed=0)
    train = pd.read_csv(m.train_csv)
    test = pd.read_csv(m.test_csv)
    lmsys = pl.read_parquet(m.lmsys_shards)

    assert read_battles(train).num_rows > 0
    assert profile_source(lmsys).rows == lmsys.height
    assert isinstance(compare(lmsys, train).to_pandas(), pd.DataFrame)
    assert fit_topics(lmsys, FitSettings(k=5, embedder="tfidf")).k == 5
    pairs = mine_pairs([lmsys], exclude=[train, test]).to_pandas()
    assert len(pairs) > 0

    server = serve_in_thread(ServerSettings())
    try:
        judge = load_judge("default").with_overrides(
            base_url=server.base_url, model="local-judge", api_key_env=""
        )
        labeled = asyncio.run(ajudge_battles(pairs.head(20), judge)).to_pandas()
    finally:
        server.close()
    assert len(labeled) == 20

    est = LGBMPreferenceModel().fit(train)
    assert list(est.classes_) == ["winner_model_a", "winner_model_b", "winner_tie"]
    proba = est.predict_proba(test)
    assert proba.shape == (len(test), 3)
    report = ablate(train, labeled, holdout_frac=0.3, repeats=2, n_boot=100)
    assert isinstance(report.to_pandas(), pd.DataFrame)
