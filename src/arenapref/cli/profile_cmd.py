"""``arenapref profile``: the dataset overview table for one or more sources, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    MappingOption,
    RejectsOption,
    console,
    err_console,
    open_input,
    report_rejects,
)
from arenapref.profile import (
    DEFAULT_TOKENIZER,
    TOKENIZERS,
    load_tokenizer,
    plot_profiles,
    profile_source,
    render_details,
    render_table,
    write_json,
)
from arenapref.rejects import RejectLog

PIPED_WIDTH = 180


@app.command("profile")
def profile(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to profile (any supported format).")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full profiles as JSON here.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write a PNG chart (models, lengths, labels) here.")
    ] = None,
    tokenizer: Annotated[
        str,
        typer.Option(
            "--tokenizer",
            envvar="ARENAPREF_TOKENIZER",
            help=f"Token counts use this bundled encoding: {', '.join(TOKENIZERS)}.",
        ),
    ] = DEFAULT_TOKENIZER,
    fmt: FormatOption = None,
    mapping: MappingOption = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Models and languages listed per source.")] = 10,
    rejects: RejectsOption = None,
) -> None:
    """Profile sources as in the LMSYS-Chat-1M paper's overview: conversations, models, users, languages,
    turns and tokens per prompt/response, per-model and per-language counts, length percentiles, and for
    battles the label mix and per-model win rates. Several sources print side by side; an LMSYS-Chat-1M
    source adds the paper's published figures as a reference column.
    """
    load_tokenizer(tokenizer)
    sources = [open_input(p, fmt, mapping) for p in paths]
    profiles = [profile_source(s, tokenizer) for s in sources]
    # Piped output (logs, files) has no terminal to fit, so tables keep their natural width there.
    out = console if console.is_terminal else Console(width=PIPED_WIDTH, soft_wrap=True)
    out.print(render_table(profiles))
    for p in profiles:
        for table in render_details(p, top):
            out.print(table)
    combined = RejectLog()
    for s in sources:
        report_rejects(s.rejects, s.path, hint=False)
        combined.extend(s.rejects)
    if rejects is not None:
        combined.write(rejects)
        err_console.print(f"rejects written to {rejects}", highlight=False)
    elif len(combined):
        err_console.print("  (pass --rejects FILE to write them out)", highlight=False)
    if json_out is not None:
        console.print(f"profile JSON written to {write_json(profiles, json_out)}", highlight=False)
    if chart is not None:
        console.print(f"chart written to {plot_profiles(profiles, chart)}", highlight=False)
