"""Conformance of every real layout in ../shared/data: text cells hold text, and the guard sees it.

A reader that stores a turn as the JSON text of its message object (``'[{"content": "..."}]'``) makes
every comparison on that source silently wrong: no verbatim copy of its prompts can ever equal it, so the
leakage guard passes test prompts. Each real input is read here and checked three ways: no text cell holds
a JSON or Python representation of message objects, turn counts match the raw file, and a verbatim copy of
some of its prompts in a protect file is caught by check-leakage, compare and (for conversation sources
with several models per prompt) mine --exclude.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from arenapref.readers import Source, open_source
from arenapref.records import user_turns
from arenapref.testing.layouts import LAYOUTS, records, write
from cli_helpers import run_cli

# Every data input in ../shared/data that holds text, as a user would point at it (arena_votes_10k holds
# votes and categories only, and PandaLM's two judge files verdicts only).
REAL_INPUTS = [
    "alpacafarm_gpt4_648/alpacafarm_gpt4_b1_annotations_seed0.json",
    "arena_hard_34_models",
    "arena_hard_34_models/question.jsonl",
    "arena_prompts_1135",
    "arena_prompts_1135/arena_battles_1135.jsonl",
    "competition_train_999/train_999.csv",
    "lmsys_chat_1m_sample/lmsys_1000.jsonl",
    "pandalm_human_999/testset-v1.json",
]
# Conversation sources holding several models' answers to one prompt: mine can pair them.
MINABLE = ["arena_hard_34_models", "arena_prompts_1135"]
# The start of a serialised message object or part list, in JSON or Python repr.
STRUCTURED = re.compile(r"""^\s*\[?\s*\{\s*["'](role|content|text|type|token_len)["']\s*:""")


def _texts(table: pa.Table) -> list[str]:
    """Every text cell of a battles or conversations table: prompts, answers, every turn."""
    if "turns" in table.column_names:
        flat = pc.list_flatten(table.column("turns"))
        values = pc.struct_field(flat, "content").to_pylist()
    else:
        values = []
        for col in ("prompt", "response_a", "response_b"):
            values += pc.list_flatten(table.column(col)).to_pylist()
    return [v for v in values if isinstance(v, str)]


def _planted_prompts(table: pa.Table, n: int = 3) -> list[list[str]]:
    """The user turns of ``n`` records whose first turn is long enough for every guard rule."""
    seen: list[list[str]] = []
    for turns in user_turns(table).to_pylist():
        first = turns[0] if turns else None
        if STRUCTURED.match(first or ""):
            continue  # a reader fault the structure test names; a copy of it would prove nothing
        if first and len(first.strip()) >= 64 and all(first != p[0] for p in seen):
            seen.append([t or "" for t in turns])
        if len(seen) == n:
            break
    assert len(seen) == n, "the source has too few prompts to plant"
    return seen


def _write_protect(path: Path, prompts: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "prompt", "response_a", "response_b"])
        for i, p in enumerate(prompts):
            w.writerow([f"leak{i}", json.dumps(p), json.dumps(["a"] * len(p)), json.dumps(["b"] * len(p))])
    return path


def _open(shared_data: Path, rel: str) -> Source:
    return open_source(shared_data / rel)


@pytest.mark.parametrize("rel", REAL_INPUTS)
def test_no_text_cell_holds_structure(shared_data: Path, rel: str) -> None:
    src = _open(shared_data, rel)
    table = src.read_table()
    assert table.num_rows > 0
    texts = _texts(table)
    assert texts, f"{rel}: no text read"
    bad = [t[:80] for t in texts if STRUCTURED.match(t)]
    assert not bad, f"{rel} ({src.format}): {len(bad)} text cells hold message objects, e.g. {bad[:2]}"


def _raw_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def test_arena_hard_turn_counts_match_the_files(shared_data: Path) -> None:
    folder = shared_data / "arena_hard_34_models"
    questions = {str(q["question_id"]): q for q in _raw_jsonl(folder / "question.jsonl")}
    table = open_source(folder).read_table()
    one_answer = _raw_jsonl(next(iter(sorted((folder / "model_answer").glob("*.jsonl")))))
    n_files = len(list((folder / "model_answer").glob("*.jsonl")))
    assert table.num_rows == n_files * len(questions)
    by_id = {r["conversation_id"]: r for r in table.select(["conversation_id", "turns"]).to_pylist()}
    for ans in one_answer[:50]:
        qid = str(ans["question_id"])
        row = by_id[f"{qid}:{ans['model_id']}"]
        q_turns = questions[qid]["turns"]
        a_turns = ans["choices"][0]["turns"]  # type: ignore[index]
        assert [t["content"] for t in row["turns"] if t["role"] == "user"] == [
            t["content"]
            for t in q_turns  # type: ignore[union-attr]
        ]
        assert [t["content"] for t in row["turns"] if t["role"] == "assistant"] == [
            t["content"] for t in a_turns
        ]


def test_lmsys_and_competition_turn_counts_match_the_files(shared_data: Path) -> None:
    lmsys = shared_data / "lmsys_chat_1m_sample" / "lmsys_1000.jsonl"
    raw = _raw_jsonl(lmsys)
    table = open_source(lmsys).read_table()
    counts = dict(
        zip(table.column("conversation_id").to_pylist(), table.column("turns").to_pylist(), strict=True)
    )
    for rec in raw[:200]:
        assert len(counts[rec["conversation_id"]]) == len(rec["conversation"])  # type: ignore[arg-type]
    comp = shared_data / "competition_train_999" / "train_999.csv"
    with comp.open(encoding="utf-8") as fh:
        raw_rows = {r["id"]: r for r in csv.DictReader(fh)}
    battles = open_source(comp).read_table().to_pylist()
    for row in battles[:200]:
        assert len(row["prompt"]) == len(json.loads(raw_rows[row["id"]]["prompt"]))


@pytest.mark.parametrize("rel", REAL_INPUTS)
@pytest.mark.slow
def test_guard_catches_a_verbatim_copy(
    shared_data: Path, rel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_data / rel
    planted = _planted_prompts(_open(shared_data, rel).read_table())
    protect = _write_protect(tmp_path / "leaktest.csv", planted)
    _guard_catches(source, protect, len(planted), tmp_path, capsys)


def _guard_catches(
    source: Path, protect: Path, n: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-leakage (SOURCE as the protected side) and compare both find the ``n`` planted prompts."""
    code, _, err = run_cli(["check-leakage", str(protect), "--protect", str(source), "--quiet"], capsys)
    assert code == 3, f"{source}: check-leakage missed planted prompts ({err[:300]})"
    code, _, err = run_cli(
        [
            "compare",
            str(protect),
            str(source),
            "-o",
            str(tmp_path / "cmp"),
            "--turns",
            "first",
            "--no-near",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    report = json.loads((tmp_path / "cmp" / "report.json").read_text())
    assert report["left_in_right"]["exact"] == n, f"{source}: compare missed planted prompts"


@pytest.mark.parametrize("rel", MINABLE)
@pytest.mark.slow
def test_mine_exclude_drops_a_verbatim_copy(
    shared_data: Path, rel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_data / rel
    planted = _planted_prompts(open_source(source).read_table())
    protect = _write_protect(tmp_path / "leaktest.csv", planted)
    firsts = {p[0] for p in planted}
    out = tmp_path / "pairs.parquet"
    code, _, err = run_cli(
        ["mine", str(source), "-o", str(out), "--exclude", str(protect), "--quiet"], capsys
    )
    assert code == 0, err
    prompts = {t[0] for t in pq.read_table(out).column("prompt").to_pylist() if t}
    assert prompts, f"{rel}: mine kept nothing, so the check looked at nothing"
    assert not prompts & firsts, f"{rel}: mine --exclude kept planted test prompts"
    code, _, _ = run_cli(["check-leakage", str(out), "--protect", str(protect), "--quiet"], capsys)
    assert code == 0


@pytest.mark.slow
def test_arena_hard_prompts_from_the_raw_file_are_caught(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The case that passed silently: five Arena-Hard prompts copied from question.jsonl into a test CSV."""
    folder = shared_data / "arena_hard_34_models"
    raw = _raw_jsonl(folder / "question.jsonl")[:5]
    planted = [[t["content"] for t in q["turns"]] for q in raw]  # type: ignore[union-attr]
    protect = _write_protect(tmp_path / "leaktest.csv", planted)
    out = tmp_path / "p.parquet"
    code, _, err = run_cli(
        ["mine", str(folder), "-o", str(out), "--exclude", str(protect), "--quiet"], capsys
    )
    assert code == 0, err
    kept = {t[0] for t in pq.read_table(out).column("prompt").to_pylist() if t}
    assert not kept & {p[0] for p in planted}
    code, _, _ = run_cli(["check-leakage", str(protect), "--protect", str(folder), "--quiet"], capsys)
    assert code == 3


# --- every preference-set and Arena-release layout, on fixtures built from the public schemas ---------


def _expected_user_turns(layout: str, rec: dict[str, object]) -> tuple[str, int]:
    """A raw record's first user turn and its number of user turns, read straight from the raw fields."""
    if layout in ("chosen-rejected", "arena"):
        conv = rec["chosen"] if layout == "chosen-rejected" else rec["conversation_a"]
        assert isinstance(conv, list)
        users = [m["content"] for m in conv if m["role"] == "user"]
        first = users[0]
        text = first if isinstance(first, str) else first[0]["text"]
        return text, len(users)
    if layout == "transcript":
        chosen = str(rec["chosen"])
        return chosen.split("\n\nHuman: ")[1].split("\n\nAssistant: ")[0], chosen.count("\n\nHuman: ")
    if layout == "competition":
        turns = json.loads(str(rec["prompt"]))
        return turns[0], len(turns)
    key = {"rated": "instruction", "pandalm": "instruction"}.get(layout, "prompt")
    return str(rec[key]), 1


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_fixture_layouts_conform(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No text cell holds structure, user-turn counts match the raw records, and a verbatim copy of three
    prompts is caught by check-leakage and compare."""
    layout = LAYOUTS[name][2]
    source = write(name, tmp_path / "src", 30)
    table = open_source(source).read_table()
    texts = _texts(table)
    assert texts and not [t for t in texts if STRUCTURED.match(t)]
    expected = dict(_expected_user_turns(layout, r) for r in records(name, 30))
    read = {}
    for turns in table.column("prompt").to_pylist():
        read[turns[0].split("\n\n")[0] if layout == "pandalm" else turns[0]] = len(turns)
    assert read == expected
    planted = _planted_prompts(table)
    _guard_catches(source, _write_protect(tmp_path / "leaktest.csv", planted), 3, tmp_path, capsys)


@pytest.mark.parametrize("name", ["ultrafeedback-binarized", "hh-rlhf", "ultrafeedback", "ppe", "arena-140k"])
def test_mine_exclude_reads_each_layout(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A preference set used as mine's --exclude source: conversations asking its prompts are dropped."""
    source = write(name, tmp_path / "src", 10)
    prompts = [t[0] for t in open_source(source).read_table().column("prompt").to_pylist()][:4]
    convs = tmp_path / "convs.jsonl"
    with convs.open("w", encoding="utf-8") as fh:
        for i, p in enumerate(
            [*prompts, "An unrelated question about the ocean floor and its geology, long."]
        ):
            for model in ("model-x", "model-y"):
                conv = [{"role": "user", "content": p}, {"role": "assistant", "content": f"{model} says {i}"}]
                rec = {"conversation_id": f"{model}-{i}", "model": model, "conversation": conv}
                fh.write(json.dumps(rec) + "\n")
    out = tmp_path / "pairs.parquet"
    code, _, err = run_cli(["mine", str(convs), "-o", str(out), "--exclude", str(source), "--quiet"], capsys)
    assert code == 0, err
    kept = {t[0] for t in pq.read_table(out).column("prompt").to_pylist()}
    assert kept and not kept & set(prompts), f"{name}: mine --exclude kept protected prompts"
