"""The leakage guard: decontaminate, find_leaks, and the decontaminate / check-leakage commands."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.cli import main
from arenapref.compare.guard import LEAK_COLUMNS, decontaminate, find_leaks
from arenapref.records import (
    Battle,
    Conversation,
    Turn,
    battles_table,
    conversations_table,
)
from arenapref.writers import write_competition_csv, write_parquet

LONG = "Explain quantum computing in simple terms to a five year old child, with one everyday example"


def protected() -> pa.Table:
    return battles_table(
        [
            Battle("t1", ["Write a poem for NAME_1 about the sea"], ["a"], ["b"]),
            Battle("t2", [LONG], ["a"], ["b"]),
            Battle("t3", ["hello there, how are you today?"], ["a"], ["b"]),
            Battle("t4", ["first question", "second question"], ["a", "c"], ["b", "d"]),
        ]
    )


def conv(cid: str, *user: str | None) -> Conversation:
    turns = []
    for u in user:
        turns += [Turn("user", u), Turn("assistant", "answer")]
    return Conversation(cid, "model-x", turns)


def candidates() -> pa.Table:
    return conversations_table(
        [
            conv("c-placeholder", "Write a poem for Maria about the sea"),
            conv("c-near", LONG.lower() + " please"),
            conv("c-exact", "Hello there,   how are you today?!"),
            conv("c-multi", "first question", "second question"),
            conv("c-first-only", "first question", "a different follow-up"),
            conv("c-clean", "Summarise the plot of Hamlet in three sentences"),
            conv("c-empty", None),
        ]
    )


def test_decontaminate_drops_each_kind_with_reason() -> None:
    result = decontaminate(candidates(), [protected()])
    reasons = dict(
        zip(
            result.dropped.column("conversation_id").to_pylist(),
            result.dropped.column("leak_reason").to_pylist(),
            strict=True,
        )
    )
    assert reasons == {
        "c-placeholder": "placeholder",
        "c-near": "near",
        "c-exact": "exact",
        "c-multi": "exact",
    }
    matched = dict(
        zip(
            result.dropped.column("conversation_id").to_pylist(),
            result.dropped.column("leak_protected_id").to_pylist(),
            strict=True,
        )
    )
    assert matched == {"c-placeholder": "t1", "c-near": "t2", "c-exact": "t3", "c-multi": "t4"}
    assert result.kept.column("conversation_id").to_pylist() == ["c-first-only", "c-clean", "c-empty"]
    assert result.kept.schema == candidates().schema  # kept records stay native records
    assert set(LEAK_COLUMNS) <= set(result.dropped.column_names)
    assert result.counts == {"exact": 2, "placeholder": 1, "near": 1, "kept": 3, "candidates": 7}


def test_guard_options() -> None:
    # First-turn matching also catches the conversation whose follow-up differs.
    first = decontaminate(candidates(), [protected()], turns="first")
    assert "c-first-only" in first.dropped.column("conversation_id").to_pylist()
    # Without near matching or PII masking, those kinds are kept.
    strict = decontaminate(candidates(), [protected()], near=False, mask_pii=False)
    assert set(strict.dropped.column("leak_reason").to_pylist()) == {"exact"}
    # Battles can be candidates too, and several protected sources are reported by index.
    other = battles_table([Battle("o1", ["Summarise the plot of Hamlet in three sentences"], ["x"], ["y"])])
    leaks = find_leaks(protected(), [candidates(), other])
    assert leaks.column("protected_source").to_pylist() == [0, 0, 0, 0]
    leaks2 = find_leaks(other, [protected(), candidates()])
    assert leaks2.column("protected_source").to_pylist() == [1]
    assert leaks2.column("protected_id").to_pylist() == ["c-clean"]


def test_decontaminated_output_has_no_leaks_at_lower_threshold_too() -> None:
    kept = decontaminate(candidates(), [protected()], threshold=0.7).kept
    assert find_leaks(kept, [protected()], threshold=0.7).num_rows == 0


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())  # rich wraps long lines


def test_check_leakage_fails_then_passes_after_decontaminate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_csv = write_competition_csv(protected(), tmp_path / "test.csv", labels=False)
    cands = write_parquet(candidates(), tmp_path / "candidates.parquet")
    code, out = run(["check-leakage", str(cands), "--protect", str(test_csv)], capsys)
    assert code == 1
    assert "c-placeholder" in out and "t1" in out and "placeholder" in out
    assert "4 of 7 records leak" in out
    clean = tmp_path / "clean.parquet"
    dropped = tmp_path / "dropped.parquet"
    code, out = run(
        [
            "decontaminate",
            str(cands),
            "--protect",
            str(test_csv),
            "--out",
            str(clean),
            "--dropped",
            str(dropped),
        ],
        capsys,
    )
    assert code == 0, out
    assert "kept 3" in out
    assert pq.read_table(dropped).num_rows == 4
    code, out = run(["check-leakage", str(clean), "--protect", str(test_csv)], capsys)
    assert code == 0, out
    assert "no leakage" in out


def test_guard_commands_reject_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cands = write_parquet(candidates(), tmp_path / "candidates.parquet")
    code, out = run(["check-leakage", str(cands), "--protect", str(tmp_path / "missing.csv")], capsys)
    assert code == 1 and "no such file" in out
    code, out = run(["check-leakage", str(cands), "--protect", str(cands), "--threshold", "1.5"], capsys)
    assert code == 1 and "--threshold" in out
    code, out = run(
        ["decontaminate", str(cands), "--protect", str(cands), "--out", str(tmp_path / "x.csv")], capsys
    )
    assert code == 1 and ".parquet" in out
    assert "Traceback" not in out
