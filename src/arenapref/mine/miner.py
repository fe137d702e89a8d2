"""Mine battle pairs from single-model conversations: the ``arenapref mine`` pipeline as plain functions.

LMSYS-Chat-1M holds one model per conversation, but many prompts reached several models. The pipeline,
each step a short function over columns (no per-record Python on the million-record path):

Each step's job lives in its own module: ``scan`` (scan.py, with the text spill of store.py), ``group``
(grouping.py), ``pair`` (pairing.py) and ``write_result`` (output.py); this module holds the settings,
the run itself (``mine_pairs``), the battles, the leakage guard and regeneration of pairs, and the funnel.

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

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.compare.guard import find_leaks, read_protected
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.executors.base import Executor
from arenapref.mine import filters as F
from arenapref.mine.filters import ERROR_TEXTS, ErrorText, FilterSettings, KeyMode, error_regex
from arenapref.mine.funnel import Funnel
from arenapref.mine.grouping import GroupSettings, group
from arenapref.mine.pairing import PairingSettings, apply_caps, match
from arenapref.mine.regenerate import RegenerateSettings, regenerate
from arenapref.mine.scan import scan
from arenapref.mine.store import TextStore, text_store
from arenapref.readers import open_source
from arenapref.records import BATTLE_SCHEMA

MINED_SOURCE = "mined"
REGENERATED_SOURCE = "regenerated"

DROPPED_SCHEMA = pa.schema(
    [
        pa.field("stage", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("conversation_ids", pa.list_(pa.string())),
        pa.field("models", pa.list_(pa.string())),
        pa.field("source", pa.string()),
        pa.field("group_key", pa.string()),
        pa.field("detail", pa.string()),
    ]
)


@dataclass(frozen=True)
class MineSettings:
    """Every knob of a mining run; the defaults follow the top team's recipe plus a per-prompt cap."""

    key: KeyMode = "all"
    near: bool = False
    near_threshold: float = 0.8
    answer_similarity: float | None = 0.9
    languages: tuple[str, ...] = ()
    min_answer_chars: int = 1
    max_answer_chars: int | None = None
    max_uses: int = 1
    max_pairs_per_prompt: int | None = 5
    max_pairs_per_model_pair: int | None = None
    seed: int = 0
    exclude_threshold: float = 0.8
    error_texts: tuple[ErrorText, ...] = field(default=ERROR_TEXTS, repr=False)

    def filter_settings(self) -> FilterSettings:
        return FilterSettings(
            self.key, self.languages, self.min_answer_chars, self.max_answer_chars, self.error_texts
        )

    def pairing_settings(self) -> PairingSettings:
        return PairingSettings(
            self.max_uses, self.max_pairs_per_prompt, self.max_pairs_per_model_pair, self.seed
        )

    def group_settings(self) -> GroupSettings:
        return GroupSettings(self.near_threshold if self.near else None, self.answer_similarity)

    def describe(self) -> dict[str, object]:
        out = asdict(self)
        out["error_texts"] = len(self.error_texts)
        return out


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


def _pair_id(a: str, b: str) -> str:
    return "mine-" + hashlib.blake2b(f"{a}\x1f{b}".encode(), digest_size=8).hexdigest()


