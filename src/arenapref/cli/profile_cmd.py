"""``arenapref profile``: the dataset overview table for one or more sources, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    EncodingOption,
    FormatOption,
    JsonOption,
    MappingOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    console,
    default_of,
    emit_json,
    open_input,
    report_rejects,
    say,
    settings_options,
    start_command,
)
from arenapref.executors.cli import AddressOption, ExecutorOption, executor_for
from arenapref.profile.settings import TOKENIZERS, ProfileSettings

PIPED_WIDTH = 180


@app.command("profile")
def profile(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to profile (any supported format).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the full profiles as JSON to this .json file.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write a PNG chart (models, lengths, labels) to this .png.")
    ] = None,
    tokenizer: Annotated[
        str,
        typer.Option(
            "--tokenizer",
            envvar="ARENAPREF_TOKENIZER",
            help=f"Token counts use this bundled encoding: {', '.join(TOKENIZERS)}.",
        ),
    ] = default_of(ProfileSettings, "tokenizer"),
    fmt: FormatOption = None,
    mapping: MappingOption = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Models and languages listed per source.")] = 10,
    rejects: RejectsOption = None,
    encoding: EncodingOption = None,
    split: SplitOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Profile sources as in the LMSYS-Chat-1M paper's overview: conversations, models, users, languages,
    turns and tokens per prompt/response, per-model and per-language counts, length percentiles, and for
    battles the label mix and per-model win rates. Several sources print side by side; an LMSYS-Chat-1M
    source adds the paper's published figures as a reference column.
    """
    from rich.console import Console

    from arenapref import api
    from arenapref.atomic import output_suffix
    from arenapref.profile import (
        plot_profiles,
        profiles_to_json,
        render_details,
        render_table,
        write_json,
    )
    from arenapref.rejects import RejectLog
    from arenapref.settings import build

    start_command(json_out, quiet)
    # Output names are checked before minutes of profiling, not after.
    for target, allowed in ((out, (".json",)), (chart, (".png",)), (rejects, (".jsonl", ".json"))):
        if target is not None:
            output_suffix(target, allowed)
    with settings_options():
        settings = build(ProfileSettings, tokenizer=tokenizer)
    sources = [open_input(p, fmt, mapping, encoding, split) for p in paths]
    with executor_for(executor, address) as ex:
        profiles = [api.profile(s, executor=ex, settings=settings) for s in sources]
    # Piped output (logs, files) has no terminal to fit, so tables keep their natural width there.
    shown = console if console.is_terminal else Console(width=PIPED_WIDTH, soft_wrap=True, file=console.file)
    shown.print(render_table(profiles))
    for p in profiles:
        for table in render_details(p, top):
            shown.print(table)
    combined = RejectLog()
    for s in sources:
        report_rejects(s.rejects, s.path, hint=False)
        combined.extend(s.rejects)
    if rejects is not None:
        combined.write(rejects)
        say(f"rejects written to {rejects}")
    elif len(combined):
        say("  (pass --rejects FILE to write them out)")
    if out is not None:
        say(f"profile JSON written to {write_json(profiles, out)}")
    if chart is not None:
        say(f"chart written to {plot_profiles(profiles, chart)}")
    if json_out:
        emit_json(
            {
                "command": "profile",
                "profiles": profiles_to_json(profiles),
                "out": None if out is None else str(out),
                "chart": None if chart is None else str(chart),
                "rejected": len(combined),
                "rejects": None if rejects is None else str(rejects),
            }
        )
