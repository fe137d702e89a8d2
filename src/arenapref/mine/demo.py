"""The mining stage of ``arenapref demo``: mine the synthetic LMSYS shards, protecting the test set."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from arenapref.mine.miner import MineSettings, mine_pairs, write_result
from arenapref.synth import SynthManifest


def demo_stage(synth_dir: Path, work_dir: Path) -> list[str]:
    """Mine pairs from ``synth_dir``'s LMSYS shards excluding its test.csv; write under ``work_dir/mine``.

    Also scores the run against the generator's truth: the share of minable prompt groups that produced at
    least one pair (output or removed by a cap / the guard).
    """
    manifest = SynthManifest.load(synth_dir)
    out_dir = work_dir / "mine"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = mine_pairs([manifest.lmsys_dir], MineSettings(), exclude=[manifest.test_csv], work_dir=out_dir)
    written = write_result(result, out_dir / "pairs.parquet", dropped=out_dir / "dropped.jsonl")
    f = result.funnel
    leaks = sum(n for reason, n in f.pairs_dropped.items() if reason.startswith("leak_"))
    recall = minable_recall(result.pairs, result.dropped, manifest)
    top_pair = next(iter(f.per_model_pair.items()), ("-", 0))
    return [
        f"mine: {f.total_in:,} conversations -> {f.minable_groups:,} minable prompt groups -> "
        f"{f.pairs_out:,} pairs ({leaks:,} removed by the leakage guard against test.csv)",
        f"mine: dropped {', '.join(f'{k} {v:,}' for k, v in f.dropped.items())}",
        f"mine: minable groups found vs truth: {recall:.4f}; "
        f"busiest model pair {top_pair[0]} ({top_pair[1]:,})",
        *(f"mine: wrote {p}" for p in written),
    ]


def minable_recall(pairs: pa.Table, dropped: pa.Table, manifest: SynthManifest) -> float:
    """Share of the truth's minable groups with at least one pair formed (kept, capped or guarded)."""
    used = pl.DataFrame(pairs).select(pl.col("provenance").explode()).to_series()
    frame = pl.DataFrame(dropped)
    formed = frame.filter(pl.col("stage") == "pair").select(pl.col("conversation_ids").explode()).to_series()
    ids = pl.concat([used, formed]).unique().implode()
    truth = pl.read_parquet(manifest.truth_conversations, columns=["conversation_id", "prompt_group"])
    found = truth.filter(pl.col("conversation_id").is_in(ids)).get_column("prompt_group").unique().implode()
    minable = pl.read_parquet(manifest.truth_minable_groups).filter(pl.col("minable"))
    if minable.height == 0:
        return 1.0
    hits = minable.get_column("prompt_group").is_in(found)
    return int(hits.sum()) / minable.height
