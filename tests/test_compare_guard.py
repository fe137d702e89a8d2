"""The leakage guard: decontaminate, find_leaks, and the decontaminate / check-leakage commands."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer.main

from arenapref.cli import main
from arenapref.cli.app import app
from arenapref.compare.guard import LEAK_COLUMNS, decontaminate, find_leaks
from arenapref.errors import ArenaprefError
from arenapref.readers import read_table
from arenapref.records import (
    Battle,
    Conversation,
    Turn,
    battles_table,
    conversations_table,
    user_turns,
)
from arenapref.writers import write_competition_csv, write_parquet

LONG = "Explain quantum computing in simple terms to a five year old child, with one everyday example"
OPENING = "What are the three largest cities of Portugal by population?"


def protected() -> pa.Table:
    return battles_table(
        [
            Battle("t1", ["Write a poem for NAME_1 about the sea"], ["a"], ["b"]),
            Battle("t2", [LONG], ["a"], ["b"]),
            Battle("t3", ["hello there, how are you today?"], ["a"], ["b"]),
            Battle("t4", ["first question", "second question"], ["a", "c"], ["b", "d"]),
            Battle("t5", [OPENING, "and a follow-up"], ["a", "c"], ["b", "d"]),
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
            conv("c-near", LONG.lower().replace("one everyday", "an everyday")),
            conv("c-exact", "Hello there,   how are you today?!"),
            conv("c-multi", "first question", "second question"),
            conv("c-first-only", "first question", "a different follow-up"),
            conv("c-opening-differs", OPENING, "a different follow-up"),
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
    assert result.kept.column("conversation_id").to_pylist() == [
        "c-first-only",
        "c-opening-differs",
        "c-clean",
        "c-empty",
    ]
    assert result.kept.schema == candidates().schema  # kept records stay native records
    assert set(LEAK_COLUMNS) <= set(result.dropped.column_names)
    rules = {"rule_turns_key": 3, "rule_turns_near": 1, "rule_contained": 0, "rule_name_span": 0}
    assert result.counts == {"exact": 2, "placeholder": 1, "near": 1, "kept": 4, "candidates": 8} | rules
    assert result.to_pandas()["conversation_id"].tolist() == result.kept.column("conversation_id").to_pylist()


def test_guard_options() -> None:
    # First-turn matching also catches the conversation whose follow-up differs, when the shared first
    # turn is long enough; "first question" (14 characters) opening a longer record is not.
    first = decontaminate(candidates(), [protected()], turns="first")
    dropped = first.dropped.column("conversation_id").to_pylist()
    assert "c-opening-differs" in dropped and "c-first-only" not in dropped
    assert first.dropped.column("leak_scope").to_pylist()[dropped.index("c-opening-differs")] == "first_turn"
    # --min-chars 0 turns the minimum off: then the short first turn matches as well.
    loose = decontaminate(candidates(), [protected()], turns="first", min_chars=0)
    assert "c-first-only" in loose.dropped.column("conversation_id").to_pylist()
    # Without near matching or PII masking, near-duplicates are kept; NAME_1 still matches the name "Maria"
    # by the name-span rule (placeholders are always matched; PII masking masks names of our own).
    strict = decontaminate(candidates(), [protected()], near=False, mask_pii=False)
    got = dict(
        zip(
            strict.dropped.column("conversation_id").to_pylist(),
            zip(
                strict.dropped.column("leak_reason").to_pylist(),
                strict.dropped.column("leak_rule").to_pylist(),
                strict=True,
            ),
            strict=True,
        )
    )
    assert got == {
        "c-placeholder": ("placeholder", "name_span"),
        "c-exact": ("exact", "turns_key"),
        "c-multi": ("exact", "turns_key"),
    }
    # Battles can be candidates too, and several protected sources are reported by index.
    other = battles_table([Battle("o1", ["Summarise the plot of Hamlet in three sentences"], ["x"], ["y"])])
    leaks = find_leaks(protected(), [candidates(), other])
    assert leaks.column("protected_source").to_pylist() == [0, 0, 0, 0]  # t5 diverges at turn 2
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
    assert code == 3  # errors.CheckFailed: the check looked and found leaks
    assert "c-placeholder" in out and "t1" in out and "placeholder" in out
    assert "4 of 8 records leak" in out
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
    assert "kept 4" in out
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
    assert code == 1 and "CSV holds battles" in out
    code, out = run(
        ["decontaminate", str(cands), "--protect", str(cands), "--out", str(tmp_path / "x.txt")], capsys
    )
    assert code == 1 and "cannot tell the output format" in out
    assert not (tmp_path / "x.txt").exists() and not (tmp_path / "x.csv").exists()
    assert "Traceback" not in out
    # --protect has no short flag: -p means --param (estimator parameters) elsewhere.
    root = typer.main.get_command(app)
    for name in ("check-leakage", "decontaminate"):
        opts = {o for p in root.commands[name].params for o in getattr(p, "opts", [])}  # type: ignore[attr-defined]
        assert "--protect" in opts and "-p" not in opts


def test_protected_prompt_opening_a_longer_record_leaks_both_ways() -> None:
    prot = battles_table(
        [
            Battle("p-short", [LONG], ["a"], ["b"]),
            Battle("p-long", [OPENING, "Now list their mayors, please"], ["a", "c"], ["b", "d"]),
            Battle(
                "p-name",
                ["Write a wedding speech for NAME_1 and her brother NAME_2", "shorter"],
                ["a"],
                ["b"],
            ),
        ]
    )
    cands = conversations_table(
        [
            conv("c-longer", LONG, "Thanks! Now for a ten year old?", "And for an adult?"),
            conv("c-opens", OPENING),
            conv("c-name", "Write a wedding speech for Maria and her brother Ivan", "shorter", "more"),
            conv("c-near", LONG.replace("child", "kid") + " please", "a follow-up question"),
            conv("c-diverges", OPENING, "Something else entirely"),
        ]
    )
    leaks = find_leaks(cands, [prot]).to_pylist()
    got = {r["id"]: (r["reason"], r["protected_id"], r["scope"], r["shared_turns"]) for r in leaks}
    assert got == {
        "c-longer": ("exact", "p-short", "protected_opens_candidate", 1),
        "c-opens": ("exact", "p-long", "candidate_opens_protected", 1),
        "c-name": ("placeholder", "p-name", "protected_opens_candidate", 2),
        "c-near": ("near", "p-short", "protected_opens_candidate", 1),
    }
    # Whole-list matching (the old rule, and what mining's top team used) misses every one of them.
    whole = find_leaks(cands, [prot], min_chars=10**9)
    assert whole.num_rows == 0


def test_short_openings_do_not_match_everything() -> None:
    prot = battles_table(
        [Battle("p-hi", ["hi"], ["a"], ["b"]), Battle("p-hello", ["hello", LONG], ["a"], ["b"])]
    )
    cands = conversations_table(
        [
            conv("c-hi-long", "hi", "Tell me about the history of the Roman empire in detail"),
            conv("c-hello", "hello"),
            conv("c-hi", "Hi!"),
        ]
    )
    leaks = find_leaks(cands, [prot])
    # "hi" opening a longer conversation, and "hello" opening a longer protected one, share 2-5 characters:
    # no leak. The whole prompt "Hi!" equal to the whole protected "hi" is the plain duplicate: a leak.
    assert leaks.column("id").to_pylist() == ["c-hi"]
    assert leaks.column("scope").to_pylist() == ["whole"]


def test_real_lmsys_conversation_opening_with_a_protected_prompt(shared_data: Path, tmp_path: Path) -> None:
    """A test-set prompt that opens a longer real LMSYS-Chat-1M conversation is a leak."""
    lmsys = read_table(shared_data / "lmsys_chat_1m_sample" / "lmsys_1000.jsonl")
    turns = user_turns(lmsys).to_pylist()
    row = next(i for i, t in enumerate(turns) if len(t) >= 3 and len(t[0] or "") >= 40)
    cid = lmsys.column("conversation_id")[row].as_py()
    test_set = battles_table(
        [
            Battle("test-1", [turns[row][0]], [None], [None]),
            Battle("test-2", ["hi"], [None], [None]),  # must not match the many real "hi" openings
        ]
    )
    leaks = find_leaks(lmsys, [test_set])
    assert leaks.column("id").to_pylist() == [cid]
    assert leaks.column("scope").to_pylist() == ["protected_opens_candidate"]
    assert leaks.column("protected_id").to_pylist() == ["test-1"]
    # The pre-prefix rule (whole lists only) let it through.
    assert find_leaks(lmsys, [test_set], min_chars=10**9).num_rows == 0
    # Paths and DataFrames are accepted as well as tables.
    protect_path = write_parquet(test_set, tmp_path / "test.parquet")
    assert find_leaks(shared_data / "lmsys_chat_1m_sample" / "lmsys_1000.jsonl", [protect_path]).num_rows == 1
    assert find_leaks(lmsys.to_pandas(), [test_set]).num_rows == 1


def _empty_sources(tmp_path: Path) -> dict[str, Path]:
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,prompt,response_a,response_b\n", encoding="utf-8")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    no_prompts = write_parquet(
        battles_table([Battle("e1", [""], ["a"], ["b"]), Battle("e2", [None], ["a"], ["b"])]),
        tmp_path / "blank.parquet",
    )
    return {"header-only file": header_only, "empty folder": empty_dir, "no prompts": no_prompts}


def test_protected_source_without_prompts_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cands = write_parquet(candidates(), tmp_path / "candidates.parquet")
    for label, bad in _empty_sources(tmp_path).items():
        for argv in (
            ["check-leakage", str(cands), "--protect", str(bad)],
            ["decontaminate", str(cands), "--protect", str(bad), "-o", str(tmp_path / "kept.parquet")],
        ):
            code, out = run(argv, capsys)
            assert code == 1, (label, argv, out)
            assert "no leakage" not in out and "Traceback" not in out
            assert str(bad) in out or bad.name in out, (label, out)
        assert not (tmp_path / "kept.parquet").exists()
    with pytest.raises(ArenaprefError, match="holds no prompts"):
        find_leaks(candidates(), [battles_table([Battle("e1", ["  "], ["a"], ["b"])])])


def test_check_leakage_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    test_csv = write_competition_csv(protected(), tmp_path / "test.csv", labels=False)
    cands = write_parquet(candidates(), tmp_path / "candidates.parquet")
    try:
        main(["check-leakage", str(cands), "--protect", str(test_csv), "--json"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert code == 3
    summary = json.loads(captured.out)  # stdout holds the one JSON object and nothing else
    assert summary["leaks"] == 4 and summary["ok"] is False
    assert {r["id"] for r in summary["offending"]} == {"c-placeholder", "c-near", "c-exact", "c-multi"}


def test_decontaminate_refuses_to_overwrite_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_csv = write_competition_csv(protected(), tmp_path / "test.csv", labels=False)
    cands = write_parquet(candidates(), tmp_path / "candidates.parquet")
    before = cands.read_bytes()
    code, out = run(["decontaminate", str(cands), "--protect", str(test_csv), "-o", str(cands)], capsys)
    assert code == 1 and "is the input" in out
    assert cands.read_bytes() == before
    link = tmp_path / "link.parquet"
    link.symlink_to(cands)
    code, out = run(["decontaminate", str(cands), "--protect", str(test_csv), "-o", str(link)], capsys)
    assert code == 1 and "is the input" in out
    assert cands.read_bytes() == before
