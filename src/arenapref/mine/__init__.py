"""Pair mining: battles from conversations in which different models answered the same prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arenapref.lazy import exports

if TYPE_CHECKING:
    from arenapref.mine.accounting import DROPPED_SCHEMA
    from arenapref.mine.filters import ERROR_TEXTS, ErrorText
    from arenapref.mine.funnel import Funnel
    from arenapref.mine.miner import MineResult, mine_pairs
    from arenapref.mine.settings import MineSettings

__all__ = ["DROPPED_SCHEMA", "ERROR_TEXTS", "ErrorText", "Funnel", "MineResult", "MineSettings", "mine_pairs"]
# Each name loads its module on first use, so the settings modules import light (arenapref.lazy).
__getattr__, __dir__ = exports(__name__, __all__, "settings accounting filters funnel miner")
