"""``arenapref demo``: every stage on generated data, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import console
from arenapref.demo import StageResult, run_demo


@app.command("demo")
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Workspace folder for the demo's data and outputs.")
    ] = Path("demo-out"),
    conversations: Annotated[int, typer.Option(help="Synthetic LMSYS-shaped conversations.")] = 20_000,
    battles: Annotated[int, typer.Option(help="Synthetic competition battles (train + test).")] = 4_000,
    seed: Annotated[int, typer.Option(help="Seed for the generator and every stage.")] = 0,
) -> None:
    """Generate a small synthetic workspace and run every stage on it, printing where each output is."""

    def show(result: StageResult) -> None:
        console.rule(f"[bold]{result.name}[/bold]  ({result.seconds:.1f} s)")
        for line in result.lines:
            console.print(f"  {line}", highlight=False, markup=False)

    results = run_demo(out, conversations=conversations, battles=battles, seed=seed, on_stage=show)
    total = sum(r.seconds for r in results)
    console.rule()
    console.print(
        f"demo finished: {len(results)} stages in {total:.1f} s; everything is under {out}/", highlight=False
    )
