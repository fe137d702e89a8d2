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

# Each name loads its module on first use, so the settings modules import light (arenapref.lazy).
__getattr__, __dir__ = exports(
    __name__,
    {
        "arenapref.mine.accounting": ("DROPPED_SCHEMA",),
        "arenapref.mine.filters": ("ERROR_TEXTS", "ErrorText"),
        "arenapref.mine.funnel": ("Funnel",),
        "arenapref.mine.miner": ("MineResult", "mine_pairs"),
        "arenapref.mine.settings": ("MineSettings",),
    },
)

__all__ = ["DROPPED_SCHEMA", "ERROR_TEXTS", "ErrorText", "Funnel", "MineResult", "MineSettings", "mine_pairs"]
