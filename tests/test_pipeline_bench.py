"""The pipeline benchmark runs end to end at a tiny size and prints per-stage and reference figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_pipeline.py"


@pytest.mark.slow
def test_bench_pipeline_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_pipeline", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_pipeline"] = bench
    spec.loader.exec_module(bench)
    result = bench.main(
        ["--n", "1500", "--battles", "400", "--judge-pairs", "60", "--workdir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert {s["status"] for s in result["stages"].values()} == {"ran"}
    assert set(result["rerun_statuses"]) == {"skipped"}
    assert result["tokenize_only"]["tokens"] > 0 and result["extrapolated_total_s"] > result["total_s"]
    assert "exact token counting alone" in out and "extrapolated linearly" in out
