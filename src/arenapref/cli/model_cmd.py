"""``arenapref train | evaluate | predict | check-submission | ablate``: the preference model's commands.

Each command is a thin adapter: its options are the fields of the stage's settings (``model.settings``;
tests/test_model_settings.py proves they are one set with one default each) and it calls the same
``arenapref.api`` function a notebook and the pipeline call. The stage is imported inside each command, so
``arenapref --help`` does not pay for LightGBM, SciPy, scikit-learn or matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    JsonOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    command_progress,
    console,
    default_of,
    emit_json,
    progress_enabled,
    report_rejects,
    start_command,
)
from arenapref.errors import ArenaprefError
from arenapref.executors.cli import AddressOption, ExecutorOption, executor_for
from arenapref.model.kinds import KINDS
from arenapref.model.settings import (
    AblateSettings,
    EvaluateSettings,
    PredictSettings,
    TrainSettings,
)
from arenapref.rejects import RejectLog

ModelDir = Annotated[Path, typer.Argument(help="Model folder written by `arenapref train`.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the folds, the boosting and the bootstrap.")]
ModelName = Annotated[
    str,
    typer.Option(
        "--model",
        envvar="ARENAPREF_MODEL",
        help="Model kind: " + "; ".join(f"{name}: {k.help}" for name, k in KINDS.items()) + ".",
    ),
]
TaskOption = Annotated[
    str,
    typer.Option(
        "--task",
        help="three-way (log loss, LMSYS), binary (accuracy, WSDM Cup 2025) or auto: binary when the data "
        "has a WSDM winner column and no ties.",
    ),
]
TiesOption = Annotated[
    str,
    typer.Option(
        "--ties",
        help="Binary task on data with ties: drop (condition labels on no tie) or split (half to each side).",
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="KEY=VALUE hyper-parameter of the estimator, e.g. num_leaves=15."),
]

# The option of each settings field whose flag is not ``--`` + the name with dashes (cli.common's
# PARAMETER_FLAGS shows library errors about them with these flags).
FLAGS = {
    "params": "--param",
    "n_boot": "--boot",
    "curve": "--extra-fractions",
    "extra_weight": "--extra-weights",
}


def flag_of(field: str) -> str:
    """The option that sets a model stage's settings field."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def _print(lines: list[str]) -> None:
    for line in lines:
        console.print(line, highlight=False, markup=False)


def _floats(spec: str, what: str) -> list[float]:
    try:
        return [float(v) for v in spec.split(",") if v.strip()]
    except ValueError as exc:
        raise ArenaprefError(f"`{what}` {spec!r}: expected comma-separated numbers, e.g. 0.25,0.5,1") from exc


def _given(**values: Any) -> dict[str, Any]:
    """The options a user set (None: the settings' default)."""
    return {k: v for k, v in values.items() if v is not None}


