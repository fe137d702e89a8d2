"""The label settings and the one entry point for judging, shared by `arenapref label` and the pipeline.

``JudgeSettings`` is the pipeline's ``[label.judge]`` section and what the ``label`` command's options
build (tests/test_label_settings.py proves the two are one set with one default each). ``open_judge``
turns it into a ready labeler: the judge spec resolved against the config's folder, overrides applied,
the price check for ``max_cost``, the API key, the budget, the cache and the executor (this process or
Ray), so budgets, price checks, executors and errors are the same on the command line and in a pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from arenapref.errors import ArenaprefError
from arenapref.llmclient.offline import OFFLINE
from arenapref.settings import StageSettings

if TYPE_CHECKING:
    import pyarrow as pa

    from arenapref.executors.base import Executor
    from arenapref.label.calibration import CalibrationMap
    from arenapref.label.config import JudgeConfig
    from arenapref.label.judge import LabelResult
    from arenapref.llmclient.cache import JudgeCache
    from arenapref.llmclient.client import Budget

ProgressFn = Callable[[int, int, float], None]


class JudgeSettings(StageSettings):
    """An LLM judge: its spec, where it is reached, what a run may spend, and where answers are cached.

    ``spec`` is a judge TOML (relative paths: to the config file's folder) or a shipped judge's name
    (``default``, ``five_level``, ``offline``, ``llama-cpp``); ``base_url = "offline"`` is the built-in
    offline judge (no network, no key). Unset values come from the spec. ``enabled`` unset: the judge runs
    when ``label.use`` is ``"judge"``.
    """

    enabled: bool | None = None
    spec: str = "default"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    concurrency: int | None = Field(default=None, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)
    max_requests: int = Field(default=0, ge=0)
    max_tokens: int = Field(default=0, ge=0)
    max_cost: float = Field(default=0.0, ge=0)
    cache: str | None = None
    eval_rows: int = Field(default=200, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "local_server" in data:
            raise ValueError('local_server was replaced by base_url = "offline" (the built-in offline judge)')
        return data


class TeacherSettings(StageSettings):
    """A teacher: ``model_dir`` of a trained model, or (in a pipeline) one trained on the train source."""

    enabled: bool = True
    model_dir: str | None = None
    folds: int = Field(default=2, ge=2)
    n_estimators: int = Field(default=300, ge=1)


class JudgeEvalSettings(StageSettings):
    """How ``judge-eval`` measures a labeler: the share of human-labeled rows held out to test the
    calibration map fitted on the others (one default for ``arenapref judge-eval``, ``ap.judge_eval`` and
    ``label.evaluate.judge_eval``)."""

    holdout: float = Field(default=0.3, gt=0, lt=1)


class LabelSettings(StageSettings):
    """Which labeler's labels a pipeline uses, and the labelers."""

    enabled: bool = True
    max_pairs: int | None = Field(default=None, ge=1)
    use: Literal["judge", "teacher"] = "judge"
    judge: JudgeSettings = JudgeSettings()
    teacher: TeacherSettings = TeacherSettings()

    @property
    def judge_runs(self) -> bool:
        """The judge runs when enabled, or (not set either way) when its labels are the ones used."""
        return self.judge.enabled if self.judge.enabled is not None else self.use == "judge"


def resolve_spec(spec: str, base: Path | None) -> str | Path:
    """A spec path relative to ``base`` (the config's folder); a shipped judge's name stays a name."""
    path = Path(spec).expanduser()
    if base is None or path.is_absolute():
        return spec
    local = base / path
    return local if path.suffix or local.exists() else spec


def judge_config(
    settings: JudgeSettings, *, base: Path | None = None, seed: int | None = None
) -> JudgeConfig:
    """The judge ``settings`` describe: its spec (resolved against ``base``) with the overrides applied.

    ``seed`` seeds the offline judge (sent as the request's ``seed``, so it is part of the identity).
    """
    from dataclasses import replace

    from arenapref.label.config import load_judge

    config = load_judge(resolve_spec(settings.spec, base)).with_overrides(
        base_url=settings.base_url,
        model=settings.model,
        api_key_env=settings.api_key_env,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
        max_attempts=settings.max_attempts,
    )
    if config.server == OFFLINE and seed is not None and "seed" not in config.extra_body:
        config = replace(config, extra_body={**config.extra_body, "seed": seed})
    if settings.max_cost and config.price is None:
        raise ArenaprefError(
            f"max_cost needs a price for model {config.model!r}; add it to the judge's [prices] table"
        )
    return config


@dataclass
class JudgeLabeler:
    """A judge ready to label tables: its config, key, budget, open cache and executor."""

    config: JudgeConfig
    api_key: str | None
    budget: Budget
    cache: JudgeCache
    executor: Executor | None = None
    progress: ProgressFn | None = None

    def __call__(self, table: pa.Table, calibration: CalibrationMap | None = None) -> LabelResult:
        """Every battle of ``table`` labeled or in the failures; an aborted run raises instead.

        An abort (a refused key or model, a server whose first answers all failed alike) means nothing
        more could be labeled: raising keeps a caller from writing outputs of a run that did not happen
        (outputs are complete or absent). The answers received before it are in the cache for a rerun.
        """
        from arenapref.label.judge import judge_battles

        kwargs: dict[str, Any] = {
            "api_key": self.api_key,
            "cache": self.cache,
            "budget": self.budget,
            "calibration": calibration,
        }
        if self.executor is not None:
            from arenapref.label.distributed import distributed_judge_battles

            result = distributed_judge_battles(self.executor, table, self.config, **kwargs)
        else:
            result = judge_battles(table, self.config, progress=self.progress, **kwargs)
        stopped = result.stats.stopped
        if stopped.startswith("aborted"):
            raise ArenaprefError(f"{stopped}; nothing more was sent and no labels were written")
        return result


def cache_location(settings: JudgeSettings, base: Path | None, default: Path | None = None) -> Path:
    """Where answers are cached: ``settings.cache`` (relative to ``base``; ``"user"`` is the per-user
    cache), else ``default``, else the per-user cache."""
    from arenapref.llmclient.cache import default_cache_path

    if settings.cache == "user" or (not settings.cache and default is None):
        return default_cache_path()
    if not settings.cache:
        assert default is not None
        return default
    path = Path(settings.cache).expanduser()
    return path if path.is_absolute() or base is None else base / path


@contextmanager
def open_judge(
    settings: JudgeSettings,
    *,
    base: Path | None = None,
    seed: int | None = None,
    default_cache: Path | None = None,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
) -> Iterator[JudgeLabeler]:
    """The labeler ``settings`` describe (paths relative to ``base``), its cache open until the block ends.

    The cache is ``cache_location(settings, base, default_cache)``.
    """
    from arenapref.label.judge import resolve_api_key
    from arenapref.llmclient.cache import JudgeCache
    from arenapref.llmclient.client import Budget

    config = judge_config(settings, base=base, seed=seed)
    api_key = resolve_api_key(config)
    budget = Budget(settings.max_requests, settings.max_tokens, settings.max_cost)
    with JudgeCache(cache_location(settings, base, default_cache)) as cache:
        yield JudgeLabeler(config, api_key, budget, cache, executor, progress)
