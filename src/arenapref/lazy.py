"""Package ``__init__`` files whose names load on first use (PEP 562's module ``__getattr__``).

Why: a stage package's settings module is pydantic only, and the command line and the pipeline's config
import it to build their options; importing ``arenapref.compare.settings`` runs ``arenapref/compare/
__init__.py`` first, which must then not import the matching code (polars, rensa, scipy) with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any


def exports(
    package: str, homes: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name of ``homes[module]`` comes from ``module``,
    imported when the name is first asked for."""
    home = {name: module for module, names in homes.items() for name in names}

    def getattr_(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(home[name]), name)

    def dir_() -> list[str]:
        return sorted(home)

    return getattr_, dir_


__all__ = ["exports"]
