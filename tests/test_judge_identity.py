"""The judge's identity (server, model, the spec's full content) keys both the label stage and every cached
answer: another judge's labels are never reused (issue 22, section 1).

Real components only: two real HTTP judge servers on 127.0.0.1 with different rules, the built-in
offline judge, real spec files, and the pipeline's and the command line's own caches.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from arenapref.errors import ArenaprefError
from arenapref.label.config import JUDGES_DIR
from arenapref.pipeline import run_pipeline
from arenapref.synth import generate
from arenapref.testing.judge_server import RunningServer, ServerSettings, serve_in_thread
from arenapref.writers import write_parquet
from cli_helpers import run_cli
from label_helpers import make_pairs

PAIRS = 30


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[RunningServer, RunningServer]]:
    with serve_in_thread(ServerSettings(seed=0)) as a, serve_in_thread(ServerSettings(seed=9)) as b:
        yield a, b


@pytest.fixture(autouse=True)
def _user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENAPREF_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.delenv("ARENAPREF_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _config(judge: str) -> str:
    return f"""[run]
seed = 0
[sources]
lmsys = ["synth/lmsys"]
train = "synth/competition/train.csv"
[profile]
enabled = false
[compare]
enabled = false
[topics]
enabled = false
[label]
max_pairs = {PAIRS}
[label.judge]
eval_rows = 0
{judge}
[label.teacher]
enabled = false
[train]
enabled = false
[evaluate]
enabled = false
[ablate]
enabled = false
[predict]
enabled = false
"""


def _label(ws: Path, judge: str, **kw: str) -> str:
    (ws / "PIPELINE.toml").write_text(_config(judge), encoding="utf-8")
    summary = run_pipeline(ws / "PIPELINE.toml", progress=False, **kw)
    return summary.status_of("label").status


def _total(server: RunningServer) -> int:
    return int(server.stats(summary=True)["total"])


def test_switching_server_model_or_spec_reruns_label_and_asks_the_new_judge(
    tmp_path: Path, servers: tuple[RunningServer, RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = servers
    ws = tmp_path / "ws"
    generate(ws / "synth", conversations=1500, battles=200, seed=1)
    shutil.copy(JUDGES_DIR / "default.toml", ws / "myjudge.toml")
    shutil.copy(JUDGES_DIR / "default_prompt.txt", ws / "default_prompt.txt")
    # Run from another folder: the spec path is relative to the config file, not to the working directory.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    labels = ws / "run" / "label" / "labeled.parquet"

    # The case: a demo-like workspace on the offline judge, then pointed at a real server whose
    # model has the spec's own name; it must ask that server, never keep the offline verdicts.
    assert _label(ws, 'base_url = "offline"\nspec = "myjudge.toml"') == "ran"
    offline = pq.read_table(labels).column("p_a").to_pylist()
    assert _total(a) == 0 and _total(b) == 0
    on_a = f'base_url = "{a.base_url}"\napi_key_env = ""\nspec = "myjudge.toml"\nmodel = "gpt-4o-mini"'
    assert _label(ws, on_a) == "ran"
    asked = _total(a)
    assert asked == 2 * PAIRS  # every (pair, order) asked: nothing reused from the offline judge
    # Server a runs the offline judge's rule with its seed: the same answers, now really asked over HTTP.
    assert pq.read_table(labels).column("p_a").to_pylist() == offline
    # Same identity: skipped; forced, it reuses every cached answer and sends nothing.
    assert _label(ws, on_a) == "skipped"
    assert _label(ws, on_a, from_stage="label") == "ran" and _total(a) == asked

    # Another server with the same model name: reruns, and asks the new server everything.
    on_b = on_a.replace(a.base_url, b.base_url)
    assert _label(ws, on_b) == "ran" and _total(b) == 2 * PAIRS and _total(a) == asked
    # Another model on that server.
    assert _label(ws, on_b.replace("gpt-4o-mini", "other-model")) == "ran" and _total(b) == 4 * PAIRS
    # The spec file edited (a sampling setting), then its prompt file: each is another judge.
    spec = (ws / "myjudge.toml").read_text()
    (ws / "myjudge.toml").write_text(spec.replace("max_tokens = 400", "max_tokens = 300"))
    assert _label(ws, on_b) == "ran" and _total(b) == 6 * PAIRS
    prompt = (ws / "default_prompt.txt").read_text()
    (ws / "default_prompt.txt").write_text(prompt + "\nJudge carefully.\n")
    assert _label(ws, on_b) == "ran" and _total(b) == 8 * PAIRS
    # Back to an earlier identity: its answers are still in the run's cache.
    (ws / "myjudge.toml").write_text(spec)
    (ws / "default_prompt.txt").write_text(prompt)
    assert _label(ws, on_b) == "ran" and _total(b) == 8 * PAIRS
    assert _label(ws, on_b) == "skipped"


def test_a_missing_relative_spec_names_the_config_folder(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    generate(ws / "synth", conversations=300, battles=60, seed=1)
    (ws / "PIPELINE.toml").write_text(
        _config('base_url = "offline"\nspec = "nothere.toml"'), encoding="utf-8"
    )
    with pytest.raises(Exception, match=str(ws / "nothere.toml")):
        run_pipeline(ws / "PIPELINE.toml", progress=False)


def test_label_command_reuses_answers_only_for_the_same_judge(
    tmp_path: Path, servers: tuple[RunningServer, RunningServer], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = servers
    pairs = write_parquet(make_pairs(PAIRS, seed=4), tmp_path / "pairs.parquet")
    out, cache = str(tmp_path / "labels.parquet"), str(tmp_path / "cache.sqlite")

    def label(*args: str) -> dict[str, object]:
        code, stdout, err = run_cli(
            ["label", str(pairs), "--out", out, "--cache", cache, "--api-key-env", "", "--json", *args],
            capsys,
        )
        assert code == 0, err
        return dict(json.loads(stdout))

    before_a, before_b = _total(a), _total(b)
    first = label("--judge", "default", "--base-url", a.base_url)
    assert first["requests_sent"] == 2 * PAIRS and _total(a) - before_a == 2 * PAIRS
    again = label("--judge", "default", "--base-url", a.base_url + "/")
    assert again["requests_sent"] == 0 and again["requests_cached"] == 2 * PAIRS
    other = label("--judge", "default", "--base-url", b.base_url)
    assert other["requests_sent"] == 2 * PAIRS and _total(b) - before_b == 2 * PAIRS
    offline = label("--judge", "offline")
    assert offline["requests_sent"] == 2 * PAIRS  # answered by the built-in judge, not from the cache
    assert _total(a) - before_a == 2 * PAIRS and _total(b) - before_b == 2 * PAIRS
    table = pq.read_table(out)
    assert set(table.column("label_source").to_pylist()) == {"judge:offline/offline"}
    assert table.num_rows == PAIRS


def test_an_aborted_judge_fails_the_label_stage_and_writes_nothing(tmp_path: Path) -> None:
    """A server that refuses every request aborts the judge: the stage fails, no 0-row labels appear."""
    ws = tmp_path / "ws"
    generate(ws / "synth", conversations=1500, battles=200, seed=1)
    with serve_in_thread(ServerSettings(mode="400")) as server:
        (ws / "PIPELINE.toml").write_text(
            _config(f'base_url = "{server.base_url}"\napi_key_env = ""\nconcurrency = 4'), encoding="utf-8"
        )
        with pytest.raises(ArenaprefError, match=r"all failed the same way.*no labels were written"):
            run_pipeline(ws / "PIPELINE.toml", progress=False)
    assert (ws / "run" / "mine" / "pairs.parquet").is_file()
    assert not (ws / "run" / "label").exists()
