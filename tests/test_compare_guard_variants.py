"""Everyday variants of a protected prompt must not pass the leakage guard (issue 22, section 4).

One table, one protected prompt and one candidate conversation per row, run through the three commands
that guard: ``check-leakage`` (exit 3 and the rule named), ``decontaminate`` (the row dropped, with its
``leak_rule``) and ``mine --exclude`` (no pair formed from it). Negative rows must pass all three, so
the rules cannot be made to over-match without a test failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from arenapref.compare.guard import find_leaks
from arenapref.compare.near import NearDupSettings, lsh_recall, shingle_hashes, verify
from arenapref.compare.normalize import normalize_texts
from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table
from arenapref.writers import write_competition_csv, write_parquet
from cli_helpers import run_cli

POEM = "Write a short birthday poem for {} who loves sailing and the sea"
ESSAY = "Summarise the causes and the consequences of the French Revolution in five bullet points"
CODE = "def add(a, b):\n    return a + b\n\nExplain this Python function line by line"
CJK = "请用简单的语言解释量子计算的基本原理和主要应用"  # 22 characters


@dataclass(frozen=True)
class Case:
    name: str
    protected: str
    candidate: tuple[str, ...]
    rule: str | None  # the rule that must fire; None: must not be flagged


def _spliced(text: str, every: int, char: str) -> str:
    """``char`` inserted after every ``every``-th letter (inside words)."""
    return "".join(c + char if k % every == every - 1 and c.isalpha() else c for k, c in enumerate(text))


CASES = [
    Case(
        "html_entities_quot",
        'Explain the meaning of "carpe diem" and how to apply it in modern everyday life',
        ("Explain the meaning of &quot;carpe diem&quot; and how to apply it in modern everyday life",),
        "turns_key",
    ),
    Case(
        "html_entities_tags",
        "Why does my <div> not center inside a flex container in CSS?",
        ("Why does my &lt;div&gt; not center inside a flex container in CSS?",),
        "turns_key",
    ),
    Case(
        "typographic_quotes_59_chars",
        "What's the difference between affect and effect? Don't guess",
        ("What\u2019s the difference between affect and effect? Don\u2019t guess",),
        "turns_key",
    ),
    Case("escaped_newlines", CODE, (CODE.replace("\n", "\\n"),), "turns_key"),
    Case("name_lower_case", POEM.format("NAME_1"), (POEM.format("xiaoling"),), "name_span"),
    Case("name_all_caps", POEM.format("NAME_1"), (POEM.format("XIAOLING"),), "name_span"),
    Case("name_surname_after_title", POEM.format("NAME_1"), (POEM.format("Dr. Okonkwo"),), "name_span"),
    Case("name_two_parts", POEM.format("NAME_1"), (POEM.format("Anne-Marie O'Neil"),), "name_span"),
    Case(
        "name_placeholder_in_candidate", POEM.format("Xiaoling Zhou"), (POEM.format("NAME_1"),), "name_span"
    ),
    Case(
        "inside_a_longer_turn",
        ESSAY,
        (f"Hi! I have an exam tomorrow. {ESSAY}. Keep it short please, thanks a lot in advance.",),
        "contained",
    ),
    Case("as_a_later_turn", ESSAY, ("hello", ESSAY), "contained"),
    Case("cjk_opening_a_conversation", CJK, (CJK, "再详细一点"), "turns_key"),
    Case("zero_width_inside_words", ESSAY, (_spliced(ESSAY, 3, "\u200b"),), "turns_key"),
    Case("braille_blanks_for_spaces", ESSAY, (ESSAY.replace(" ", "\u2800"),), "turns_key"),
    Case(
        "cyrillic_look_alikes",
        ESSAY,
        (ESSAY.replace("a", "\u0430").replace("o", "\u043e").replace("e", "\u0435"),),
        "turns_key",
    ),
    # Negatives: none of these is a leak.
    Case(
        "not_at_word_boundaries",
        "Describe how photosynthesis works in green plants step by step",
        (
            "Please redescribe how photosynthesis works in green plants step by stepping through the "
            "light reactions and the Calvin cycle for my biology exam",
        ),
        None,
    ),
    Case("short_opening", "hi there", ("hi there", "Tell me a joke about cats and dogs"), None),
    Case(
        "short_inside", "Tell me a joke", ("Tell me a joke about programmers who never sleep at night",), None
    ),
    Case("short_cjk_opening", "你好", ("你好", "请介绍一下你自己"), None),
    Case(
        "different_prompt_same_template",
        POEM.format("NAME_1"),
        ("Write a long elegy for my grandfather who loved fishing on the lake every summer",),
        None,
    ),
]


def _files(tmp_path: Path, case: Case) -> tuple[Path, Path]:
    """The protected prompt as a test CSV, and the candidate conversation answered by two models."""
    protected = write_competition_csv(
        battles_table([Battle("test-1", [case.protected], [None], [None])]),
        tmp_path / "test.csv",
        labels=False,
    )
    convs = []
    for model in ("alpha", "beta"):
        turns = []
        for k, text in enumerate(case.candidate):
            turns += [Turn("user", text), Turn("assistant", f"{model} answer {k}")]
        convs.append(Conversation(f"cand:{model}", model, turns, language="English"))
    return protected, write_parquet(conversations_table(convs), tmp_path / "candidates.parquet")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_guard_variants(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Case) -> None:
    protected, cands = _files(tmp_path, case)
    leaks = case.rule is not None

    code, out, err = run_cli(["check-leakage", str(cands), "--protect", str(protected), "--json"], capsys)
    assert code == (3 if leaks else 0), (code, err)
    offending = json.loads(out)["offending"]
    assert [r["rule"] for r in offending] == ([case.rule] * 2 if leaks else [])
    if leaks:
        assert f"rule {case.rule}" in err

    kept, dropped = tmp_path / "kept.parquet", tmp_path / "dropped.parquet"
    argv = [
        "decontaminate",
        str(cands),
        "--protect",
        str(protected),
        "-o",
        str(kept),
        "--dropped",
        str(dropped),
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert pq.read_table(kept).num_rows == (0 if leaks else 2)
    assert pq.read_table(dropped).column("leak_rule").to_pylist() == ([case.rule] * 2 if leaks else [])

    pairs = tmp_path / "pairs.parquet"
    code, out, err = run_cli(
        ["mine", str(cands), "-o", str(pairs), "--exclude", str(protected), "--json", "-q"], capsys
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["pairs"] == (0 if leaks else 1), summary["funnel"]
    assert sum(summary["funnel"]["pairs_dropped"].values()) == (1 if leaks else 0)


def test_name_spans_are_not_function_words() -> None:
    """A placeholder matches a name-like span, not any word: "them", "my friend" are no names."""
    prot = battles_table(
        [Battle("t", ["Translate the following letter to NAME_1 into formal Spanish"], ["a"], ["b"])]
    )
    for other, flagged in (
        ("Translate the following letter to Bartholomew into formal Spanish", True),
        ("Translate the following letter to them into formal Spanish", False),
        ("Translate the following letter to my friend into formal Spanish", False),
        ("Translate the following letter to the three new colleagues into formal Spanish", False),
    ):
        cand = battles_table([Battle("c", [other], ["a"], ["b"])])
        got = find_leaks(cand, [prot], near=False, mask_pii=False)
        assert got.num_rows == int(flagged), other


def test_near_duplicate_recall_just_above_the_threshold() -> None:
    """Edited prompts whose exact 5-gram Jaccard is 0.80-0.84 are all flagged (LSH tuned for >= 99%
    recall at the threshold, pairs verified exactly)."""
    words = [
        "please",
        "explain",
        "in",
        "detail",
        "how",
        "the",
        "immune",
        "system",
        "of",
        "the",
        "human",
        "body",
        "recognises",
        "and",
        "fights",
        "viral",
        "infections",
        "with",
        "examples",
        "from",
        "recent",
        "research",
    ]
    prompts, edits = [], []
    for k in range(len(words)):
        for repl in ("quickly", "carefully", "the", "modern", "x"):
            edited = [*words]
            edited[k] = repl
            edits.append(" ".join(edited))
            prompts.append(" ".join(words))
            edited2 = [*edited]
            edited2[(k + 7) % len(words)] += "s"
            edits.append(" ".join(edited2))
            prompts.append(" ".join(words))
    import numpy as np
    import pyarrow as pa

    base = normalize_texts(pa.array([prompts[0]]), mask=True)
    texts = normalize_texts(pa.array(edits), mask=True)
    both = pa.concat_arrays([base, texts])
    flat, offsets = shingle_hashes(both, NearDupSettings())
    n = len(edits)
    _, j, sim = verify(flat, offsets, np.zeros(n, np.int64), np.arange(1, n + 1), 0.0)
    band = [(edits[jj - 1], s) for jj, s in zip(j.tolist(), sim.tolist(), strict=True) if 0.80 <= s < 0.85]
    assert len(band) >= 20
    prot = battles_table([Battle("t", [prompts[0]], ["a"], ["b"])])
    cands = battles_table([Battle(f"c{k}", [text], ["a"], ["b"]) for k, (text, _) in enumerate(band)])
    leaks = find_leaks(cands, [prot], min_chars=10**9)
    assert leaks.num_rows == len(band)
    assert set(leaks.column("rule").to_pylist()) == {"turns_near"}
    bands, rows = NearDupSettings().bands_rows
    assert lsh_recall(0.8, bands, rows) >= 0.99
