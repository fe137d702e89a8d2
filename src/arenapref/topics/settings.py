"""The topics stage's settings: fitting a map and probing sources with it.

``TopicFitSettings`` is what ``arenapref topics fit`` and ``ap.fit_topics`` take, ``TopicProbeSettings``
what ``topics probe`` and ``ap.probe`` take; the pipeline's ``[topics]`` section is both (plus
``enabled``). ``FitSettings`` is the recipe saved with a map: the fit settings that decide the map plus
the Python API's advanced ones. Every default lives here once; the library, the command line's options
and the pipeline read them from these models (tests/test_data_settings.py proves the sets equal).
Pydantic only, so the command line and the pipeline's config import it without the topic code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from arenapref.settings import StageSettings, build, known

# The embedders a map can be fitted with ("auto": the best one installed). The classes live in
# topics.embedders (EMBEDDERS, a test keeps the two in step); the names are here so that the settings,
# the command line's help and its validation read them without importing the embedders.
EMBEDDER_NAMES = ("auto", "hybrid", "static", "tfidf", "minilm", "mpnet")


class TopicMapSettings(StageSettings):
    """What decides a map and is a setting of the command, the pipeline and the API alike.

    ``k`` topics on a seeded ``sample`` of first prompts, embedded by ``embedder`` (``auto``: the best
    one installed); a transformer embeds and clusters a seeded ``map_sample`` of the kept prompts (0: all
    of them). Why 20,000: the transformer pass is nearly all of a fit's time (MiniLM about 100 prompts/s
    on two cores), 20,000 prompts give the map's topic shares 95% intervals of at most +-0.7 points, and
    k-means' restarts already run on 20,000 (``fit.INIT_SUBSAMPLE``). ``assign``: how a transformer map
    places other rows ("student": the static table mapped onto the transformer's space, student.py;
    "transformer": exact, about 100 prompts/s); maps fitted with tfidf, static or hybrid always place
    rows by their own nearest centroid.
    """

    k: int = Field(default=20, ge=2)
    sample: int = Field(default=100_000, ge=1)
    map_sample: int = Field(default=20_000, ge=0)
    embedder: str = "auto"
    seed: int = Field(default=0, ge=0)
    english_only: bool = True
    assign: Literal["student", "transformer"] = "student"

    @field_validator("embedder")
    @classmethod
    def _known(cls, name: str) -> str:
        return known("embedder", name, EMBEDDER_NAMES)


class FitSettings(TopicMapSettings):
    """Everything that decides a topic map; saved with it so a fit can be repeated.

    The map settings and the Python API's advanced ones, for experiments: the recipe's prompt lengths,
    k-means restarts (``n_init``, k-means++ seeding each, on a subsample of ``fit.INIT_SUBSAMPLE``),
    nearest prompts and label terms kept per topic, and ``distill_vocab`` > 0: the static embedder
    distils only this many vocabulary tokens (a fast table for tests).
    """

    min_chars: int = Field(default=32, ge=0)
    max_chars: int = Field(default=1536, ge=1)
    n_init: int = Field(default=8, ge=1)
    examples: int = Field(default=5, ge=0)
    label_terms: int = Field(default=8, ge=1)
    distill_vocab: int = Field(default=0, ge=0)


class TopicFitSettings(TopicMapSettings):
    """How a map is fitted (``TopicMapSettings``) and with how many threads: ``threads`` 0 uses every
    core (``arenapref.threads``); not saved with the map, as it does not decide it."""

    threads: int = Field(default=0, ge=0)

    def fit_settings(self, **advanced: Any) -> FitSettings:
        """The map's recipe: these settings and ``advanced`` ones of ``FitSettings`` (``n_init``,
        ``min_chars``, ...: the Python API's, for experiments); an unknown name is a ``SettingsError``."""
        return build(FitSettings, **self.model_dump(exclude={"threads"}), **advanced)


class TopicProbeSettings(StageSettings):
    """How sources are placed on a map: on a transformer map, ``probe_sample`` prompts per source placed
    exactly by the transformer, a seeded sample (0: every row through the student); ``unique_prompts``
    counts each distinct prompt once per source (FastChat folders repeat a question per model).

    Why 5,000: the probe reports shares with 95% Wilson intervals, and 5,000 prompts give at most about
    +-1.4 points (a 50% share; +-0.6 at 5%, +-0.4 at 2%), well inside the differences the coverage flags
    are about, while each source costs about a minute of MiniLM on two cores instead of three or four
    (20,000 prompts: +-0.7 points). The fit source's prompts the map already embedded are not embedded
    again. bench/bench_topics.py checks on real sets that the sampled shares stay inside their intervals
    of the full sample's.
    """

    probe_sample: int = Field(default=5_000, ge=0)
    unique_prompts: bool = False


__all__ = ["EMBEDDER_NAMES", "FitSettings", "TopicFitSettings", "TopicMapSettings", "TopicProbeSettings"]
