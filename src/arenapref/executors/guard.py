"""``decontaminate`` per block: prefix keys and normalised turns of every record, computed per slice.

The guard's per-record work (``compare.guard._side``: a dozen regex passes per turn, two 128-bit prefix
keys per turn) runs on row slices of the candidates and of each protected table; the slices' sides are
concatenated on the driver (``_concat_sides`` renumbers records in order, so the result is the side of
the whole table) and matched there exactly as ``compare.guard.find_leaks`` does: a hash join of prefix
keys and one near-duplicate search over the distinct masked prefix texts. Same kept and dropped rows,
reasons, partners and similarities as the local run.

The matching below repeats ``find_leaks``'s few lines after the sides are built; a ``sides=`` parameter
on ``find_leaks`` in the compare package would remove that copy (see the README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.compare.guard import (
    LEAK_COLUMNS,
    MIN_SHARED_CHARS,
    GuardResult,
    _concat_sides,
    _key_matches,
    _leak_table,
    _near_matches,
    _Side,
    _side,
    as_table,
    read_protected,
)
from arenapref.compare.near import NearDupSettings
from arenapref.compare.overlap import KINDS, TurnsMode
from arenapref.errors import ArenaprefError
from arenapref.executors.base import Executor
from arenapref.executors.shards import table_blocks


def side_block(table: pa.Table, turns: TurnsMode, mask_pii: bool) -> _Side:
    """The per-block function of the guard: prefix keys of one slice of records."""
    return _side(table, turns, mask_pii)


def side_with(executor: Executor, table: pa.Table, turns: TurnsMode, mask_pii: bool) -> _Side:
    """``compare.guard._side`` of a whole table, one row slice per block."""
    blocks = table_blocks(table, 2 * executor.workers)
    return _concat_sides(executor.map(partial(side_block, turns=turns, mask_pii=mask_pii), blocks))


def find_leaks_with(
    executor: Executor,
    table: object,
    protect: Sequence[object],
    threshold: float = 0.8,
    *,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    near: bool = True,
    settings: NearDupSettings | None = None,
    min_chars: int = MIN_SHARED_CHARS,
    protect_names: Sequence[str] | None = None,
) -> pa.Table:
    """``compare.guard.find_leaks`` with every record's keys computed per block on ``executor``."""
    if not 0.0 < threshold <= 1.0:
        raise ArenaprefError(f"the near-duplicate threshold must lie in (0, 1], got {threshold}")
    if min_chars < 0:
        raise ArenaprefError(f"min_chars must not be negative, got {min_chars}")
    tables, _ = read_protected(protect, protect_names)
    candidates, _, _ = as_table(table, "candidates")
    settings = replace(settings or NearDupSettings(), threshold=threshold)
    cand = side_with(executor, candidates, turns, mask_pii)
    sides = [side_with(executor, t, turns, mask_pii) for t in tables]
    prot = _concat_sides(sides)
    source_of = np.concatenate([np.full(s.n_records, k, dtype=np.int64) for k, s in enumerate(sides)])
    found = [
        _key_matches(cand, prot, ("k1", "k2"), min_chars).with_columns(pl.lit(0, pl.Int8).alias("kind")),
        _key_matches(cand, prot, ("k3", "k4"), min_chars).with_columns(pl.lit(1, pl.Int8).alias("kind")),
    ]
    if near:
        done = pl.concat([f.get_column("rec") for f in found]).unique()
        nm = _near_matches(cand, prot, settings, min_chars, done)
        if nm.height:
            found.append(nm.with_columns(pl.lit(2, pl.Int8).alias("kind")))
    best = (
        pl.concat(found)
        .sort(["rec", "kind", "similarity", "depth", "partner"], descending=[False, False, True, True, False])
        .unique("rec", keep="first", maintain_order=True)
    )
    return _leak_table(best, cand, prot, source_of)


def decontaminate_with(
    executor: Executor,
    candidates: object,
    protect: Sequence[object],
    threshold: float = 0.8,
    *,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    near: bool = True,
    settings: NearDupSettings | None = None,
    min_chars: int = MIN_SHARED_CHARS,
    protect_names: Sequence[str] | None = None,
) -> GuardResult:
    """``compare.guard.decontaminate`` on ``executor``: the same kept and dropped records."""
    table, _, _ = as_table(candidates, "candidates")
    leaks = find_leaks_with(
        executor,
        table,
        protect,
        threshold,
        turns=turns,
        mask_pii=mask_pii,
        near=near,
        settings=settings,
        min_chars=min_chars,
        protect_names=protect_names,
    )
    mask = np.zeros(table.num_rows, dtype=bool)
    rows = leaks.column("row").to_numpy()
    mask[rows] = True
    kept = table.filter(pa.array(~mask))
    dropped = table.take(pa.array(rows, pa.int64()))
    for name, col in zip(
        LEAK_COLUMNS,
        ("reason", "protected_id", "protected_source", "similarity", "scope", "shared_turns"),
        strict=True,
    ):
        dropped = dropped.append_column(name, leaks.column(col))
    reasons = leaks.column("reason").to_pylist()
    counts = {k: reasons.count(k) for k in KINDS}
    counts["kept"] = kept.num_rows
    counts["candidates"] = table.num_rows
    return GuardResult(kept=kept, dropped=dropped, counts=counts)
