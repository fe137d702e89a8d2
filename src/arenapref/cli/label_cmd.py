"""``arenapref label`` and ``arenapref judge-eval``: pseudo-labels from an LLM judge or a teacher model.

Stage code (aiohttp, pyarrow, the model package) is imported inside the commands, so ``arenapref --help``
stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    JsonOption,
    MappingOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    default_of,
    emit_json,
    err_console,
    open_input,
    progress_enabled,
    report_rejects,
    say,
    settings_options,
    start_command,
)
from arenapref.errors import ArenaprefError, Incomplete
from arenapref.executors.base import Executor
from arenapref.executors.cli import AddressOption, ExecutorOption, executor_for
from arenapref.label.settings import JudgeEvalSettings, JudgeSettings
from arenapref.progress import TextLines

if TYPE_CHECKING:
    import pyarrow as pa

    from arenapref.label.judge import LabelResult
    from arenapref.llmclient.cache import JudgeCache

EXIT_CODES_HELP = (
    "Exit codes: 0 every pair labeled; 1 user error or the run was aborted (bad key, wrong URL, a server "
    "whose first answers all failed the same way); 4 incomplete: some pairs are in the failures file "
    "(budget reached, errors after retries), rerun the same command to retry only those."
)
JudgeOption = Annotated[
    str | None,
    typer.Option("--judge", help="Judge configuration TOML, or the name of a shipped judge ('default')."),
]
TeacherOption = Annotated[
    Path | None,
    typer.Option(
        "--teacher", help="Model folder saved by `arenapref train` (classical or LLM) to label with."
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar=["ARENAPREF_BASE_URL", "OPENAI_BASE_URL"],
        help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1 (default: the judge file's).",
    ),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", envvar="ARENAPREF_JUDGE_MODEL", help="Override the judge model.")
]
ApiKeyEnvOption = Annotated[
    str | None,
    typer.Option(
        "--api-key-env",
        help="NAME of the environment variable holding the key (default OPENAI_API_KEY; '' for none).",
    ),
]
CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="SQLite cache of completed requests (default: one per user, "
        "$ARENAPREF_CACHE_DIR/judge.sqlite or ~/.cache/arenapref/judge.sqlite).",
    ),
]
MaxRequestsOption = Annotated[int, typer.Option("--max-requests", help="Cap on HTTP requests (0: none).")]
MaxTokensOption = Annotated[int, typer.Option("--max-tokens", help="Cap on tokens (0: none).")]
MaxCostOption = Annotated[
    float, typer.Option("--max-cost", help="Cap on USD, priced by the judge's table (0: none).")
]
ConcurrencyOption = Annotated[
    int | None, typer.Option("--concurrency", help="Requests in flight at once (default: the judge's, 16).")
]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", help="Total seconds allowed for one HTTP attempt (default: the judge's, 60)."),
]
MaxAttemptsOption = Annotated[
    int | None,
    typer.Option("--max-attempts", help="HTTP attempts per request (default: the judge's, 5)."),
]


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int, float], None] | None]:
    """A rich progress bar showing requests done and money spent so far (on stderr)."""
    if not enabled:
        yield None
        return
    if not err_console.is_terminal:  # a log: one line per step (arenapref.progress.TextLines)
        lines = TextLines("label")
        yield lambda done, total, cost: lines(f"requests (${cost:.4f})", done, total)
        lines.close()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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


# The option spelling of each ``JudgeSettings`` field (the rest are ``--`` + the name with dashes).
FLAGS = {"spec": "--judge", "timeout_s": "--timeout"}
# ``JudgeSettings`` fields a pipeline has and this command has not (it labels; judge-eval evaluates).
PIPELINE_ONLY = ("enabled", "eval_rows")


def flag_of(field: str) -> str:
    """The option that sets a ``JudgeSettings`` field."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def _judge_settings(**values: Any) -> JudgeSettings:
    """The options as ``JudgeSettings``; an impossible value is one sentence naming its option."""
    from pydantic import ValidationError

    try:
        return JudgeSettings(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        bounds = err.get("ctx") or {}
        if bounds.get("ge") == 0:
            text = "must be 0 (no cap) or a positive number"
        elif "ge" in bounds:
            text = f"must be at least {bounds['ge']}"
        elif "gt" in bounds:
            text = f"must be more than {bounds['gt']:g}"
        else:
            text = str(err["msg"]).lower()
        raise ArenaprefError(f"{flag_of(str(err['loc'][0]))} {text}, not {err.get('input')!r}") from None


@contextmanager
def _labeler(
    judge: str | None,
    teacher: Path | None,
    options: dict[str, Any],
    *,
    calibration: Path | None,
    progress: Callable[[int, int, float], None] | None,
    executor: Executor | None = None,
) -> Iterator[tuple[Callable[[pa.Table], LabelResult], JudgeCache | None]]:
    """The labeling function the options describe, and the cache it holds open (None for teachers).

    ``options``: the judge options as ``JudgeSettings`` fields; the judge itself is ``open_judge``, the
    same one the pipeline's label stage runs.
    """
    from arenapref.label.evaluate import load_calibration
    from arenapref.label.settings import open_judge
    from arenapref.label.teacher import load_teacher, teacher_battles

    if (judge is None) == (teacher is None):
        raise ArenaprefError("pass exactly one of --judge CONFIG and --teacher MODEL_DIR")
    settings = _judge_settings(spec=judge, **options)
    cmap = load_calibration(calibration)
    if teacher is not None:
        if executor is not None:
            raise ArenaprefError(
                "--executor ray spreads --judge requests; --teacher labels run on this machine"
            )
        model_obj = load_teacher(teacher)
        yield (lambda t: teacher_battles(t, model_obj, teacher.name, cmap)), None
        return
    try:
        with open_judge(settings, executor=executor, progress=progress) as labeler:
            yield (lambda t: labeler(t, cmap)), labeler.cache
    except ArenaprefError as exc:
        if not str(exc).startswith("max_cost "):
            raise
        raise ArenaprefError(f"--max-cost {str(exc).removeprefix('max_cost ')}") from None


def _read_battles(
    pairs: Path, fmt: str | None, mapping: str | None, rejects: Path | None, split: str | None = None
) -> pa.Table:
    src = open_input(pairs, fmt, mapping, split=split)
    if src.kind != "battles":
        raise ArenaprefError(f"{pairs} holds {src.kind}; labeling needs pairs (battles)")
    table = src.read_table()
    report_rejects(src.rejects, src.path, rejects)
    return table


@app.command("label", epilog=EXIT_CODES_HELP)
def label(
    pairs: Annotated[
        Path, typer.Argument(help="Pairs to label: competition CSV, native Parquet, pairwise file.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Labels: .parquet (battle schema + label columns) or .csv (competition CSV).",
        ),
    ],
    judge: JudgeOption = None,
    teacher: TeacherOption = None,
    base_url: BaseUrlOption = None,
    model: ModelOption = None,
    api_key_env: ApiKeyEnvOption = None,
    cache: CacheOption = None,
    max_requests: MaxRequestsOption = default_of(JudgeSettings, "max_requests"),
    max_tokens: MaxTokensOption = default_of(JudgeSettings, "max_tokens"),
    max_cost: MaxCostOption = default_of(JudgeSettings, "max_cost"),
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="Calibration map from judge-eval to apply.")
    ] = None,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    max_attempts: MaxAttemptsOption = None,
    failures: Annotated[
        Path | None, typer.Option("--failures", help="Where unlabeled pairs go (default OUT.failures.jsonl).")
    ] = None,
    fmt: FormatOption = None,
    mapping: MappingOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Label PAIRS with an LLM judge (both A/B orders, cached, budgeted) or a teacher model.

    Every pair ends either labeled in OUT or in the failures file with its reason (budget, unparseable
    answer with its raw text, HTTP error after retries). Completed requests are kept in one per-user
    cache, so a rerun (with any --out) never resends one: an interrupted or budget-stopped run resumes
    where it stopped. The API key is read from the environment and never written or printed.
    """
    start_command(json_out, quiet)
    from arenapref.atomic import output_suffix, refuse_input_as_output
    from arenapref.label.output import LABEL_FORMATS, default_failures_path, write_outputs

    output_suffix(out, LABEL_FORMATS)
    failures_path = failures if failures is not None else default_failures_path(out)
    if failures is None:  # the default beside --out is checked here, before the judge is paid
        refuse_input_as_output(failures_path, what="the failures file")
    options = {
        "base_url": base_url, "model": model, "api_key_env": api_key_env, "concurrency": concurrency,
        "timeout_s": timeout, "max_attempts": max_attempts, "max_requests": max_requests,
        "max_tokens": max_tokens, "max_cost": max_cost, "cache": None if cache is None else str(cache),
    }  # fmt: skip
    table = _read_battles(pairs, fmt, mapping, rejects, split)
    with (
        _progress(judge is not None and progress_enabled()) as progress,
        executor_for(executor, address) as ex,
        _labeler(judge, teacher, options, calibration=calibration, progress=progress, executor=ex) as (
            run,
            held,
        ),
    ):
        result = run(table)
    write_outputs(result.table, result.failures, out, failures_path)
    s = result.stats
    say(
        f"{s.labeled} of {s.pairs} pairs labeled -> {out}; {s.failed} written to {failures_path}"
        + (f" ({s.failure_reasons})" if s.failure_reasons else "")
    )
    summary: dict[str, Any] = {
        "command": "label",
        "out": out,
        "failures": failures_path,
        "pairs": s.pairs,
        "labeled": s.labeled,
        "failed": s.failed,
        "failure_reasons": s.failure_reasons,
        "stopped": s.stopped,
    }
    if held is not None:
        say(
            f"{s.orders_cached} requests answered from the cache {held.path}, {s.orders_sent} sent "
            f"({s.http_requests} HTTP attempts, retries {s.retries or 'none'}); "
            f"{s.prompt_tokens + s.completion_tokens} tokens, ${s.cost:.4f}, {s.elapsed_s:.1f} s"
        )
        summary |= {
            "cache": held.path,
            "requests_cached": s.orders_cached,
            "requests_sent": s.orders_sent,
            "http_attempts": s.http_requests,
            "retries": s.retries,
            "tokens": s.prompt_tokens + s.completion_tokens,
            "cost": s.cost,
            "elapsed_s": round(s.elapsed_s, 3),
        }
    if json_out:
        emit_json(summary)
    if s.failed:
        hint = (
            f"stopped: {s.stopped}; rerun with a larger budget to continue"
            if s.stopped
            else "rerun the same command to retry them (answered requests come from the cache)"
        )
        raise Incomplete(f"{s.failed} of {s.pairs} pairs are not labeled (see {failures_path}); {hint}")


@app.command("judge-eval", epilog=EXIT_CODES_HELP)
def judge_eval_cmd(
    labeled: Annotated[
        Path, typer.Argument(help="Human-labeled battles (competition train CSV, pairwise file...).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run folder for labels, failures, calibration and report.")
    ],
    judge: JudgeOption = None,
    teacher: TeacherOption = None,
    base_url: BaseUrlOption = None,
    model: ModelOption = None,
    api_key_env: ApiKeyEnvOption = None,
    cache: CacheOption = None,
    max_requests: MaxRequestsOption = default_of(JudgeSettings, "max_requests"),
    max_tokens: MaxTokensOption = default_of(JudgeSettings, "max_tokens"),
    max_cost: MaxCostOption = default_of(JudgeSettings, "max_cost"),
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    max_attempts: MaxAttemptsOption = None,
    holdout: Annotated[
        float, typer.Option("--holdout", help="Share of rows held out to test calibration.")
    ] = default_of(JudgeEvalSettings, "holdout"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the held-out split.")] = 0,
    fmt: FormatOption = None,
    mapping: MappingOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Measure a judge or teacher against human labels and fit a calibration map for `label --calibration`.

    Reports three-way accuracy, accuracy without ties, log loss, position-swap consistency and cost, and
    log loss before/after calibration on held-out rows; writes labels.parquet, failures.jsonl,
    calibration.json and report.json to the OUT folder (replaced as a whole).
    """
    start_command(json_out, quiet)
    from arenapref.label.evaluate import judge_eval
    from arenapref.settings import build

    with settings_options():
        held = build(JudgeEvalSettings, holdout=holdout)
    if cache is not None and cache.resolve().is_relative_to(out.resolve()):
        raise ArenaprefError(
            f"--cache {cache} is inside the --out folder {out}, which judge-eval replaces as a whole; "
            "keep the cache elsewhere (the default is the per-user cache)"
        )
    options = {
        "base_url": base_url, "model": model, "api_key_env": api_key_env, "concurrency": concurrency,
        "timeout_s": timeout, "max_attempts": max_attempts, "max_requests": max_requests,
        "max_tokens": max_tokens, "max_cost": max_cost, "cache": None if cache is None else str(cache),
    }  # fmt: skip
    table = _read_battles(labeled, fmt, mapping, rejects)
    with (
        _progress(judge is not None and progress_enabled()) as progress,
        _labeler(judge, teacher, options, calibration=None, progress=progress) as (run, _),
    ):
        report = judge_eval(table, run, out, settings=held, seed=seed)
    for line in report.lines():
        say(line)
    if json_out:
        from dataclasses import asdict

        emit_json({"command": "judge-eval", "out": out, **asdict(report)})
    if report.rows_failed:
        raise Incomplete(
            f"{report.rows_failed} of {report.rows_labeled_by_humans} pairs were not judged "
            f"({report.failure_reasons}); see {report.outputs.get('failures')}"
        )
