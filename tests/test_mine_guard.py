"""Mining's outputs and its leakage guard: formats by extension, refusals, atomic writes, --exclude."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.atomic import TMP_MARK
from arenapref.errors import ArenaprefError
from arenapref.mine import MineSettings, mine_pairs
from arenapref.mine import output as output_module
from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table
from arenapref.writers import write_competition_csv, write_parquet
from cli_helpers import run_cli

MODELS = ("alpha", "beta", "gamma", "delta")
PROMPT = "Describe the water cycle for a school project about the weather, step by step"
TOPICS = (
    "the water cycle",
    "medieval castles",
    "volcano eruptions",
    "honey bee colonies",
    "the stock market",
    "black holes",
    "ancient Egypt",
    "electric cars",
    "coral reefs",
    "jazz history",
)


def prompt(p: int) -> str:
    return f"Describe {TOPICS[p]} for a school project, step by step" if p else PROMPT


def convs(n_prompts: int = 10) -> list[Conversation]:
    """Four models answering each prompt; prompt 0 also has a follow-up turn."""
    out = []
    for p in range(n_prompts):
        for m in MODELS:
            turns = [Turn("user", prompt(p)), Turn("assistant", f"{m} answers {p}")]
            if p == 0:
                turns += [Turn("user", "Now shorter please"), Turn("assistant", f"{m} again")]
            out.append(Conversation(f"{p}:{m}", m, turns, language="English"))
    return out


def source(tmp_path: Path) -> Path:
    return write_parquet(conversations_table(convs()), tmp_path / "convs.parquet")


def test_output_format_follows_the_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = source(tmp_path)
    code, _, err = run_cli(["mine", str(src), "-o", str(tmp_path / "pairs.csv"), "-q"], capsys)
    assert code == 0, err
    with (tmp_path / "pairs.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 20 and json.loads(rows[0]["prompt"])[0].startswith(PROMPT)
    code, _, err = run_cli(["mine", str(src), "-o", str(tmp_path / "pairs.parquet"), "-q"], capsys)
    assert code == 0 and pq.read_table(tmp_path / "pairs.parquet").num_rows == 20
    for bad in ("pairs.txt", "pairs"):
        code, _, err = run_cli(["mine", str(src), "-o", str(tmp_path / bad)], capsys)
        assert code == 1 and "cannot tell the output format" in err and not (tmp_path / bad).exists()
    code, _, err = run_cli(
        ["mine", str(src), "-o", str(tmp_path / "p.csv"), "--dropped", str(tmp_path / "d.txt")], capsys
    )
    assert code == 1 and "d.txt" in err and not (tmp_path / "p.csv").exists()


def test_json_summary_is_the_only_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        ["mine", str(source(tmp_path)), "-o", str(tmp_path / "p.parquet"), "--json"], capsys
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["pairs"] == 20 and summary["funnel"]["total_in"] == 40
    assert "Mining funnel" in err


def test_output_that_is_an_input_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = source(tmp_path)
    before = src.read_bytes()
    for argv in (
        ["mine", str(src), "--out", str(src)],
        ["mine", str(tmp_path), "--out", str(src)],  # the output inside an input folder
        ["mine", str(src), "--out", str(tmp_path / "p.parquet"), "--dropped", str(src)],
        ["mine", str(src), "--out", str(tmp_path / "p.parquet"), "--exclude", str(tmp_path / "p.parquet")],
    ):
        if "--exclude" in argv:
            write_parquet(battles_table([Battle("x", [PROMPT], ["a"], ["b"])]), tmp_path / "p.parquet")
        code, _, err = run_cli(argv, capsys)
        assert code == 1 and "is the input" in err, (argv, err)
        assert src.read_bytes() == before
    link = tmp_path / "link.parquet"
    link.symlink_to(src)
    code, _, err = run_cli(["mine", str(src), "--out", str(link)], capsys)
    assert code == 1 and "is the input" in err and src.read_bytes() == before


def test_a_failed_write_leaves_the_previous_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = source(tmp_path)
    out = tmp_path / "pairs.csv"
    assert run_cli(["mine", str(src), "-o", str(out), "-q"], capsys)[0] == 0
    before = out.read_bytes()

    def half_then_fail(table: pa.Table, path: Path, labels: bool = True) -> Path:
        write_competition_csv(table.slice(0, 3), path, labels)
        raise KeyboardInterrupt  # as Ctrl-C in the middle of writing

    monkeypatch.setattr(output_module, "write_competition_csv", half_then_fail)
    code, _, _ = run_cli(["mine", str(src), "-o", str(out), "-q"], capsys)
    assert code == 130
    assert out.read_bytes() == before  # the previous complete output, not 3 rows
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TMP_MARK)]


def test_exclude_drops_pairs_whose_prompt_opens_with_a_protected_prompt(tmp_path: Path) -> None:
    protected = battles_table([Battle("test-0", [PROMPT], [None], [None])])
    result = mine_pairs([source(tmp_path)], MineSettings(), exclude=[protected])
    # Prompt 0's conversations go on after the protected prompt: a whole-list match would miss them.
    assert result.pairs.num_rows == 18
    assert result.funnel.pairs_dropped == {"leak_exact": 2}
    detail = [d for d in result.dropped.column("detail").to_pylist() if d]
    assert detail and all("test-0" in d and "protected opens candidate" in d for d in detail)
    assert len(result.to_pandas()) == 18


def test_exclude_without_prompts_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = source(tmp_path)
    header_only = tmp_path / "test.csv"
    header_only.write_text("id,prompt,response_a,response_b\n", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    blank = write_parquet(battles_table([Battle("b", [" "], ["a"], ["b"])]), tmp_path / "blank.parquet")
    for bad in (header_only, empty, blank):
        out = tmp_path / "p.parquet"
        code, _, err = run_cli(["mine", str(src), "-o", str(out), "--exclude", str(bad)], capsys)
        assert code == 1 and "Traceback" not in err, err
        assert not out.exists()
    with pytest.raises(ArenaprefError, match="holds no prompts"):
        mine_pairs([src], exclude=[blank])


def test_tables_and_dataframes_are_sources(tmp_path: Path) -> None:
    table = conversations_table(convs())
    assert mine_pairs([table]).pairs.num_rows == 20
    assert mine_pairs([table.to_pandas()]).pairs.num_rows == 20
    with pytest.raises(ArenaprefError, match="mining needs conversations"):
        mine_pairs([battles_table([Battle("x", [PROMPT], ["a"], ["b"])])])
