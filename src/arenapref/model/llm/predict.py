"""Prediction with a fine-tuned LLM folder: both A/B orders, batched by length, fold adapters averaged.

A folder with one adapter (one fold, or k folds averaged into one by ``average.py``) has it merged into
the base weights at load time, so prediction runs the plain model; with k adapters kept apart
(``fold_average=predictions``) each is applied in turn and the probabilities are averaged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import peft
import pyarrow as pa

from arenapref.metrics import softmax
from arenapref.model.llm.encode import encode_battles, make_layout
from arenapref.model.llm.folder import TOKENIZER_DIR, base_folder, read_llm_config
from arenapref.model.llm.params import parse_llm_params
from arenapref.model.llm.runtime import (
    load_classifier,
    load_tokenizer,
    predict_logits,
    resolve_device,
    resolve_precision,
)
from arenapref.records import conform

SWAP = [1, 0, 2]


class LLMPreferenceModel:
    """A loaded LLM model folder with the CPU model's interface: ``predict_proba(table) -> (n, 3)``.

    Load once and call many times (a teacher labels pairs chunk by chunk; loading a 9B model per chunk
    would dominate). With ``swap_average`` (the default, what a submission wants) each battle is scored
    in both orders and the two are averaged; a teacher that scores both orders itself, to report their
    agreement, passes ``swap_average=False`` and gets the given order only.
    """

    def __init__(
        self, model_dir: str | Path, batch_size: int | None = None, swap_average: bool = True
    ) -> None:
        self.model_dir = Path(model_dir)
        cfg = read_llm_config(self.model_dir)
        self.params = parse_llm_params(cfg.get("params", {}))
        self.batch_size = batch_size or self.params.batch_size_for_predict
        self.swap_average = swap_average
        # Trained on a GPU, scored on a laptop: only an explicit cpu setting pins the device.
        self.device = resolve_device("cpu" if self.params.device == "cpu" else "auto")
        self.precision = resolve_precision(
            "auto"
            if self.params.precision == "fp16" and self.device.type != "cuda"
            else self.params.precision,
            self.device,
        )
        self.tokenizer = load_tokenizer(self.model_dir / TOKENIZER_DIR)
        self.layout = make_layout(self.tokenizer)
        self.pad_id = int(self.tokenizer.pad_token_id)
        base = load_classifier(
            base_folder(Path(cfg["base"])), self.precision, self.pad_id, self.params.attn_implementation
        )
        self.adapters = [str(a) for a in cfg["adapters"]]
        # Cross-fitted at training (1 when scaling did not lower the out-of-fold log loss).
        self.temperature = float(cfg.get("temperature", 1.0))
        model: Any = peft.PeftModel.from_pretrained(
            base, str(self.model_dir / self.adapters[0]), adapter_name="0"
        )
        for k, rel in enumerate(self.adapters[1:], start=1):
            model.load_adapter(str(self.model_dir / rel), adapter_name=str(k))
        if len(self.adapters) == 1:
            model = model.merge_and_unload()
        self.model = model.to(self.device)

    def sequences(self, table: pa.Table) -> tuple[list[list[int]], list[list[int]]]:
        """Token ids of every battle in its own order and swapped."""
        p = self.params
        enc = encode_battles(
            self.tokenizer, self.layout, table, p.max_length, p.prompt_fraction, p.truncation
        )
        return [e.ids(self.layout) for e in enc], [e.ids(self.layout, swap=True) for e in enc]

    def predict_proba(self, table: pa.Table, sort_by_length: bool = True) -> np.ndarray:
        """(n, 3) probabilities (A, B, tie), the mean over fold adapters (and over both orders)."""
        table = conform(table, "battles")
        n = table.num_rows
        if n == 0:
            return np.zeros((0, 3))
        ab, ba = self.sequences(table)
        seqs = ab + ba if self.swap_average else ab
        from arenapref.model.temperature import apply_temperature

        total = np.zeros((len(seqs), 3))
        for k in range(len(self.adapters)):
            if len(self.adapters) > 1:
                self.model.set_adapter(str(k))
            total += softmax(
                predict_logits(
                    self.model,
                    seqs,
                    self.batch_size,
                    self.pad_id,
                    self.device,
                    self.precision,
                    sort_by_length,
                )
            )
        # The temperature applies to each order, so a teacher that keeps the orders apart and averages
        # them itself gets exactly this method's swap-averaged result.
        p = apply_temperature(total / len(self.adapters), self.temperature)
        return np.asarray(0.5 * (p[:n] + p[n:][:, SWAP]) if self.swap_average else p)


__all__ = ["LLMPreferenceModel"]
