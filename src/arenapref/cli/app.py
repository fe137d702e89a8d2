"""The Typer application every command module registers on."""

from __future__ import annotations

from typing import Annotated

import typer

from arenapref.version import __version__

app = typer.Typer(
    name="arenapref",
    help="Arena-style preference data from chatbot logs: read, profile, compare, mine, label, train.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain text: rich markup would eat bracketed words such as arenapref[ray],
    # [label.judge] or [clip, 1-clip] (tests/test_cli_help.py checks every command's --help).
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"arenapref {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
) -> None:
    """Arena-style preference data from chatbot logs: read, profile, compare, mine, label, train."""
    del version  # handled eagerly by _print_version
