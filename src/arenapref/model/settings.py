"""The settings of the model stages (train, evaluate, ablate, predict, leaderboard), defined once.

Each model is what the pipeline's section of the same name holds (``pipeline.config`` adds only whether
the stage runs and where its inputs come from), what the command's options build
(tests/test_model_settings.py proves they are one set with one default each) and what the Python API's
keyword arguments fill (``arenapref.api``). So a default, a range and the error for a bad value exist once;
errors name the setting (`folds`), and the command line shows its own flag for it.

Settings are *how* a stage runs; *what* it runs on (data paths, the seed of a run, sample weights per
input, ``format`` and ``split`` of the readers) are arguments of the stage's function.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from arenapref.errors import ArenaprefError
from arenapref.model.kinds import DEFAULT_KIND, KINDS, kind
from arenapref.settings import StageSettings, known

Params = dict[str, int | float | str | bool]
Task = Literal["auto", "three-way", "binary"]
Ties = Literal["drop", "split"]


def _kind_error(exc: ArenaprefError) -> ValueError:
    """A kind's own sentence as a validation error (pydantic reports it with the section's path)."""
    return ValueError(str(exc))


def _checked_params(params: Params, info: ValidationInfo) -> Params:
    """Hyper-parameters the model kind (validated before them) takes; checked when the settings are made."""
    name = info.data.get("model")
    if name in KINDS:  # else the model's own error is reported
        try:
            KINDS[name].check_params(params)
        except ArenaprefError as exc:
            raise _kind_error(exc) from None
    return params


class TrainSettings(StageSettings):
    """How ``train`` fits a model: its kind (``model.kinds``), folds, hyper-parameters and task.

    ``folds`` unset: the kind's default (5 grouped folds; 0 for ``llm``, one grouped hold-out, since each
    fold is a full fine-tune). ``seeds``: boosters averaged in lgbm's seed ensemble. ``embeddings``: add
    MiniLM sentence-embedding features (lgbm). ``base``: the base model of ``llm`` (a local Hugging Face
    folder or GGUF file). ``task``: three-way (log loss, LMSYS 2024), binary (accuracy, WSDM Cup 2025) or
    auto (detected from the data); ``ties``: how a binary model treats tie labels.
    """

    model: str = DEFAULT_KIND
    folds: int | None = Field(default=None, ge=0)
    params: Params = Field(default_factory=dict)
    seeds: int = Field(default=3, ge=1)
    embeddings: bool = False
    group_column: str | None = None
    base: str | None = None
    task: Task = "auto"
    ties: Ties = "drop"

    @model_validator(mode="before")
    @classmethod
    def _kind_folds(cls, data: Any) -> Any:
        """An unset ``folds`` is the kind's default, so every consumer (and a run's key) sees a number."""
        if isinstance(data, dict) and data.get("folds") is None:
            name = data.get("model", DEFAULT_KIND)
            if isinstance(name, str) and name in KINDS:
                data = {**data, "folds": KINDS[name].default_folds}
        return data

    @field_validator("model")
    @classmethod
    def _known(cls, name: str) -> str:
        return known("model", name, KINDS)

    @field_validator("params")
    @classmethod
    def _params_fit_the_model(cls, params: Params, info: ValidationInfo) -> Params:
        return _checked_params(params, info)

    @model_validator(mode="after")
    def _fits_the_kind(self) -> TrainSettings:
        """Refuse a setting the kind cannot use when the settings are made, not minutes into training."""
        try:
            kind(self.model).check(self.folds or 0, self.base, self.embeddings, self.group_column)
        except ArenaprefError as exc:
            raise _kind_error(exc) from None
        return self


def _repeatable(name: str) -> str:
    known("model", name, KINDS)
    if not KINDS[name].repeatable:
        cheap = ", ".join(n for n, k in KINDS.items() if k.repeatable)
        raise ValueError(f"`model`={name}: ablate trains each arm several times; use {cheap}")
    return name


Share = Annotated[float, Field(gt=0, le=1)]


class AblateSettings(StageSettings):
    """How ``ablate`` compares base against base + extra on the same held-out human labels.

    ``holdout_frac``: the share of the base's prompt groups held out when no held-out data is given.
    ``repeats``: trainings per arm with different seeds, averaged (seed noise is larger than the effect of
    a few thousand extra rows on real data; 3 keeps the 1M + 60k pipeline inside its time budget).
    ``curve``: shares of the extra rows, each an arm (nested subsets); ``extra_weight``: sample weights of
    the extra rows, each an arm (a single number is one weight). ``n_boot``: bootstrap resamples.
    """

    model: str = DEFAULT_KIND
    params: Params = Field(default_factory=dict)
    holdout_frac: float = Field(default=0.3, gt=0, lt=1)
    repeats: int = Field(default=3, ge=1)
    curve: list[Share] = Field(default_factory=lambda: [1.0], min_length=1)
    extra_weight: list[Annotated[float, Field(ge=0)]] = Field(default_factory=lambda: [1.0], min_length=1)
    n_boot: int = Field(default=1000, ge=10)

    @model_validator(mode="before")
    @classmethod
    def _one_weight(cls, data: Any) -> Any:
        """``extra_weight = 0.5`` (one number, as older pipeline files have it) is the list ``[0.5]``."""
        if isinstance(data, dict) and isinstance(data.get("extra_weight"), (int, float)):
            data = {**data, "extra_weight": [float(data["extra_weight"])]}
        return data

    @field_validator("model")
    @classmethod
    def _cheap(cls, name: str) -> str:
        return _repeatable(name)

    @field_validator("params")
    @classmethod
    def _params_fit_the_model(cls, params: Params, info: ValidationInfo) -> Params:
        return _checked_params(params, info)


class EvaluateSettings(StageSettings):
    """How ``evaluate`` scores a model: ``task`` (auto: the one it was trained for) and the diagram's bins."""

    task: Task = "auto"
    bins: int = Field(default=10, ge=2)


class PredictSettings(StageSettings):
    """How ``predict`` writes a submission: probabilities kept in [clip, 1 - clip] (three-way)."""

    clip: float = Field(default=1e-4, ge=0, le=0.3)


class LeaderboardSettings(StageSettings):
    """How ``leaderboard`` rates models: bootstrap resamples for the intervals (0: none)."""

    n_boot: int = Field(default=100, ge=0)


__all__ = [
    "AblateSettings",
    "EvaluateSettings",
    "LeaderboardSettings",
    "PredictSettings",
    "TrainSettings",
]
