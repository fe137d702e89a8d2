"""``arenapref run PIPELINE.toml``: every stage from one config, rerunning only what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import JsonOption, QuietOption, emit_json, progress_enabled, say, start_command


@app.command("run")
def run(
    config: Annotated[Path, typer.Argument(help="The pipeline config (PIPELINE.toml, or its folder).")],
    from_stage: Annotated[
        str | None, typer.Option("--from", help="Rerun this stage and every later one.")
    ] = None,
    only: Annotated[str | None, typer.Option("--only", help="Rerun just this stage.")] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run profile, compare, topics, mine, label, train, evaluate, ablate and predict into the run folder.

    A stage whose settings, inputs and upstream stages are unchanged is skipped; a killed run can be
    rerun and finishes what was left, without asking the judge again for answers it already gave.
    """
    start_command(json_out, quiet)
    from arenapref.pipeline import run_pipeline

    summary = run_pipeline(
        config,
        from_stage=from_stage,
        only=only,
        progress=progress_enabled(),
        on_stage=lambda s: say(s.line()),
    )
    ran = sum(1 for s in summary.stages if s.status == "ran")
    say(
        f"{ran} stage(s) ran, {len(summary.stages) - ran} did not, in {summary.seconds:.1f} s; "
        f"run folder {summary.run_dir}"
    )
    if json_out:
        emit_json(summary.to_dict())


@app.command("init")
def init(
    files: Annotated[
        list[Path], typer.Argument(help="Your data files or folders: conversation logs, train, test.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the config.")] = Path(
        "PIPELINE.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing config.")] = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write a commented PIPELINE.toml for your files: each one's layout detected and filed as
    conversation logs (mined for pairs), train (labeled battles) or test (battles to predict).
    """
    start_command(json_out, quiet)
    from arenapref.atomic import write_text
    from arenapref.errors import ArenaprefError
    from arenapref.pipeline.init import init_config

    if out.exists() and not force:
        raise ArenaprefError(f"{out} exists; pass --force to replace it")
    text, found = init_config(files, out)
    write_text(out, text)
    for d in found:
        say(f"{d.path}: {d.format} -> sources.{d.role}")
    say(f"wrote {out}; run it with: arenapref run {out}")
    if json_out:
        emit_json(
            {"command": "init", "out": str(out), "sources": [[str(d.path), d.format, d.role] for d in found]}
        )
