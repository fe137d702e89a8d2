"""The model and leaderboard command modules import their stage only inside the command functions.

(Whether ``import arenapref.cli`` as a whole stays light also depends on the shared ``cli.common``; the
project-wide import-weight test covers that. This one pins down our two modules.)
"""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[1] / "src" / "arenapref" / "cli"
ALLOWED = {
    "__future__",
    "pathlib",
    "typing",
    "typer",
    "arenapref.cli.app",
    "arenapref.cli.common",
    "arenapref.errors",
    "arenapref.rejects",
    "arenapref.executors.cli",  # typer option types only
    "arenapref.model.kinds",  # the kind names for --model (heavy parts are imported inside its methods)
    "arenapref.model.settings",  # the options' defaults (pydantic and kinds only)
}


def test_model_cli_modules_import_nothing_heavy_at_module_level() -> None:
    for name in ("model_cmd.py", "leaderboard_cmd.py"):
        tree = ast.parse((CLI / name).read_text())
        top = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                top |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                top.add(node.module)
        assert top <= ALLOWED, (name, top - ALLOWED)
