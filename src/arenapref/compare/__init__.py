"""Compare prompt sets: normalised and placeholder-aware keys, exact and near-duplicate overlap, and the
leakage guard that later stages call before anything reaches training data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arenapref.lazy import exports

if TYPE_CHECKING:
    from arenapref.compare.guard import GuardResult, decontaminate, find_leaks
    from arenapref.compare.near import NearDupSettings, near_pairs, optimal_param
    from arenapref.compare.normalize import (
        EMPTY_KEY,
        normalize_text,
        normalize_texts,
        normalize_turns,
        prompt_key,
        prompt_keys,
        turns_key,
        turns_keys,
    )
    from arenapref.compare.run import CompareResult, compare, compare_paths, compare_tables
    from arenapref.compare.settings import MIN_SHARED_CHARS, CompareSettings, GuardSettings

__all__ = [
    "EMPTY_KEY",
    "MIN_SHARED_CHARS",
    "CompareResult",
    "CompareSettings",
    "GuardResult",
    "GuardSettings",
    "NearDupSettings",
    "compare",
    "compare_paths",
    "compare_tables",
    "decontaminate",
    "find_leaks",
    "near_pairs",
    "normalize_text",
    "normalize_texts",
    "normalize_turns",
    "optimal_param",
    "prompt_key",
    "prompt_keys",
    "turns_key",
    "turns_keys",
]
# Each name loads its module on first use, so the settings modules import light (arenapref.lazy).
__getattr__, __dir__ = exports(__name__, __all__, "settings guard near normalize run")
