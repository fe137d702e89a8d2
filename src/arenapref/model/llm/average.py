"""Fold-adapter averaging (``-p fold_average=weights``): k fold LoRA adapters become one, exactly.

The 1st-place LMSYS 2024 solution averaged its 5 fold adapters into one model and submitted that, so
prediction costs one forward pass per order instead of five. Averaging each LoRA factor separately is
not an average of the models: mean(B) · mean(A) is not mean(B · A). The exact mean of the k fine-tuned
weight matrices, W + mean_k (alpha / r) B_k A_k, is itself a LoRA update of rank k·r:

    A = [A_1; ...; A_k]      (stacked rows)      B = [B_1, ..., B_k] / k      (stacked columns)

with ``lora_alpha`` scaled by k so that alpha / rank is unchanged. The classification head (peft's
``modules_to_save``, trained in full) is averaged as it is. Prediction merges the result into the base
weights once (``predict.py``), so the larger rank costs nothing per token. The folds start from the same
head and LoRA initialisation in this mode (``train.py``), as weight averaging of fine-tuned models needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import peft
import torch
from safetensors.torch import save_file

from arenapref.errors import ArenaprefError

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def average_adapters(folders: list[Path], out: Path) -> None:
    """Write to ``out`` the adapter whose model is the mean of the models of the adapters in ``folders``."""
    k = len(folders)
    configs = [json.loads((f / ADAPTER_CONFIG).read_text(encoding="utf-8")) for f in folders]
    cfg = dict(configs[0])
    if cfg.get("use_rslora") or cfg.get("rank_pattern") or cfg.get("alpha_pattern") or cfg.get("use_dora"):
        raise ArenaprefError(f"{folders[0]}: only plain LoRA adapters (one rank and alpha) can be averaged")
    if any(c.get("r") != cfg["r"] or c.get("lora_alpha") != cfg["lora_alpha"] for c in configs):
        raise ArenaprefError("the fold adapters differ in rank or alpha; they cannot be averaged")
    states = [peft.utils.load_peft_weights(str(f), device="cpu") for f in folders]
    merged: dict[str, torch.Tensor] = {}
    for key, first in states[0].items():
        parts = [s[key].float() for s in states]
        if ".lora_A." in key:
            merged[key] = torch.cat(parts, dim=0)
        elif ".lora_B." in key:
            merged[key] = torch.cat(parts, dim=1) / k
        else:
            merged[key] = torch.stack(parts).mean(dim=0)
        merged[key] = merged[key].to(first.dtype).contiguous()
    cfg["r"] = cfg["r"] * k
    cfg["lora_alpha"] = cfg["lora_alpha"] * k
    out.mkdir(parents=True, exist_ok=True)
    save_file(merged, str(out / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (out / ADAPTER_CONFIG).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")


__all__ = ["average_adapters"]
