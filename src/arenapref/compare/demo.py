"""The compare stage of ``arenapref demo``: competition prompts against the synthetic LMSYS shards."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from arenapref.compare.guard import decontaminate
from arenapref.compare.overlap import concat_prompt_sets, prompt_set
from arenapref.compare.report import compare_sets, read_prompt_set, write_compare
from arenapref.readers import open_source
from arenapref.synth import SynthManifest
from arenapref.writers import write_parquet


def demo_stage(synth_dir: Path, work_dir: Path) -> list[str]:
    """Compare train+test prompts with the LMSYS shards, check against the planted overlaps, and clean
    train of test prompts with the leakage guard; outputs go to ``work_dir/compare``."""
    manifest = SynthManifest.load(synth_dir)
    out = work_dir / "compare"
    train = open_source(manifest.train_csv).read_table()
    test = open_source(manifest.test_csv).read_table()
    competition = concat_prompt_sets([prompt_set(train), prompt_set(test)])
    lmsys, _ = read_prompt_set(manifest.lmsys_dir)
    result = compare_sets(competition, lmsys, left_name="train+test", right_name="lmsys")
    paths = write_compare(result, out)
    rep = result.report
    lr = rep["left_in_right"]
    truth = pq.read_table(manifest.truth_battles, columns=["overlap"]).column("overlap")
    planted = {k: int(pc.sum(pc.equal(truth, k)).as_py() or 0) for k in ("exact", "placeholder", "near")}
    guard = decontaminate(train, [test])
    clean = write_parquet(guard.kept, out / "train_without_test_prompts.parquet")
    within = rep["right"]["within"]
    c = guard.counts
    return [
        f"compare: {lr['matched']:,}/{lr['records']:,} competition prompts found in LMSYS "
        f"(exact {lr['exact']:,}, placeholder only {lr['placeholder']:,}, near {lr['near']:,}); "
        f"planted: exact {planted['exact']:,}, placeholder {planted['placeholder']:,}, "
        f"near {planted['near']:,}",
        f"compare: LMSYS duplicate rate {100 * within['duplicate_rate']:.1f}% "
        f"({within['near']:,} records near-duplicates only); {rep['seconds']['total']:.1f} s",
        f"compare: guard on train vs test: kept {c['kept']:,}, dropped exact {c['exact']:,}, "
        f"placeholder {c['placeholder']:,}, near {c['near']:,}",
        *(f"compare: wrote {p}" for p in [*paths, clean]),
    ]
