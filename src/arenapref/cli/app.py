"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="arenapref",
    help="Arena-style preference data from chatbot logs: read, profile, compare, mine, label, train.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Arena-style preference data from chatbot logs: read, profile, compare, mine, label, train."""
