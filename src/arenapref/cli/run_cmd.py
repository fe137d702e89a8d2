"""``arenapref run PIPELINE.toml``: every stage from one config, rerunning only what changed;
``arenapref runs``: the run history, and what changed between two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    PIPELINE_FLAGS,
    JsonOption,
    QuietOption,
    emit_json,
    flags_for_parameters,
    progress_enabled,
    say,
    start_command,
)


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

    A stage whose settings, inputs and upstream stages are unchanged, and whose recorded outputs are
    intact, is skipped; a killed run can be rerun and finishes what was left, without asking the judge
    again for answers it already gave. Each run is recorded in the run folder's history (arenapref runs).
    """
    start_command(json_out, quiet)
    from arenapref.pipeline import run_pipeline

    summary = run_pipeline(
        config,
        from_stage=from_stage,
        only=only,
        progress=progress_enabled(),
        on_stage=lambda s: say(flags_for_parameters(s.line(), PIPELINE_FLAGS)),
    )
    ran = sum(1 for s in summary.stages if s.status == "ran")
    tracked = f"; MLflow run {summary.tracked}" if summary.tracked else ""
    say(
        f"{ran} stage(s) ran, {len(summary.stages) - ran} did not, in {summary.seconds:.1f} s; "
        f"run folder {summary.run_dir}; recorded as run {summary.history_id} (arenapref runs){tracked}"
    )
    if json_out:
        emit_json(summary.to_dict())


runs_app = typer.Typer(
    help="The run history of a workspace: list the runs, or show what changed between two (runs diff A B).",
    invoke_without_command=True,
)
app.add_typer(runs_app, name="runs")

WhereOption = Annotated[
    Path,
    typer.Option(
        "--workspace", "-w", help="A PIPELINE.toml, the folder holding it, or the run folder (default: here)."
    ),
]


HEAD = "ablation diff [interval]  pairs  judge $"


def _figure(v: Any, spec: str = ".4f") -> str:
    return "-" if v is None else format(v, spec) if isinstance(v, float) else str(v)


@runs_app.callback()
def runs(
    ctx: typer.Context,
    where: WhereOption = Path("."),
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """List the recorded runs: when, outcome, and the key figures (OOF log loss, ablation, pairs, cost)."""
    if ctx.invoked_subcommand is not None:
        return
    start_command(json_out, quiet)
    from arenapref.pipeline.history import history_dir, read_history

    run_dir = history_dir(where)
    history = read_history(run_dir)
    records = history.records
    note = history.note(run_dir)
    if note:
        say(note)
    if json_out:
        emit_json({"run_dir": str(run_dir), "runs": records, "damaged_lines": history.damaged})
        return
    if not records:
        say(f"no run recorded in {run_dir} yet")
        return
    say(f"{'run':>4}  {'started':<20} {'outcome':<10} {'ran':>3}  {'OOF loss':>8}  {HEAD}")
    for r in records:
        k = r.get("key_figures", {})
        ran = sum(1 for s in r.get("stages", {}).values() if s.get("status") == "ran")
        ablation = (
            f"{k['ablation_diff']:+.4f} [{k['ablation_low']:+.4f}, {k['ablation_high']:+.4f}]"
            if "ablation_diff" in k
            else "-"
        )
        say(
            f"{r['id']:>4}  {r.get('started', ''):<20} {r.get('outcome', '')[:10]:<10} {ran:>3}  "
            f"{_figure(k.get('oof_log_loss')):>8}  {ablation:<24} {_figure(k.get('pairs_mined')):>5}  "
            f"{_figure(k.get('judge_cost'), '.4f')}"
        )


@runs_app.command("diff")
def runs_diff(
    a: Annotated[str, typer.Argument(help="The earlier run: its number in the history, or 'last'.")],
    b: Annotated[str, typer.Argument(help="The later run: its number in the history, or 'last'.")],
    where: WhereOption = Path("."),
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """What changed from run A to run B: key figures, settings and every stage's figures."""
    start_command(json_out, quiet)
    from arenapref.pipeline.history import diff_records, find_record, history_dir, read_history

    run_dir = history_dir(where)
    history = read_history(run_dir)
    note = history.note(run_dir)
    if note:
        say(note)
    records = history.records
    ra, rb = find_record(records, a), find_record(records, b)
    changes = diff_records(ra, rb)
    if json_out:
        emit_json(
            {
                "a": ra["id"],
                "b": rb["id"],
                **{part: [{"key": c.key, "a": c.a, "b": c.b} for c in cs] for part, cs in changes.items()},
            }
        )
        return
    say(f"run {ra['id']} ({ra.get('started', '')}) -> run {rb['id']} ({rb.get('started', '')})")
    for part, title in (("key_figures", "key figures"), ("settings", "settings"), ("figures", "figures")):
        cs = changes[part]
        say(f"{title}: {'no change' if not cs else f'{len(cs)} changed'}")
        for c in cs:
            say(c.line())


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
