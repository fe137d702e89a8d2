"""The compare benchmark runs end to end at a tiny size and its figures are consistent."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_compare.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_compare", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_compare"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_compare_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    args = [
        "--conversations",
        "2000",
        "--battles",
        "300",
        "--reference-sample",
        "300",
        "--workdir",
        str(tmp_path),
    ]
    figures = bench.main(args)
    out = capsys.readouterr().out
    assert "datasketch reference" in out and "extrapolated" in out
    q, ref = figures["quality"], figures["reference"]
    assert q["planted_near_pairs"] > 10
    assert q["near_recall"] >= 0.95 and q["near_precision"] >= 0.95
    assert q["overlap_exact_recall"] == q["overlap_placeholder_recall"] == 1.0
    # Both implementations do the same work on the sample: the same verified pairs.
    assert ref["pair_agreement"] == 1.0
    assert figures["ours"]["peak_rss_gb"] > 0 and figures["speedup_near"] > 0
