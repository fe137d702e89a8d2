"""The mining benchmark's main function at a smoke size (the full-size run is in the report)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_mine.py"


def test_bench_mine_smoke(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_mine", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_mine"] = module
    spec.loader.exec_module(module)
    argv = [
        "--n",
        "3000",
        "--ref-n",
        "1500",
        "--shard-rows",
        "1500",
        "--workdir",
        str(tmp_path),
        "--in-process",
    ]
    out = module.main(argv)
    assert out["arenapref"]["rows"] == 3000
    assert out["recall"]["recall"] == 1.0 and out["recall"]["extra"] == 0
    # Both implementations find the same minable groups on the shared subset.
    assert out["recall_subset_reference"]["found"] == out["recall_subset_arenapref"]["found"]
    assert out["checks"]["every minable group found"]
    assert out["keys"]["arenapref_s"] > 0 and out["keys"]["polars_alone_s"] > 0
