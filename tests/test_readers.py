"""Readers on generated inputs (including malformed ones) and on the real samples in ../shared/data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arenapref.errors import InputFormatError
from arenapref.readers import detect_format, open_source
from arenapref.readers.jsoncells import CellError, decode_turns
from arenapref.records import Battle, battles_table, first_user_turn, user_turns
from arenapref.rejects import RejectLog
from arenapref.writers import normalise_probabilities, write_competition_csv, write_submission_csv

HEADER = [
    "id",
    "model_a",
    "model_b",
    "prompt",
    "response_a",
    "response_b",
    *("winner_model_a", "winner_model_b", "winner_tie"),
]


def _write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


# --- competition CSV ---------------------------------------------------------------------------


def test_competition_reads_null_turns_and_multi_turn(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "train.csv",
        [
            [
                "1",
                "gpt-4",
                "vicuna-13b",
                '["hi", "and then?"]',
                '["a1", "a2"]',
                '["b1", null]',
                "0",
                "1",
                "0",
            ],
            ["2", "x", "y", '["q"]', "[null]", "[null]", "0", "0", "1"],
        ],
    )
    src = open_source(path)
    assert src.format == "competition"
    t = src.read_table()
    assert t.column("prompt").to_pylist() == [["hi", "and then?"], ["q"]]
    assert t.column("response_b").to_pylist() == [["b1", None], [None]]
    assert t.column("p_b").to_pylist() == [1.0, 0.0]
    assert t.column("p_tie").to_pylist() == [0.0, 1.0]
    assert len(src.rejects) == 0


def test_competition_recovers_and_rejects(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "train.csv",
        [
            ["1", "m", "n", '["lone \\ud83d surrogate"]', '["fine"]', '["ok"]', "1", "0", "0"],
            ["2", "m", "n", '["stray \\q escape"]', '["fine"]', '["ok"]', "1", "0", "0"],
            ["3", "m", "n", '["truncated', '["fine"]', '["ok"]', "1", "0", "0"],
            ["4", "m", "n", '["q"]', '["fine"]', '["ok"]', "1", "1", "0"],
            ["5", "m", "n", '["q"]', '["fine"]'],
            ["6", "m", "n", '"just a string"', '["fine"]', '["ok"]', "0", "0", "1"],
            ["7", "m", "n", '["paired \\ud83d\\ude00 emoji"]', '["fine"]', '["ok"]', "0", "0", "1"],
        ],
    )
    src = open_source(path)
    t = src.read_table()
    assert t.column("id").to_pylist() == ["1", "2", "7"]
    assert t.column("prompt").to_pylist()[0] == ["lone \ufffd surrogate"]
    assert t.column("prompt").to_pylist()[1] == ["stray \\q escape"]
    assert t.column("prompt").to_pylist()[2] == ["paired \U0001f600 emoji"]
    assert src.rejects.counts == {"unreadable cell": 2, "invalid label": 1, "wrong number of cells": 1}
    assert src.rejects.recovered == {"prompt: lone surrogate": 1, "prompt: stray escape": 1}
    rows = {r.row: r for r in src.rejects.rejects}
    assert set(rows) == {3, 4, 5, 6}
    assert "not one-hot" in rows[4].detail and rows[4].file == str(path)
    out = src.rejects.write(tmp_path / "rejects.jsonl")
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert {w["row"] for w in written} == {3, 4, 5, 6}


def test_competition_test_and_submission_layouts(tmp_path: Path) -> None:
    test = _write_csv(
        tmp_path / "test.csv",
        [["9", '["q"]', '["a"]', '["b"]']],
        ["id", "prompt", "response_a", "response_b"],
    )
    t = open_source(test).read_table()
    assert t.column("p_a").null_count == 1 and t.column("model_a").null_count == 1
    sub = _write_csv(
        tmp_path / "sample_submission.csv",
        [["9", "0.2", "0.3", "0.5"], ["10", "0.9", "0.9", "0.9"]],
        ["id", "winner_model_a", "winner_model_b", "winner_tie"],
    )
    src = open_source(sub)
    assert src.format == "submission"
    s = src.read_table()
    assert s.column("p_tie").to_pylist() == [0.5]
    assert src.rejects.counts == {"invalid label": 1}


def test_competition_wrong_file_is_one_clear_error(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "x.csv", [["1", "2"]], ["id", "prompt"])
    with pytest.raises(InputFormatError, match="missing column"):
        open_source(path, format="competition").read_table()


_cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.one_of(
            _cell_text, st.from_regex(r'\["[^"]{0,10}(\\[a-z0-9]{1,5})?[^"]{0,5}"?\]?', fullmatch=True)
        ),
        min_size=1,
        max_size=8,
    )
)
@pytest.mark.slow
def test_csv_reader_never_crashes_and_loses_nothing(tmp_path: Path, cells: list[str]) -> None:
    """Whatever lands in the prompt cells, every row is either read or rejected with a reason."""
    rows = [[str(i), "m", "n", cell, '["a"]', '["b"]', "1", "0", "0"] for i, cell in enumerate(cells)]
    path = _write_csv(tmp_path / "fuzz.csv", rows)
    src = open_source(path, format="competition")
    t = src.read_table()
    assert t.num_rows + len(src.rejects) == len(cells)
    for turns in t.column("prompt").to_pylist():
        for turn in turns:
            assert turn is None or isinstance(turn, str)
            if turn is not None:
                turn.encode("utf-8")  # stored text is always valid UTF-8


@settings(max_examples=200, deadline=None)
@given(turns=st.lists(st.one_of(st.none(), _cell_text), min_size=1, max_size=5))
def test_valid_json_cells_round_trip(turns: list[str | None]) -> None:
    decoded, repair = decode_turns(json.dumps(turns))
    assert decoded == turns and repair is None


def test_decode_rejects_non_lists() -> None:
    for cell in ["", "{}", '{"a": 1}', "[[1]]"]:
        with pytest.raises(CellError):
            decode_turns(cell)


# --- LMSYS ---------------------------------------------------------------------------------------


def _lmsys_shard(path: Path, with_moderation: bool = True) -> Path:
    msg = pa.struct([("content", pa.string()), ("role", pa.string())])
    cats = pa.struct([("harassment", pa.bool_()), ("violence", pa.bool_())])
    scores = pa.struct([("harassment", pa.float64()), ("violence", pa.float64())])
    mod = pa.struct([("categories", cats), ("category_scores", scores), ("flagged", pa.bool_())])

    def m(flag: bool, viol: bool = False) -> dict[str, object]:
        return {
            "categories": {"harassment": False, "violence": viol},
            "category_scores": {"harassment": 0.0, "violence": 0.9 if viol else 0.0},
            "flagged": flag,
        }

    data: dict[str, list[object]] = {
        "conversation_id": ["a" * 32, "b" * 32, "", "c" * 32, "d" * 32],
        "model": ["vicuna-13b", "koala-13b", "x", "y", "z"],
        "conversation": [
            [{"content": "Hi NAME_1", "role": "user"}, {"content": "Hello", "role": "assistant"}],
            [
                {"content": "q1", "role": "user"},
                {"content": "a1", "role": "assistant"},
                {"content": "q2", "role": "user"},
                {"content": "a2", "role": "assistant"},
            ],
            [{"content": "no id", "role": "user"}],
            [],
            [{"content": "bad role", "role": "robot"}],
        ],
        "turn": [1, 2, 1, 0, 1],
        "language": ["English", "Portuguese", "English", "English", "English"],
        "redacted": [True, False, False, False, False],
    }
    fields = [
        ("conversation_id", pa.string()),
        ("model", pa.string()),
        ("conversation", pa.list_(msg)),
        ("turn", pa.int64()),
        ("language", pa.string()),
        ("redacted", pa.bool_()),
    ]
    if with_moderation:
        data["openai_moderation"] = [[m(False), m(True, True)], [m(False)] * 4, [m(False)], [], [m(False)]]
        fields.append(("openai_moderation", pa.list_(mod)))
    pq.write_table(pa.table(data, schema=pa.schema(fields)), path)
    return path


def test_lmsys_parquet_folder(tmp_path: Path) -> None:
    folder = tmp_path / "lmsys"
    folder.mkdir()
    _lmsys_shard(folder / "train-00000.parquet")
    _lmsys_shard(folder / "train-00001.parquet", with_moderation=False)
    src = open_source(folder)
    assert src.format == "lmsys" and src.kind == "conversations"
    t = src.read_table()
    assert t.num_rows == 4  # two good rows per shard
    assert t.column("n_user_turns").to_pylist() == [1, 2, 1, 2]
    assert t.column("moderation_flagged").to_pylist() == [True, False, None, None]
    assert t.column("moderation_categories").to_pylist()[0] == ["violence"]
    assert t.column("redacted").to_pylist() == [True, False, True, False]
    assert t.column("user_id").null_count == 4
    assert src.rejects.counts == {
        "missing conversation_id": 2,
        "empty or missing conversation": 2,
        "message role not one of user, assistant, system": 2,
    }
    assert {r.row for r in src.rejects.rejects} == {3, 4, 5}
    assert user_turns(t).to_pylist()[1] == ["q1", "q2"]
    assert first_user_turn(t).to_pylist() == ["Hi NAME_1", "q1", "Hi NAME_1", "q1"]


def test_lmsys_jsonl_with_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    good = {"conversation_id": "e" * 32, "model": "m", "conversation": [{"role": "user", "content": "x"}]}
    path.write_text(
        json.dumps(good)
        + "\n{not json\n"
        + json.dumps({"conversation_id": "f", "conversation": "nope"})
        + "\n"
    )
    src = open_source(path)
    assert src.format == "lmsys"
    t = src.read_table()
    assert t.num_rows == 1 and t.column("language").to_pylist() == [None]
    assert src.rejects.counts == {"not a JSON object": 1, "empty or missing conversation": 1}


def test_garbage_parquet_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InputFormatError, match="not a readable Parquet file"):
        open_source(path)


# --- Arena 33k, FastChat, pairwise -------------------------------------------------------------


def test_arena_votes_map_both_ties(tmp_path: Path) -> None:
    def conv(q: str, a: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": q}, {"role": "assistant", "content": a}]

    recs = [
        {
            "question_id": "1",
            "model_a": "a",
            "model_b": "b",
            "winner": "tie (bothbad)",
            "conversation_a": conv("q", "x"),
            "conversation_b": conv("q", "y"),
        },
        {
            "question_id": "2",
            "model_a": "a",
            "model_b": "b",
            "winner": "model_a",
            "conversation_a": conv("q2", "x"),
            "conversation_b": conv("q2", "y"),
        },
        {
            "question_id": "3",
            "model_a": "a",
            "model_b": "b",
            "winner": "draw",
            "conversation_a": conv("q", "x"),
            "conversation_b": conv("q", "y"),
        },
    ]
    path = tmp_path / "clean_battle.json"
    path.write_text(json.dumps(recs))
    src = open_source(path)
    assert src.format == "arena"
    t = src.read_table()
    assert t.column("p_tie").to_pylist() == [1.0, 0.0]
    assert t.column("response_b").to_pylist() == [["y"], ["y"]]
    assert src.rejects.counts == {
        "winner 'draw' is not one of model_a, model_b, tie, tie (bothbad), both_bad": 1
    }


def test_fastchat_folder(tmp_path: Path) -> None:
    (tmp_path / "model_answer").mkdir()
    (tmp_path / "question.jsonl").write_text(json.dumps({"question_id": "q1", "turns": ["a?", "b?"]}) + "\n")
    answers = [
        {"question_id": "q1", "model_id": "m1", "choices": [{"index": 0, "turns": ["A1", "A2"]}]},
        {"question_id": "zz", "model_id": "m1", "choices": [{"index": 0, "turns": ["x"]}]},
    ]
    (tmp_path / "model_answer" / "m1.jsonl").write_text("\n".join(json.dumps(a) for a in answers))
    src = open_source(tmp_path)
    assert src.format == "fastchat"
    t = src.read_table()
    assert t.column("conversation_id").to_pylist() == ["q1:m1"]
    assert [x["role"] for x in t.column("turns").to_pylist()[0]] == ["user", "assistant", "user", "assistant"]
    assert src.rejects.counts == {"answer for a question_id not in question.jsonl": 1}


def test_pairwise_mapping_and_soft_labels(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    recs = [
        {"q": "x", "left": "1", "right": "2", "pref": 1.25},
        {"q": "y", "left": "1", "right": "2", "pref": "tie"},
        {"q": "z", "left": "1", "right": "2", "pref": 7},
    ]
    path.write_text("\n".join(json.dumps(r) for r in recs))
    src = open_source(path, mapping={"prompt": "q", "a": "left", "b": "right", "label": "pref"})
    t = src.read_table()
    assert t.column("p_a").to_pylist() == [0.75, 0.0]
    assert t.column("p_tie").to_pylist() == [0.0, 1.0]
    assert src.rejects.counts == {"unreadable preference": 1}
    with pytest.raises(InputFormatError, match="match no known layout; recognised layouts: lmsys, "):
        open_source(path).read_table()


# --- writers ----------------------------------------------------------------------------------


def test_competition_csv_round_trip(tmp_path: Path) -> None:
    battles = [
        Battle(
            "1", ["q", 'with "quotes"\nand newline'], ["a", None], ["b", "c"], "m1", "m2", (1.0, 0.0, 0.0)
        ),
        Battle("2", ["q"], [None], ["b"], None, None, None),
        Battle("3", ["q"], ["é"], ["ü"], "m1", "m2", (0.2, 0.3, 0.5)),
    ]
    table = battles_table(battles)
    path = write_competition_csv(table, tmp_path / "out.csv")
    src = open_source(path)
    back = src.read_table()
    assert len(src.rejects) == 0
    for col in ("id", "prompt", "response_a", "response_b", "model_a", "p_a", "p_b", "p_tie"):
        assert back.column(col).to_pylist() == table.column(col).to_pylist(), col


def test_submission_writer_clips_and_sums(tmp_path: Path) -> None:
    probs = np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    path = write_submission_csv(["a", "b"], probs, tmp_path / "sub.csv")
    t = open_source(path).read_table()
    assert t.column("id").to_pylist() == ["a", "b"]
    total = pc.add(pc.add(t.column("p_a"), t.column("p_b")), t.column("p_tie")).to_pylist()
    assert all(abs(x - 1) < 1e-5 for x in total)
    assert min(t.column("p_b").to_pylist()) > 0
    assert normalise_probabilities(probs).min() > 0


# --- real samples ------------------------------------------------------------------------------


def test_real_lmsys_sample(shared_data: Path) -> None:
    src = open_source(shared_data / "lmsys_chat_1m_sample")
    t = src.read_table()
    assert t.num_rows == 191 and len(src.rejects) == 0
    assert pc.sum(t.column("n_user_turns")).as_py() == 1001
    assert sum(len(x) for x in user_turns(t).to_pylist()) == 1001


def test_real_arena_answers_and_alpacafarm(shared_data: Path) -> None:
    fc = open_source(shared_data / "arena_prompts_1135")
    t = fc.read_table()
    assert t.num_rows == 5 * 478 and len(fc.rejects) == 0
    assert set(t.column("model").to_pylist()) == {
        "gpt-4",
        "gpt-3.5-turbo",
        "claude-v1",
        "vicuna-13b-v1.5",
        "Llama-2-70b-chat",
    }
    alp = open_source(shared_data / "alpacafarm_gpt4_648" / "alpacafarm_gpt4_b1_annotations_seed0.json")
    a = alp.read_table()
    assert a.num_rows == 648 and len(alp.rejects) == 0
    assert pc.sum(a.column("p_a")).as_py() == 352 and pc.sum(a.column("p_b")).as_py() == 296
    votes = open_source(shared_data / "arena_prompts_1135" / "arena_battles_1135.jsonl")
    v = votes.read_table()
    assert v.num_rows == 1135 and pc.sum(v.column("p_tie")).as_py() == 106 + 254


def test_detect_format_names_the_problem(tmp_path: Path) -> None:
    weird = tmp_path / "data.xlsx"
    weird.write_bytes(b"PK")
    with pytest.raises(InputFormatError, match="--format"):
        detect_format(weird)


def test_single_lmsys_shard_and_binary_jsonl(tmp_path: Path) -> None:
    shard = _lmsys_shard(tmp_path / "train-00000.parquet")
    src = open_source(shard, format="lmsys")
    assert src.read_table().num_rows == 2
    binary = tmp_path / "dump.jsonl"
    binary.write_bytes(b"\x00\x01garbage\n" * 60)
    with pytest.raises(InputFormatError, match="not JSON lines"):
        open_source(binary, format="lmsys").read_table()


def test_reject_logs_merge_counts_and_recoveries(tmp_path: Path) -> None:
    a, b = RejectLog(), RejectLog()
    a.add("x.csv", 1, "bad")
    b.add("y.csv", 2, "bad")
    b.add("y.csv", 3, "worse")
    b.recover("lone surrogate")
    a.extend(b)
    assert a.counts == {"bad": 2, "worse": 1} and a.recovered == {"lone surrogate": 1}
    assert [r.file for r in a.rejects] == ["x.csv", "y.csv", "y.csv"]
