"""The mine stage's settings: one model behind ``arenapref mine``, the pipeline's ``[mine]`` and ``ap.mine``.

Kept free of the mining code (pydantic only), so the command line and the pipeline's config can import it
without loading NumPy or Polars. tests/test_data_settings.py proves that the command's options, the
config section's keys and the API's keywords are these fields, each with this default and range.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from arenapref.compare.settings import Threshold
from arenapref.settings import StageSettings

#: Group records by all their user turns, or by the first one only.
KeyMode = Literal["first", "all"]


class MineSettings(StageSettings):
    """Every knob of a mining run; the defaults follow the top team's recipe plus a per-prompt cap.

    ``None`` for a cap or a limit means none (the command line's 0). ``answer_similarity``: two answers in
    a prompt group this similar (5-gram Jaccard) teach nothing as a pair; ``None`` keeps them.
    """

    key: KeyMode = "all"
    near: bool = False
    near_threshold: Threshold = 0.8
    answer_similarity: float | None = Field(default=0.9, gt=0, le=1)
    # A list in TOML and from a notebook: accepted as any sequence of names, kept as a tuple.
    languages: tuple[str, ...] = Field(default=(), strict=False)
    min_answer_chars: int = Field(default=1, ge=0)
    max_answer_chars: int | None = Field(default=None, ge=1)
    max_uses: int = Field(default=1, ge=1)
    max_pairs_per_prompt: int | None = Field(default=5, ge=1)
    max_pairs_per_model_pair: int | None = Field(default=None, ge=1)
    seed: int = Field(default=0, ge=0)
    exclude_threshold: Threshold = 0.8


__all__ = ["KeyMode", "MineSettings"]
