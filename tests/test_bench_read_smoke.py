"""The read benchmark runs at a tiny size and both readers give identical tables, rejects and repairs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from arenapref.testing.layouts import LAYOUTS

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_read.py"


def test_bench_read_smoke(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_read", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_read"] = module
    spec.loader.exec_module(module)
    results = module.main(
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
