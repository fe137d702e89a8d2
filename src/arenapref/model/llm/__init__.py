"""Fine-tuned LLMs as three-way preference classifiers (``arenapref train --model llm --base DIR``).

The leading competition solutions fine-tuned 7-9B causal LMs (Gemma-2-9B, Llama-3-8B) with LoRA as
three-way classifiers, trained on both A/B orders, distilled teachers' soft labels and averaged both
orders at test time. This package does that from the same battle tables the CPU model reads::

    from arenapref.model.llm import train_llm, predict_llm, load_llm
    summary = train_llm(table, Path("llm-model"), Path("gemma-2-9b"), {"max_length": "1024"})
    proba = predict_llm(Path("llm-model"), test_table)        # (n, 3): A, B, tie, both orders averaged
    teacher = load_llm(Path("llm-model"))                     # load once, predict_proba many times

Nothing here imports torch: the functions import it when called, and say in one sentence what to install
when it is missing, so every other command works without the ``llm`` extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from arenapref.model.llm.deps import require_llm_libraries
from arenapref.model.llm.folder import CONFIG_FILE, is_llm_model_dir, read_llm_config
from arenapref.model.llm.params import LLMParams, parse_llm_params

if TYPE_CHECKING:
    from arenapref.model.llm.predict import LLMPreferenceModel


def train_llm(
    battles: pa.Table,
    out: Path,
    base: Path,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    folds: int = 0,
    progress: bool = True,
    weights: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``base`` (a local Hugging Face folder or GGUF file; nothing is fetched) on ``battles``.

    ``folds`` 0: one adapter, validated on ``valid_frac`` of the prompt groups; ``folds`` k >= 2: one
    adapter per grouped fold, so every labeled row gets an out-of-fold prediction, and prediction averages
    the k adapters. Writes the model folder ``out`` at once at the end (checkpoints live in
    ``<out>.llm-work`` meanwhile, and a rerun resumes from them) and returns a JSON-ready summary.
    Settings: see ``LLMParams``; they are checked before torch is imported. ``weights`` (source or input
    name -> weight, as ``--weight``) scale each row's loss, both orders alike.
    """
    p = parse_llm_params(params)
    require_llm_libraries()
    from arenapref.model.llm.train import train_llm_table

    return train_llm_table(battles, Path(out), Path(base), dict(p.__dict__), seed, folds, progress, weights)


def load_llm(model_dir: Path, batch_size: int | None = None, swap_average: bool = True) -> LLMPreferenceModel:
    """Load an LLM model folder once, for many ``predict_proba(table)`` calls (teachers, notebooks)."""
    read_llm_config(model_dir)  # a bad folder is one sentence, before torch is imported
    require_llm_libraries()
    from arenapref.model.llm.predict import LLMPreferenceModel

    return LLMPreferenceModel(model_dir, batch_size=batch_size, swap_average=swap_average)


def predict_llm(model_dir: Path, battles: pa.Table, batch_size: int | None = None) -> np.ndarray:
    """(n, 3) probabilities (A, B, tie): both orders scored and averaged, batched by length."""
    return load_llm(model_dir, batch_size=batch_size).predict_proba(battles)


__all__ = [
    "CONFIG_FILE",
    "LLMParams",
    "is_llm_model_dir",
    "load_llm",
    "parse_llm_params",
    "predict_llm",
    "train_llm",
]
