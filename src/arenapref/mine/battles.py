"""The pairs of a mining run: candidates matched across models, their battles, the leakage guard over
them, and battles from regenerated answers for prompts only one model answered."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.compare.guard import find_leaks
from arenapref.mine import filters as F
from arenapref.mine.filters import ERROR_TEXTS, error_regex
from arenapref.mine.funnel import Funnel
from arenapref.mine.pairing import PairingSettings, apply_caps, match
from arenapref.mine.regenerate import Regeneration, regenerate
from arenapref.mine.settings import KeyMode
from arenapref.mine.store import TextStore

MINED_SOURCE = "mined"
REGENERATED_SOURCE = "regenerated"


def pair_id(a: str, b: str) -> str:
    """A battle id from its two sides' provenance (stable across runs)."""
    return "mine-" + hashlib.blake2b(f"{a}\x1f{b}".encode(), digest_size=8).hexdigest()


def guard_pairs(
    table: pa.Table, protect: list[pa.Table], names: list[str], threshold: float, turns: KeyMode
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``table`` whose prompt leaks into a protected source, with reason ("leak_<kind>") and detail.

    The guard compares the same turns the pairs were grouped by (all user turns, or the first one).
    """
    leaks = find_leaks(table, protect, threshold=threshold, turns=turns, protect_names=names)
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


@dataclass(frozen=True)
class RegenerateCheck:
    """What regenerating pairs needs of a mining run's settings: the leakage guard's threshold and turns,
    and the seed of the A/B slots."""

    exclude_threshold: float
    key: KeyMode
    seed: int


def regenerate_pairs(
    recs: pl.DataFrame,
    grouped: pl.DataFrame,
    store: TextStore,
    settings: RegenerateCheck,
    regen: Regeneration,
    protect: list[pa.Table],
    funnel: Funnel,
) -> tuple[pa.Table, np.ndarray, pl.DataFrame]:
    """Pairs of (original answer, regenerated answer) for single-model prompt groups.

    One record per single-model group (its first), multi-turn ones included (every assistant turn is
    regenerated, see ``mine.regenerate``), not already answered by the regeneration model, and not leaking
    into a protected source (checked before anything is sent, so no money is spent on a prompt that would
    be dropped). Returns the battles, the record ids they use, and
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
    counts["multi_turn"] = int(
        pc.sum(pc.greater(pc.list_value_length(texts.column("prompts")), 1)).as_py() or 0
    )
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
        leaks = find_leaks(probe, protect, threshold=settings.exclude_threshold, turns=settings.key)
        leaking = np.zeros(singles.height, dtype=bool)
        leaking[leaks.column("row").to_numpy()] = True
        counts["excluded_before_asking"] = int(leaking.sum())
        failed += [(int(r), "regen_leak", "") for r in singles.filter(pl.Series(leaking)).get_column("rid")]
        singles, texts = singles.filter(pl.Series(~leaking)), texts.filter(pa.array(~leaking))
    prompts = [[turn or "" for turn in turns] for turns in texts.column("prompts").to_pylist()]
    result = regenerate(prompts, regen)
    counts.update({k: v for k, v in result.counts.items() if k != "asked"})
    counts["asked"] = len(prompts)
    pattern = error_regex(ERROR_TEXTS)
    good = np.zeros(len(prompts), dtype=bool)
    for k, (answer, reason) in enumerate(zip(result.answers, result.reasons, strict=True)):
        rid = int(singles.get_column("rid")[k])
        bad = [a for a in answer or [] if not a.strip() or (pattern is not None and re.search(pattern, a))]
        if answer is None:
            failed.append((rid, f"regen_{reason}", ""))
        elif bad:
            failed.append((rid, "regen_bad_answer", bad[0][:200]))
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
    new_answers = pa.array([result.answers[k] for k in keep], pa.list_(pa.string()))
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
            "id": pa.array([pair_id(p[0], p[1]) for p in prov], pa.string()),
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


def pair_candidates(
    grouped: pl.DataFrame, settings: PairingSettings
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Match candidates: returns ``cand``, pairs (rows of ``cand``) and a reason per pair ("" = kept)."""
    cand = grouped.filter(pl.col("stage_reason").is_null()).with_columns(
        pl.col("group").rank("dense").alias("gcode"), pl.col("model").rank("dense").alias("mcode")
    )
    gcode = cand.get_column("gcode").to_numpy().astype(np.int64)
    mcode = cand.get_column("mcode").to_numpy().astype(np.int64)
    pairs = match(gcode, mcode, settings)
    prompt_drop, model_drop = apply_caps(pairs, gcode, mcode, settings)
    reason = np.full(len(pairs), "", dtype=object)
    reason[prompt_drop] = F.PROMPT_CAP
    reason[model_drop] = F.MODEL_PAIR_CAP
    return cand, pairs, reason


def build_battles(
    recs: pl.DataFrame, cand: pl.DataFrame, pairs: np.ndarray, store: TextStore, seed: int
) -> pa.Table:
    """Battles for the kept pairs: prompt of the earlier record, sides in random slots (seeded)."""
    m = len(pairs)
    rid = cand.get_column("rid").to_numpy()
    first, second = rid[pairs[:, 0]], rid[pairs[:, 1]]
    tid = recs.get_column("tid").to_numpy()
    texts_first = store.take(tid[first])
    texts_second = store.take(tid[second])
    flip = np.random.default_rng([seed, 2]).random(m) < 0.5
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
            "id": pa.array([pair_id(a, b) for a, b in zip(cid_a, cid_b, strict=True)], pa.string()),
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
