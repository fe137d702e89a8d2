"""The LLM model folder: what ``train_llm`` writes and ``predict_llm`` reads, checked without torch.

Layout (written as a whole by ``arenapref.atomic.atomic_dir``)::

    llm_config.json     format, versions, base folder and its config checksum, settings, adapters
    adapters/<k>/       LoRA adapter + classification head per fold (peft layout), or
    adapters/mean/      the k fold adapters averaged into one (``-p fold_average=weights``)
    tokenizer/          the tokenizer with the padding token training used
    oof.parquet         validation predictions: id, p_a, p_b, p_tie, fold (like the CPU model's)
    metrics.json        validation log loss per epoch and fold, the class prior's, sizes and timings

The base weights are not copied (a 9B model is 18 GB): the folder records the base's path and checksum
(of a folder's ``config.json``, or of a whole GGUF file, see ``arenapref.model.llm.gguf``), and prediction
refuses a base that changed.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from arenapref.errors import ArenaprefError
from arenapref.model.llm.gguf import converted_folder, gguf_sha256, is_gguf_file

CONFIG_FILE = "llm_config.json"
FORMAT = "arenapref-llm-preference-model"
FORMAT_VERSION = 2  # 2: the recipe settings (truncation, teachers, fold_average); 1 is still read
ADAPTERS_DIR = "adapters"
TOKENIZER_DIR = "tokenizer"
OOF_FILE = "oof.parquet"
METRICS_FILE = "metrics.json"


def is_llm_model_dir(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by ``train_llm`` (it has ``llm_config.json``)."""
    return (Path(path) / CONFIG_FILE).is_file()


def base_checksum(base: Path) -> str:
    """sha256 of a GGUF base file, or of a base folder's ``config.json`` (cheap, changes with the model)."""
    if is_gguf_file(base):
        return gguf_sha256(base)
    cfg = base / "config.json"
    if not cfg.is_file():
        raise ArenaprefError(f"{base}: neither a GGUF file nor a Hugging Face model folder (no config.json)")
    return hashlib.sha256(cfg.read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("torch", "transformers", "peft"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def _params_of_format_1(params: dict[str, Any]) -> dict[str, Any]:
    """Format 1 folders (before the recipe settings) truncated per part and had one teacher column."""
    out = {k: v for k, v in params.items() if k not in {"teacher_column", "kl_weight"}}
    out.setdefault("truncation", "per_part")
    return out


def read_llm_config(model_dir: str | Path) -> dict[str, Any]:
    """``llm_config.json`` of a model folder, checked for format, adapters and an unchanged base folder."""
    d = Path(model_dir)
    path = d / CONFIG_FILE
    if not path.is_file():
        raise ArenaprefError(f"{d}: not an LLM model folder (no {CONFIG_FILE})")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArenaprefError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise ArenaprefError(f"{path}: not an arenapref LLM preference model")
    if cfg.get("format_version") == 1 and isinstance(cfg.get("params"), dict):
        cfg["params"] = _params_of_format_1(cfg["params"])
    elif cfg.get("format_version") != FORMAT_VERSION:
        raise ArenaprefError(
            f"{d}: LLM model format {cfg.get('format_version')}; this arenapref reads format "
            f"{FORMAT_VERSION}, so retrain the model"
        )
    adapters = cfg.get("adapters")
    if not isinstance(adapters, list) or not adapters:
        raise ArenaprefError(f"{path}: lists no adapters")
    for rel in adapters:
        if not (d / str(rel) / "adapter_config.json").is_file():
            raise ArenaprefError(f"{d}: the adapter {rel} is missing; the folder is incomplete")
    base = Path(str(cfg.get("base", "")))
    if not base.exists():
        raise ArenaprefError(f"{d}: its base model {base} is missing; put the base weights back at that path")
    if base_checksum(base) != cfg.get("base_config_sha256"):
        raise ArenaprefError(f"{d}: the base {base} now holds a different model than at training")
    return cfg


def base_folder(base: Path) -> Path:
    """The Hugging Face folder to load ``base`` from: itself, or a GGUF file's converted cache folder."""
    return converted_folder(base) if is_gguf_file(base) else base


__all__ = ["CONFIG_FILE", "base_folder", "is_llm_model_dir", "read_llm_config"]
