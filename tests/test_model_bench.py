"""The model benchmark runs end to end at a smoke size (figures are printed, budgets not asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_model.py"


@pytest.mark.slow
def test_bench_model_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_model", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_model"] = module
    spec.loader.exec_module(module)
    figures = module.main(["--n-train", "300", "--n-test", "120", "--folds", "2", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "TF-IDF + logistic regression" in out and "gap to best" in out
    assert figures["n_test"] == 120 and figures["best_log_loss"] < figures["prior_log_loss"]
    assert 0 < figures["test_log_loss"] < 1.2


def test_bench_model_real_smoke(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_model_real", BENCH.with_name("bench_model_real.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--shared", str(shared_data), "--seeds", "0", "--rows", "200"])
    assert "length-only logistic regression" in capsys.readouterr().out
    models = figures["models"]
    assert models["length-only logistic regression"]["mean"] < models["class prior"]["mean"] + 0.02


def test_bench_leaderboard_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_leaderboard", BENCH.with_name("bench_leaderboard.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--pairs", "20000", "--boot", "5"])
    assert figures["max_gap"] < 1.0 and figures["rho"] > 0.95
    assert "reference" in capsys.readouterr().out
