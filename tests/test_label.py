"""The judge client against a real local HTTP server: faults, budget, cache resume, parsing, soft labels."""

from __future__ import annotations

import asyncio
import math
import shutil
import socket
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from arenapref.errors import ArenaprefError
from arenapref.label.calibration import CalibrationMap, fit_calibration, log_loss
from arenapref.label.config import JUDGES_DIR, load_judge, render_messages
from arenapref.label.judge import ajudge_battles, judge_battles
from arenapref.label.parse import VerdictError, combine_orders, logprob_probs, parse_verdict
from arenapref.label.teacher import swap_battles, teacher_battles
from arenapref.llmclient.cache import JudgeCache
from arenapref.llmclient.client import Budget, retry_after_seconds
from arenapref.testing.judge_server import FAULT_KINDS, ServerSettings, serve_in_thread
from label_helpers import fast_judge, make_pairs, server_keys

# --- parsing -----------------------------------------------------------------------------------------


def test_parser_is_strict() -> None:
    three = load_judge("default").verdicts
    assert parse_verdict("reasons...\n[[A]]", three).probs == (1.0, 0.0, 0.0)
    assert parse_verdict("[[ tie ]]", three).probs == (0.0, 0.0, 1.0)
    assert parse_verdict("[[C]] so [[TIE]]", three).label in {"C", "TIE"}  # same meaning, not ambiguous
    for text, reason in [
        ("Assistant A is clearly better.", "no verdict"),
        ("[A] is better", "no verdict"),
        ("[[A]] or maybe [[B]]", "ambiguous"),
        ("[[D]]", "unknown verdict"),
        ("[[A>B]]", "unknown verdict"),
    ]:
        with pytest.raises(VerdictError, match=reason):
            parse_verdict(text, three)
    five = load_judge("five_level").verdicts
    assert parse_verdict("[[A>>B]]", five).probs == (1.0, 0.0, 0.0)
    assert parse_verdict("[[B>A]]", five).probs == (0.0, 0.75, 0.25)
    with pytest.raises(VerdictError):
        parse_verdict("[[A]]", five)


def test_logprob_soft_labels() -> None:
    verdicts = load_judge("default").verdicts
    tokens = ["Fine", ".\n", "[[", "B", "]]"]
    top = [{"token": "B", "logprob": math.log(0.6)}, {"token": " A", "logprob": math.log(0.3)}]
    top.append({"token": "C", "logprob": math.log(0.05)})
    top.append({"token": "the", "logprob": math.log(0.05)})  # not a label: ignored, rest renormalised
    content = [{"token": t, "logprob": 0.0, "top_logprobs": top if t == "B" else []} for t in tokens]
    p = logprob_probs("".join(tokens), content, verdicts)
    assert p is not None
    assert p == pytest.approx((0.3 / 0.95, 0.6 / 0.95, 0.05 / 0.95))
    assert logprob_probs("".join(tokens), None, verdicts) is None
    # Five-level verdicts: the first label token does not name a whole label -> no logprob label.
    five = load_judge("five_level").verdicts
    toks = ["[[", "A", ">>", "B", "]]"]
    content = [{"token": t, "logprob": 0.0, "top_logprobs": [{"token": "A", "logprob": 0.0}]} for t in toks]
    assert logprob_probs("".join(toks), content, five) is None


def test_both_orders_combine_and_record_consistency() -> None:
    # A judge that always prefers the first position: the orders disagree, the average is even.
    p, consistent = combine_orders((0.9, 0.1, 0.0), (0.9, 0.1, 0.0))
    assert p == pytest.approx((0.5, 0.5, 0.0))
    assert not consistent
    p, consistent = combine_orders((0.8, 0.1, 0.1), (0.2, 0.6, 0.2))  # B-first says "A(=orig B)" 0.2
    assert p == pytest.approx((0.7, 0.15, 0.15))
    assert consistent


def test_multi_turn_prompt_and_missing_turns() -> None:
    template = load_judge("default").template
    messages = render_messages(template, ["hi", "and then?"], ["hello", None], ["hey"])
    user = messages[-1]["content"]
    assert messages[0]["role"] == "system"
    assert "User (turn 2):\nand then?" in user
    assert "Assistant A (turn 2):\n(no reply)" in user and "Assistant B (turn 2):\n(no reply)" in user
    assert "$conversation" not in user


