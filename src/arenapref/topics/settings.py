"""The topics stage's settings: fitting a map and probing sources with it.

``TopicFitSettings`` is what ``arenapref topics fit`` and ``ap.fit_topics`` take, ``TopicProbeSettings``
what ``topics probe`` and ``ap.probe`` take; the pipeline's ``[topics]`` section is both (plus
``enabled``). tests/test_data_settings.py proves each is one set with one default and range. Pydantic
only, so the command line and the pipeline's config import it without the topic code.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from arenapref.settings import SettingsError, StageSettings

if TYPE_CHECKING:
    from arenapref.topics.fit import FitSettings


class TopicFitSettings(StageSettings):
    """How a map is fitted: ``k`` topics on a seeded ``sample`` of first prompts, embedded by ``embedder``
    (``auto``: the best one installed); ``assign``: how a transformer map places other rows; ``threads``
    0 uses every core (``arenapref.threads``)."""

    k: int = Field(default=20, ge=2)
    sample: int = Field(default=100_000, ge=1)
    embedder: str = "auto"
    seed: int = Field(default=0, ge=0)
    english_only: bool = True
    assign: Literal["student", "transformer"] = "student"
    threads: int = Field(default=0, ge=0)

    def fit_settings(self, **advanced: Any) -> FitSettings:
        """The map's recipe: these settings and ``advanced`` ones of ``topics.fit.FitSettings``
        (``n_init``, ``min_chars``, ...: the Python API's, for experiments)."""
        from arenapref.topics.fit import FitSettings

        known = {f.name for f in fields(FitSettings)} - set(type(self).model_fields)
        for name in advanced:
            if name not in known:
                raise SettingsError(name, "unknown key")
        return FitSettings(**self.model_dump(exclude={"threads"}), **advanced)


class TopicProbeSettings(StageSettings):
    """How sources are placed on a map: on a transformer map, ``probe_sample`` prompts per source placed
    exactly by the transformer (0: every row through the student); ``unique_prompts`` counts each
    distinct prompt once per source (FastChat folders repeat a question per model)."""

    probe_sample: int = Field(default=20_000, ge=0)
    unique_prompts: bool = False


__all__ = ["TopicFitSettings", "TopicProbeSettings"]
