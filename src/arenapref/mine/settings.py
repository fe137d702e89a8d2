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


class RegenerateSettings(StageSettings):
    """Second answers for prompts only one model answered (``mine.regenerate``): who is asked, how, and
    what a run may spend. One model behind ``arenapref mine``'s ``--regen-*`` options, the pipeline's
    ``[mine.regenerate]`` table and ``ap.mine(regenerate=...)``.

    ``model`` unset: no regeneration. ``base_url`` unset: ``$ARENAPREF_BASE_URL``, else
    ``$OPENAI_BASE_URL`` (one of them is needed). ``api_key_env``: the variable holding the key (``None``:
    no key). ``cache``: the SQLite file answers are kept in (a rerun resumes; unset: the caller's default,
    the per-user cache in Python). ``max_prompts``, ``max_requests``, ``max_total_tokens``, ``max_cost``:
    caps (``None`` or 0: none; ``max_cost`` needs prices). ``concurrency``: requests in flight at once.
    """

    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    cache: str | None = None
    temperature: float = Field(default=0.7, ge=0)
    max_tokens: int = Field(default=1024, ge=1)
    max_prompts: int | None = Field(default=None, ge=1)
    max_requests: int = Field(default=0, ge=0)
    max_total_tokens: int = Field(default=0, ge=0)
    max_cost: float = Field(default=0.0, ge=0)
    concurrency: int = Field(default=16, ge=1)


__all__ = ["KeyMode", "MineSettings", "RegenerateSettings"]