def test_config_errors_and_fingerprint(tmp_path: Path) -> None:
    base = load_judge("default").with_overrides(base_url="http://x/v1")
    # The judge's identity: the server, the model and the spec's content; not how fast it is asked.
    assert base.fingerprint() == base.with_overrides(base_url="http://x/v1/", concurrency=3).fingerprint()
    assert base.fingerprint() != base.with_overrides(base_url="http://y/v1").fingerprint()
    assert base.fingerprint() != base.with_overrides(base_url="offline").fingerprint()
    assert base.fingerprint() != base.with_overrides(model="other").fingerprint()
    # The readable identity (written to manifests) never shows credentials a URL may carry.
    secret = base.with_overrides(base_url="https://u:pw@h.example/v1?key=sk-9")
    assert secret.identity()["server"] == "https://h.example/v1"
    assert secret.fingerprint() != base.with_overrides(base_url="https://h.example/v1").fingerprint()
    spec = (JUDGES_DIR / "default.toml").read_text()
    shutil.copy(JUDGES_DIR / "default_prompt.txt", tmp_path / "default_prompt.txt")
    (tmp_path / "mine.toml").write_text(spec)
    mine = load_judge(tmp_path / "mine.toml").with_overrides(base_url="http://x/v1")
    assert mine.fingerprint() == base.fingerprint()  # the same content is the same judge
    (tmp_path / "mine.toml").write_text(spec.replace("sample_temperature = 1.0", "sample_temperature = 0.9"))
    assert load_judge(tmp_path / "mine.toml").with_overrides(base_url="http://x/v1").fingerprint() != (
        base.fingerprint()
    )
    (tmp_path / "mine.toml").write_text(spec)
    (tmp_path / "default_prompt.txt").write_text(
        (JUDGES_DIR / "default_prompt.txt").read_text() + "Be fair.\n"
    )
    assert load_judge(tmp_path / "mine.toml").with_overrides(base_url="http://x/v1").fingerprint() != (
        base.fingerprint()
    )
    (tmp_path / "p.txt").write_text("[user]\nno placeholders here\n")
    (tmp_path / "j.toml").write_text('model = "m"\nprompt = "p.txt"\n[verdicts]\nA = [1.0, 0.0, 0.0]\n')
    with pytest.raises(ArenaprefError, match="conversation_a"):
        load_judge(tmp_path / "j.toml")
    (tmp_path / "k.toml").write_text('model = "m"\nprompt = "p.txt"\ncolour = 1\n[verdicts]\nA = [1, 0, 0]\n')
    with pytest.raises(ArenaprefError, match="unknown judge setting"):
        load_judge(tmp_path / "k.toml")
    with pytest.raises(ArenaprefError, match="shipped"):
        load_judge("no_such_judge")


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- the client against the local server ---------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.slow
def test_every_fault_kind_is_survived(kind: str) -> None:
    """Every request's first attempt fails with ``kind``; every pair still ends labeled."""
    table = make_pairs(6)
    settings = ServerSettings(
        fault_rate=1.0, fault_kinds=(kind,), fault_attempts=1, retry_after_s=0.05, hang_s=1.0, seed=1
    )
    with serve_in_thread(settings) as server:
        config = fast_judge(server.base_url, timeout_s=0.4)
        result = judge_battles(table, config)
        stats = server.stats()
    assert result.stats.labeled == 6 and not result.failures
    assert stats["faults"] == {kind: 12}
    assert set(stats["by_key"].values()) == {2}  # one fault, one success per (pair, order)
    if kind != "noverdict":  # verdict-less text is a parse retry, not an HTTP retry
        assert sum(result.stats.retries.values()) == 12


def test_429_retry_after_is_honoured() -> None:
    table = make_pairs(2)
    settings = ServerSettings(fault_rate=1.0, fault_kinds=("429",), fault_attempts=1, retry_after_s=0.4)
    with serve_in_thread(settings) as server:
        started = time.perf_counter()
        result = judge_battles(table, fast_judge(server.base_url))
        elapsed = time.perf_counter() - started
    assert result.stats.labeled == 2
    assert result.stats.retries == {"429": 4}
    assert elapsed >= 0.4  # backoff alone would be <= 0.02 s


def test_persistent_errors_end_in_failures_with_reason() -> None:
    table = make_pairs(3)
    with serve_in_thread(ServerSettings(fault_rate=1.0, fault_kinds=("500",))) as server:
        result = judge_battles(table, fast_judge(server.base_url, max_attempts=3))
        stats = server.stats()
    assert result.stats.labeled == 0
    assert {f.reason for f in result.failures} == {"http 500"}
    assert len(result.failures) == 6 and {f.order for f in result.failures} == {"AB", "BA"}
    assert set(stats["by_key"].values()) == {3}
    assert result.table.column("p_a").null_count == 3


