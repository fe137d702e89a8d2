"""``arenapref label`` and ``arenapref judge-eval``: pseudo-labels from an LLM judge or a teacher model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    MappingOption,
    RejectsOption,
    console,
    err_console,
    open_input,
    report_rejects,
)
from arenapref.errors import ArenaprefError
from arenapref.label.cache import JudgeCache
from arenapref.label.client import Budget
from arenapref.label.config import load_judge
from arenapref.label.evaluate import judge_eval, load_calibration
from arenapref.label.judge import LabelResult, judge_battles, resolve_api_key
from arenapref.label.output import default_failures_path, write_outputs
from arenapref.label.teacher import load_teacher, teacher_battles

JudgeOption = Annotated[
    str | None,
    typer.Option("--judge", help="Judge configuration TOML, or the name of a shipped judge ('default')."),
]
TeacherOption = Annotated[
    Path | None, typer.Option("--teacher", help="Saved preference model directory to label with instead.")
]
BaseUrlOption = Annotated[
    str | None, typer.Option("--base-url", envvar="ARENAPREF_JUDGE_BASE_URL", help="Override the server URL.")
]
ModelOption = Annotated[
    str | None, typer.Option("--model", envvar="ARENAPREF_JUDGE_MODEL", help="Override the judge model.")
]
ApiKeyEnvOption = Annotated[
    str | None,
    typer.Option("--api-key-env", help="Name of the environment variable holding the key ('' for none)."),
]
CacheOption = Annotated[
    Path | None,
    typer.Option("--cache", help="SQLite cache of completed requests (default: beside the output)."),
]
MaxRequestsOption = Annotated[int, typer.Option("--max-requests", help="Cap on HTTP requests (0: none).")]
MaxTokensOption = Annotated[int, typer.Option("--max-tokens", help="Cap on tokens (0: none).")]
MaxCostOption = Annotated[
    float, typer.Option("--max-cost", help="Cap on USD, priced by the judge's table (0: none).")
]
ConcurrencyOption = Annotated[int | None, typer.Option("--concurrency", help="Requests in flight at once.")]


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int, float], None] | None]:
    """A rich progress bar showing requests done and money spent so far (on stderr)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("labeling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("${task.fields[cost]:.4f}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task("label", total=None, cost=0.0)

        def update(done: int, total: int, cost: float) -> None:
            bar.update(task, completed=done, total=total, cost=cost)

        yield update


def _labeler(
    judge: str | None,
    teacher: Path | None,
    *,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    concurrency: int | None,
    cache_path: Path,
    budget: Budget,
    calibration: Path | None,
    progress: Callable[[int, int, float], None] | None,
) -> tuple[Callable[[pa.Table], LabelResult], JudgeCache | None]:
    """The labeling function the options describe, and the cache it holds open (None for teachers)."""
    if (judge is None) == (teacher is None):
        raise ArenaprefError("pass exactly one of --judge CONFIG and --teacher MODEL_DIR")
    cmap = load_calibration(calibration)
    if teacher is not None:
        model_obj = load_teacher(teacher)
        return (lambda t: teacher_battles(t, model_obj, teacher.name, cmap)), None
    assert judge is not None
    config = load_judge(judge).with_overrides(
        base_url=base_url, model=model, api_key_env=api_key_env, concurrency=concurrency
    )
    if budget.max_cost and config.price is None:
        raise ArenaprefError(
            f"--max-cost needs a price for model {config.model!r}; add it to the judge's [prices] table"
        )
    api_key = resolve_api_key(config)
    cache = JudgeCache(cache_path)

    def run(table: pa.Table) -> LabelResult:
        return judge_battles(
            table, config, api_key=api_key, cache=cache, budget=budget, calibration=cmap, progress=progress
        )

    return run, cache


def _read_battles(pairs: Path, fmt: str | None, mapping: str | None, rejects: Path | None) -> pa.Table:
    src = open_input(pairs, fmt, mapping)
    if src.kind != "battles":
        raise ArenaprefError(f"{pairs} holds {src.kind}; labeling needs pairs (battles)")
    table = src.read_table()
    report_rejects(src.rejects, src.path, rejects)
    return table


@app.command("label")
def label(
    pairs: Annotated[
        Path, typer.Argument(help="Pairs to label: competition CSV, native Parquet, pairwise file.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output Parquet (battle schema + label columns).")],
    judge: JudgeOption = None,
    teacher: TeacherOption = None,
    base_url: BaseUrlOption = None,
    model: ModelOption = None,
    api_key_env: ApiKeyEnvOption = None,
    cache: CacheOption = None,
    max_requests: MaxRequestsOption = 0,
    max_tokens: MaxTokensOption = 0,
    max_cost: MaxCostOption = 0.0,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="Calibration map from judge-eval to apply.")
    ] = None,
    concurrency: ConcurrencyOption = None,
    failures: Annotated[
        Path | None, typer.Option("--failures", help="Where unlabeled pairs go (default OUT.failures.jsonl).")
    ] = None,
    fmt: FormatOption = None,
    mapping: MappingOption = None,
    rejects: RejectsOption = None,
) -> None:
    """Label PAIRS with an LLM judge (both A/B orders, cached, budgeted) or a teacher model.

    Every pair ends either labeled in OUT or in the failures file with its reason (budget, unparseable
    answer with its raw text, HTTP error after retries). Rerunning with the same cache never resends a
    completed request, so an interrupted or budget-stopped run resumes where it stopped.
    """
    table = _read_battles(pairs, fmt, mapping, rejects)
    budget = Budget(max_requests=max_requests, max_tokens=max_tokens, max_cost=max_cost)
    cache_path = cache if cache is not None else out.with_name(out.stem + ".judge-cache.sqlite")
    with _progress(judge is not None) as progress:
        run, held = _labeler(
            judge,
            teacher,
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            concurrency=concurrency,
            cache_path=cache_path,
            budget=budget,
            calibration=calibration,
            progress=progress,
        )
        try:
            result = run(table)
        finally:
            if held is not None:
                held.close()
    failures_path = failures if failures is not None else default_failures_path(out)
    write_outputs(result.table, result.failures, out, failures_path)
    s = result.stats
    console.print(
        f"{s.labeled} of {s.pairs} pairs labeled -> {out}; {s.failed} written to {failures_path}"
        + (f" ({s.failure_reasons})" if s.failure_reasons else ""),
        highlight=False,
    )
    if judge is not None:
        console.print(
            f"{s.orders_cached} requests answered from the cache {cache_path}, {s.orders_sent} sent "
            f"({s.http_requests} HTTP attempts, retries {s.retries or 'none'}); "
            f"{s.prompt_tokens + s.completion_tokens} tokens, ${s.cost:.4f}, {s.elapsed_s:.1f} s",
            highlight=False,
        )
    if s.stopped.startswith("aborted"):
        raise ArenaprefError(s.stopped)
    if s.stopped:
        console.print(f"stopped: {s.stopped}; rerun with a larger budget to continue", highlight=False)


