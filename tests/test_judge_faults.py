"""The judge's fault suite against the real local server (issue 10 §3).

Every case runs ``arenapref label`` in-process against ``arenapref.testing.judge_server`` on 127.0.0.1:
HTML-only, 400 and empty-choices servers (early abort), a hanging server (timeouts and attempts), a server
echoing the key (nothing on disk), broken caches, exit codes, the shared cache and the output formats.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from arenapref.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_USER_ERROR, ArenaprefError
from arenapref.label import judge_battles
from arenapref.llmclient.cache import JudgeCache, OrderResult
from arenapref.readers import open_source
from arenapref.testing.judge_server import ServerSettings, serve_in_thread
from arenapref.writers import write_parquet
from cli_helpers import run_cli
from label_helpers import fast_judge, make_pairs

SECRET = "sk-fault-suite-7f3a9c1e5b"
KEY_ENV = "ARENAPREF_FAULT_SUITE_KEY"


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user cache folder of these tests (inside the test folder, never ~/.cache)."""
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("ARENAPREF_CACHE_DIR", str(folder))
    for name in ("ARENAPREF_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    return write_parquet(make_pairs(40, seed=3), tmp_path / "run" / "pairs.parquet")


def _label(
    pairs: Path, out: Path, base_url: str, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str, float]:
    argv = ["label", str(pairs), "--judge", "default", "--out", str(out), "--base-url", base_url]
    if "--api-key-env" not in extra:
        argv += ["--api-key-env", ""]
    started = time.perf_counter()
    code, out_text, err = run_cli([*argv, *extra, "--quiet"], capsys)
    return code, out_text, err, time.perf_counter() - started


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.parametrize(
    ("mode", "said"),
    [("html", "not JSON: '<!DOCTYPE html>"), ("400", "http 400"), ("nochoices", "no choices")],
)
@pytest.mark.slow
def test_a_server_that_never_answers_usefully_is_abandoned_early(
    mode: str, said: str, pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """40 pairs = 80 requests; before, an HTML-only server took 632 requests and 351 s."""
    out = tmp_path / "run" / "labels.parquet"
    with serve_in_thread(ServerSettings(mode=mode)) as server:
        code, _, err, elapsed = _label(pairs, out, server.base_url, capsys, "--concurrency", "8")
        total = server.stats(summary=True)["total"]
    assert code == EXIT_USER_ERROR
    assert "the first 20 answers" in err and "all failed the same way" in err and said in err
    assert "Traceback" not in err
    assert total <= 20 + 8  # the first 20, plus at most what was already in flight
    assert elapsed < 30  # the backoff of the retried bodies dominates; never minutes
    # Outputs are complete or absent: an aborted run writes neither labels nor failures (issue 22, 5).
    assert "no labels were written" in err
    assert not out.exists() and not (tmp_path / "run" / "labels.failures.jsonl").exists()


@pytest.mark.slow
def test_a_hanging_server_is_bounded_by_timeout_attempts_and_the_early_abort(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run" / "labels.parquet"
    with serve_in_thread(ServerSettings(mode="hang", hang_s=3)) as server:
        code, _, err, elapsed = _label(
            pairs, out, server.base_url, capsys, "--timeout", "0.4", "--max-attempts", "2",
            "--concurrency", "4",
        )  # fmt: skip
    assert code == EXIT_USER_ERROR and "timeout" in err and "all failed the same way" in err
    # Without the abort: 80 requests * 2 attempts * 0.4 s / 4 in flight = 16 s at least.
    assert elapsed < 12, elapsed
    assert not out.exists()


def test_a_server_echoing_the_key_leaves_it_nowhere(
    pairs: Path,
    tmp_path: Path,
    user_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    run = tmp_path / "run"
    with serve_in_thread(ServerSettings(mode="echo-key", api_key=SECRET)) as server:
        code, out, err, _ = _label(
            pairs, run / "labels.parquet", server.base_url, capsys, "--api-key-env", KEY_ENV, "--json"
        )
        assert code == EXIT_OK, err
        # The same key with a server that refuses it and echoes it in the 401 body.
        monkeypatch.setenv(KEY_ENV, SECRET + "x")
        code2, out2, err2, _ = _label(
            pairs, run / "bad.parquet", server.base_url, capsys, "--api-key-env", KEY_ENV,
            "--cache", str(run / "fresh.sqlite"),  # the shared cache would answer without asking
        )  # fmt: skip
    assert code2 == EXIT_USER_ERROR and "401" in err2
    assert json.loads(out)["labeled"] == 40
    with sqlite3.connect(user_cache / "judge.sqlite") as db:
        raws = [r[0] for r in db.execute("SELECT raw FROM judgements")]
    assert len(raws) == 80 and all("Bearer [redacted]" in r for r in raws)
    for text in (out, err, out2, err2):
        assert SECRET not in text
    assert _files_containing(run, SECRET) == []
    assert _files_containing(user_cache, SECRET) == []


def test_a_key_given_as_the_variable_name_is_refused_without_printing_it(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for value in (SECRET, "AbCdEf0123456789xyzKEY"):
        code, out, err, _ = _label(
            pairs, tmp_path / "o.parquet", "http://127.0.0.1:9/v1", capsys, "--api-key-env", value
        )
        assert code == EXIT_USER_ERROR and "environment variable" in err
        assert value not in out + err


def test_broken_caches_are_one_sentence(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("this is not a database\n" * 200)
    other_app = tmp_path / "other.sqlite"
    with sqlite3.connect(other_app) as db:
        db.execute("CREATE TABLE judgements (id INTEGER, note TEXT)")
    with serve_in_thread(ServerSettings()) as server:
        good = tmp_path / "good.sqlite"
        code, _, err, _ = _label(pairs, tmp_path / "a.parquet", server.base_url, capsys, "--cache", str(good))
        assert code == EXIT_OK, err
        damaged = tmp_path / "damaged.sqlite"
        data = bytearray(good.read_bytes())
        data[100:4096] = b"\xff" * (4096 - 100)  # the header survives, the schema page does not
        damaged.write_bytes(bytes(data))
        for cache, said in (
            (not_a_db, "is not an SQLite database"),
            (other_app, "not arenapref's judge cache"),
            (damaged, "cannot be used"),
            (tmp_path, "is a folder"),
        ):
            code, _, err, _ = _label(
                pairs, tmp_path / "b.parquet", server.base_url, capsys, "--cache", str(cache)
            )
            assert code == EXIT_USER_ERROR and said in err, (cache, err)
            assert "Traceback" not in err
        assert server.stats(summary=True)["total"] == 80  # the broken caches sent nothing
    assert not_a_db.read_text().startswith("this is not a database")  # left untouched


def test_a_failing_cache_writer_raises_instead_of_blocking_flush(tmp_path: Path) -> None:
    cache = JudgeCache(tmp_path / "c.sqlite")
    bad = OrderResult((float("nan"), 0.0, 0.0), "A", "hard", "raw", 1, 1, 0.0, 1)  # NaN is NULL: NOT NULL
    cache.put("k", "judge", bad)
    box: dict[str, BaseException] = {}

    def flush() -> None:
        try:
            cache.flush()
        except BaseException as exc:  # the test inspects whatever it was
            box["error"] = exc

    t = threading.Thread(target=flush, daemon=True)
    t.start()
    t.join(timeout=10)
    assert not t.is_alive(), "flush() blocked after the writer failed"
    assert isinstance(box.get("error"), ArenaprefError)
    with pytest.raises(ArenaprefError, match="cannot be used"):
        cache.put("k2", "judge", bad)
    with pytest.raises(ArenaprefError):
        cache.close()


def test_exit_codes_budget_resume_and_a_shared_cache_across_out_names(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    with serve_in_thread(ServerSettings()) as server:
        code, _, err, _ = _label(
            pairs, run / "first.parquet", server.base_url, capsys, "--max-requests", "30"
        )
        assert code == EXIT_INCOMPLETE, err
        assert "are not labeled" in err and "request budget of 30 reached" in err
        assert server.stats(summary=True)["total"] == 30
        failed = [json.loads(x) for x in (run / "first.failures.jsonl").read_text().splitlines()]
        assert {f["reason"] for f in failed} == {"budget"}
        code, _, err, _ = _label(pairs, run / "second.parquet", server.base_url, capsys, "--json")
        assert code == EXIT_OK, err
        assert server.stats(summary=True)["total"] == 80  # only the 50 the budget held back were sent
        code, out, err, _ = _label(pairs, run / "other-name.csv", server.base_url, capsys, "--json")
        assert code == EXIT_OK, err
        assert server.stats(summary=True)["total"] == 80  # another --out: everything from the cache
    summary = json.loads(out)
    assert summary["requests_cached"] == 80 and summary["requests_sent"] == 0
    # The .csv name wrote the competition layout, which the readers take back as battles.
    src = open_source(run / "other-name.csv")
    assert src.kind == "battles" and src.read_table().num_rows == 40 and len(src.rejects) == 0
    assert (run / "other-name.csv").read_bytes().startswith(b"id,model_a,model_b,prompt,")


def test_bad_options_and_outputs_are_one_sentence(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:9/v1"
    cases = [
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--max-requests", "-3"], "--max-requests must be 0"),
        (["--max-cost", "-1"], "--max-cost must be 0"),
        (["--timeout", "0"], "--timeout must be more than 0"),
        (["--max-attempts", "0"], "--max-attempts must be at least 1"),
    ]
    for extra, said in cases:
        code, _, err, elapsed = _label(pairs, tmp_path / "o.parquet", url, capsys, *extra)
        assert code == EXIT_USER_ERROR and said in err and "Traceback" not in err, (extra, err)
        assert elapsed < 10
    code, _, err, _ = _label(pairs, tmp_path / "o.txt", url, capsys)
    assert code == EXIT_USER_ERROR and "cannot tell the output format" in err
    before = pairs.read_bytes()
    code, _, err, _ = _label(pairs, pairs, url, capsys)
    assert code == EXIT_USER_ERROR and "is the input" in err
    assert pairs.read_bytes() == before
    assert not (tmp_path / "o.parquet").exists()


def test_the_base_url_comes_from_the_environment(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_in_thread(ServerSettings()) as server:
        for name in ("OPENAI_BASE_URL", "ARENAPREF_BASE_URL"):
            monkeypatch.setenv(name, server.base_url)
            argv = ["label", str(pairs), "--judge", "default", "--api-key-env", "", "-q"]
            code, _, err = run_cli([*argv, "--out", str(tmp_path / f"{name}.parquet")], capsys)
            assert code == EXIT_OK, err
        # ARENAPREF_BASE_URL wins over OPENAI_BASE_URL.
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        code, _, err = run_cli([*argv, "--out", str(tmp_path / "both.parquet")], capsys)
        assert code == EXIT_OK, err


def test_judge_eval_never_replaces_a_folder_holding_its_input_or_cache(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = pairs.parent
    base = ["judge-eval", str(pairs), "--judge", "default", "--api-key-env", "", "-q"]
    code, _, err = run_cli([*base, "--out", str(run)], capsys)
    assert code == EXIT_USER_ERROR and "is the input" in err
    code, _, err = run_cli(
        [*base, "--out", str(tmp_path / "eval"), "--cache", str(tmp_path / "eval" / "c.sqlite")], capsys
    )
    assert code == EXIT_USER_ERROR and "inside the --out folder" in err
    assert pairs.exists() and not (tmp_path / "eval").exists()


def test_a_server_warming_up_with_5xx_is_retried_not_abandoned() -> None:
    """More than 20 first answers are 500 (concurrency 32), but 5xx is transient: no early abort."""
    settings = ServerSettings(fault_rate=1.0, fault_kinds=("500",), fault_attempts=1)
    with serve_in_thread(settings) as server:
        result = judge_battles(make_pairs(30), fast_judge(server.base_url, concurrency=32))
        assert server.stats(summary=True)["faults"] == {"500": 60}
    assert result.stats.labeled == 30 and not result.stats.stopped
