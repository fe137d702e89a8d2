"""Notebook use (issue 11): the judge, topic titles and regeneration work inside a running event loop.

Jupyter and Kaggle run every cell inside an event loop, where ``asyncio.run`` refuses to start. Each
entry point has an awaitable version, and the blocking one runs on its own loop in a worker thread
there. All calls go to the real local server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from arenapref.label import ajudge_battles, judge_battles
from arenapref.mine.regenerate import Regeneration, aregenerate, regenerate
from arenapref.testing.judge_server import ServerSettings, serve_in_thread
from arenapref.topics.fit import FitSettings, Topic, TopicModel
from arenapref.topics.titles import awrite_titles, write_titles
from label_helpers import fast_judge, make_pairs


@pytest.fixture(autouse=True)
def _user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENAPREF_CACHE_DIR", str(tmp_path / "user-cache"))


def _topic_map(k: int = 3) -> TopicModel:
    topics = [
        Topic(i, 10, 1 / k, f"terms{i}", [f"term{i}", "sql"], [f"How do I join tables, case {i}?"])
        for i in range(k)
    ]
    # The embedder is never used by titles; a fitted map would cost seconds of this test for nothing.
    return TopicModel(FitSettings(k=k), cast(Any, None), np.zeros((k, 2)), topics)


def test_sync_and_async_entry_points_inside_a_running_loop(tmp_path: Path) -> None:
    table = make_pairs(12)
    with serve_in_thread(ServerSettings(seed=2)) as server:
        config = fast_judge(server.base_url)

        async def notebook_cell() -> tuple[Any, ...]:
            asyncio.get_running_loop()  # we are inside a loop, as in Jupyter
            sync_result = judge_battles(table, config)
            async_result = await ajudge_battles(table, config)
            titled = write_titles(_topic_map(), server.base_url, "title-model")
            before = server.stats(summary=True)["total"]
            again = await awrite_titles(_topic_map(), server.base_url, "title-model")
            after_titles = server.stats(summary=True)["total"]
            settings = Regeneration(
                model="regen", base_url=server.base_url, api_key_env=None, cache_path=tmp_path / "r.sqlite"
            )
            regen_sync = regenerate(["What is a prime?", "Name a colour."], settings)
            regen_async = await aregenerate(["What is a prime?", "Name a colour."], settings)
            return sync_result, async_result, titled, again, before, after_titles, regen_sync, regen_async

        sync_result, async_result, titled, again, before, after, regen_sync, regen_async = asyncio.run(
            notebook_cell()
        )
    assert sync_result.stats.labeled == 12 and async_result.stats.labeled == 12
    assert async_result.stats.orders_cached == 0  # no cache given: both really asked the server
    assert sync_result.table.column("p_a").equals(async_result.table.column("p_a"))
    assert all(t.title for t in titled.topics)
    assert [t.title for t in again.topics] == [t.title for t in titled.topics]
    assert after == before  # the titles came from the shared cache: nothing sent again
    assert regen_sync.counts["sent"] == 2 and all(regen_sync.answers)
    assert regen_async.counts["cached"] == 2 and regen_async.answers == regen_sync.answers
    assert (tmp_path / "user-cache" / "judge.sqlite").exists()  # titles used the per-user cache


def test_a_notebook_passes_a_dataframe_and_gets_one_back() -> None:
    frame = make_pairs(4).to_pandas()
    with serve_in_thread(ServerSettings(seed=2)) as server:
        result = judge_battles(frame, fast_judge(server.base_url))
    labeled = result.to_pandas()
    assert len(labeled) == 4 and labeled["p_a"].notna().all()
    assert list(labeled["id"]) == list(frame["id"])
