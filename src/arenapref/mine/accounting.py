"""The accounts of a mining run: every input record's final verdict, the funnel's counts, and the table
of dropped records and pairs with their reasons (nothing disappears silently)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.mine import filters as F
from arenapref.mine.funnel import Funnel

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


def regen_dropped(recs: pl.DataFrame, failed: pl.DataFrame) -> pa.Table:
    """One row per prompt whose regeneration did not become a pair (stage "regenerate")."""
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


def account(
    recs: pl.DataFrame,
    grouped: pl.DataFrame,
    cand: pl.DataFrame,
    pairs: np.ndarray,
    pair_reason: np.ndarray,
    pair_detail: np.ndarray,
    table: pa.Table,
    funnel: Funnel,
    regen_rids: np.ndarray,
) -> pa.Table:
    """Give every record its final verdict, count the funnel and return the dropped records and pairs."""
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
    return _dropped_table(recs, reason, cand_rid, pairs[~kept], pair_reason[~kept], pair_detail[~kept])


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