def guard_pairs(
    table: pa.Table, protect: list[pa.Table], names: list[str], settings: MineSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``table`` whose prompt leaks into a protected source, with reason ("leak_<kind>") and detail.

    The guard compares the same turns the pairs were grouped by (all user turns, or the first one).
    """
    leaks = find_leaks(table, protect, settings.exclude_threshold, turns=settings.key, protect_names=names)
    rows = leaks.column("row").to_numpy()
    reason = np.array([f"leak_{r}" for r in leaks.column("reason").to_pylist()], dtype=object)
    detail = np.array(
        [
            f"matches {pid} in {names[src]} (rule {rule}, similarity {sim:.2f}, {scope.replace('_', ' ')})"
            for pid, src, rule, sim, scope in zip(
                leaks.column("protected_id").to_pylist(),
                leaks.column("protected_source").to_pylist(),
                leaks.column("rule").to_pylist(),
                leaks.column("similarity").to_pylist(),
                leaks.column("scope").to_pylist(),
                strict=True,
            )
        ],
        dtype=object,
    )
    return rows, reason, detail


def regenerate_pairs(
    recs: pl.DataFrame,
    grouped: pl.DataFrame,
    store: TextStore,
    settings: MineSettings,
    regen: RegenerateSettings,
    protect: list[pa.Table],
    funnel: Funnel,
) -> tuple[pa.Table, np.ndarray, pl.DataFrame]:
    """Pairs of (original answer, regenerated answer) for single-model prompt groups.

    One record per single-model group (its first), single-turn prompts only, not already answered by the
    regeneration model, and not leaking into a protected source (checked before anything is sent, so no
    money is spent on a prompt that would be dropped). Returns the battles, the record ids they use, and
    one row per prompt that did not become a pair (for the dropped file).
    """
    singles = (
        grouped.filter(pl.col("stage_reason") == F.SINGLE_MODEL)
        .group_by("group", maintain_order=True)
        .agg(pl.col("rid").first(), pl.col("model").first(), pl.col("tid").first())
        .filter(pl.col("model") != regen.model)
    )
    counts: dict[str, int] = {"single_model_groups": singles.height}
    texts = store.take(singles.get_column("tid").to_numpy())
    single_turn = np.asarray(
        pc.equal(pc.list_value_length(texts.column("prompts")), 1).to_numpy(zero_copy_only=False)
    )
    counts["skipped_multi_turn"] = int((~single_turn).sum())
    singles, texts = singles.filter(pl.Series(single_turn)), texts.filter(pa.array(single_turn))
    if regen.max_prompts is not None and singles.height > regen.max_prompts:
        counts["skipped_max_prompts"] = singles.height - regen.max_prompts
        singles, texts = singles.head(regen.max_prompts), texts.slice(0, regen.max_prompts)
    failed: list[tuple[int, str, str]] = []
    if protect and singles.height:
        probe = pa.table(
            {
                "id": pa.array([str(i) for i in range(singles.height)]),
                "prompt": texts.column("prompts"),
                "response_a": texts.column("answers"),
                "response_b": texts.column("answers"),
            }
        )
        leaks = find_leaks(probe, protect, settings.exclude_threshold, turns=settings.key)
        leaking = np.zeros(singles.height, dtype=bool)
        leaking[leaks.column("row").to_numpy()] = True
        counts["excluded_before_asking"] = int(leaking.sum())
        failed += [(int(r), "regen_leak", "") for r in singles.filter(pl.Series(leaking)).get_column("rid")]
        singles, texts = singles.filter(pl.Series(~leaking)), texts.filter(pa.array(~leaking))
    prompts = [turns[0] for turns in texts.column("prompts").to_pylist()]
    result = regenerate(prompts, regen)
    counts.update({k: v for k, v in result.counts.items() if k != "asked"})
    counts["asked"] = len(prompts)
    pattern = error_regex(settings.error_texts)
    good = np.zeros(len(prompts), dtype=bool)
    for k, (answer, reason) in enumerate(zip(result.answers, result.reasons, strict=True)):
        rid = int(singles.get_column("rid")[k])
        if answer is None:
            failed.append((rid, f"regen_{reason}", ""))
        elif not answer.strip() or (pattern is not None and re.search(pattern, answer)):
            failed.append((rid, "regen_bad_answer", answer[:200]))
        else:
            good[k] = True
    counts["pairs"] = int(good.sum())
    funnel.regenerated = counts
    funnel.settings["regenerate"] = {
        "model": regen.model,
        "base_url": regen.base_url,
        "cost_usd": round(result.cost, 6),
    }
    keep = np.nonzero(good)[0]
    rids = singles.get_column("rid").to_numpy()[keep]
    new_answers = pa.array([[result.answers[k]] for k in keep], pa.list_(pa.string()))
    orig = texts.take(pa.array(keep, pa.int64()))
    m = len(keep)
    flip = np.random.default_rng([settings.seed, 3]).random(m) < 0.5
    both = pa.chunked_array([orig.column("answers").combine_chunks(), new_answers])
    idx = np.arange(m)
    orig_models = recs.get_column("model").gather(rids).to_list()
    cids = recs.get_column("cid").gather(rids).to_list()
    regen_id = f"regenerated:{regen.model}"
    model_a = [regen.model if f else om for f, om in zip(flip, orig_models, strict=True)]
    model_b = [om if f else regen.model for f, om in zip(flip, orig_models, strict=True)]
    prov = [[regen_id, c] if f else [c, regen_id] for f, c in zip(flip, cids, strict=True)]
    table = pa.table(
        {
            "id": pa.array([_pair_id(p[0], p[1]) for p in prov], pa.string()),
            "prompt": orig.column("prompts"),
            "response_a": both.take(pa.array(np.where(flip, idx + m, idx))),
            "response_b": both.take(pa.array(np.where(flip, idx, idx + m))),
            "model_a": pa.array(model_a, pa.string()),
            "model_b": pa.array(model_b, pa.string()),
            "p_a": pa.nulls(m, pa.float64()),
            "p_b": pa.nulls(m, pa.float64()),
            "p_tie": pa.nulls(m, pa.float64()),
            "source": pa.array([REGENERATED_SOURCE] * m, pa.string()),
            "provenance": pa.array(prov, pa.list_(pa.string())),
            "group_key": singles.get_column("group").gather(keep).to_arrow().cast(pa.string()),
            "language": recs.get_column("language").gather(rids).to_arrow().cast(pa.string()),
        }
    )
    failures = pl.DataFrame(
        {"rid": [f[0] for f in failed], "reason": [f[1] for f in failed], "detail": [f[2] for f in failed]},
        schema={"rid": pl.UInt32, "reason": pl.String, "detail": pl.String},
    )
    return table, rids, failures


def mine_pairs(
    sources: Sequence[object],
    settings: MineSettings | None = None,
    *,
    exclude: Sequence[object] = (),
    topics: str | Path | None = None,
    regenerate: RegenerateSettings | None = None,
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
    funnel = Funnel(settings=settings.describe())
    clock = time.perf_counter()

    def lap(name: str, following: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        funnel.seconds[name] = round(now - clock, 3)
        clock = now
        tell(following, 0)

    with text_store(work_dir) as store:
        recs = scan(opened, settings.filter_settings(), store, funnel, tell, executor)
        lap("scan", "group")
        if recs.height == 0:
            return MineResult(BATTLE_SCHEMA.empty_table(), funnel, DROPPED_SCHEMA.empty_table())
        grouped = group(recs, store, settings.group_settings(), executor, partitions)
        lap("group", "pair")
        cand, pairs, pair_reason = _pair(grouped, settings)
        lap("pair", "build")
        kept = np.nonzero(pair_reason == "")[0]
        table = _build(recs, cand, pairs[kept], store, settings)
        lap("build", "guard" if protect else "finish")
        regen_rids = np.zeros(0, dtype=np.int64)
        regen_failed: pl.DataFrame | None = None
        if regenerate is not None:
            regen_table, regen_rids, regen_failed = regenerate_pairs(
                recs, grouped, store, settings, regenerate, protect, funnel
            )
            lap("regenerate", "guard")
    pair_detail = np.full(len(pairs), "", dtype=object)
    if protect:
        rows, reason, detail = guard_pairs(table, protect, protect_names, settings)
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
    result = _finish(recs, grouped, cand, pairs, pair_reason, pair_detail, table, funnel, regen_rids)
    if regen_failed is not None and regen_failed.height:
        result.dropped = pa.concat_tables([result.dropped, _regen_dropped(recs, regen_failed)])
    return result


def _regen_dropped(recs: pl.DataFrame, failed: pl.DataFrame) -> pa.Table:
    rows = recs[failed.get_column("rid").to_numpy()]
    frame = pl.DataFrame(
        {
            "stage": pl.repeat("regenerate", failed.height, eager=True, dtype=pl.String),
            "reason": failed.get_column("reason"),
            "conversation_ids": rows.get_column("cid").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "models": rows.get_column("model").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "source": rows.get_column("source"),
            "group_key": rows.get_column("key"),
            "detail": failed.get_column("detail"),
        }
    )
    return frame.to_arrow().cast(DROPPED_SCHEMA)


def _pair(grouped: pl.DataFrame, settings: MineSettings) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Match candidates: returns ``cand``, pairs (rows of ``cand``) and a reason per pair ("" = kept)."""
    cand = grouped.filter(pl.col("stage_reason").is_null()).with_columns(
        pl.col("group").rank("dense").alias("gcode"), pl.col("model").rank("dense").alias("mcode")
    )
    gcode = cand.get_column("gcode").to_numpy().astype(np.int64)
    mcode = cand.get_column("mcode").to_numpy().astype(np.int64)
    ps = settings.pairing_settings()
    pairs = match(gcode, mcode, ps)
    prompt_drop, model_drop = apply_caps(pairs, gcode, mcode, ps)
    reason = np.full(len(pairs), "", dtype=object)
    reason[prompt_drop] = F.PROMPT_CAP
    reason[model_drop] = F.MODEL_PAIR_CAP
    return cand, pairs, reason


def _build(
    recs: pl.DataFrame, cand: pl.DataFrame, pairs: np.ndarray, store: TextStore, settings: MineSettings
) -> pa.Table:
    """Battles for the kept pairs: prompt of the earlier record, sides in random slots (seeded)."""
    m = len(pairs)
    rid = cand.get_column("rid").to_numpy()
    first, second = rid[pairs[:, 0]], rid[pairs[:, 1]]
    tid = recs.get_column("tid").to_numpy()
    texts_first = store.take(tid[first])
    texts_second = store.take(tid[second])
    flip = np.random.default_rng([settings.seed, 2]).random(m) < 0.5
    a_rows = np.where(flip, second, first)
    b_rows = np.where(flip, first, second)
    both = pa.chunked_array(texts_first.column("answers").chunks + texts_second.column("answers").chunks)
    idx = np.arange(m)
    response_a = both.take(pa.array(np.where(flip, idx + m, idx)))
    response_b = both.take(pa.array(np.where(flip, idx, idx + m)))
    cids = recs.get_column("cid")
    models = recs.get_column("model")
    cid_a, cid_b = cids.gather(a_rows).to_list(), cids.gather(b_rows).to_list()
    group_key = cand.get_column("group").gather(pairs[:, 0]).to_arrow()
    return pa.table(
        {
            "id": pa.array([_pair_id(a, b) for a, b in zip(cid_a, cid_b, strict=True)], pa.string()),
            "prompt": texts_first.column("prompts"),
            "response_a": response_a,
            "response_b": response_b,
            "model_a": models.gather(a_rows).to_arrow().cast(pa.string()),
            "model_b": models.gather(b_rows).to_arrow().cast(pa.string()),
            "p_a": pa.nulls(m, pa.float64()),
            "p_b": pa.nulls(m, pa.float64()),
            "p_tie": pa.nulls(m, pa.float64()),
            "source": pa.array([MINED_SOURCE] * m, pa.string()),
            "provenance": pa.array(
                [[a, b] for a, b in zip(cid_a, cid_b, strict=True)], pa.list_(pa.string())
            ),
            "group_key": group_key.cast(pa.string()),
            "language": recs.get_column("language").gather(first).to_arrow().cast(pa.string()),
        }
    )


def _finish(
    recs: pl.DataFrame,
    grouped: pl.DataFrame,
    cand: pl.DataFrame,
    pairs: np.ndarray,
    pair_reason: np.ndarray,
    pair_detail: np.ndarray,
    table: pa.Table,
    funnel: Funnel,
    regen_rids: np.ndarray,
) -> MineResult:
    """Give every record its final verdict, count the funnel and collect the dropped records and pairs."""
    n = recs.height
    cand_rid = cand.get_column("rid").to_numpy()
    reason = np.full(n, "", dtype=object)
    filt = recs.get_column("filter").to_numpy()
    names = np.array(["", *F.FILTER_REASONS], dtype=object)
    reason[:] = names[filt]
    stage = grouped.filter(pl.col("stage_reason").is_not_null())
    reason[stage.get_column("rid").to_numpy()] = stage.get_column("stage_reason").to_numpy()
    kept = pair_reason == ""
    in_pairs = np.zeros(n, dtype=bool)
    in_pairs[cand_rid[pairs.ravel()]] = True
    in_kept = np.zeros(n, dtype=bool)
    in_kept[cand_rid[pairs[kept].ravel()]] = True
    reason[cand_rid] = F.UNPAIRED
    reason[in_pairs & ~in_kept] = F.PAIR_DROPPED
    reason[in_kept] = ""
    in_kept[regen_rids] = True
    reason[regen_rids] = ""

    counts = pl.Series(reason[reason != ""].astype(str)).value_counts()
    by_reason = dict(zip(counts.get_column("").to_list(), counts.get_column("count").to_list(), strict=True))
    funnel.dropped = {r: int(by_reason[r]) for r in F.RECORD_REASONS if by_reason.get(r)}
    ok = recs.filter(pl.col("filter") == 0)
    funnel.groups = ok.get_column("key").n_unique()
    funnel.minable_groups = cand.get_column("group").n_unique()
    funnel.records_in_minable_groups = cand.height
    funnel.pairs_formed = len(pairs)
    dropped_pairs = pair_reason[~kept].astype(str)
    funnel.pairs_dropped = {r: int((dropped_pairs == r).sum()) for r in dict.fromkeys(dropped_pairs.tolist())}
    funnel.pairs_out = table.num_rows
    funnel.records_paired = int(in_kept.sum())
    cids = recs.get_column("cid")
    funnel.records_sharing_conversation_id = cids.drop_nulls().len() - cids.drop_nulls().n_unique()
    if funnel.records_sharing_conversation_id:
        cid = cids.cast(pl.String).to_numpy()
        a, b = cid[cand_rid[pairs[kept, 0]]], cid[cand_rid[pairs[kept, 1]]]
        funnel.pairs_within_one_conversation = int(((a == b) & (a != None)).sum())  # noqa: E711
    _count_outputs(table, funnel)
    dropped = _dropped_table(recs, reason, cand_rid, pairs[~kept], pair_reason[~kept], pair_detail[~kept])
    return MineResult(table, funnel, dropped)


def _count_outputs(table: pa.Table, funnel: Funnel) -> None:
    frame = pl.DataFrame(
        {
            "a": pl.from_arrow(table.column("model_a")),
            "b": pl.from_arrow(table.column("model_b")),
            "lang": pl.from_arrow(table.column("language")),
        }
    )
    pair_name = pl.concat_str(pl.min_horizontal("a", "b"), pl.lit(" vs "), pl.max_horizontal("a", "b"))
    for attr, expr in (("per_model_pair", pair_name), ("per_language", pl.col("lang").fill_null("unknown"))):
        counts = frame.select(expr.alias("k")).get_column("k").value_counts(sort=True)
        setattr(
            funnel,
            attr,
            dict(zip(counts.get_column("k").to_list(), counts.get_column("count").to_list(), strict=True)),
        )


def _dropped_table(
    recs: pl.DataFrame,
    reason: np.ndarray,
    cand_rid: np.ndarray,
    pairs: np.ndarray,
    pair_reason: np.ndarray,
    pair_detail: np.ndarray,
) -> pa.Table:
    """One row per dropped record (stage "record") and per dropped pair (stage "pair")."""
    rows = np.nonzero(reason != "")[0]
    dropped_recs = recs[rows]
    record_part = pl.DataFrame(
        {
            "stage": pl.repeat("record", len(rows), eager=True, dtype=pl.String),
            "reason": pl.Series(reason[rows].astype(str), dtype=pl.String),
            "conversation_ids": dropped_recs.get_column("cid").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "models": dropped_recs.get_column("model").cast(pl.String).reshape((-1, 1)).arr.to_list(),
            "source": dropped_recs.get_column("source"),
            "group_key": dropped_recs.get_column("key"),
            "detail": pl.repeat("", len(rows), eager=True, dtype=pl.String),
        }
    )
    first, second = cand_rid[pairs[:, 0]], cand_rid[pairs[:, 1]]
    one, two = recs[first], recs[second]
    pair_part = pl.DataFrame(
        {
            "stage": pl.repeat("pair", len(pairs), eager=True, dtype=pl.String),
            "reason": pl.Series(pair_reason.astype(str), dtype=pl.String),
            "c1": one.get_column("cid"),
            "c2": two.get_column("cid"),
            "m1": one.get_column("model"),
            "m2": two.get_column("model"),
            "source": one.get_column("source"),
            "group_key": one.get_column("key"),
            "detail": pl.Series(pair_detail.astype(str), dtype=pl.String),
        }
    ).select(
        "stage",
        "reason",
        pl.concat_list("c1", "c2").alias("conversation_ids"),
        pl.concat_list("m1", "m2").alias("models"),
        "source",
        "group_key",
        "detail",
    )
    out = pl.concat([record_part, pair_part], how="vertical_relaxed")
    return out.to_arrow().cast(DROPPED_SCHEMA)
