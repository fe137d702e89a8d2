"""Mine battle pairs from single-model conversations: the ``arenapref mine`` pipeline as plain functions.

LMSYS-Chat-1M holds one model per conversation, but many prompts reached several models. Each job has
its module: the scan (scan.py, with the text spill of store.py), the grouping (grouping.py), matching
and caps (pairing.py), the battles, their leakage guard and regenerated pairs (battles.py), the verdict
of every record and the funnel (accounting.py), and writing the outputs (output.py); this module holds
the settings' split into each job's share and the run itself (``mine_pairs``; the settings model is
``mine.settings.MineSettings``). The pipeline, each step a short function over columns
(no per-record Python on the million-record path):

1. ``scan``: stream every source, apply the record filters (``filters.inspect_batch``), key each record by
   the placeholder-aware key of its user turns (``compare.normalize.turns_keys``), and spill the used turns
   to a memory-mapped Arrow file, so that peak memory holds only light per-record columns, not the text.
2. ``group``: optionally merge keys whose prompts are near-duplicates; drop exact duplicate records (same key,
   identical answer: the top team's rule) and answers that are the same after normalisation or nearly the
   same as an earlier answer in the group (a pair of them teaches nothing).
3. ``pair``: keep groups answered by two or more models and match records of different models
   (``pairing.match``), then the caps.
4. ``build``: assemble battles with each side in slot A or B at random (seeded), run the leakage guard against
   every excluded source, and count everything in the funnel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.compare.guard import read_protected
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.executors.base import Executor
from arenapref.mine.accounting import DROPPED_SCHEMA, account, regen_dropped
from arenapref.mine.battles import (
    RegenerateCheck,
    build_battles,
    guard_pairs,
    pair_candidates,
    regenerate_pairs,
)
from arenapref.mine.filters import ERROR_TEXTS, FilterSettings
from arenapref.mine.funnel import Funnel
from arenapref.mine.grouping import GroupSettings, group
from arenapref.mine.pairing import PairingSettings
from arenapref.mine.regenerate import Regeneration
from arenapref.mine.scan import scan
from arenapref.mine.settings import MineSettings
from arenapref.mine.store import text_store
from arenapref.readers import open_source
from arenapref.records import BATTLE_SCHEMA


def filter_settings(settings: MineSettings) -> FilterSettings:
    """The record filters' share of a mining run's settings (with the built-in error texts)."""
    return FilterSettings(
        settings.key, settings.languages, settings.min_answer_chars, settings.max_answer_chars, ERROR_TEXTS
    )


def pairing_settings(settings: MineSettings) -> PairingSettings:
    """The matching and caps' share of a mining run's settings."""
    return PairingSettings(
        settings.max_uses, settings.max_pairs_per_prompt, settings.max_pairs_per_model_pair, settings.seed
    )


@dataclass(repr=False)
class MineResult(NotebookResult):
    """Mined battles (BATTLE_SCHEMA plus group_key, language, topic), the funnel and every dropped record.

    ``to_arrow()`` is the mined battles (``dropped`` holds the drops).
    """

    pairs: pa.Table
    funnel: Funnel
    dropped: pa.Table

    def to_arrow(self) -> pa.Table:
        return self.pairs

    def summary_lines(self) -> list[str]:
        f = self.funnel
        return [
            f"{f.pairs_out:,} pairs from {f.total_in:,} records ({f.groups:,} prompt groups, "
            f"{f.minable_groups:,} with two or more models); {self.dropped.num_rows:,} records dropped",
            *(f"dropped: {k} {v:,}" for k, v in list(f.dropped.items())[:6]),
        ]


def mine_pairs(
    sources: Sequence[object],
    settings: MineSettings | None = None,
    *,
    exclude: Sequence[object] = (),
    topics: str | Path | None = None,
    regenerate: Regeneration | None = None,
    work_dir: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
    executor: Executor | None = None,
    partitions: int | None = None,
) -> MineResult:
    """Mine different-model battle pairs from conversation sources (see the module docstring).

    ``sources``: paths, reader ``Source`` objects, pyarrow Tables or pandas/polars DataFrames of
    conversations. ``exclude``: protected sources (the same kinds, any record kind) no mined prompt may
    leak into; one without prompts is an error.
    ``topics``: a topic map folder (``arenapref topics fit``); adds ``topic`` and ``topic_label`` columns.
    ``regenerate``: ask an OpenAI-compatible endpoint for second answers to single-model prompts.
    ``work_dir``: where the temporary text spill goes (the system temp folder by default).
    ``progress``: called as ``progress(stage, records)`` while the scan reads records (``records`` new
    records) and once at the start of every later stage (``records`` 0); the CLI draws its bar from it.
    ``executor``: run the scan one file per block (``scan.ScanStep``) and the grouping one hash partition
    of the prompts per block (``grouping.GroupStep``; ``partitions``, twice the workers by default) there;
    the result is the same for any executor and any number of partitions.
    """
    settings = settings or MineSettings()
    opened = [open_source(s) for s in sources]
    for src in opened:
        if src.kind != "conversations":
            raise ArenaprefError(f"{src.path} holds {src.kind}; mining needs conversations (one model each)")
    tell = progress or (lambda stage, n: None)
    # Read (and check) the protected sources first: one with no prompts is an error before any work.
    protect, protect_names = read_protected(exclude) if exclude else ([], [])
    topic_model = None
    if topics is not None:
        # Imported here: the topic map pulls in scikit-learn, which most mining runs do not need.
        from arenapref.topics import load_model, with_topic_columns

        topic_model = load_model(topics)
    funnel = Funnel(settings={**settings.model_dump(), "error_texts": len(ERROR_TEXTS)})
    clock = time.perf_counter()

    def lap(name: str, following: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        funnel.seconds[name] = round(now - clock, 3)
        clock = now
        tell(following, 0)

    with text_store(work_dir) as store:
        recs = scan(opened, filter_settings(settings), store, funnel, tell, executor)
        lap("scan", "group")
        if recs.height == 0:
            return MineResult(BATTLE_SCHEMA.empty_table(), funnel, DROPPED_SCHEMA.empty_table())
        near = settings.near_threshold if settings.near else None
        grouped = group(recs, store, GroupSettings(near, settings.answer_similarity), executor, partitions)
        lap("group", "pair")
        cand, pairs, pair_reason = pair_candidates(grouped, pairing_settings(settings))
        lap("pair", "build")
        kept = np.nonzero(pair_reason == "")[0]
        table = build_battles(recs, cand, pairs[kept], store, settings.seed)
        lap("build", "guard" if protect else "finish")
        regen_rids = np.zeros(0, dtype=np.int64)
        regen_failed: pl.DataFrame | None = None
        if regenerate is not None:
            check = RegenerateCheck(settings.exclude_threshold, settings.key, settings.seed)
            regen_table, regen_rids, regen_failed = regenerate_pairs(
                recs, grouped, store, check, regenerate, protect, funnel
            )
            lap("regenerate", "guard")
    pair_detail = np.full(len(pairs), "", dtype=object)
    if protect:
        rows, reason, detail = guard_pairs(
            table, protect, protect_names, settings.exclude_threshold, settings.key
        )
        pair_reason[kept[rows]] = reason
        pair_detail[kept[rows]] = detail
        leaked = np.zeros(table.num_rows, dtype=bool)
        leaked[rows] = True
        table = table.filter(pa.array(~leaked))
        lap("guard", "finish")
    if regenerate is not None:
        table = pa.concat_tables([table, regen_table])
    if topic_model is not None:
        from arenapref.topics import with_topic_columns

        table = with_topic_columns(topic_model, table)
        lap("topics", "finish")
    dropped = account(recs, grouped, cand, pairs, pair_reason, pair_detail, table, funnel, regen_rids)
    if regen_failed is not None and regen_failed.height:
        dropped = pa.concat_tables([dropped, regen_dropped(recs, regen_failed)])
    return MineResult(table, funnel, dropped)
