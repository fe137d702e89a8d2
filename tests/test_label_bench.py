"""The judge benchmark runs end to end at a tiny size (servers in subprocesses, a killed child, a rerun)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_judge.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_judge", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_judge"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_judge_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    args = ["--pairs", "40", "--reference-pairs", "10", "--latency", "0.01", "--concurrency", "4"]
    args += ["--fault-rate", "0.3", "--skip", "throughput"]  # side_by_side times the same client
    figures = bench.main(args)
    out = capsys.readouterr().out
    assert '"share_of_ideal"' in out
    side = figures["side_by_side"]
    assert side["reference"]["requests"] == 20 == side["ours"]["requests"]
    assert side["speedup"] > 0 and side["cpu_per_request_ratio"] > 0
    faults = figures["faults"]
    assert faults["every_pair_accounted_for"] and sum(faults["faults_injected"].values()) > 0
    kill = figures["kill_resume"]
    assert kill["killed_half_way"] and kill["completed_in_cache"] > 0
    assert kill["completed_requests_resent"] == 0
    assert kill["labeled_after_rerun"] == 40
    assert kill["rerun_requests"] + kill["completed_in_cache"] >= 80
