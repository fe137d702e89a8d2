"""Run the stages in order into a run folder, skipping those whose key and outputs are unchanged.

The run folder is checked, marked and locked first (``runfolder``); a stage is skipped only when its
key is unchanged *and* every output its manifest records is still there with its recorded size and
content hash; otherwise it reruns and its status says why.

Crash safety comes from two rules: a stage's folder is built under a temporary name and renamed into
place only when complete (``atomic_dir``), with its manifest written last; and the judge's answer cache
lives outside any stage folder. So a kill at any moment leaves each stage complete or absent, and the
rerun redoes only what is absent, asking the judge only what it had not answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
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

from arenapref.atomic import atomic_dir, write_text
from arenapref.errors import ArenaprefError
from arenapref.executors.registry import LazyExecutor
from arenapref.pipeline import history
from arenapref.pipeline import stages as _stages  # noqa: F401  (registers the stages)
from arenapref.pipeline.config import CONFIG_NAME, PipelineConfig, load_config
from arenapref.pipeline.manifest import (
    HASH_CACHE,
    HashCache,
    changed_output,
    fingerprint,
    output_record,
    read_manifest,
    stage_key,
    versions,
    write_manifest,
)
from arenapref.pipeline.runfolder import RUN_FILE, foreign_files, run_folder
from arenapref.pipeline.stage import REGISTRY, ProgressFn, StageContext
from arenapref.pipeline.tracking import log_run, require_mlflow


@dataclass
class StageStatus:
    """One stage's fate in this run: ran, skipped (unchanged or kept), disabled or not run (and why).

    ``reason`` says why a stage ran: no earlier output, a changed key, a missing or changed output, an
    upstream stage that reran, ``from_stage``/``only`` (the settings named in backticks, which
    the command line shows as its flags).
    """

    name: str
    status: str
    summary: str = ""
    seconds: float = 0.0
    key: str | None = None
    reason: str = ""

    def line(self) -> str:
        took = f"{self.seconds:6.1f} s" if self.status == "ran" else " " * 8
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.name:<9} {self.status:<9} {took}  {self.summary}{why}"


@dataclass
class RunSummary:
    """What ``run_pipeline`` did, stage by stage."""

    config: Path
    run_dir: Path
    stages: list[StageStatus] = field(default_factory=list)
    seconds: float = 0.0
    history_id: int | None = None  # this run's record in RUN_DIR/history.jsonl, once written
    tracked: str | None = None  # the MLflow run id, with [run] track = "mlflow"

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": str(self.config),
            "run_dir": str(self.run_dir),
            "seconds": round(self.seconds, 3),
            "history_id": self.history_id,
            "tracked": self.tracked,
            "stages": [asdict(s) for s in self.stages],
        }

    def status_of(self, name: str) -> StageStatus:
        return next(s for s in self.stages if s.name == name)


# Why a stage outside ``from_stage``/``only`` did not run (the command line shows the flags for them).
OUTSIDE = "outside `from_stage`/`only`"


def stage_names() -> list[str]:
    """The registered stages in pipeline order."""
    return list(REGISTRY)


def _check_stage(name: str | None, option: str) -> None:
    if name is not None and name not in REGISTRY:
        raise ArenaprefError(f"{option} {name!r}: not a stage; the stages are {', '.join(REGISTRY)}")


def _all_inputs(config: PipelineConfig, path: Path, base: Path) -> list[Path]:
    """Every file the config names (each stage's inputs, enabled or not), then the config file itself."""
    out = [p for stage in REGISTRY.values() for p in stage.inputs(config, base) if p.exists()]
    return [*out, path]


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


@dataclass
class _Where:
    """What every stage of one run shares: the config, the workspace, the run folder, the hash cache."""

    config: PipelineConfig
    base: Path
    run_dir: Path
    hashes: HashCache
    reran: set[str] = field(default_factory=set)  # stages that ran in this run


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
    if config.run.track == "mlflow":
        require_mlflow()
    with run_folder(run_dir, _all_inputs(config, path, base), REGISTRY):
        where = _Where(config, base, run_dir, HashCache(run_dir / HASH_CACHE))
        summary = RunSummary(path, run_dir)
        started = history.now()
        outcome = "stopped"
        try:
            _run_stages(where, summary, from_stage, only, progress, on_stage, console)
            outcome = "completed"
        except BaseException as exc:
            outcome = (
                f"failed: {exc}" if isinstance(exc, ArenaprefError) else f"stopped: {type(exc).__name__}"
            )
            raise
        finally:
            where.hashes.save()
            if outcome == "completed":
                _record(where, summary, started, outcome)
            else:
                with suppress(Exception):  # the run's own error is the one to report
                    _record(where, summary, started, outcome)
    return summary


def _record(where: _Where, summary: RunSummary, started: str, outcome: str) -> None:
    """Append the run to the history (and MLflow when tracked); run.json then names the record."""
    stages = [asdict(s) for s in summary.stages]
    record = history.build_record(
        summary.config, where.config, where.run_dir, stages, started, summary.seconds, outcome
    )
    summary.history_id = history.append_record(where.run_dir, record)["id"]
    if where.config.run.track == "mlflow":
        summary.tracked = log_run(where.run_dir, where.config.run, {"id": summary.history_id, **record})
    write_text(where.run_dir / RUN_FILE, json.dumps(summary.to_dict(), indent=2) + "\n")


def _run_stages(
    where: _Where,
    summary: RunSummary,
    from_stage: str | None,
    only: str | None,
    progress: bool,
    on_stage: Callable[[StageStatus], None] | None,
    console: Console | None,
) -> None:
    started = time.perf_counter()
    keys: dict[str, str | None] = {}
    names = list(REGISTRY)
    first = names.index(from_stage) if from_stage else None
    lib_versions = versions()
    console = console or Console(stderr=True, soft_wrap=True)
    # One executor for the run: started by the first stage that runs on it (a skipped stage starts
    # nothing), closed when the run ends, on an error or an interrupt too.
    shared = LazyExecutor(where.config.run.executor, where.config.run.address)
    with _progress(progress, console) as bars, closing(shared):
        for i, name in enumerate(names):
            st = _one_stage(where, name, i, first, only, keys, lib_versions, bars, shared)
            keys[name] = st.key
            summary.stages.append(st)
            if on_stage:
                on_stage(st)
            _write_run(summary, started)
            where.hashes.save()
    _write_run(summary, started)


def _write_run(summary: RunSummary, started: float) -> None:
    summary.seconds = time.perf_counter() - started
    write_text(summary.run_dir / RUN_FILE, json.dumps(summary.to_dict(), indent=2) + "\n")


def _one_stage(
    where: _Where,
    name: str,
    index: int,
    first: int | None,
    only: str | None,
    keys: dict[str, str | None],
    lib_versions: dict[str, str],
    bars: Callable[[str], ProgressFn] | None,
    executor: LazyExecutor,
) -> StageStatus:
    config, base, run_dir, hashes = where.config, where.base, where.run_dir, where.hashes
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
    inputs = [fingerprint(p, base, hashes) for p in paths]
    for p, fp in zip(paths, inputs, strict=True):
        if fp.get("missing"):
            raise ArenaprefError(f"{name}: the input {p} does not exist")
    upstream = {n: keys.get(n) for n in (*stage.needs, *stage.uses)}
    rebuilt = [n for n in upstream if n in where.reran]
    key = stage_key(name, stage.version, settings, inputs, upstream)
    forced = only == name or (first is not None and index >= first)
    kept_only = (only is not None and only != name) or (first is not None and index < first)
    if kept_only:
        if stored is None:
            return StageStatus(name, "not run", f"no earlier output ({OUTSIDE})")
        return StageStatus(name, "kept", f"earlier output kept ({OUTSIDE})", key=stored.get("key"))
    if forced:
        why = "`only`" if only == name else "`from_stage`"
    elif stored is None:
        why = "no earlier output"
    elif stored.get("key") != key:
        why = "settings, inputs or upstream changed"
    elif rebuilt:
        # The upstream stage reran with an unchanged key (its output was missing or damaged): what it
        # wrote now is not necessarily what this stage was built on.
        why = f"the {rebuilt[0]} stage it builds on reran"
    else:
        changed = changed_output(stage_dir, stored.get("outputs"), hashes)
        if changed is None:
            return StageStatus(name, "skipped", f"unchanged: {stored.get('summary', '')}", key=key)
        why = changed
    foreign = foreign_files(stage_dir, stored)
    if foreign:
        more = f" and {len(foreign) - 1} more file(s)" if len(foreign) > 1 else ""
        raise ArenaprefError(
            f"{name}: the stage folder {stage_dir} holds {foreign[0]}{more}, which its manifest does not "
            "record; move it out of the run folder (rerunning the stage would delete it)"
        )
    available = {n for n, k in keys.items() if k is not None}
    t0 = time.perf_counter()
    with atomic_dir(stage_dir) as tmp:
        ctx = StageContext(config, base, run_dir, tmp, available, executor=executor)
        if bars is not None:
            ctx.progress = bars(name)
        outcome = stage.run(ctx)
        seconds = time.perf_counter() - t0
        outputs = output_record(tmp, hashes)
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
                "outputs": outputs,
                "seconds": round(seconds, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        moved_from = tmp
    hashes.moved(moved_from, stage_dir)
    where.reran.add(name)
    return StageStatus(name, "ran", outcome.summary, seconds, key, why)


__all__ = ["RUN_FILE", "RunSummary", "StageStatus", "run_pipeline", "stage_names"]
