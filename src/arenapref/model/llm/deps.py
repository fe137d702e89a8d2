"""The optional dependencies of ``--model llm``: imported only when an LLM is trained or used."""

from __future__ import annotations

import importlib
from types import ModuleType

from arenapref.errors import MissingDependencyError


def require_llm_libraries() -> tuple[ModuleType, ModuleType, ModuleType]:
    """torch, transformers and peft, or one sentence saying what to install.

    Why lazily: importing torch costs seconds and hundreds of MB, and the CPU model and every other
    command must work on machines that do not have it.
    """
    try:
        return tuple(importlib.import_module(m) for m in ("torch", "transformers", "peft"))  # type: ignore[return-value]
    except ImportError as exc:
        raise MissingDependencyError("torch transformers peft", "`model`=llm", "llm") from exc


__all__ = ["require_llm_libraries"]
