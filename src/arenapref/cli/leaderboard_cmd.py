"""``arenapref leaderboard``: Bradley–Terry ratings from labeled pairs, and agreement with human votes.

So a user sees whether a judge or a teacher reproduces the human ranking before training on its labels.
The stage is imported inside the command (SciPy is needed only for the rank correlations).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    JsonOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    console,
    default_of,
    emit_json,
    start_command,
)
from arenapref.model.settings import LeaderboardSettings


@app.command("leaderboard")
def leaderboard(
    labeled: Annotated[
        list[Path],
        typer.Argument(
            help="Labeled pairs with model_a/model_b: battles (human, judge or teacher) or votes."
        ),
    ],
    human: Annotated[
        list[Path] | None,
        typer.Option("--human", help="Human votes (model_a, model_b, winner) to compare the ranking with."),
    ] = None,
    boot: Annotated[int, typer.Option("--boot", help="Bootstrap resamples for the intervals.")] = default_of(
        LeaderboardSettings, "n_boot"
    ),
    top: Annotated[int | None, typer.Option("--top", min=1, help="Print only the best N models.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write ratings (and agreement) as JSON.")
    ] = None,
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Rate every model in LABELED with a Bradley–Terry model (ties count half a win each way) and
    bootstrap intervals; with --human, also rate the human votes and print Spearman's and Kendall's
    rank correlation over the models both cover. --split picks one split of LABELED folders.
    """
    start_command(json_out, quiet)
    import json

    from arenapref.api import leaderboard as rate
    from arenapref.atomic import write_text
    from arenapref.model.leaderboard import compare_rankings

    ours = rate(list(labeled), seed=seed, format=fmt, split=split, n_boot=boot)
    for line in ours.lines(top):
        console.print(line, highlight=False, markup=False)
    summary: dict[str, object] = {"command": "leaderboard", "ratings": ours.as_dict()}
    if human:
        theirs = rate(list(human), seed=seed, format=fmt, n_boot=0)
        agree = compare_rankings(ours, theirs)
        console.print(agree.line(), highlight=False, markup=False)
        summary["human"] = {
            "shared_models": agree.shared_models,
            "spearman": agree.spearman,
            "kendall": agree.kendall,
            "spearman_p": agree.spearman_p,
            "kendall_p": agree.kendall_p,
        }
    if out is not None:
        write_text(out, json.dumps(summary, indent=2, default=str) + "\n")
        console.print(f"written to {out}", highlight=False)
        summary["out"] = str(out)
    if json_out:
        emit_json(summary)
    del rejects  # votes files are read strictly (a bad row is an error naming it); nothing is rejected
