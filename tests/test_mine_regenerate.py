"""Regeneration against the local OpenAI-compatible server: pairs, cache, resume and budget."""

from __future__ import annotations

from pathlib import Path

from arenapref.mine import MineSettings, mine_pairs
from arenapref.mine.regenerate import Regeneration
from arenapref.records import Conversation, Turn, conversations_table
from arenapref.testing.judge_server import ServerSettings, serve_in_thread
from arenapref.writers import write_parquet

REGEN = "regen-model"


def _source(tmp_path: Path) -> Path:
    def conv(cid: str, model: str, turns: list[tuple[str, str]]) -> Conversation:
        flat = [Turn(role, text) for q, a in turns for role, text in (("user", q), ("assistant", a))]
        return Conversation(cid, model, flat, language="English")

    convs = [
        conv("pair-1", "m1", [("What is a prime?", "A number with two divisors.")]),
        conv("pair-2", "m2", [("What is a prime?", "Only divisible by 1 and itself.")]),
        *(conv(f"single-{i}", "m1", [(f"Question number {i}?", f"Answer {i}.")]) for i in range(3)),
        conv("multi", "m2", [("Hello there", "Hi!"), ("Tell me more", "More.")]),
        conv("own", REGEN, [("Already answered by the regeneration model", "Yes.")]),
    ]
    return write_parquet(conversations_table(convs), tmp_path / "convs.parquet")


def _settings(base_url: str, cache: Path, **extra: object) -> Regeneration:
    return Regeneration(model=REGEN, base_url=base_url, api_key_env=None, cache_path=cache, **extra)  # type: ignore[arg-type]


def test_regeneration_pairs_cache_and_resume(tmp_path: Path) -> None:
    source = _source(tmp_path)
    cache = tmp_path / "regen.sqlite"
    with serve_in_thread(ServerSettings(seed=1)) as server:
        first = mine_pairs(
            [source], MineSettings(seed=3), regenerate=_settings(server.base_url, cache, max_requests=2)
        )
        assert server.stats(summary=True)["total"] == 2
        regen = first.funnel.regenerated
        # Three single-turn conversations and one of two turns: five turn requests in all.
        assert regen["single_model_groups"] == 4 and regen["multi_turn"] == 1 and regen["turns"] == 5
        assert regen["sent"] == 2 and regen["failed"] == 2 and regen["pairs"] == 2
        budget_rows = [r for r in first.dropped.to_pylist() if r["stage"] == "regenerate"]
        assert [r["reason"] for r in budget_rows] == ["regen_budget", "regen_budget"]

        resumed = mine_pairs([source], MineSettings(seed=3), regenerate=_settings(server.base_url, cache))
        assert server.stats(summary=True)["total"] == 5  # only the turns the budget stopped were sent
        assert resumed.funnel.regenerated["cached"] == 2 and resumed.funnel.regenerated["sent"] == 3

        again = mine_pairs([source], MineSettings(seed=3), regenerate=_settings(server.base_url, cache))
        assert server.stats(summary=True)["total"] == 5  # everything came from the cache
        assert again.funnel.regenerated["cached"] == 5
    assert again.pairs.equals(resumed.pairs)
    rows = resumed.pairs.to_pylist()
    assert len(rows) == 5  # one mined pair and four regenerated ones
    regenerated = [r for r in rows if r["source"] == "regenerated"]
    assert len(regenerated) == 4
    for r in regenerated:
        slot = "a" if r["model_a"] == REGEN else "b"
        other = "b" if slot == "a" else "a"
        assert r["provenance"][0 if slot == "a" else 1] == f"regenerated:{REGEN}"
        # One regenerated answer per user turn, each the server's own.
        assert len(r[f"response_{slot}"]) == len(r["prompt"]) == len(r[f"response_{other}"])
        assert all(r[f"response_{slot}"]) and r[f"response_{slot}"] != r[f"response_{other}"]
    multi = [r for r in regenerated if len(r["prompt"]) == 2]
    assert len(multi) == 1 and multi[0]["prompt"] == ["Hello there", "Tell me more"]
    assert {r["model_a"] if r["model_b"] == REGEN else r["model_b"] for r in multi} == {"m2"}
    funnel = resumed.funnel
    assert funnel.records_paired == 2 + 4
    assert sum(funnel.dropped.values()) + funnel.records_paired == funnel.total_in
