"""The leakage guard: drop every candidate record whose prompt matches a protected prompt.

Mining and training call ``decontaminate`` before anything reaches a model, so that no test prompt (or
a near copy of it, or a copy that differs only in names) leaks into training data. ``find_leaks`` is
the read-only check behind ``arenapref check-leakage``.

Matching is done on the list of user turns by default (``turns="all"``), like the exact-match filter a
top competition team used, extended by placeholder masking and near-duplicates. ``turns="first"``
compares first user turns only; it drops far more (every conversation opening with "hi" would match a
protected conversation opening with "hi"), so it is opt-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from arenapref.compare.near import NearDupSettings
from arenapref.compare.overlap import (
    KINDS,
    NO_MATCH,
    TurnsMode,
    concat_prompt_sets,
    overlap,
    prompt_set,
)
from arenapref.errors import ArenaprefError

LEAK_COLUMNS = ("leak_reason", "leak_protected_id", "leak_protected_source", "leak_similarity")


@dataclass(frozen=True)
class GuardResult:
    """What ``decontaminate`` kept and dropped.

    ``dropped`` holds the dropped candidate rows with four extra columns: ``leak_reason`` ('exact',
    'placeholder' or 'near'), ``leak_protected_id`` (the matched protected record), ``leak_protected_source``
    (index of the protected table in ``protect``) and ``leak_similarity`` (1.0 for key matches).
    ``counts`` has one entry per reason plus 'kept' and 'candidates'.
    """

    kept: pa.Table
    dropped: pa.Table
    counts: dict[str, int]


def find_leaks(
    table: pa.Table,
    protect: Sequence[pa.Table],
    threshold: float = 0.8,
    *,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    near: bool = True,
    settings: NearDupSettings | None = None,
) -> pa.Table:
    """One row per record of ``table`` that matches any protected record, with the best such match.

    Columns: ``row`` (index in ``table``), ``id``, ``reason``, ``protected_id``, ``protected_source``,
    ``similarity``. Works on conversations or battles, on either side. Empty prompts never match.
    """
    if not protect:
        raise ArenaprefError("the leakage guard needs at least one protected source")
    settings = replace(settings or NearDupSettings(), threshold=threshold)
    cand = prompt_set(table, turns, mask_pii)
    sets = [prompt_set(t, turns, mask_pii) for t in protect]
    source_of_row = np.concatenate([np.full(len(s), k, dtype=np.int64) for k, s in enumerate(sets)])
    prot = concat_prompt_sets(sets)
    res = overlap(cand, prot, settings, near=near, within=False)
    best = res.left_to_right
    rows = np.flatnonzero(best.partner != NO_MATCH)
    partner = best.partner[rows]
    return pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "id": cand.ids.take(pa.array(rows)),
            "reason": pa.array([KINDS[k] for k in best.kind[rows]], pa.string()),
            "protected_id": prot.ids.take(pa.array(partner)),
            "protected_source": pa.array(source_of_row[partner], pa.int64()),
            "similarity": pa.array(best.similarity[rows], pa.float32()),
        }
    )


def decontaminate(
    candidates: pa.Table,
    protect: Sequence[pa.Table],
    threshold: float = 0.8,
    *,
    turns: TurnsMode = "all",
    mask_pii: bool = True,
    near: bool = True,
    settings: NearDupSettings | None = None,
) -> GuardResult:
    """Split ``candidates`` into records that match no protected record (kept) and those that do.

    Exact, placeholder-only and (with ``near``) near-duplicate matches at Jaccard >= ``threshold`` on
    the normalised, masked prompt text are all dropped; the reason and matched protected id go with
    each dropped row.
    """
    leaks = find_leaks(
        candidates, protect, threshold, turns=turns, mask_pii=mask_pii, near=near, settings=settings
    )
    mask = np.zeros(candidates.num_rows, dtype=bool)
    rows = leaks.column("row").to_numpy()
    mask[rows] = True
    kept = candidates.filter(pa.array(~mask))
    dropped = candidates.take(pa.array(rows))
    for name, col in zip(
        LEAK_COLUMNS, ("reason", "protected_id", "protected_source", "similarity"), strict=True
    ):
        dropped = dropped.append_column(name, leaks.column(col))
    reasons = leaks.column("reason").to_pylist()
    counts = {k: reasons.count(k) for k in KINDS}
    counts["kept"] = kept.num_rows
    counts["candidates"] = candidates.num_rows
    return GuardResult(kept=kept, dropped=dropped, counts=counts)