def test_unparseable_answers_are_retried_then_written_out() -> None:
    table = make_pairs(2)
    with serve_in_thread(ServerSettings(fault_rate=1.0, fault_kinds=("noverdict",))) as server:
        config = replace(fast_judge(server.base_url), parse_retries=2)
        result = judge_battles(table, config)
        stats = server.stats()
    assert {f.reason for f in result.failures} == {"unparseable"}
    assert all(f.detail == "no verdict" and "cannot pick" in f.raw for f in result.failures)
    assert set(stats["by_key"].values()) == {3}  # first ask + 2 re-asks


def test_sampling_fallback_without_logprobs() -> None:
    table = make_pairs(3)
    with serve_in_thread(ServerSettings(logprobs=False)) as server:
        config = replace(fast_judge(server.base_url), n_samples=4)
        result = judge_battles(table, config)
        stats = server.stats()
    assert result.stats.labeled == 3
    assert set(stats["by_key"].values()) == {2}  # the logprob attempt, then n-1 samples
    for triple in result.table.column("p_ab").to_pylist():
        assert all(abs(v * 4 - round(v * 4)) < 1e-9 for v in triple)


def test_logprob_labels_are_soft_and_match_the_server() -> None:
    table = make_pairs(4)
    with serve_in_thread(ServerSettings()) as server:
        result = judge_battles(table, fast_judge(server.base_url))
    p_ab = np.array(result.table.column("p_ab").to_pylist())
    assert ((p_ab > 0) & (p_ab < 1)).all()
    np.testing.assert_allclose(p_ab.sum(axis=1), 1.0)
    combined = np.column_stack([result.table.column(c).to_numpy() for c in ("p_a", "p_b", "p_tie")])
    p_ba = np.array(result.table.column("p_ba").to_pylist())
    np.testing.assert_allclose(combined, (p_ab + p_ba) / 2)


def test_budget_stops_cleanly_and_pending_pairs_are_written_out() -> None:
    table = make_pairs(10)
    with serve_in_thread(ServerSettings(latency_s=0.01)) as server:
        result = judge_battles(
            table, fast_judge(server.base_url, concurrency=2), budget=Budget(max_requests=7)
        )
        stats = server.stats()
    assert stats["total"] == 7  # never more requests than the cap
    assert result.stats.stopped.startswith("request budget")
    assert result.stats.labeled + len({f.row for f in result.failures}) == 10
    assert result.stats.failure_reasons["budget"] == 20 - 7


def test_cost_budget_never_overshoots() -> None:
    table = make_pairs(20)
    with serve_in_thread(ServerSettings()) as server:
        config = fast_judge(server.base_url)
        assert config.price is not None
        budget = Budget(max_cost=0.002)
        result = judge_battles(table, config, budget=budget)
    assert 0 < budget.cost <= 0.002
    assert result.stats.failure_reasons.get("budget", 0) > 0
    assert result.stats.cost == pytest.approx(float(result.table.column("cost").to_numpy().sum()))


def test_cache_resume_never_resends_a_completed_request(tmp_path: Path) -> None:
    table = make_pairs(12)
    cache_path = tmp_path / "cache.sqlite"
    with serve_in_thread(ServerSettings(fault_rate=0.2, fault_attempts=1, seed=3)) as server:
        config = fast_judge(server.base_url, concurrency=3)
        with JudgeCache(cache_path) as cache:
            first = judge_battles(table, config, cache=cache, budget=Budget(max_requests=10))
        done = JudgeCache(cache_path).keys()
        before = server.stats()["by_key"]
        with JudgeCache(cache_path) as cache:
            second = judge_battles(table, config, cache=cache)
        after = server.stats()["by_key"]
    assert first.stats.labeled < 12 and done
    assert second.stats.labeled == 12 and second.stats.orders_cached == len(done)
    keys = server_keys(config, table)
    for key in done:
        assert after[keys[key]] == before[keys[key]], "a completed (pair, order) was sent again"
    with JudgeCache(cache_path) as cache:  # a third run sends nothing at all
        third = judge_battles(table, config, cache=cache)
    assert third.stats.http_requests == 0 and third.stats.labeled == 12


