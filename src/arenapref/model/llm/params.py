"""The ``-p KEY=VALUE`` settings of ``--model llm``, parsed and checked before any weights are loaded.

Loading a 9B model takes minutes; a typo in a setting should cost a second, so every value is checked here
and a bad one is one sentence naming the key. Values arrive as strings from the command line, or already
typed when ``arenapref.model.training.parse_params`` turned them into numbers, so both are accepted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from arenapref.errors import ArenaprefError

#: The linear layers of every decoder family transformers ships for Gemma-2, Llama, Qwen2 and Mistral.
DEFAULT_TARGET_MODULES = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
RESUME = ("auto", "true", "false")
DEVICES = ("auto", "cuda", "cpu")
ATTENTION = ("auto", "eager", "sdpa", "flash_attention_2")
TRUNCATION = ("last_turn", "per_part")
FOLD_AVERAGE = ("weights", "predictions")


@dataclass(frozen=True)
class LLMParams:
    """Every setting of LLM fine-tuning, with the defaults a single 24-80 GB GPU handles for a 7-9B model.

    Token budget: ``max_length`` tokens per sequence hold the markers, the prompt and both answers. The
    prompt may take up to ``prompt_fraction`` of what the markers leave, each answer half of the rest;
    whatever a short part does not use goes to the parts that need more, so a short prompt leaves room
    for long answers. ``truncation`` says how a conversation over the budget is cut (``encode.py``):
    ``last_turn`` (left truncation, the default) budgets the last turn's prompt and answers first and
    fills what is left with whole earlier turns, newest first; ``per_part`` budgets the prompt and each
    answer over all their turns and drops each part's oldest turns on its own. Either way a single turn
    that alone exceeds its budget keeps its beginning.

    Distillation (1st place, LMSYS 2024): ``teachers`` names columns of the training table or files, each
    giving one teacher's probabilities (A, B, tie) per row; the loss per sequence is
    ``ce_weight * CE(label) + kl_weight * mean KL(teacher || model) + cos_weight * mean (1 - cos)`` over
    the teachers that scored the row, at temperature ``kl_temperature`` (``train.py``).

    ``fold_average`` (with k >= 2 folds): ``weights`` writes one adapter whose weights are the mean of
    the k fold models' (1st place: one forward pass per order at prediction); ``predictions`` keeps the k
    adapters and averages their probabilities (k forward passes).
    """

    max_length: int = 1024
    prompt_fraction: float = 0.25
    epochs: int = 1
    batch_size: int = 4
    predict_batch_size: int = 0  # 0: twice batch_size (no gradients, so twice as many fit)
    grad_accum: int = 4
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    warmup_frac: float = 0.05
    max_grad_norm: float = 1.0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str = DEFAULT_TARGET_MODULES
    gradient_checkpointing: bool = True
    precision: str = "auto"
    device: str = "auto"
    # Gemma-2 trains best with "eager" (its logit soft-capping); "auto" keeps transformers' choice.
    attn_implementation: str = "auto"
    valid_frac: float = 0.1
    swap_augment: bool = True
    # "Full swap" (2nd place, -0.003): each battle and its swapped copy in the same optimizer step.
    full_swap: bool = False
    truncation: str = "last_turn"
    teachers: str = ""  # comma-separated table columns or files of teacher probabilities; "" for none
    ce_weight: float = 1.0
    kl_weight: float = 1.0
    cos_weight: float = 1.0
    kl_temperature: float = 1.0
    fold_average: str = "weights"
    save_steps: int = 100
    resume: str = "auto"
    keep_checkpoints: bool = False

    def fingerprint_fields(self) -> dict[str, Any]:
        """The settings that change what training computes (a checkpoint is only resumed when they match)."""
        skip = {"resume", "keep_checkpoints", "predict_batch_size", "save_steps", "device"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    @property
    def batch_size_for_predict(self) -> int:
        return self.predict_batch_size or 2 * self.batch_size

    @property
    def target_module_list(self) -> str | list[str]:
        """peft's ``target_modules``: ``all-linear`` as is, otherwise the comma-separated names."""
        if self.target_modules.strip() == "all-linear":
            return "all-linear"
        return [m.strip() for m in self.target_modules.split(",") if m.strip()]

    @property
    def teacher_list(self) -> list[str]:
        """The ``teachers`` entries (column names or file paths), in order."""
        return [t.strip() for t in self.teachers.split(",") if t.strip()]


