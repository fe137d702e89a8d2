"""``arenapref train | evaluate | predict | check-submission | ablate``: the preference model's commands.

Each command is a few lines over ``arenapref.model``; everything they do is callable from a notebook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import FormatOption, console, report_rejects
from arenapref.errors import ArenaprefError
from arenapref.model.ablate import ablate as run_ablation
from arenapref.model.ablate import write_report
from arenapref.model.estimators import MODELS
from arenapref.model.evaluate import evaluate_model
from arenapref.model.io import check_submission, predict_submission, read_battles
from arenapref.model.training import parse_params, parse_weights, train_model
from arenapref.rejects import RejectLog

ModelDir = Annotated[Path, typer.Argument(help="Model folder written by `arenapref train`.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the folds, the boosting and the bootstrap.")]
ModelName = Annotated[
    str,
    typer.Option("--model", "-m", envvar="ARENAPREF_MODEL", help=f"Estimator: {', '.join(MODELS)}."),
]


def _print(lines: list[str]) -> None:
    for line in lines:
        console.print(line, highlight=False, markup=False)


@app.command("train")
def train(
    data: Annotated[list[Path], typer.Argument(help="Labeled battles: competition CSV, pairwise, Parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    folds: Annotated[int, typer.Option("--folds", min=2, help="Grouped cross-validation folds.")] = 5,
    model: ModelName = "lgbm",
    weight: Annotated[
        list[str] | None,
        typer.Option("--weight", "-w", help="SOURCE=W: sample weight of rows from a source or input file."),
    ] = None,
    group_column: Annotated[
        str | None,
        typer.Option("--group-column", help="Column of near-duplicate cluster ids to keep within one fold."),
    ] = None,
    embeddings: Annotated[
        bool, typer.Option("--embeddings", help="Add MiniLM sentence-embedding features (slow, lgbm only).")
    ] = False,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="KEY=VALUE hyper-parameter of the estimator, e.g. num_leaves=15."),
    ] = None,
    seed: Seed = 0,
    fmt: FormatOption = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Write unreadable rows here.")] = None,
) -> None:
    """Train a preference model with grouped cross-validation (prompts never straddle folds), fit a
    temperature on the out-of-fold predictions, refit on everything, and write MODEL_DIR with the model
    and oof.parquet (id, p_a, p_b, p_tie, fold). Soft labels are used as they are.
    """
    params = parse_params(param or [])
    if embeddings:
        if model != "lgbm":
            raise ArenaprefError("--embeddings needs --model lgbm")
        params["embeddings"] = True
    summary = train_model(
        data,
        out,
        model=model,
        n_folds=folds,
        weights=parse_weights(weight or []),
        seed=seed,
        group_column=group_column,
        params=params,
        format=fmt,
    )
    report_rejects(summary.rejects, "input", rejects, hint=False)
    _print(summary.lines())


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
) -> None:
    """Score a model on labeled battles: log loss, accuracy, accuracy without ties, per-class log loss,
    a reliability diagram (PNG); on synthetic data also the gap to the best possible log loss (the
    truth file beside the data is found automatically).
    """
    report = evaluate_model(model_dir, list(data), truth=truth, out_dir=out)
    _print(report.lines())


@app.command("predict")
def predict(
    model_dir: ModelDir,
    test: Annotated[Path, typer.Argument(help="Battles to predict (the competition's test.csv).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Submission CSV to write.")],
    clip: Annotated[
        float, typer.Option("--clip", min=0.0, max=0.3, help="Keep probabilities in [clip, 1-clip].")
    ] = 1e-4,
) -> None:
    """Write a submission (id, winner_model_a, winner_model_b, winner_tie) in the test file's order,
    averaging each battle with its A/B swap, then check its format against the test file.
    """
    summary = predict_submission(model_dir, test, out, clip=clip)
    _print(summary.lines())
    check = check_submission(summary.path, test)
    if not check.ok:
        raise ArenaprefError(f"{summary.path} failed the format check: {'; '.join(check.problems)}")
    console.print("format check passed", highlight=False)


@app.command("check-submission")
def check_submission_cmd(
    submission: Annotated[Path, typer.Argument(help="Submission CSV to check.")],
    test: Annotated[Path, typer.Argument(help="The test file it answers.")],
) -> None:
    """Check a submission against its test file: header, one row per test id in order, probabilities
    strictly between 0 and 1 summing to 1. Exit code 1 and the problems when it fails.
    """
    check = check_submission(submission, test)
    if not check.ok:
        raise ArenaprefError(f"{submission}: {'; '.join(check.problems)}")
    console.print(f"{submission}: {check.n_rows} rows, format check passed", highlight=False)


@app.command("ablate")
def ablate(
    base: Annotated[list[Path], typer.Option("--base", help="Human-labeled training battles.")],
    extra: Annotated[list[Path], typer.Option("--extra", help="Extra (e.g. pseudo-labeled) battles.")],
    holdout: Annotated[
        list[Path] | None, typer.Option("--holdout", help="Held-out human-labeled battles to score on.")
    ] = None,
    holdout_frac: Annotated[
        float | None,
        typer.Option(
            "--holdout-frac", min=0.01, max=0.9, help="Hold out this share of --base's prompts instead."
        ),
    ] = None,
    extra_weight: Annotated[
        float, typer.Option("--extra-weight", min=0.0, help="Sample weight of extra rows.")
    ] = 1.0,
    topics: Annotated[
        Path | None,
        typer.Option("--topics", help="Topic map folder (`topics fit`) for a per-topic breakdown."),
    ] = None,
    model: ModelName = "lgbm",
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE hyper-parameter of the estimator.")
    ] = None,
    boot: Annotated[int, typer.Option("--boot", min=100, help="Bootstrap resamples.")] = 1000,
    seed: Seed = 0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the report as JSON here.")] = None,
) -> None:
    """Does the extra data help? Train on base alone and on base + extra, score both on the same
    held-out human-labeled battles, and print the log-loss difference (with extra minus without;
    negative = it helps) with a paired bootstrap confidence interval, per topic with --topics.
    """
    if (holdout is None) == (holdout_frac is None):
        raise ArenaprefError("give exactly one of --holdout and --holdout-frac")
    rejects = RejectLog()
    report = run_ablation(
        read_battles(base, rejects),
        read_battles(extra, rejects),
        holdout=read_battles(holdout, rejects) if holdout else None,
        holdout_frac=holdout_frac,
        extra_weight=extra_weight,
        topics=topics,
        model=model,
        params=parse_params(param or []),
        n_boot=boot,
        seed=seed,
    )
    report_rejects(rejects, "input", hint=False)
    _print(report.lines())
    if out is not None:
        console.print(f"report written to {write_report(report, out)}", highlight=False)
