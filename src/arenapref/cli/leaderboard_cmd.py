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
    console,
    emit_json,
    start_command,
)


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
    boot: Annotated[int, typer.Option("--boot", min=0, help="Bootstrap resamples for the intervals.")] = 100,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Print only the best N models.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write ratings (and agreement) as JSON.")
    ] = None,
    fmt: FormatOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Rate every model in LABELED with a Bradley–Terry model (ties count half a win each way) and
    bootstrap intervals; with --human, also rate the human votes and print Spearman's and Kendall's
    rank correlation over the models both cover.
    """
    start_command(json_out, quiet)
    import json

    from arenapref.atomic import write_text
    from arenapref.model.leaderboard import compare_rankings, merge_pairs, ratings, read_pairs

    ours = ratings(merge_pairs([read_pairs(p, fmt) for p in labeled]), n_boot=boot, seed=seed)
    for line in ours.lines(top):
        console.print(line, highlight=False, markup=False)
    summary: dict[str, object] = {"command": "leaderboard", "ratings": ours.as_dict()}
    if human:
        theirs = ratings(merge_pairs([read_pairs(p, fmt) for p in human]), n_boot=0, seed=seed)
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