def _as_bool(key: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ArenaprefError(f"-p {key}={raw}: expected true or false")


def _as_int(key: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise ArenaprefError(f"-p {key}={raw}: expected a whole number")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ArenaprefError(f"-p {key}={raw}: expected a whole number") from None


def _as_float(key: str, raw: object) -> float:
    if isinstance(raw, bool):
        raise ArenaprefError(f"-p {key}={raw}: expected a number")
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ArenaprefError(f"-p {key}={raw}: expected a number") from None
    if value != value or value in {float("inf"), float("-inf")}:
        raise ArenaprefError(f"-p {key}={raw}: expected a finite number")
    return value


# key -> (check on the typed value, what is expected), applied after type conversion.
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "max_length": (lambda v: v >= 16, "at least 16 tokens"),
    "prompt_fraction": (lambda v: 0.0 < v < 1.0, "a fraction between 0 and 1"),
    "epochs": (lambda v: v >= 1, "at least 1"),
    "batch_size": (lambda v: v >= 1, "at least 1"),
    "predict_batch_size": (lambda v: v >= 0, "0 (twice batch_size) or more"),
    "grad_accum": (lambda v: v >= 1, "at least 1"),
    "learning_rate": (lambda v: 0.0 < v < 1.0, "a positive learning rate below 1"),
    "weight_decay": (lambda v: v >= 0.0, "zero or more"),
    "warmup_frac": (lambda v: 0.0 <= v < 1.0, "a fraction in [0, 1)"),
    "max_grad_norm": (lambda v: v >= 0.0, "zero (no clipping) or more"),
    "lora_r": (lambda v: v >= 1, "a LoRA rank of at least 1"),
    "lora_alpha": (lambda v: v >= 1, "a positive whole number"),
    "lora_dropout": (lambda v: 0.0 <= v < 1.0, "a fraction in [0, 1)"),
    "target_modules": (lambda v: bool(v.strip().strip(",")), "comma-separated module names or all-linear"),
    "precision": (lambda v: v in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
    "device": (lambda v: v in DEVICES, f"one of {', '.join(DEVICES)}"),
    "attn_implementation": (lambda v: v in ATTENTION, f"one of {', '.join(ATTENTION)}"),
    "valid_frac": (lambda v: 0.0 <= v < 1.0, "a fraction in [0, 1)"),
    "truncation": (lambda v: v in TRUNCATION, f"one of {', '.join(TRUNCATION)}"),
    "ce_weight": (lambda v: v >= 0.0, "a weight of zero or more"),
    "kl_weight": (lambda v: v >= 0.0, "a weight of zero or more"),
    "cos_weight": (lambda v: v >= 0.0, "a weight of zero or more"),
    "kl_temperature": (lambda v: v > 0.0, "a positive temperature"),
    "fold_average": (lambda v: v in FOLD_AVERAGE, f"one of {', '.join(FOLD_AVERAGE)}"),
    "save_steps": (lambda v: v >= 0, "0 (only at the end of each epoch) or more"),
    "resume": (lambda v: v in RESUME, f"one of {', '.join(RESUME)}"),
}


# Settings that take one of a few words, compared case-insensitively.
_CHOICES = {"precision", "device", "resume", "attn_implementation", "truncation", "fold_average"}


def parse_llm_params(raw: Mapping[str, object] | None) -> LLMParams:
    """Typed, range-checked settings from ``-p`` values; unknown keys and bad values are one sentence."""
    known = {f.name: f for f in fields(LLMParams)}
    values: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        f = known.get(key)
        if f is None:
            raise ArenaprefError(
                f"`params` {key!r}: not a setting of `model`=llm; known: {', '.join(sorted(known))}"
            )
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
        typed: Any
        if kind == "bool":
            typed = _as_bool(key, value)
        elif kind == "int":
            typed = _as_int(key, value)
        elif kind == "float":
            typed = _as_float(key, value)
        else:
            typed = str(value).strip().lower() if key in _CHOICES else str(value)
        check = _RANGES.get(key)
        if check is not None and not check[0](typed):
            raise ArenaprefError(f"-p {key}={value}: expected {check[1]}")
        values[key] = typed
    out = LLMParams(**values)
    if out.full_swap and not out.swap_augment:
        raise ArenaprefError("-p full_swap=true needs swap_augment=true (there is no swapped copy otherwise)")
    if out.full_swap and (out.batch_size * out.grad_accum) % 2:
        raise ArenaprefError(
            f"-p full_swap=true: batch_size x grad_accum = {out.batch_size * out.grad_accum} must be even, "
            "so both orders of a battle share an optimizer step"
        )
    if out.ce_weight == 0.0 and not (out.teacher_list and (out.kl_weight or out.cos_weight)):
        raise ArenaprefError(
            "-p ce_weight=0 leaves nothing to learn from: give teachers with kl_weight or cos_weight above 0"
        )
    return out


__all__ = ["DEFAULT_TARGET_MODULES", "LLMParams", "parse_llm_params"]
