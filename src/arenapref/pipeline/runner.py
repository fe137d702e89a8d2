"""Run the stages in order into a run folder, skipping those whose key is unchanged.

Crash safety comes from two rules: a stage's folder is built under a temporary name and renamed into
place only when complete (``atomic_dir``), with its manifest written last; and the judge's answer cache
lives outside any stage folder. So a kill at any moment leaves each stage complete or absent, and the
rerun redoes only what is absent, asking the judge only what it had not answered.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from arenapref.atomic import TMP_MARK, atomic_dir, write_text
from arenapref.errors import ArenaprefError
from arenapref.executors.registry import LazyExecutor
from arenapref.pipeline import stages as _stages  # noqa: F401  (registers the stages)
from arenapref.pipeline.config import CONFIG_NAME, PipelineConfig, load_config
from arenapref.pipeline.manifest import fingerprint, read_manifest, stage_key, versions, write_manifest
from arenapref.pipeline.stage import REGISTRY, ProgressFn, StageContext

RUN_FILE = "run.json"


@dataclass
class StageStatus:
    """One stage's fate in this run: ran, skipped (unchanged or kept), disabled or not run (and why)."""

    name: str
    status: str
    summary: str = ""
    seconds: float = 0.0
    key: str | None = None

    def line(self) -> str:
        took = f"{self.seconds:6.1f} s" if self.status == "ran" else " " * 8
        return f"{self.name:<9} {self.status:<9} {took}  {self.summary}"


@dataclass
class RunSummary:
    """What ``run_pipeline`` did, stage by stage."""

    config: Path
    run_dir: Path
    stages: list[StageStatus] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": str(self.config),
            "run_dir": str(self.run_dir),
            "seconds": round(self.seconds, 3),
            "stages": [asdict(s) for s in self.stages],
        }

    def status_of(self, name: str) -> StageStatus:
        return next(s for s in self.stages if s.name == name)


def stage_names() -> list[str]:
    """The registered stages in pipeline order."""
    return list(REGISTRY)


def _check_stage(name: str | None, option: str) -> None:
    if name is not None and name not in REGISTRY:
        raise ArenaprefError(f"{option} {name!r}: not a stage; the stages are {', '.join(REGISTRY)}")


def _clean_leftovers(run_dir: Path) -> None:
    """Remove temporary folders a killed run left behind (only arenapref's own temporary names)."""
    for p in run_dir.glob(f"{TMP_MARK}*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


@contextmanager
def _progress(enabled: bool, console: Console) -> Iterator[Callable[[str], ProgressFn] | None]:
    if not enabled:
        yield None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )

    def start(name: str) -> ProgressFn:
        task = bar.add_task(name, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return update

    with bar:
        yield start


def run_pipeline(
    config_path: str | Path,
    *,
    from_stage: str | None = None,
    only: str | None = None,
    progress: bool = True,
    on_stage: Callable[[StageStatus], None] | None = None,
    console: Console | None = None,
) -> RunSummary:
    """Run the pipeline a PIPELINE.toml describes; return what each stage did.

    ``from_stage`` reruns that stage and every later one; ``only`` reruns just that stage (its upstream
    outputs must exist). Other stages run when their key changed and are skipped otherwise.
    """
    _check_stage(from_stage, "`from_stage`")
    _check_stage(only, "`only`")
    if from_stage and only:
        raise ArenaprefError("give `from_stage` or `only`, not both")
    path = Path(config_path)
    path = path / CONFIG_NAME if path.is_dir() else path
    config = load_config(path)
    base = path.resolve().parent
    run_dir = Path(config.run.dir).expanduser()
    run_dir = run_dir if run_dir.is_absolute() else base / run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(run_dir)
    summary = RunSummary(path, run_dir)
    started = time.perf_counter()
    keys: dict[str, str | None] = {}
    names = list(REGISTRY)
    first = names.index(from_stage) if from_stage else None
    lib_versions = versions()
    console = console or Console(stderr=True, soft_wrap=True)
    # One executor for the run: started by the first stage that runs on it (a skipped stage starts
    # nothing), closed when the run ends, on an error or an interrupt too.
    shared = LazyExecutor(config.run.executor, config.run.address)
    with _progress(progress, console) as bars, closing(shared):
        for i, name in enumerate(names):
            st = _one_stage(config, base, run_dir, name, i, first, only, keys, lib_versions, bars, shared)
            keys[name] = st.key
            summary.stages.append(st)
            if on_stage:
                on_stage(st)
            _write_run(summary, started)
    summary.seconds = time.perf_counter() - started
    _write_run(summary, started)
    return summary


def _write_run(summary: RunSummary, started: float) -> None:
    summary.seconds = time.perf_counter() - started
    write_text(summary.run_dir / RUN_FILE, json.dumps(summary.to_dict(), indent=2) + "\n")


def _one_stage(
    config: PipelineConfig,
    base: Path,
    run_dir: Path,
    name: str,
    index: int,
    first: int | None,
    only: str | None,
    keys: dict[str, str | None],
    lib_versions: dict[str, str],
    bars: Callable[[str], ProgressFn] | None,
    executor: LazyExecutor,
) -> StageStatus:
    stage = REGISTRY[name]
    stage_dir = run_dir / name
    stored = read_manifest(stage_dir)
    if not stage.enabled(config):
        return StageStatus(name, "disabled", f"[{name}] enabled = false")
    reason = stage.missing(config)
    if reason:
        return StageStatus(name, "not run", reason)
    absent = [n for n in stage.needs if keys.get(n) is None]
    if absent:
        return StageStatus(name, "not run", f"needs the {', '.join(absent)} stage")
    settings = stage.settings(config, base)
    paths = stage.inputs(config, base)
    inputs = [fingerprint(p, base) for p in paths]
    for p, fp in zip(paths, inputs, strict=True):
        if fp.get("missing"):
            raise ArenaprefError(f"{name}: the input {p} does not exist")
    upstream = {n: keys.get(n) for n in (*stage.needs, *stage.uses)}
    key = stage_key(name, stage.version, settings, inputs, upstream)
    forced = only == name or (first is not None and index >= first)
    kept_only = (only is not None and only != name) or (first is not None and index < first)
    if kept_only:
        if stored is None:
            return StageStatus(name, "not run", "no earlier output (outside --from/--only)")
        return StageStatus(name, "kept", "earlier output kept (outside --from/--only)", key=stored.get("key"))
    if not forced and stored is not None and stored.get("key") == key:
        return StageStatus(name, "skipped", f"unchanged: {stored.get('summary', '')}", key=key)
    available = {n for n, k in keys.items() if k is not None}
    t0 = time.perf_counter()
    with atomic_dir(stage_dir) as tmp:
        ctx = StageContext(config, base, run_dir, tmp, available, executor=executor)
        if bars is not None:
            ctx.progress = bars(name)
        outcome = stage.run(ctx)
        seconds = time.perf_counter() - t0
        files = sorted(
            p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file() and TMP_MARK not in p.name
        )
        write_manifest(
            tmp,
            {
                "stage": name,
                "version": stage.version,
                "key": key,
                "settings": settings,
                "inputs": inputs,
                "upstream": upstream,
                "versions": lib_versions,
                "summary": outcome.summary,
                "counts": outcome.counts,
                "drops": outcome.drops,
                "outputs": files,
                "seconds": round(seconds, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
    return StageStatus(name, "ran", outcome.summary, seconds, key)


__all__ = ["RUN_FILE", "RunSummary", "StageStatus", "run_pipeline", "stage_names"]
