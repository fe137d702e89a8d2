"""``decontaminate`` per block: prefix keys and normalised turns of every record, computed per slice.

The guard's per-record work (``compare.guard.prefix_side``: a dozen regex passes per turn, two 128-bit prefix
keys per turn) runs on row slices of the candidates and of each protected table; the slices' sides are
concatenated on the driver (``concat_sides`` renumbers records in order, so the result is the side of
the whole table) and handed to ``compare.guard.find_leaks`` as its ``side`` builder, which then matches
them on the driver as always: a hash join of prefix keys, the containment and name-span search, and one
near-duplicate search over the distinct masked prefix texts. Same kept and dropped rows, reasons,
partners and similarities as the local run.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import pyarrow as pa

from arenapref.compare.guard import (
    GuardResult,
    PrefixSide,
    concat_sides,
    decontaminate,
    prefix_side,
)
from arenapref.compare.settings import TurnsMode
from arenapref.executors.base import Executor
from arenapref.executors.shards import table_blocks


def side_block(table: pa.Table, turns: TurnsMode, mask_pii: bool) -> PrefixSide:
    """The per-block function of the guard: prefix keys of one slice of records."""
    return prefix_side(table, turns, mask_pii)


def side_with(executor: Executor, table: pa.Table, turns: TurnsMode, mask_pii: bool) -> PrefixSide:
    """``compare.guard.prefix_side`` of a whole table, one row slice per block."""
    blocks = table_blocks(table, 2 * executor.workers)
    return concat_sides(executor.map(partial(side_block, turns=turns, mask_pii=mask_pii), blocks))


def decontaminate_with(
    executor: Executor, candidates: object, protect: Sequence[object], threshold: float = 0.8, **options: Any
) -> GuardResult:
    """``compare.guard.decontaminate`` (the same keyword options) on ``executor``: the same kept and
    dropped records."""
    return decontaminate(candidates, protect, threshold, side=partial(side_with, executor), **options)
