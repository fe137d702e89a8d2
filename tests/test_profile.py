"""The dataset profile: hand-checkable numbers on small tables, the real LMSYS sample, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from arenapref.cli import main
from arenapref.errors import ArenaprefError
from arenapref.profile import (
    PAPER_LMSYS,
    Profile,
    plot_profiles,
    profile_batches,
    profile_paths,
    profile_source,
    profile_table,
    render_details,
    render_table,
)
from arenapref.profile.lengths import EXACT_BELOW, LengthAccumulator
from arenapref.readers import open_source
from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table

# cl100k_base token counts of the texts used below (o200k_base differs only on the Chinese one: 5).
TOKENS = {
    "hello": 1,
    "hello world": 2,
    "one two three": 3,
    "Hi": 1,
    "What is the capital of France?": 7,
    "Paris.": 2,
    "你好世界 这是测试": 9,
}


def conversations() -> list[Conversation]:
    u, a = "user", "assistant"
    return [
        Conversation(
            "c1",
            "m1",
            [Turn(u, "hello world"), Turn(a, "one two three"), Turn(u, "hello"), Turn(a, None)],
            language="English",
            user_id="u1",
        ),
        Conversation(
            "c2", "m2", [Turn(u, "你好世界 这是测试"), Turn(a, "Paris.")], language="Chinese", user_id="u2"
        ),
        Conversation(
            "c3",
            "m1",
            [Turn("system", "Hi"), Turn(u, "What is the capital of France?"), Turn(a, "Paris.")],
            language="English",
            user_id="u1",
        ),
        Conversation("c4", None, [Turn(u, None), Turn(a, "hello")]),
    ]


def battles() -> list[Battle]:
    return [
        Battle("b1", ["hello world"], ["hello"], ["one two three"], "x", "y", (1.0, 0.0, 0.0)),
        Battle("b2", ["Hi"], ["Paris."], ["Paris."], "x", "z", (0.0, 0.0, 1.0)),
        Battle("b3", ["hello"], ["hello"], ["hello world"], "y", "x", (0.5, 0.25, 0.25)),
        Battle("b4", [None, "Hi"], [None], [], "x", "y", None),
    ]


def write_native(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def write_lmsys_layout(folder: Path) -> Path:
    """Raw LMSYS-Chat-1M shard layout (conversation/turn columns), one row the reader must reject."""
    folder.mkdir()
    msg = pa.struct([("content", pa.string()), ("role", pa.string())])
    table = pa.table(
        {
            "conversation_id": ["a" * 32, "b" * 32, "c" * 32],
            "model": ["vicuna-13b", "koala-13b", "vicuna-13b"],
            "conversation": pa.array(
                [
                    [{"role": "user", "content": "hello world"}, {"role": "assistant", "content": "Paris."}],
                    [
                        {"role": "user", "content": "Hi"},
                        {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "one two three"},
                        {"role": "assistant", "content": "hello world"},
                    ],
                    [],
                ],
                pa.list_(msg),
            ),
            "turn": [1, 2, 0],
            "language": ["English", "Portuguese", "English"],
            "redacted": [False, False, False],
        }
    )
    pq.write_table(table, folder / "train-00000-of-00001.parquet")
    return folder


def test_conversation_profile_hand_checked(tmp_path: Path) -> None:
    path = write_native(conversations_table(conversations()), tmp_path / "convs.parquet")
    p = profile_source(open_source(path))
    assert (p.kind, p.format, p.rows, p.models, p.users, p.languages) == (
        "conversations",
        "native-conversations",
        4,
        2,
        2,
        2,
    )
    assert p.user_turns == 5 and p.turns_per_sample == pytest.approx(1.25)
    # Prompts: 2, 1, 9, 7 and a null (0); responses: 3, null (0), 2, 2, 1. The system turn is neither.
    assert (p.prompt.messages, p.prompt.tokens) == (5, 19) and p.prompt.mean == pytest.approx(3.8)
    assert (p.prompt.p50, p.prompt.p90, p.prompt.p99, p.prompt.max) == (2, 9, 9, 9)
    assert (p.response.messages, p.response.tokens) == (5, 8) and p.response.mean == pytest.approx(1.6)
    by_model = {m.model: m for m in p.per_model}
    assert [m.model for m in p.per_model] == ["m1", "m2", "(unknown)"]
    assert by_model["m1"].rows == 2 and by_model["m1"].prompt.mean == pytest.approx(10 / 3)
    assert by_model["m1"].response.mean == pytest.approx(5 / 3) and by_model["m1"].response.max == 3
    assert (by_model["m2"].prompt.tokens, by_model["m2"].response.tokens) == (9, 2)
    assert (by_model["(unknown)"].prompt.tokens, by_model["(unknown)"].response.tokens) == (0, 1)
    assert p.per_language == {"English": 2, "Chinese": 1, "(unknown)": 1}
    assert p.label_mix is None and by_model["m1"].win_rate is None
    assert p.rejected == {} and p.rejects_summary == "no rejected rows"


def test_tokenizer_is_selectable(tmp_path: Path) -> None:
    table = conversations_table(conversations())
    assert profile_table(table, tokenizer="cl100k_base").prompt.tokens == 19
    assert profile_table(table, tokenizer="o200k_base").prompt.tokens == 19 - 9 + 5
    with pytest.raises(ArenaprefError, match="unknown tokenizer"):
        profile_table(table, tokenizer="gpt-17")


def test_battle_profile_label_mix_and_win_rates(tmp_path: Path) -> None:
    path = write_native(battles_table(battles()), tmp_path / "battles.parquet")
    p = profile_source(open_source(path))
    assert (p.kind, p.rows, p.models, p.users, p.languages) == ("battles", 4, 3, None, None)
    assert p.user_turns == 5 and p.prompt.tokens == 2 + 1 + 1 + 0 + 1
    # Responses: b1 1+3, b2 2+2, b3 1+2, b4 a null answer (0) and an empty list (no message).
    assert (p.response.messages, p.response.tokens) == (7, 11)
    mix = p.label_mix
    assert mix is not None and (mix.labeled, mix.unlabeled) == (3, 1)
    assert [mix.a, mix.b, mix.tie] == pytest.approx([0.5, 0.25 / 3, 1.25 / 3])
    by_model = {m.model: m for m in p.per_model}
    assert {k: v.rows for k, v in by_model.items()} == {"x": 4, "y": 3, "z": 1}
    x, y, z = by_model["x"], by_model["y"], by_model["z"]
    assert (x.games, x.wins, x.losses, x.ties) == (3, 1.25, 0.5, 1.25)
    assert x.win_rate == pytest.approx((1.25 + 1.25 / 2) / 3)
    assert (y.games, y.wins, y.losses, y.ties) == (2, 0.5, 1.25, 0.25)
    assert (z.games, z.win_rate) == (1, 0.5)
    # A battle's prompt counts once overall but in both models' prompt distributions.
    assert x.prompt.messages == 5 and z.prompt.messages == 1
    assert x.response.tokens == 1 + 2 + 2 + 0 and z.response.tokens == 2


def test_lmsys_layout_with_reader_rejects_and_paper_column(tmp_path: Path) -> None:
    source = open_source(write_lmsys_layout(tmp_path / "lmsys"))
    p = profile_source(source)
    assert (p.format, p.rows, p.models, p.languages, p.users, p.user_turns) == ("lmsys", 2, 2, 2, None, 3)
    assert (p.prompt.tokens, p.response.tokens) == (2 + 1 + 3, 2 + 1 + 2)
    assert sum(p.rejected.values()) == 1 and "rejected" in p.rejects_summary
    console = Console(width=200, record=True)
    console.print(render_table([p]))
    text = console.export_text()
    assert "paper (LMSYS-Chat-1M)" in text and "210,479" in text and "214.5" in text
    assert "1 rejected" in text


def test_paper_column_only_with_an_lmsys_source() -> None:
    console = Console(width=200, record=True)
    console.print(render_table([profile_table(battles_table(battles()), name="b")]))
    assert "paper" not in console.export_text()
    assert PAPER_LMSYS["rows"] == 1_000_000 and PAPER_LMSYS["tokens_per_prompt"] == 69.5


def test_streaming_in_small_batches_matches_one_batch() -> None:
    """Vocabularies and counters merge across batches of any size."""
    table = pa.concat_tables([conversations_table(conversations())] * 5)
    whole = profile_table(table)
    for p in (
        profile_batches(table.to_batches(max_chunksize=3)),
        profile_batches(table.to_batches(max_chunksize=7)),
    ):
        assert (p.rows, p.user_turns, p.prompt, p.response) == (20, 25, whole.prompt, whole.response)
        assert p.per_model == whole.per_model and p.per_language == whole.per_language


def test_empty_stream_profiles_to_zeros() -> None:
    p = profile_batches(iter([]), kind="battles")
    assert (p.rows, p.models, p.turns_per_sample, p.prompt.mean, p.per_model) == (0, 0, None, None, [])
    assert p.label_mix is not None and p.label_mix.a is None


@pytest.mark.parametrize("seed", [0, 1])
def test_percentiles_exact_below_cutoff_and_close_above(seed: int) -> None:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 3000, 5000)
    large = rng.integers(EXACT_BELOW, 200_000, 500)
    for values, tolerance in ((small, 0.0), (np.concatenate([small[:100], large]), 0.011)):
        acc = LengthAccumulator()
        acc.add(np.zeros(len(values), np.int64), values.astype(np.int64), 1)
        stats = acc.stats(0)
        expected = np.percentile(values, [50, 90, 99], method="inverted_cdf")
        got = np.array([stats.p50, stats.p90, stats.p99])
        assert np.all(np.abs(got - expected) <= tolerance * expected)
        assert stats.max == values.max() and stats.tokens == values.sum()


def test_real_lmsys_sample_counts(shared_data: Path) -> None:
    (p,) = profile_paths([shared_data / "lmsys_chat_1m_sample"])
    assert (p.format, p.rows, p.user_turns, p.languages) == ("lmsys", 191, 1001, 1)
    assert p.per_model[0].model == "vicuna-13b" and p.per_model[0].rows == 107
    assert p.response.messages == 1001 and p.rejected == {}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, uncollapsed (the tests read the table's columns)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_real_sample_reports_191_conversations_and_1001_user_turns(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["profile", str(shared_data / "lmsys_chat_1m_sample")], capsys)
    assert code == 0
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in out.splitlines()
        if line.count("│") > 3
    }
    assert rows["conversations / battles"] == "191" and rows["user turns"] == "1,001"


def test_cli_writes_json_and_chart_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    convs = write_native(conversations_table(conversations()), tmp_path / "convs.parquet")
    fights = write_native(battles_table(battles()), tmp_path / "battles.parquet")
    lmsys = write_lmsys_layout(tmp_path / "lmsys")
    out_json, out_png = tmp_path / "out" / "profile.json", tmp_path / "out" / "profile.png"
    args = ["profile", str(convs), str(fights), str(lmsys), "--out", str(out_json), "--chart", str(out_png)]
    code, out, err = run_cli([*args, "--rejects", str(tmp_path / "rejects.jsonl")], capsys)
    assert code == 0, err
    assert "convs.parquet" in out and "battles.parquet" in out and "paper (LMSYS-Chat-1M)" in out
    assert "win rate" in out and "1 rejected" in err
    doc = json.loads(out_json.read_text())
    assert [s["rows"] for s in doc["sources"]] == [4, 4, 2]
    assert doc["sources"][1]["label_mix"]["labeled"] == 3 and doc["paper_lmsys_chat_1m"]["users"] == 210_479
    assert doc["sources"][0]["per_model"][0]["prompt"]["p50"] is not None
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out_png.stat().st_size > 10_000
    rejected = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert len(rejected) == 1 and rejected[0]["row"] == 3


def test_cli_missing_path_and_bad_tokenizer_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.parquet"
    code, _, err = run_cli(["profile", str(missing)], capsys)
    # The error console may wrap long lines; the message itself is one sentence.
    assert code == 1 and " ".join(err.split()) == f"error: {missing}: no such file or folder"
    convs = write_native(conversations_table(conversations()), tmp_path / "convs.parquet")
    code, _, err = run_cli(["profile", str(convs), "--tokenizer", "nope"], capsys)
    shown = " ".join(err.split())
    assert code == 1 and "--tokenizer must be one of 'cl100k_base'" in shown and "not 'nope'" in shown
    assert "Traceback" not in err


def test_python_api_renders_and_plots(tmp_path: Path) -> None:
    profiles: list[Profile] = [profile_table(conversations_table(conversations()), name="c")]
    profiles.append(profile_table(battles_table(battles()), name="b"))
    assert len(render_details(profiles[0], top=1)) == 2  # models and languages
    assert render_details(profiles[1])[0].row_count == 3
    assert plot_profiles(profiles, tmp_path / "p.png").stat().st_size > 10_000
    assert json.loads(json.dumps(profiles[1].to_dict()))["per_model"][0]["games"] == 3
