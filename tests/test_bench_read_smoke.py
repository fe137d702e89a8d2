"""The read benchmark runs at a tiny size and both readers give identical tables, rejects and repairs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from arenapref.testing.layouts import LAYOUTS

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_read.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_read", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_read"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_read_smoke(tmp_path: Path) -> None:
    results = _bench().main(
        [
            "--battles",
            "600",
            "--malformed-share",
            "0.05",
            "--repeats",
            "1",
            "--workdir",
            str(tmp_path),
            "--layout-rows",
            "40",
        ]
    )
    assert results["identical"] and results["rows_read"] + results["rejected"] == 600
    per_layout = results["layouts"]
    assert set(per_layout) == set(LAYOUTS)
    assert all(r["battles"] > 0 and r["rejected"] == 0 for r in per_layout.values())


def test_bench_read_only_times_the_named_layouts_beside_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench()
    small = ["--battles", "50", "--repeats", "1", "--workdir", str(tmp_path), "--layout-rows", "6"]
    results = bench.main([*small, "--only", "hh-rlhf,ppe"])
    assert set(results["layouts"]) == {"arena-55k", "hh-rlhf", "ppe"}
    assert results["layouts"]["arena-55k"]["seconds_again"] >= 0
    with pytest.raises(SystemExit):
        bench.main([*small, "--only", "hh-rlhf,nosuch"])
    assert "unknown layout(s) nosuch" in capsys.readouterr().err
