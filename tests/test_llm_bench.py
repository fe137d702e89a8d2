"""The LLM GPU benchmark runs end to end in its CPU smoke mode (a tiny random model; figures printed),
with recipe settings passed through and reported."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_llm_gpu.py"


@pytest.mark.slow
def test_bench_llm_gpu_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    spec = importlib.util.spec_from_file_location("bench_llm_gpu", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_llm_gpu"] = module
    threads = torch.get_num_threads()
    try:
        spec.loader.exec_module(module)
        figures = module.main(["--smoke", "--folds", "2", "-p", "full_swap=true"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "train pairs/s (grad ckpt)" in out and "infer pairs/s (input order)" in out
    assert "recipe: folds=2  truncation=last_turn  swap_augment=True  full_swap=True" in out
    assert figures["recipe"]["fold_average"] == "weights"
    assert [r["max_length"] for r in figures["rows"]] == [64, 128]
    for row in figures["rows"]:
        for key in ("train_checkpointing_pairs_s", "train_plain_pairs_s", "infer_sorted_pairs_s"):
            assert row[key] > 0
