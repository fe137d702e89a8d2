"""``arenapref label`` and ``judge-eval`` in-process against the local server; kill-and-resume."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from arenapref.label.config import load_judge
from arenapref.label.judge import judge_battles
from arenapref.llmclient.cache import JudgeCache
from arenapref.model.estimators import PriorModel
from arenapref.model.io import save_model
from arenapref.testing.judge_server import ServerSettings, serve_in_thread
from arenapref.writers import write_parquet
from cli_helpers import run_cli as _run
from label_helpers import make_pairs, server_keys

KEY_ENV = "ARENAPREF_TEST_JUDGE_KEY"
SECRET = "sk-test-0123456789-do-not-store"


@pytest.fixture(autouse=True)
def _user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user cache folder of these tests: inside the test's folder, never ~/.cache."""
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("ARENAPREF_CACHE_DIR", str(folder))
    return folder


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.slow
def test_label_judge_and_teacher_share_one_layout_and_no_key_reaches_disk(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    pairs = write_parquet(make_pairs(30), tmp_path / "pairs.parquet")
    monkeypatch.setenv(KEY_ENV, SECRET)
    settings = ServerSettings(
        api_key=SECRET, fault_rate=0.2, fault_attempts=1, retry_after_s=0.01, hang_s=0.5
    )
    with serve_in_thread(settings) as server:
        code, out, err = _run(
            ["label", str(pairs), "--judge", "default", "--out", str(tmp_path / "judged.parquet"),
             "--base-url", server.base_url, "--api-key-env", KEY_ENV, "--concurrency", "8"],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        assert "30 of 30 pairs labeled" in err
        # A wrong key: exit 1, one sentence, and the key still appears nowhere.
        monkeypatch.setenv(KEY_ENV, SECRET + "-wrong")
        code, out2, err2 = _run(
            ["label", str(pairs), "--judge", "default", "--out", str(tmp_path / "bad.parquet"),
             "--base-url", server.base_url, "--api-key-env", KEY_ENV, "--cache", str(tmp_path / "c2.sqlite")],
            capsys,
        )  # fmt: skip
        assert code == 1 and "401" in err2
    judged = pq.read_table(tmp_path / "judged.parquet")
    assert judged.num_rows == 30
    assert set(judged.column("label_source").to_pylist()) == {"judge:default/gpt-4o-mini"}
    assert (tmp_path / "judged.failures.jsonl").read_text() == ""
    assert (tmp_path / "user-cache" / "judge.sqlite").exists()  # the per-user cache
    for text in (out, err, out2, err2, caplog.text):
        assert SECRET not in text
    assert _files_containing(tmp_path, SECRET) == []

    # A teacher produces exactly the same columns and types.
    model_dir = save_model(PriorModel().fit(judged), tmp_path / "prior")
    code, out, err = _run(
        ["label", str(pairs), "--teacher", str(model_dir), "--out", str(tmp_path / "taught.parquet")], capsys
    )
    assert code == 0, err
    taught = pq.read_table(tmp_path / "taught.parquet")
    assert taught.schema.equals(judged.schema)
    assert taught.num_rows == 30
    assert set(taught.column("label_source").to_pylist()) == {"teacher:prior"}


def test_label_user_mistakes_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = write_parquet(make_pairs(2), tmp_path / "pairs.parquet")
    out = str(tmp_path / "o.parquet")
    code, _, err = _run(["label", str(pairs), "--out", out], capsys)
    assert code == 1 and "exactly one of --judge" in err
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, _, err = _run(
        ["label", str(pairs), "--judge", "default", "--api-key-env", KEY_ENV, "--out", out], capsys
    )
    assert code == 1 and KEY_ENV in err and "Traceback" not in err
    code, _, err = _run(
        ["label", str(pairs), "--judge", "default", "--api-key-env", "", "--model", "unpriced",
         "--max-cost", "1", "--out", out],
        capsys,
    )  # fmt: skip
    assert code == 1 and "price" in err


@pytest.mark.slow
def test_killed_run_resumes_without_resending_completed_requests(tmp_path: Path) -> None:
    """SIGKILL a labeling process half-way; the rerun sends nothing that was already answered.

    The child runs the same API the CLI calls (``judge_battles`` with a SQLite cache) rather than the
    whole CLI, only to keep its start-up short on a loaded machine.
    """
    table = make_pairs(80, seed=5)
    pairs = write_parquet(table, tmp_path / "pairs.parquet")
    cache = tmp_path / "cache.sqlite"
    child = """
import sys
import pyarrow.parquet as pq
from arenapref.llmclient.cache import JudgeCache
from arenapref.label.config import load_judge
from arenapref.label.judge import judge_battles
from arenapref.label.judge import judge_battles
config = load_judge("default").with_overrides(base_url=sys.argv[1], api_key_env="", concurrency=4)
judge_battles(pq.read_table(sys.argv[2]), config, cache=JudgeCache(sys.argv[3]))
print("finished")
"""
    with serve_in_thread(ServerSettings(latency_s=0.02, seed=5)) as server:
        config = load_judge("default").with_overrides(base_url=server.base_url, api_key_env="", concurrency=4)
        argv = [sys.executable, "-c", child, server.base_url, str(pairs), str(cache)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while server.stats()["total"] < 60 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        stdout, _ = proc.communicate()
        assert "finished" not in stdout, "the run finished before it could be killed"
        with JudgeCache(cache) as c:
            done = c.keys()
        before = server.stats()["by_key"]
        assert 0 < len(done) < 160
        with JudgeCache(cache) as c:
            result = judge_battles(table, config, cache=c)
        after = server.stats()["by_key"]
    assert result.stats.labeled == 80 and result.stats.orders_cached == len(done)
    keys = server_keys(config, table)
    resent = [k for k in done if after[keys[k]] != before[keys[k]]]
    assert resent == []
    assert sum(after.values()) - sum(before.values()) == 160 - len(done)


def test_judge_eval_on_alpacafarm_then_label_with_calibration(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labeled = shared_data / "alpacafarm_gpt4_648" / "alpacafarm_gpt4_b1_annotations_seed0.json"
    run_dir = tmp_path / "eval"
    with serve_in_thread(ServerSettings(seed=7)) as server:
        code, out, err = _run(
            ["judge-eval", str(labeled), "--judge", "default", "--out", str(run_dir), "--format", "pairwise",
             "--base-url", server.base_url, "--api-key-env", "", "--concurrency", "32"],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        report = json.loads((run_dir / "report.json").read_text())
        assert report["rows_judged"] == 648
        agreement = report["agreement"]
        # The local judge prefers longer answers; GPT-4 did too, more often than not.
        assert 0.5 < agreement["accuracy_without_ties"] < 1.0
        assert 0.0 < report["swap_consistency"] < 1.0
        cal = report["calibration"]
        assert cal["fitted"] and cal["heldout_rows"] > 100
        assert cal["log_loss_after"] < cal["log_loss_before"]
        assert "calibration on" in err and "agreement: accuracy" in err
        assert out == ""  # human text goes to stderr; stdout is for --json

        pairs = write_parquet(make_pairs(10), tmp_path / "pairs.parquet")
        code, _, err = _run(
            ["label", str(pairs), "--judge", "default", "--out", str(tmp_path / "cal.parquet"),
             "--base-url", server.base_url, "--api-key-env", "",
             "--calibration", str(run_dir / "calibration.json")],
            capsys,
        )  # fmt: skip
        assert code == 0, err
    calibrated = pq.read_table(tmp_path / "cal.parquet")
    # AlpacaFarm has no ties, so the calibrated judge gives ties little mass.
    assert max(calibrated.column("p_tie").to_pylist()) < 0.2
