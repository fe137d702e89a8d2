"""The stage protocol and the registry: the one place where stages meet.

A stage says which upstream stages it needs (``needs``) or can use (``uses``), which files it reads
(``inputs``), which settings decide its outputs (``settings``), and how to run (``run``) into a fresh
folder. The runner owns everything else: keys, skipping, atomic folders, manifests, progress.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from arenapref.pipeline.config import PipelineConfig

if TYPE_CHECKING:
    from arenapref.executors.registry import LazyExecutor

ProgressFn = Callable[[int, int], None]


@dataclass
class StageContext:
    """What a running stage gets: the config, where paths are relative to, and its output folder.

    ``executor``: the run's executor (``run.executor``), started by the first stage that asks for it and
    closed by the runner when the run ends; None outside ``run_pipeline`` (a stage then starts its own).
    """

    config: PipelineConfig
    base: Path
    run_dir: Path
    out: Path
    available: set[str]
    progress: ProgressFn = lambda done, total: None
    executor: LazyExecutor | None = None

    def path(self, p: str) -> Path:
        """A config path, relative to the config file's folder."""
        q = Path(p).expanduser()
        return q if q.is_absolute() else self.base / q

    def stage_dir(self, name: str) -> Path:
        """The completed folder of an upstream stage."""
        return self.run_dir / name

    def has(self, name: str) -> bool:
        """Whether an upstream stage's output is available to this run."""
        return name in self.available


@dataclass
class StageOutcome:
    """What a stage reports: one summary line, counts, drop reasons and the files it wrote."""

    summary: str
    counts: dict[str, Any] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


class Stage(Protocol):
    """One pipeline stage."""

    @property
    def name(self) -> str:
        """The stage's name: its config section and its folder in the run folder."""
        ...

    @property
    def version(self) -> str:
        """Bumped when the stage's code changes what it writes (part of the key)."""
        ...

    @property
    def needs(self) -> tuple[str, ...]:
        """Upstream stages whose outputs this stage cannot run without."""
        ...

    @property
    def uses(self) -> tuple[str, ...]:
        """Upstream stages whose outputs this stage uses when they exist."""
        ...

    def enabled(self, config: PipelineConfig) -> bool: ...

    def missing(self, config: PipelineConfig) -> str | None:
        """Why the stage cannot run with this config (a source it needs is not given), or None."""
        ...

    def inputs(self, config: PipelineConfig, base: Path) -> list[Path]: ...

    def settings(self, config: PipelineConfig, base: Path) -> dict[str, Any]:
        """What decides the outputs (part of the key); paths in the config are relative to ``base``."""
        ...

    def run(self, ctx: StageContext) -> StageOutcome: ...


REGISTRY: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add a stage; registration order is pipeline order."""
    REGISTRY[stage.name] = stage
    return stage


__all__ = ["REGISTRY", "ProgressFn", "Stage", "StageContext", "StageOutcome", "register"]
