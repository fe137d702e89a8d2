"""``compare``'s output folder: complete or absent, never beside an older report; refusals; --json; API."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from arenapref.atomic import TMP_MARK
from arenapref.compare import compare as compare_api
from arenapref.compare import run as run_module
from arenapref.records import Battle, battles_table
from arenapref.writers import write_parquet
from cli_helpers import run_cli

PROMPTS = (
    "Write a haiku about autumn leaves falling into a quiet river",
    "Explain how vaccines train the immune system, in two paragraphs",
    "Give me three ideas for a vegetarian dinner with lentils",
)


def sources(tmp_path: Path) -> tuple[Path, Path]:
    left = battles_table([Battle(f"l{i}", [p], ["a"], ["b"]) for i, p in enumerate(PROMPTS)])
    right = battles_table(
        [Battle("r0", [PROMPTS[0]], ["a"], ["b"]), Battle("r1", ["unrelated"], ["a"], ["b"])]
    )
    return write_parquet(left, tmp_path / "left.parquet"), write_parquet(right, tmp_path / "right.parquet")


def test_killed_compare_keeps_the_previous_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    left, right = sources(tmp_path)
    out = tmp_path / "cmp"
    code, stdout, err = run_cli(["compare", str(left), str(right), "-o", str(out), "--json", "-q"], capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["left_in_right"]["matched"] == 1 and summary["right_in_left"]["matched"] == 1
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"matches.parquet", "report.json", "report.md"}

    def interrupted(report: dict[str, object]) -> str:
        raise KeyboardInterrupt  # after matches.parquet and report.json were written

    monkeypatch.setattr(run_module, "render_markdown", interrupted)
    code, _, _ = run_cli(["compare", str(left), str(left), "-o", str(out), "-q"], capsys)
    assert code == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no new matches beside the old report
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TMP_MARK)]


def test_compare_refuses_inputs_and_foreign_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left, right = sources(tmp_path)
    code, _, err = run_cli(["compare", str(left), str(right), "-o", str(tmp_path)], capsys)
    assert code == 1 and "is the input" in err and left.exists() and right.exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me", encoding="utf-8")
    code, _, err = run_cli(["compare", str(left), str(right), "-o", str(busy)], capsys)
    assert code == 1 and "notes.txt" in err
    assert (busy / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_compare_api_takes_tables_and_dataframes(tmp_path: Path) -> None:
    left, right = sources(tmp_path)
    from_paths = compare_api(left, right)
    from_tables = compare_api(pq.read_table(left), pq.read_table(right).to_pandas())
    assert (
        from_paths.report["left_in_right"]["matched"] == from_tables.report["left_in_right"]["matched"] == 1
    )
    frame = from_tables.to_pandas()
    assert set(frame["kind"]) == {"exact"} and len(frame) == 2