@app.command("judge-eval")
def judge_eval_cmd(
    labeled: Annotated[
        Path, typer.Argument(help="Human-labeled battles (competition train CSV, pairwise file...).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run directory for labels, calibration and report.")
    ],
    judge: JudgeOption = None,
    teacher: TeacherOption = None,
    base_url: BaseUrlOption = None,
    model: ModelOption = None,
    api_key_env: ApiKeyEnvOption = None,
    cache: CacheOption = None,
    max_requests: MaxRequestsOption = 0,
    max_tokens: MaxTokensOption = 0,
    max_cost: MaxCostOption = 0.0,
    concurrency: ConcurrencyOption = None,
    holdout: Annotated[
        float, typer.Option("--holdout", help="Share of rows held out to test calibration.")
    ] = 0.3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the held-out split.")] = 0,
    fmt: FormatOption = None,
    mapping: MappingOption = None,
    rejects: RejectsOption = None,
) -> None:
    """Measure a judge or teacher against human labels and fit a calibration map for `label --calibration`.

    Reports three-way accuracy, accuracy without ties, log loss, position-swap consistency and cost, and
    log loss before/after calibration on held-out rows; writes labels, failures, calibration.json and
    report.json to OUT.
    """
    if not 0.0 < holdout < 1.0:
        raise ArenaprefError("--holdout must be between 0 and 1")
    table = _read_battles(labeled, fmt, mapping, rejects)
    budget = Budget(max_requests=max_requests, max_tokens=max_tokens, max_cost=max_cost)
    with _progress(judge is not None) as progress:
        run, held = _labeler(
            judge,
            teacher,
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            concurrency=concurrency,
            cache_path=cache if cache is not None else out / "judge-cache.sqlite",
            budget=budget,
            calibration=None,
            progress=progress,
        )
        try:
            report = judge_eval(table, run, out, holdout=holdout, seed=seed)
        finally:
            if held is not None:
                held.close()
    for line in report.lines():
        console.print(line, highlight=False)
