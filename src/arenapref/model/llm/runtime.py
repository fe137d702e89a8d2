"""What training and prediction share on the torch side: device, precision, loading, batching, forward.

Imported only after ``require_llm_libraries`` succeeded (see ``arenapref.model.llm``), so a missing torch
is one sentence, never an ImportError traceback.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers

from arenapref.errors import ArenaprefError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def resolve_device(name: str) -> torch.device:
    """``auto``: the GPU when there is one; asking for ``cuda`` without one is a user error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ArenaprefError("-p device=cuda: no CUDA GPU is visible to torch")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto``: bf16 on GPUs that have it (Ampere and later), fp16 on older GPUs, fp32 on the CPU."""
    if name != "auto":
        if name == "fp16" and device.type != "cuda":
            raise ArenaprefError("-p precision=fp16: half precision needs a CUDA GPU; use bf16 or fp32")
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision for the forward pass: the LoRA weights and the head stay fp32, the base is half."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence "some weights were newly initialized" (the score head is new by design)."""
    logger = logging.getLogger("transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def load_tokenizer(path: Path) -> Any:
    """The folder's tokenizer with a padding token: its own, else end-of-sequence, else unknown."""
    try:
        with _quiet_transformers():
            tok = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ArenaprefError(f"{path}: cannot load a tokenizer from this folder ({exc})") from exc
    if tok.pad_token_id is None:
        fallback = tok.eos_token or tok.unk_token
        if fallback is None:
            raise ArenaprefError(f"{path}: the tokenizer has no padding, end or unknown token to pad with")
        tok.pad_token = fallback
    return tok


def load_classifier(base: Path, precision: str, pad_token_id: int, attention: str = "auto") -> Any:
    """The base causal LM with a new three-way head (``AutoModelForSequenceClassification``)."""
    try:
        with _quiet_transformers():
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                str(base),
                num_labels=3,
                local_files_only=True,
                dtype=DTYPES[precision],
                **({} if attention == "auto" else {"attn_implementation": attention}),
            )
    except (OSError, ValueError, KeyError) as exc:
        raise ArenaprefError(f"{base}: cannot load it as a sequence classifier ({exc})") from exc
    model.config.pad_token_id = pad_token_id
    return model


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded ids and the attention mask; the head reads the last non-padding token of each row."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[i, : len(s)] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}


def predict_logits(
    model: Any,
    seqs: Sequence[Sequence[int]],
    batch_size: int,
    pad_id: int,
    device: torch.device,
    precision: str,
    sort_by_length: bool = True,
) -> np.ndarray:
    """(n, 3) float64 logits in the order of ``seqs``.

    Sorted by length (longest first) so each batch pads to nearly its own length, and an out-of-memory
    error shows in the first batch rather than after an hour.
    """
    out = np.zeros((len(seqs), 3))
    order = np.argsort([-len(s) for s in seqs], kind="stable") if sort_by_length else np.arange(len(seqs))
    model.eval()
    with torch.inference_mode(), autocast(device, precision):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            logits = model(**pad_batch([seqs[i] for i in idx], pad_id, device)).logits
            out[idx] = logits.float().cpu().numpy()
    return out


__all__ = [
    "autocast",
    "load_classifier",
    "load_tokenizer",
    "pad_batch",
    "predict_logits",
    "resolve_device",
    "resolve_precision",
]
