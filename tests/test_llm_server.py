"""The llama.cpp judge option: the demo's config names it, and a bad model path is one sentence.

Serving needs llama-cpp-python built for this CPU; see test_llm_real.py for the model itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from arenapref.demo import demo_config
from arenapref.errors import ArenaprefError
from arenapref.model.llm.llama_server import resolve_gguf, serve_gguf
from arenapref.pipeline.config import load_config, to_toml


def test_demo_with_the_llama_cpp_judge_writes_a_config_that_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "PIPELINE.toml"
    path.write_text(to_toml(demo_config(judge="llama-cpp")), encoding="utf-8")
    cfg = load_config(path)
    assert cfg.label.judge.llama_cpp_model == "smollm2" and not cfg.label.judge.local_server
    assert cfg.label.max_pairs == 50 and cfg.label.judge.eval_rows == 20
    offline = demo_config()
    assert offline.label.judge.local_server and offline.label.judge.llama_cpp_model is None


def test_a_missing_gguf_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ArenaprefError, match="no such GGUF file"):
        resolve_gguf(tmp_path / "nope.gguf")
    with pytest.raises(ArenaprefError, match="no such GGUF file"), serve_gguf(tmp_path / "nope.gguf"):
        pass
