"""PIPELINE.toml: the sources and every stage's settings in one file, checked before anything runs.

The schema is pydantic with ``extra="forbid"`` everywhere, so a typo is caught instead of silently
ignored; every problem becomes one sentence naming the key's path (``label.judge.concurrency: must be
≥ 1``). Relative paths are relative to the config file, so a workspace can be moved as a whole.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from arenapref.compare.settings import CompareSettings
from arenapref.errors import ArenaprefError
from arenapref.label.settings import JudgeSettings, LabelSettings, TeacherSettings
from arenapref.mine.settings import MineSettings, RegenerateSettings
from arenapref.model import settings as model_settings
from arenapref.profile.settings import ProfileSettings
from arenapref.settings import StageSettings, problem_text
from arenapref.topics.settings import TopicFitSettings, TopicProbeSettings

CONFIG_NAME = "PIPELINE.toml"


class RunSettings(StageSettings):
    """Where the run folder goes, the seed every stage uses, and where the distributable stages run."""

    dir: str = "run"
    seed: int = Field(default=0, ge=0)
    # Where profile, compare, topics (probe), mine and predict run: this process, a pool of threads or
    # processes on this machine, or Ray (a local instance, or the cluster at ``address``: auto,
    # ray://HEAD:10001); ``executors.registry.EXECUTORS``. Not part of any stage's key: every executor
    # writes the same outputs, so switching does not rerun a stage.
    executor: Literal["local", "threads", "processes", "ray"] = "local"
    address: str | None = None
    # Every run is recorded in RUN_DIR/history.jsonl; "mlflow" also logs it to an MLflow store:
    # ``mlflow_uri`` (default: the file store RUN_DIR/mlruns), experiment ``mlflow_experiment``.
    # Not part of any stage's key: where a run is recorded does not change what it computes.
    track: Literal["none", "mlflow"] = "none"
    mlflow_uri: str | None = None
    mlflow_experiment: str = "arenapref"

    @field_validator("address")
    @classmethod
    def _address_needs_ray(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and info.data.get("executor") != "ray":
            raise PydanticCustomError("address_without_ray", 'only applies with executor = "ray"')
        return v


class SourceSettings(StageSettings):
    """Input files or folders; any format the readers detect (``*_format`` forces one)."""

    lmsys: list[str] = Field(default_factory=list)
    lmsys_format: str | None = None
    train: str | None = None
    train_format: str | None = None
    test: str | None = None
    test_format: str | None = None


class _StageSection(StageSettings):
    """A stage's section: its package's settings model, ``enabled``, and the seed taken from ``run.seed``
    (one seed for every stage, so a ``seed`` key in a stage's section is refused, and left out of TOML)."""

    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _seed_is_the_runs(cls, data: Any) -> Any:
        if isinstance(data, dict) and "seed" in data:
            raise ValueError("the seed is set once for every stage, as run.seed")
        return data


class ProfileStageSettings(ProfileSettings, _StageSection):
    """``[profile]``: ``profile.settings.ProfileSettings``."""


class CompareStageSettings(CompareSettings, _StageSection):
    """``[compare]``: ``compare.settings.CompareSettings``."""


class TopicsSettings(TopicFitSettings, TopicProbeSettings, _StageSection):
    """``[topics]``: ``topics.settings.TopicFitSettings`` (the map) and ``TopicProbeSettings`` (the probe)."""


class MineStageSettings(MineSettings, _StageSection):
    """``[mine]``: ``mine.settings.MineSettings``, whether train is excluded as well as test, and
    ``[mine.regenerate]``: ``mine.settings.RegenerateSettings`` (second answers for single-model prompts,
    as ``arenapref mine --regenerate-model``; its ``cache`` is relative to the config file and defaults to
    RUN_DIR/cache/regen.sqlite, so a killed run resumes)."""

    exclude_train: bool = False
    regenerate: RegenerateSettings = RegenerateSettings()


class TrainStageSettings(model_settings.TrainSettings, _StageSection):
    """``[train]``: ``model.settings.TrainSettings`` (the ``train`` command's options) and the pipeline's
    own: whether the stage runs, and ``extra``: train on the label stage's pairs too, weighted by
    ``extra_weight``. ``base`` (``model = "llm"``) is relative to the config file, like every path;
    ``task`` and ``ties`` also set the ablate stage's metric.
    """

    extra: bool = False
    extra_weight: float = Field(default=1.0, ge=0)


class EvaluateStageSettings(model_settings.EvaluateSettings, _StageSection):
    """``[evaluate]``: ``model.settings.EvaluateSettings``; the stage scores the train stage's OOF
    predictions, and ``data`` (read as ``data_format``) held out when given."""

    data: str | None = None
    data_format: str | None = None


class AblateStageSettings(model_settings.AblateSettings, _StageSection):
    """``[ablate]``: ``model.settings.AblateSettings`` (the ``ablate`` command's options): base is the train
    source, extra the label stage's pairs; the whole extra set (share 1.0) is always an arm."""


class PredictStageSettings(model_settings.PredictSettings, _StageSection):
    """``[predict]``: ``model.settings.PredictSettings``; the submission for the test source."""


class PipelineConfig(StageSettings):
    """The whole file."""

    run: RunSettings = RunSettings()
    sources: SourceSettings = SourceSettings()
    profile: ProfileStageSettings = ProfileStageSettings()
    compare: CompareStageSettings = CompareStageSettings()
    topics: TopicsSettings = TopicsSettings()
    mine: MineStageSettings = MineStageSettings()
    label: LabelSettings = LabelSettings()
    train: TrainStageSettings = TrainStageSettings()
    evaluate: EvaluateStageSettings = EvaluateStageSettings()
    ablate: AblateStageSettings = AblateStageSettings()
    predict: PredictStageSettings = PredictStageSettings()


def validation_sentence(exc: ValidationError, origin: str) -> str:
    """The first problem of a validation error as one sentence with the key's dotted path."""
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}: {path}: {problem_text(dict(err))}{tail}"


def parse_config(data: dict[str, Any], origin: str = CONFIG_NAME) -> PipelineConfig:
    """Validate a parsed TOML document."""
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ArenaprefError(validation_sentence(exc, origin)) from None


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a PIPELINE.toml (or a folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / CONFIG_NAME
    if not p.is_file():
        raise ArenaprefError(
            f"{p}: no such pipeline config (write one, or run 'arenapref demo' for an example)"
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ArenaprefError(f"{p}: not valid TOML ({exc})") from None
    return parse_config(data, str(p))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def to_toml(config: PipelineConfig, header: str = "") -> str:
    """The config as TOML, every setting spelled out (None values are left out: TOML has no null)."""
    lines = [f"# {h}" for h in header.splitlines()] + ([""] if header else [])

    def section(name: str, model: BaseModel) -> None:
        scalars = [
            (k, v)
            for k, v in model
            if not isinstance(v, BaseModel)
            and v is not None
            and not (k == "seed" and isinstance(model, _StageSection))
        ]
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars)
        lines.append("")
        for k, v in model:
            if isinstance(v, BaseModel):
                section(f"{name}.{k}", v)

    for name, sub in config:
        assert isinstance(sub, BaseModel)
        section(name, sub)
    return "\n".join(lines)


__all__ = [
    "CONFIG_NAME",
    "AblateStageSettings",
    "EvaluateStageSettings",
    "JudgeSettings",
    "LabelSettings",
    "PipelineConfig",
    "PredictStageSettings",
    "TeacherSettings",
    "TrainStageSettings",
    "load_config",
    "parse_config",
    "to_toml",
    "validation_sentence",
]
