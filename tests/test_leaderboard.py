"""Bradley–Terry leaderboard: known strengths are recovered, votes are read strictly, the command prints
ratings and the agreement with human votes on the shared real data."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.cli import main
from arenapref.errors import InputFormatError
from arenapref.model.leaderboard import (
    Pairs,
    compare_rankings,
    fit_bt,
    pairs_from_battles,
    ratings,
    read_votes,
    win_matrix,
)

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_leaderboard.py"


def test_bt_recovers_known_order_and_matches_rowwise_reference() -> None:
    spec = importlib.util.spec_from_file_location("bench_leaderboard", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pairs, strength = bench.synthetic_pairs(20_000, m=8)
    lb = ratings(pairs, n_boot=50)
    order = [f"model-{k:02d}" for k in np.argsort(-strength)]
    assert lb.models[:3] == order[:3]
    assert (lb.low <= lb.rating).all() and (lb.rating <= lb.high).all()
    ref = bench.reference_bt(pairs, iters=500)
    assert max(abs(r - ref[m]) for m, r in zip(lb.models, lb.rating, strict=True)) < 0.5
    agree = compare_rankings(lb, ratings(pairs, n_boot=0))
    assert agree.spearman == pytest.approx(1.0) and agree.kendall == pytest.approx(1.0)


def test_ties_and_soft_labels() -> None:
    # a beats b twice, one tie: W[a, b] = 2.5, W[b, a] = 0.5
    pairs = Pairs(
        np.array(["a", "a", "b"]), np.array(["b", "b", "a"]), np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0.0]])
    )
    names, w = win_matrix(pairs)
    assert names.tolist() == ["a", "b"] and w.tolist() == [[0, 2.5], [0.5, 0]]
    log_p = fit_bt(w)
    assert log_p[0] - log_p[1] == pytest.approx(np.log(2.5 / 0.5), rel=0.02)
    table = pa.table(
        {
            "model_a": ["x", "y", None],
            "model_b": ["y", "x", "x"],
            "p_a": [0.7, 0.2, 1.0],
            "p_b": [0.2, 0.7, 0.0],
            "p_tie": [0.1, 0.1, 0.0],
        }
    )
    got = pairs_from_battles(table)
    assert len(got) == 2 and np.allclose(got.outcome[0], [0.7, 0.2, 0.1])


def test_votes_reader_names_bad_rows(tmp_path: Path) -> None:
    bad = tmp_path / "votes.csv"
    bad.write_text("model_a,model_b,winner\nx,y,model_a\nx,y,alien\n")
    with pytest.raises(InputFormatError, match=r"row 2: winner 'alien'"):
        read_votes(bad)
    with pytest.raises(SystemExit) as done:
        main(["leaderboard", str(bad)])
    assert done.value.code == 1


def _bench_ablate() -> object:
    spec = importlib.util.spec_from_file_location("bench_ablate", BENCH.with_name("bench_ablate.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_ablate"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_leaderboard_on_real_votes(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Teacher-labeled Arena-Hard pairs (the 34 models) against the 10k human votes (55 models).
    votes = shared_data / "arena_votes_10k" / "recent_english_llm_category_mpnet.csv"
    old = shared_data / "arena_prompts_1135" / "arena_battles_1135.jsonl"
    _, _, labeled = _bench_ablate().real_inputs(shared_data, n_extra=1500)  # type: ignore[attr-defined]
    pq.write_table(labeled, tmp_path / "teacher.parquet")
    out = tmp_path / "lb.json"
    main(
        [
            "leaderboard",
            str(tmp_path / "teacher.parquet"),
            "--human",
            str(votes),
            "--boot",
            "20",
            "--json",
            "-o",
            str(out),
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    human = summary["human"]
    assert len(summary["ratings"]) == 34 and len(human["shared_models"]) >= 10
    assert -1.0 <= human["spearman"] <= 1.0 and -1.0 <= human["kendall"] <= 1.0
    assert json.loads(out.read_text())["ratings"][0]["model"] == summary["ratings"][0]["model"]
    assert read_votes(old).outcome.shape == (1135, 3)
    main(["leaderboard", str(votes), "--human", str(votes), "--boot", "0", "--json"])
    same = json.loads(capsys.readouterr().out)["human"]
    assert same["spearman"] == pytest.approx(1.0) and len(same["shared_models"]) == 55