@app.command("train")
def train(
    data: Annotated[list[Path], typer.Argument(help="Labeled battles: competition CSV, pairwise, Parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    folds: Annotated[
        int | None,
        typer.Option(
            "--folds",
            help="Grouped cross-validation folds (default 5; with --model llm default 0: one grouped "
            "hold-out, since every fold is a full fine-tune).",
        ),
    ] = None,
    model: ModelName = default_of(TrainSettings, "model"),
    base: Annotated[
        Path | None,
        typer.Option(
            "--base", help="Base model for --model llm: a local Hugging Face folder or a GGUF file."
        ),
    ] = None,
    weight: Annotated[
        list[str] | None,
        typer.Option("--weight", help="SOURCE=W: sample weight of rows from a source or input file."),
    ] = None,
    group_column: Annotated[
        str | None,
        typer.Option("--group-column", help="Column of near-duplicate cluster ids to keep within one fold."),
    ] = None,
    embeddings: Annotated[
        bool, typer.Option("--embeddings", help="Add MiniLM sentence-embedding features (slow, lgbm only).")
    ] = default_of(TrainSettings, "embeddings"),
    seeds: Annotated[
        int, typer.Option("--seeds", help="Boosters averaged in the seed ensemble (lgbm).")
    ] = default_of(TrainSettings, "seeds"),
    param: ParamOption = None,
    seed: Seed = 0,
    task: TaskOption = default_of(TrainSettings, "task"),
    ties: TiesOption = default_of(TrainSettings, "ties"),
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Train a preference model with grouped cross-validation (prompts never straddle folds), average a
    small seed ensemble, keep a temperature only when a cross-fitted one lowers the out-of-fold log
    loss, refit on everything, and write the model folder (atomically) with oof.parquet. Soft labels
    are used as they are. `--model llm --base DIR` fine-tunes a local LLM instead.
    """
    start_command(json_out, quiet)
    from arenapref.api import train as run
    from arenapref.model.training import parse_params, parse_weights

    settings = _given(
        model=model,
        folds=folds,
        params=parse_params(param or []),
        seeds=seeds,
        embeddings=embeddings,
        group_column=group_column,
        base=None if base is None else str(base),
        task=task,
        ties=ties,
    )
    summary = run(
        list(data),
        out,
        seed=seed,
        weights=parse_weights(weight or []),
        format=fmt,
        split=split,
        progress=progress_enabled(),
        **settings,
    )
    report_rejects(summary.rejects, "input", rejects, hint=False)
    _print(summary.lines())
    if json_out:
        emit_json({"command": "train", "model": model, **summary.as_dict()})


@app.command("evaluate")
def evaluate(
    model_dir: ModelDir,
    data: Annotated[list[Path], typer.Argument(help="Labeled battles to score.")],
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth", help="True probabilities (id, p_a, p_b, p_tie Parquet) for the best-case gap."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the diagram and metrics.json.")
    ] = None,
    task: TaskOption = default_of(EvaluateSettings, "task"),
    bins: Annotated[int, typer.Option("--bins", help="Bins of the reliability diagram.")] = default_of(
        EvaluateSettings, "bins"
    ),
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Score a model on labeled battles: log loss, accuracy, accuracy without ties, per-class log loss,
    a reliability diagram (PNG); on synthetic data also the gap to the best possible log loss (the
    truth file beside the data is found automatically).
    """
    start_command(json_out, quiet)
    from arenapref.api import evaluate as run

    log = RejectLog()
    report = run(
        model_dir, list(data), truth, out_dir=out, format=fmt, split=split, rejects=log, task=task, bins=bins
    )
    report_rejects(log, "input", rejects, hint=False)
    _print(report.lines())
    if json_out:
        emit_json(
            {
                "command": "evaluate",
                "model": report.model.as_dict(),
                "prior": None if report.prior is None else report.prior.as_dict(),
                "files": [str(p) for p in report.files],
            }
        )


@app.command("predict")
def predict(
    model_dir: ModelDir,
    test: Annotated[Path, typer.Argument(help="Battles to predict (the competition's test.csv).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Submission CSV to write.")],
    clip: Annotated[float, typer.Option("--clip", help="Keep probabilities in [clip, 1-clip].")] = default_of(
        PredictSettings, "clip"
    ),
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Write a submission (id, winner_model_a, winner_model_b, winner_tie; or id, winner for a binary
    model, WSDM Cup 2025) in the test file's order, averaging each battle with its A/B swap, then check
    its format against the test file.
    """
    start_command(json_out, quiet)
    from arenapref.api import predict as run

    with executor_for(executor, address) as ex:
        summary = run(model_dir, test, out, format=fmt, split=split, executor=ex, clip=clip)
    report_rejects(summary.rejects, "input", rejects, hint=False)
    _print(summary.lines())
    console.print("format check passed", highlight=False)  # predict_submission writes only a passing file
    if json_out:
        emit_json(
            {
                "command": "predict",
                "out": str(summary.path),
                "rows": summary.n_rows,
                "fallback": summary.n_fallback,
                "without_id": summary.n_without_id,
            }
        )


@app.command("check-submission")
def check_submission_cmd(
    submission: Annotated[Path, typer.Argument(help="Submission CSV to check.")],
    test: Annotated[Path, typer.Argument(help="The test file it answers.")],
    task: Annotated[
        str,
        typer.Option("--task", help="three-way, binary (id,winner) or auto: read from the header."),
    ] = "auto",
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Check a submission against its test file as Kaggle does: the header, exactly one row per test id
    in any order (missing, extra, duplicate and blank ids reported), probabilities strictly between 0
    and 1 summing to 1, or for the binary task (id,winner) a winner of model_a or model_b; auto reads
    the task from the header. Exit code 3 and the problems when it fails.
    """
    start_command(json_out, quiet)
    from arenapref.errors import CheckFailed
    from arenapref.model.io import check_submission

    check = check_submission(submission, test, format=fmt, task=task, split=split)
    if json_out:
        emit_json(
            {"command": "check-submission", "ok": check.ok, "rows": check.n_rows, "problems": check.problems}
        )
    if not check.ok:
        raise CheckFailed(f"{submission}: {'; '.join(check.problems)}")
    console.print(f"{submission}: {check.n_rows} rows, format check passed", highlight=False)
    del rejects  # the submission check reads no battle rows that could be rejected


@app.command("ablate")
def ablate(
    base: Annotated[list[Path], typer.Option("--base", help="Human-labeled training battles.")],
    extra: Annotated[list[Path], typer.Option("--extra", help="Extra (e.g. pseudo-labeled) battles.")],
    holdout: Annotated[
        list[Path] | None, typer.Option("--holdout", help="Held-out human-labeled battles to score on.")
    ] = None,
    holdout_frac: Annotated[
        float, typer.Option("--holdout-frac", help="Hold out this share of --base's prompts instead.")
    ] = default_of(AblateSettings, "holdout_frac"),
    extra_weights: Annotated[
        str | None,
        typer.Option("--extra-weights", help="Sample weights of extra rows, comma-separated, e.g. 0.5,1."),
    ] = None,
    extra_fractions: Annotated[
        str | None,
        typer.Option(
            "--extra-fractions", help="Shares of the extra rows to try, comma-separated, e.g. 0.25,0.5,1."
        ),
    ] = None,
    repeats: Annotated[
        int, typer.Option("--repeats", help="Trainings per arm with different seeds (averaged).")
    ] = default_of(AblateSettings, "repeats"),
    topics: Annotated[
        Path | None,
        typer.Option("--topics", help="Topic map folder (`topics fit`) for a per-topic breakdown."),
    ] = None,
    model: ModelName = default_of(AblateSettings, "model"),
    param: ParamOption = None,
    boot: Annotated[int, typer.Option("--boot", help="Bootstrap resamples.")] = default_of(
        AblateSettings, "n_boot"
    ),
    seed: Seed = 0,
    task: TaskOption = default_of(TrainSettings, "task"),
    ties: TiesOption = default_of(TrainSettings, "ties"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the report as JSON here.")] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the curve as a PNG here (default: beside --out).")
    ] = None,
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Does the extra data help? Train on base alone and on base + extra, --repeats times each with
    different seeds, score all on the same held-out human-labeled battles (--holdout, or --holdout-frac
    of --base's prompts), and print the per-repeat and pooled differences in the task's loss (log loss,
    or the binary task's error rate; with extra minus without; negative = it helps) with a two-level
    bootstrap interval (repeats and prompts), the verdict, and the smallest effect the held-out set can
    detect; a curve over --extra-fractions and --extra-weights; per topic with --topics.
    """
    start_command(json_out, quiet)
    from arenapref.atomic import refuse_input_as_output

    if out is not None and plot is None:  # the default plot beside --out, checked before the trainings
        refuse_input_as_output(out.with_suffix(".png"), what="the plot beside --out")
    from arenapref.model.ablate import ablate as run_ablation
    from arenapref.model.ablate import plot_curve, write_report
    from arenapref.model.training import parse_params

    settings = _given(
        model=model,
        params=parse_params(param or []),
        holdout_frac=holdout_frac,
        repeats=repeats,
        curve=None if extra_fractions is None else _floats(extra_fractions, "curve"),
        extra_weight=None if extra_weights is None else _floats(extra_weights, "extra_weight"),
        n_boot=boot,
    )
    log = RejectLog()
    with command_progress("ablate") as tell:
        report = run_ablation(
            base,
            extra,
            holdout or None,
            topics=topics,
            seed=seed,
            task=task,
            ties=ties,
            on_trained=(lambda done, total: tell("trained", done, total)) if tell is not None else None,
            rejects=log,
            format=fmt,
            split=split,
            **settings,
        )
    report_rejects(log, "input", rejects, hint=False)
    _print(report.lines())
    written: dict[str, Any] = {}
    if out is not None:
        written["report"] = str(write_report(report, out))
        console.print(f"report written to {out}", highlight=False)
        if plot is None and len(report.curve) > 1:
            plot = out.with_suffix(".png")
    if plot is not None:
        written["plot"] = str(plot_curve(report, plot))
        console.print(f"curve plotted to {plot}", highlight=False)
    if json_out:
        emit_json({"command": "ablate", **report.as_dict(), **written})
