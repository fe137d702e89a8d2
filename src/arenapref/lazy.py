"""Package ``__init__`` files whose names load on first use (PEP 562's module ``__getattr__``).

Why: a stage package's settings module is pydantic only, and the command line and the pipeline's config
import it to build their options; importing ``arenapref.compare.settings`` runs ``arenapref/compare/
__init__.py`` first, which must then not import the matching code (polars, rensa, scipy) with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any


def exports(
    package: str, names: Sequence[str], modules: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each of ``names`` comes from the first of its
    ``modules`` (space-separated, relative to the package unless spelled from ``arenapref.``) that defines
    it, imported on first use. List the light modules (the settings) first: a name is looked up in
    each listed module in turn, and every module looked in is imported."""
    homes = [m if m.startswith("arenapref.") else f"{package}.{m}" for m in modules.split()]
    found: dict[str, Any] = {}

    def getattr_(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if name not in found:
            for home in homes:
                module = import_module(home)
                if hasattr(module, name):
                    found[name] = getattr(module, name)
                    break
        return found[name]

    def dir_() -> list[str]:
        return sorted(names)

    return getattr_, dir_


__all__ = ["exports"]