def test_duplicate_pairs_are_sent_once() -> None:
    table = pa.concat_tables([make_pairs(3), make_pairs(3)])
    with serve_in_thread(ServerSettings()) as server:
        result = judge_battles(table, fast_judge(server.base_url))
        assert server.stats()["total"] == 6
    assert result.stats.labeled == 6


def test_bad_key_aborts_without_leaking_it() -> None:
    secret = "sk-never-write-me-123"
    table = make_pairs(5)
    with serve_in_thread(ServerSettings(api_key="the-right-key")) as server:
        result = asyncio.run(ajudge_battles(table, fast_judge(server.base_url), api_key=secret))
    assert result.stats.stopped.startswith("aborted")
    assert result.stats.labeled == 0
    assert {f.reason for f in result.failures} <= {"http 401", "aborted"}
    assert all(secret not in f.detail + f.raw for f in result.failures)
    assert secret not in result.stats.stopped


# --- calibration and teachers --------------------------------------------------------------------------


def test_calibration_fixes_an_overconfident_biased_judge(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 600
    truth = rng.integers(0, 3, n)
    targets = np.eye(3)[truth]
    # An over-confident judge that is right 60% of the time and favours the first position.
    guess = np.where(rng.random(n) < 0.6, truth, rng.integers(0, 3, n))
    p_ab = np.full((n, 3), 0.01)
    p_ab[np.arange(n), guess] = 0.98
    p_ba = p_ab * np.array([1.5, 0.5, 1.0])
    p_ba /= p_ba.sum(axis=1, keepdims=True)
    cmap = fit_calibration(p_ab[:400], p_ba[:400], targets[:400])
    before = log_loss((p_ab[400:] + p_ba[400:]) / 2, targets[400:])
    after = log_loss(cmap.apply(p_ab[400:], p_ba[400:]), targets[400:])
    assert after < before - 0.5
    loaded = CalibrationMap.load(cmap.save(tmp_path / "c.json"))
    np.testing.assert_allclose(loaded.apply(p_ab[:5], p_ba[:5]), cmap.apply(p_ab[:5], p_ba[:5]))
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ArenaprefError, match="calibration map"):
        CalibrationMap.load(tmp_path / "bad.json")


class LongerWins:
    """A small real preference model: the longer answer wins, with a bias towards the first position."""

    def predict_proba(self, table: pa.Table) -> np.ndarray:
        la = np.array([len("".join(t or "" for t in r)) for r in table.column("response_a").to_pylist()])
        lb = np.array([len("".join(t or "" for t in r)) for r in table.column("response_b").to_pylist()])
        d = np.tanh((la - lb) / 50.0) + 0.2
        z = np.column_stack([d, -d, np.zeros_like(d)])
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def test_teacher_labels_are_swap_averaged() -> None:
    table = make_pairs(8)
    result = teacher_battles(table, LongerWins(), "longer")
    model = LongerWins()
    direct = model.predict_proba(table)
    swapped = model.predict_proba(swap_battles(table))[:, [1, 0, 2]]
    combined = np.column_stack([result.table.column(c).to_numpy() for c in ("p_a", "p_b", "p_tie")])
    np.testing.assert_allclose(combined, (direct + swapped) / 2)
    assert result.table.column("label_source")[0].as_py() == "teacher:longer"
    assert swap_battles(swap_battles(table)).equals(table)


def test_five_level_judge_with_samples() -> None:
    table = make_pairs(4)
    with serve_in_thread(ServerSettings()) as server:
        five = load_judge("five_level").with_overrides(base_url=server.base_url, api_key_env="")
        config = replace(five, client=fast_judge(server.base_url).client, n_samples=3)
        result = judge_battles(table, config)
        assert set(server.stats()["by_key"].values()) == {1}  # n=3 samples in one request
    assert result.stats.labeled == 4
    for triple in result.table.column("p_ab").to_pylist():
        assert sum(triple) == pytest.approx(1.0)
        assert all(abs(v * 12 - round(v * 12)) < 1e-9 for v in triple)  # means of 3 five-level verdicts


def test_unreachable_server_aborts_quickly() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = fast_judge(f"http://127.0.0.1:{port}/v1?key=in-url")
    result = judge_battles(make_pairs(3), config)
    assert (
        result.stats.stopped.startswith("aborted")
        and "cannot connect to http://127.0.0.1" in result.stats.stopped
    )
    assert "in-url" not in result.stats.stopped
    assert result.stats.labeled == 0 and len(result.failures) == 6
