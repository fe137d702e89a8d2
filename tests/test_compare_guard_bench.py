"""The guard benchmark at a smoke size: it runs, and the vectorised guard agrees with the plain reference."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_guard.py"


def test_bench_guard_smoke(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_guard", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_guard"] = module
    spec.loader.exec_module(module)
    out = module.main(["--n", "1500", "--protected", "300", "--workdir", str(tmp_path)])
    assert out["candidates"] == 1500 and out["ours_leaks"] > 100
    assert out["agreement"] == 1.0  # the same rows as the dict-of-prefixes reference
    # Every scope occurs, and short protected prompts ("hi") did not flag the conversations they open.
    assert {"whole", "protected_opens_candidate", "candidate_opens_protected"} <= set(out["scopes"])
    assert out["ours_leaks"] < out["candidates"]
