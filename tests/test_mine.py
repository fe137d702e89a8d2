"""Pair mining on tiny hand-built conversations: every drop reason, caps, max-uses, seeds and A/B slots."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet
import pytest

from arenapref.mine import MineResult, MineSettings, mine_pairs
from arenapref.mine.miner import pairing_settings
from arenapref.mine.pairing import apply_caps, match, max_pairs
from arenapref.records import Conversation, Turn, conversations_table
from arenapref.writers import write_parquet
from cli_helpers import run_cli as _cli


def conv(
    cid: str,
    model: str | None,
    prompt: str | list[str],
    answer: str | list[str | None] | None,
    **extra: object,
) -> Conversation:
    """A conversation alternating the given user turns and answers."""
    prompts = [prompt] if isinstance(prompt, str) else prompt
    answers: list[str | None] = [answer] if answer is None or isinstance(answer, str) else answer
    turns: list[Turn] = []
    for i, p in enumerate(prompts):
        turns.append(Turn("user", p))
        if i < len(answers):
            turns.append(Turn("assistant", answers[i]))
    return Conversation(cid, model, turns, language=str(extra.pop("language", "English")), **extra)  # type: ignore[arg-type]


def run(tmp_path: Path, convs: list[Conversation], **settings: object) -> MineResult:
    path = write_parquet(
        conversations_table(convs), tmp_path / f"convs-{len(list(tmp_path.iterdir()))}.parquet"
    )
    return mine_pairs([path], MineSettings(**settings), work_dir=tmp_path)  # type: ignore[arg-type]


def reasons(result: MineResult) -> dict[str, str]:
    """Record-level drop reason per conversation id."""
    rows = result.dropped.to_pylist()
    return {r["conversation_ids"][0]: r["reason"] for r in rows if r["stage"] == "record"}


def test_every_record_drop_reason_is_counted_and_written(tmp_path: Path) -> None:
    ok = [conv(f"ok-{m}", m, "Tell me a joke", f"joke by {m}") for m in ("m1", "m2")]
    bad = [
        conv("no-model", None, "Tell me a joke", "a joke"),
        Conversation("misaligned", "m3", [Turn("user", "Tell me a joke"), Turn("user", "now")]),
        conv("unanswered", "m3", ["Tell me a joke", "another"], ["one"]),
        conv("empty-prompt", "m3", "   ", "an answer"),
        conv("empty-answer", "m3", "Tell me a joke", "  "),
        conv("null-answer", "m3", "Tell me a joke", None),
        conv(
            "error",
            "m3",
            "Tell me a joke",
            "**NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.**",
        ),
        conv(
            "ratelimit", "m3", "Tell me a joke", "Rate limit reached for default-gpt-4 in organization org-x"
        ),
        conv("flagged", "m3", "Tell me a joke", "a rude joke", moderation_flagged=True),
        conv("redacted", "m3", "Tell me a joke", "a joke about NAME_1", redacted=True),
        conv("german", "m3", "Tell me a joke", "ein Witz", language="German"),
        conv("short", "m3", "Tell me a joke", "ha"),
        conv("long", "m3", "Tell me a joke", "x" * 500),
        conv("dup", "m3", "tell me a joke!", "joke by m1"),
        conv("near", "m3", "Tell me a joke", "JOKE   by m2"),
        conv("single", "m1", "What is 2+2?", "four"),
    ]
    result = run(tmp_path, ok + bad, languages=("english",), min_answer_chars=3, max_answer_chars=100)
    got = reasons(result)
    assert got == {
        "no-model": "missing_model",
        "misaligned": "misaligned_turns",
        "unanswered": "misaligned_turns",
        "empty-prompt": "empty_prompt",
        "empty-answer": "empty_answer",
        "null-answer": "empty_answer",
        "error": "error_text",
        "ratelimit": "error_text",
        "flagged": "moderation_flagged",
        "redacted": "redacted",
        "german": "language_not_allowed",
        "short": "answer_too_short",
        "long": "answer_too_long",
        "dup": "duplicate_record",
        "near": "near_identical_answer",
        "single": "single_model_group",
    }
    assert result.pairs.num_rows == 1
    assert sorted(result.pairs.column("provenance")[0].as_py()) == ["ok-m1", "ok-m2"]
    funnel = result.funnel
    assert sum(funnel.dropped.values()) + funnel.records_paired == funnel.total_in == len(ok + bad)
    assert funnel.dropped["error_text"] == 2 and funnel.dropped["misaligned_turns"] == 2


def test_unpaired_and_dominant_model(tmp_path: Path) -> None:
    # Four answers by m1 and one by m2: only one different-model pair exists.
    convs = [conv(f"a{i}", "m1", "Hi", f"hello {i}") for i in range(4)] + [conv("b", "m2", "Hi", "hey")]
    result = run(tmp_path, convs)
    assert result.pairs.num_rows == 1
    assert Counter(reasons(result).values()) == {"unpaired": 3}


def test_key_first_pairs_the_first_exchange_only(tmp_path: Path) -> None:
    convs = [
        conv("x", "m1", ["Write a poem", "shorter"], ["poem 1", "short 1"]),
        conv("y", "m2", ["Write a poem", "in French"], ["poem 2", "poème"]),
    ]
    assert run(tmp_path, convs, key="all").pairs.num_rows == 0
    pairs = run(tmp_path, convs, key="first").pairs
    assert pairs.num_rows == 1
    row = pairs.to_pylist()[0]
    assert row["prompt"] == ["Write a poem"]
    assert sorted([row["response_a"], row["response_b"]]) == [["poem 1"], ["poem 2"]]


def test_placeholder_names_group_together(tmp_path: Path) -> None:
    convs = [
        conv("x", "m1", "Write a poem for NAME_1", "Roses for you"),
        conv("y", "m2", "write a poem for  NAME_2!", "Violets for you"),
    ]
    assert run(tmp_path, convs).pairs.num_rows == 1


def test_prompt_cap_and_model_pair_cap(tmp_path: Path) -> None:
    models = [f"m{i}" for i in range(20)]
    one_prompt = [conv(f"c{m}", m, "Popular prompt", f"answer of {m}") for m in models]
    result = run(tmp_path, one_prompt, max_pairs_per_prompt=3)
    assert result.pairs.num_rows == 3
    assert result.funnel.pairs_formed == 10 and result.funnel.pairs_dropped == {"prompt_cap": 7}
    many = [conv(f"{p}-{m}", m, f"prompt {p}", f"{m} on {p}") for p in range(12) for m in ("x", "y")]
    capped = run(tmp_path, many, max_pairs_per_model_pair=5)
    assert capped.pairs.num_rows == 5 and capped.funnel.pairs_dropped == {"model_pair_cap": 7}
    assert capped.funnel.per_model_pair == {"x vs y": 5}
    assert run(tmp_path, one_prompt, max_pairs_per_prompt=None).pairs.num_rows == 10


def test_max_uses(tmp_path: Path) -> None:
    convs = [conv(f"c{m}", m, "Same prompt", f"answer {m}") for m in ("a", "b", "c")]
    assert run(tmp_path, convs).pairs.num_rows == 1
    pairs = run(tmp_path, convs, max_uses=2).pairs
    assert pairs.num_rows == 3
    uses = Counter(c for p in pairs.column("provenance").to_pylist() for c in p)
    assert max(uses.values()) == 2


def _many(n_prompts: int = 200) -> list[Conversation]:
    models = ["alpha", "beta", "gamma", "delta"]
    return [conv(f"{p}:{m}", m, f"question {p}", f"{m} says {p}") for p in range(n_prompts) for m in models]


def test_same_seed_same_pairs_and_other_seed_other_slots(tmp_path: Path) -> None:
    convs = _many()
    first = run(tmp_path, convs, seed=7).pairs
    again = run(tmp_path, convs, seed=7).pairs
    other = run(tmp_path, convs, seed=8).pairs
    assert first.equals(again)
    assert not first.select(["model_a", "model_b"]).equals(other.select(["model_a", "model_b"]))


def test_sides_are_randomised(tmp_path: Path) -> None:
    pairs = run(tmp_path, _many(300), seed=3).pairs
    rows = pairs.to_pylist()
    # Each pair's earlier conversation (by prompt number and model order) lands in slot A about half the time.
    order = {"alpha": 0, "beta": 1, "gamma": 2, "delta": 3}
    earlier_in_a = sum(order[r["model_a"]] < order[r["model_b"]] for r in rows)
    n = len(rows)
    assert n == 600
    assert abs(earlier_in_a - n / 2) < 4 * np.sqrt(n / 4)  # within 4 standard deviations
    slot_a = Counter(r["model_a"] for r in rows)
    assert set(slot_a) == set(order)


def test_sides_stay_consistent(tmp_path: Path) -> None:
    """Whatever slot a conversation lands in, its model and its answer travel together."""
    for row in run(tmp_path, _many(50), seed=5).pairs.to_pylist():
        assert row["response_a"][0].startswith(row["model_a"])
        assert row["response_b"][0].startswith(row["model_b"])
        assert row["model_a"] != row["model_b"]
        assert row["p_a"] is None and row["source"] == "mined"
        assert row["provenance"][0].endswith(row["model_a"])


@pytest.mark.parametrize("seed", range(30))
def test_matching_is_valid_and_maximal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    group = rng.integers(0, 6, n)
    model = rng.integers(0, int(rng.integers(1, 5)) + 1, n)
    pairs = match(group, model, pairing_settings(MineSettings(seed=seed)))
    assert (group[pairs[:, 0]] == group[pairs[:, 1]]).all()
    assert (model[pairs[:, 0]] != model[pairs[:, 1]]).all()
    assert len(set(pairs.ravel().tolist())) == pairs.size
    expected = 0
    for g in set(group.tolist()):
        counts = Counter(model[group == g].tolist())
        expected += max_pairs(sum(counts.values()), max(counts.values()))
    assert len(pairs) == expected


def test_max_pairs_is_the_true_maximum() -> None:
    """The closed form against brute force over every matching of small groups."""
    for sizes in itertools.product(range(4), repeat=3):
        items = [m for m, s in enumerate(sizes) for _ in range(s)]
        best = 0
        for perm in itertools.permutations(range(len(items))):
            pairs = [(perm[i], perm[i + 1]) for i in range(0, len(perm) - 1, 2)]
            good = 0
            for a, b in pairs:
                if items[a] != items[b]:
                    good += 1
            best = max(best, good)
            if best == len(items) // 2:
                break
        assert max_pairs(len(items), max(sizes)) == best, sizes


def test_caps_masks() -> None:
    pairs = np.array([[0, 1], [2, 3], [4, 5], [6, 7]])
    group = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    model = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    prompt_drop, model_drop = apply_caps(
        pairs, group, model, pairing_settings(MineSettings(max_pairs_per_prompt=2))
    )
    assert prompt_drop.sum() == 1 and not prompt_drop[3] and not model_drop.any()
    _, model_drop = apply_caps(
        pairs,
        group,
        model,
        pairing_settings(MineSettings(max_pairs_per_prompt=None, max_pairs_per_model_pair=1)),
    )
    assert model_drop.sum() == 3


def test_empty_input(tmp_path: Path) -> None:
    path = write_parquet(conversations_table([]), tmp_path / "empty.parquet")
    result = mine_pairs([path])
    assert result.pairs.num_rows == 0 and result.funnel.total_in == 0
    assert isinstance(result.dropped, pa.Table)


def test_near_groups_merge_near_duplicate_prompts(tmp_path: Path) -> None:
    convs = [
        conv("x", "m1", "Write a short poem about the sea and the wind at night", "Waves..."),
        conv("y", "m2", "Write a short poem about the sea and wind at night", "Gusts..."),
    ]
    assert run(tmp_path, convs).pairs.num_rows == 0
    pairs = run(tmp_path, convs, near=True).pairs
    assert pairs.num_rows == 1


def test_cli_mistakes_are_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_parquet(conversations_table(_many(3)), tmp_path / "c.parquet")
    code, _, err = _cli(["mine", str(path), "--out", str(tmp_path / "x.txt")], capsys)
    assert code == 1 and "cannot tell the output format" in err and "Traceback" not in err
    code, _, err = _cli(["mine", str(path), "--out", str(tmp_path / "x.csv"), "--max-uses", "0"], capsys)
    assert code == 1 and "--max-uses" in err
    code, _, err = _cli(["mine", str(tmp_path / "missing"), "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 1 and "no such file" in err
    code, _, err = _cli(
        ["mine", str(path), "--out", str(tmp_path / "x.csv"), "--regenerate-model", "m"], capsys
    )
    assert code == 1 and "--base-url" in err


def test_cli_writes_pairs_funnel_and_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_parquet(conversations_table(_many(20)), tmp_path / "c.parquet")
    out = tmp_path / "pairs.parquet"
    code, stdout, _ = _cli(
        ["mine", str(path), "--out", str(out), "--dropped", str(tmp_path / "d.parquet")], capsys
    )
    assert code == 0 and "Mining funnel" in stdout and "pairs out" in stdout
    assert pa.parquet.read_table(out).num_rows == 40
    assert (tmp_path / "pairs.funnel.md").read_text().startswith("# Mining funnel")
    assert pa.parquet.read_table(tmp_path / "d.parquet").num_rows == 0
