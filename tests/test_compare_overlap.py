"""``compare``: overlap between sources and within one, on inline, synthetic and real data, and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.cli import main
from arenapref.compare.run import (
    CompareSettings,
    compare_paths,
    compare_tables,
    write_compare,
)
from arenapref.compare.sources import load_source
from arenapref.readers import open_source
from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table
from arenapref.synth import SynthManifest, generate

LONG = "Describe the water cycle for a school project, covering evaporation, condensation and rain"


def conv(cid: str, model: str, text: str, language: str = "English") -> Conversation:
    return Conversation(cid, model, [Turn("user", text), Turn("assistant", "ok")], language=language)


def test_kinds_shares_and_within_duplicates() -> None:
    left = battles_table(
        [
            Battle("b-exact", ["Tell me a joke"], ["a"], ["b"], "m1", "m2"),
            Battle("b-place", ["Write a letter to Maria about the trip"], ["a"], ["b"], "m1", "m3"),
            Battle("b-near", [LONG + " please"], ["a"], ["b"], "m2", "m3"),
            Battle("b-none", ["Something nobody else asked"], ["a"], ["b"], "m2", "m3"),
        ]
    )
    right = conversations_table(
        [
            conv("c1", "vicuna", "tell me a joke!"),
            conv("c2", "vicuna", "Tell me a joke"),
            conv("c3", "koala", "Write a letter to NAME_1 about the trip", "German"),
            conv("c4", "koala", LONG),
            conv("c5", "alpaca", "unrelated"),
        ]
    )
    result = compare_tables(left, right)
    rep = result.report
    lr, rl = rep["left_in_right"], rep["right_in_left"]
    assert (lr["exact"], lr["placeholder"], lr["near"], lr["matched"]) == (1, 1, 1, 3)
    assert lr["only_with_masking"] == 1 and lr["share"] == 0.75
    assert (rl["exact"], rl["placeholder"], rl["near"], rl["matched"]) == (2, 1, 1, 4)
    by_model = {r["value"]: r for r in rep["right_in_left_by_model"]}
    assert by_model["vicuna"]["matched"] == 2 and by_model["alpaca"]["matched"] == 0
    by_lang = {r["value"]: r for r in rep["right_in_left_by_language"]}
    assert by_lang["German"]["placeholder"] == 1
    # c1 and c2 are the same prompt: a within-source duplicate of RIGHT.
    assert rep["right"]["within"]["exact"] == 2 and rep["left"]["within"]["duplicate_records"] == 0
    m = result.matches.filter(pa.compute.equal(result.matches.column("side"), "left")).to_pylist()
    near = next(r for r in m if r["kind"] == "near")
    assert near["left_id"] == "b-near" and near["right_id"] == "c4" and 0.8 <= near["similarity"] < 1.0
    assert near["right_model"] == "koala" and near["left_model"] == "m2 vs m3"


def test_same_source_reports_duplicates_with_another_record() -> None:
    table = conversations_table(
        [conv("a", "m", "Tell me a joke"), conv("b", "m", "tell me a joke."), conv("c", "m", "Different")]
    )
    result = compare_tables(table, None)
    assert result.report["same_source"]
    rows = {r["left_id"]: r["right_id"] for r in result.matches.to_pylist()}
    assert rows == {"a": "b", "b": "a"}
    assert result.report["left"]["within"]["duplicate_rate"] == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> SynthManifest:
    return generate(tmp_path_factory.mktemp("synth") / "ws", conversations=4000, battles=800, seed=7)


def test_planted_overlaps_are_found(synth_small: SynthManifest) -> None:
    m = synth_small
    comp = pa.concat_tables([open_source(m.train_csv).read_table(), open_source(m.test_csv).read_table()])
    lmsys = open_source(m.lmsys_dir).read_table()
    result = compare_tables(comp, lmsys)
    det = result.details
    truth = pl.read_parquet(m.truth_battles).select("id", "overlap", "overlap_jaccard", "lmsys_prompt_group")
    groups = pl.read_parquet(m.truth_conversations).select("conversation_id", "prompt_group")
    lmsys_group = dict(
        zip(groups["conversation_id"].to_list(), groups["prompt_group"].to_list(), strict=True)
    )
    ids = comp.column("id").to_pylist()
    lm_ids = lmsys.column("conversation_id").to_pylist()
    best = det.left_to_right
    found = {
        ids[i]: (["exact", "placeholder", "near"][best.kind[i]], lmsys_group[lm_ids[best.partner[i]]])
        for i in range(len(ids))
        if best.partner[i] >= 0
    }
    planted = truth.filter((pl.col("overlap") != "none") & (pl.col("overlap_jaccard").fill_null(1.0) >= 0.8))
    assert planted.height > 50
    for row in planted.iter_rows(named=True):
        assert row["id"] in found, row
        kind, group = found[row["id"]]
        assert group == row["lmsys_prompt_group"]
        assert kind == row["overlap"]  # exact found as exact, names-for-NAME_k as placeholder, edits as near
    unplanted = set(found) - set(truth.filter(pl.col("overlap") != "none")["id"].to_list())
    assert len(unplanted) <= 0.02 * len(found)  # only accidental near-duplicates of the generator


def test_compare_cli_on_synthetic_workspace(
    synth_small: SynthManifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    try:
        main(["compare", str(synth_small.test_csv), str(synth_small.lmsys_dir), "--out", str(out)])
    except SystemExit as exc:
        assert not exc.code
    printed = " ".join(capsys.readouterr().out.split())
    assert "LEFT in RIGHT" in printed and "placeholder only" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["left_in_right"]["placeholder"] > 0
    md = (out / "report.md").read_text()
    assert "found only with masking" in md and "Sample of matched pairs" in md
    matches = pq.read_table(out / "matches.parquet")
    assert set(matches.column("kind").to_pylist()) == {"exact", "placeholder", "near"}


def test_compare_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["compare", str(tmp_path / "nope.csv"), str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")],
        ["compare", str(tmp_path), str(tmp_path), "--out", str(tmp_path / "o"), "--threshold", "0"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 1
        assert "Traceback" not in capsys.readouterr().err


def test_real_arena_prompts_against_lmsys_sample(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "arena_prompts_1135"
    result = compare_paths(folder / "question.jsonl", shared_data / "lmsys_chat_1m_sample")
    rep = result.report
    assert rep["left"]["records"] == 478 and rep["right"]["records"] == 191
    assert rep["left"]["kind"] == "conversations" and rep["right"]["format"] == "lmsys"
    # The real Arena question file repeats popular prompts; the report finds them.
    assert rep["left"]["within"]["exact"] > 50
    assert 0 <= rep["left_in_right"]["share"] <= 1
    written = write_compare(result, tmp_path / "out")
    assert [p.name for p in written] == ["matches.parquet", "report.json", "report.md"]


def test_real_answer_files_against_each_other(shared_data: Path) -> None:
    folder = shared_data / "arena_prompts_1135"
    answers = sorted((folder / "model_answer").glob("*.jsonl"))
    assert len(answers) == 5
    # One answer file reads as that model's 478 conversations; every file answers the same questions.
    gpt4, _ = load_source(folder / "model_answer" / "gpt-4.jsonl")
    claude, _ = load_source(folder / "model_answer" / "claude-v1.jsonl")
    assert gpt4.num_rows == claude.num_rows == 478
    assert set(gpt4.column("model").to_pylist()) == {"gpt-4"}
    everything, _ = load_source(folder)
    prompts = compare_tables(gpt4, claude).report
    assert prompts["left_in_right"]["share"] == 1.0 and prompts["left_in_right"]["exact"] == 478
    # Answers of all five files against each other: the folder compared with itself on answer text.
    # Duplicates are (near-)identical answers: mostly one model answering a repeated question alike
    # (the question file repeats popular prompts), sometimes two models giving the same short answer.
    rep = compare_tables(everything, None, CompareSettings(text="response", sample=2)).report
    assert rep["left"]["records"] == 5 * 478
    by_model = {r["value"]: r for r in rep["left_in_right_by_model"]}
    assert set(by_model) == {p.stem for p in answers}
    everything_share = rep["left_in_right"]["share"]
    assert rep["left_in_right"]["exact"] > 0 and rep["left_in_right"]["near"] > 0
    assert everything_share < 0.25
