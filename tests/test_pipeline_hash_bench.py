"""The input-hashing benchmark runs at a tiny size and prints its figures beside the plain reference."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_hash.py"


def test_bench_hash_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_hash", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_hash"] = bench
    spec.loader.exec_module(bench)
    result = bench.main(["--n", "2000", "--battles", "200", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert result["bytes"] > 0 and result["files"] == 3
    assert "reference: read every byte" in out and "hash cache warm" in out
    # Every input file's hash was remembered by the first pass (so the second read nothing).
    assert len(json.loads((tmp_path / "hashes.json").read_text(encoding="utf-8"))) == result["files"]
