"""The Done criterion on real data: five models' answers to 478 real Arena prompts (../shared/data).

The expected number of pairs is computed here from the raw JSON files with plain Python (dicts, sets and a
brute-force similarity check), independently of the miner's vectorised pipeline. Only the definition of
"same prompt" (``compare.normalize``) is shared, because it is the project's definition.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pytest

from arenapref.compare.guard import find_leaks
from arenapref.compare.normalize import normalize_texts, turns_keys
from arenapref.mine import MineSettings, mine_pairs
from arenapref.readers import read_table
from cli_helpers import run_cli as _run

FOLDER = "arena_prompts_1135"
CAP = 5  # the default --max-pairs-per-prompt
SIMILARITY = 0.9  # the default answer similarity


def _shingles(text: str) -> set[bytes]:
    """Byte 5-grams of the UTF-8 text (the whole text when shorter)."""
    b = text.encode("utf-8")
    return {b} if len(b) < 5 else {b[i : i + 5] for i in range(len(b) - 4)}


def _jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        i = parent[i]
    return i


def expected_pairs(folder: Path) -> int:
    """Pairs the default settings should give, from the raw files, group by group."""
    questions = {}
    for line in (folder / "question.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        questions[q["question_id"]] = q["turns"]
    ids = list(questions)
    key_list = turns_keys(pa.array([questions[i] for i in ids], pa.list_(pa.string()))).to_pylist()
    keys = dict(zip(ids, key_list, strict=True))
    groups: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for answer_file in sorted((folder / "model_answer").glob("*.jsonl")):
        for line in answer_file.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            answers = rec["choices"][0]["turns"]
            if any(not (a or "").strip() for a in answers):
                continue
            groups[keys[rec["question_id"]]].append((rec["model_id"], answers))
    # Every answer text normalised in one call (the per-string function would start Polars 2,390 times).
    texts = sorted({a for records in groups.values() for _, answers in records for a in answers})
    normalised = dict(zip(texts, normalize_texts(pa.array(texts, pa.string())).to_pylist(), strict=True))
    total = 0
    for records in groups.values():
        seen_exact: set[tuple[str, ...]] = set()
        kept: list[tuple[str, str, set[bytes]]] = []  # model, normalised answer, shingles
        for model, answers in records:
            if tuple(answers) in seen_exact:  # duplicate_record: same prompt, identical answer
                continue
            seen_exact.add(tuple(answers))
            norm = "\x1f".join(normalised[a] for a in answers)
            kept.append((model, norm, _shingles(norm)))
        # near_identical_answer: equal normalised text or Jaccard >= 0.9, connected sets keep their first.
        parent = list(range(len(kept)))
        for i in range(len(kept)):
            for j in range(i + 1, len(kept)):
                if kept[i][1] == kept[j][1] or _jaccard(kept[i][2], kept[j][2]) >= SIMILARITY:
                    ri, rj = _root(parent, i), _root(parent, j)
                    parent[max(ri, rj)] = min(ri, rj)
        models = Counter(kept[i][0] for i in range(len(kept)) if _root(parent, i) == i)
        n = sum(models.values())
        if len(models) >= 2:
            total += min(n // 2, n - max(models.values()), CAP)
    return total


def test_mine_real_answers_gives_the_expected_pairs(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / FOLDER
    result = mine_pairs([folder], MineSettings(), work_dir=tmp_path)
    expected = expected_pairs(folder)
    assert expected > 800  # 405 distinct prompts, five models each: about two pairs per prompt
    assert result.pairs.num_rows == expected
    rows = result.pairs.to_pylist()
    assert all(r["model_a"] != r["model_b"] for r in rows)
    used = Counter(c for r in rows for c in r["provenance"])
    assert max(used.values()) == 1
    assert {r["model_a"] for r in rows} == {
        "gpt-4", "gpt-3.5-turbo", "claude-v1", "vicuna-13b-v1.5", "Llama-2-70b-chat",
    }  # fmt: skip
    funnel = result.funnel
    assert sum(funnel.dropped.values()) + funnel.records_paired == funnel.total_in == 5 * 478


def test_mine_cli_on_real_data_with_exclusion_passes_check_leakage(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_data / FOLDER
    # Half of the real battles as the protected set (written to tmp_path only), so some pairs survive.
    lines = (folder / "arena_battles_1135.jsonl").read_text(encoding="utf-8").splitlines()
    protected = tmp_path / "protected.jsonl"
    protected.write_text("\n".join(lines[: len(lines) // 2]) + "\n", encoding="utf-8")
    out = tmp_path / "mined.csv"
    dropped = tmp_path / "dropped.jsonl"
    argv = ["mine", str(folder), "--out", str(out), "--exclude", str(protected), "--dropped", str(dropped)]
    code, stdout, stderr = _run(argv, capsys)
    assert code == 0, stderr
    assert "Mining funnel" in stdout and "leak_exact" in stdout
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and rows[0]["winner_model_a"] == ""
    assert set(rows[0]) >= {"id", "model_a", "model_b", "prompt", "response_a", "response_b", "provenance"}
    assert 0 < len(rows) < 893  # 893 pairs without --exclude
    assert find_leaks(read_table(out), [read_table(protected)]).num_rows == 0
    assert _run(["check-leakage", str(out), "--protect", str(protected)], capsys)[0] == 0
    # Without --exclude the same pairs leak, and check-leakage says so (exit 3: the check failed).
    leaky = tmp_path / "leaky.parquet"
    assert _run(["mine", str(folder), "--out", str(leaky)], capsys)[0] == 0
    code, _, err = _run(["check-leakage", str(leaky), "--protect", str(protected)], capsys)
    assert code == 3 and "leak" in err
    funnel = json.loads((tmp_path / "mined.funnel.json").read_text(encoding="utf-8"))
    assert funnel["pairs_out"] == len(rows)
    leak_lines = [json.loads(x) for x in dropped.read_text(encoding="utf-8").splitlines() if '"leak_' in x]
    assert len(leak_lines) == sum(v for k, v in funnel["pairs_dropped"].items() if k.startswith("leak_"))


def test_real_prompts_opening_longer_protected_battles_are_caught(shared_data: Path) -> None:
    """87 mined prompts open a longer (multi-turn) real protected battle: the prefix rule drops them."""
    folder = shared_data / FOLDER
    result = mine_pairs([folder], MineSettings())
    leaks = find_leaks(result.pairs, [folder / "arena_battles_1135.jsonl"])
    scopes = Counter(leaks.column("scope").to_pylist())
    assert leaks.num_rows == result.pairs.num_rows  # every real prompt is among the 1,135 battles
    assert scopes["candidate_opens_protected"] > 0 and scopes["whole"] > 0
