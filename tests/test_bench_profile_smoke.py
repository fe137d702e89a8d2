"""The profile benchmark runs end to end at a tiny size, and both implementations agree on every figure."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_profile.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_profile", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_profile"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_profile_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    args = ["--n", "1000", "--ref-n", "500", "--shard-rows", "500", "--workdir", str(tmp_path)]
    results = bench.main(args)
    out = capsys.readouterr().out
    assert results["mismatches"] == [], out
    assert results["arenapref"]["rows"] == 1000 and results["pandas_on_subset"]["rows"] == 500
    assert results["arenapref_on_subset"]["user_turns"] == results["pandas_on_subset"]["user_turns"] > 500
    assert results["arenapref"]["peak_rss_mb"] > 0 and results["speedup"]["wall_s"] > 0
    assert "figures agree on the subset" in out and "extrapolated linearly" in out
