"""``arenapref synth``: write a seeded synthetic workspace (LMSYS shards, competition CSVs, ground truth)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from arenapref.cli.app import app
from arenapref.synth import generate


@app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the workspace into (created if missing)."),
    conversations: int = typer.Option(20_000, "--conversations", "-n", help="LMSYS-shaped conversations."),
    battles: int = typer.Option(3_000, "--battles", "-m", help="Competition-shaped battles (train + test)."),
    seed: int = typer.Option(
        0, "--seed", envvar="ARENAPREF_SEED", help="Random seed; same seed, same bytes."
    ),
    malformed_share: float = typer.Option(
        0.0, "--malformed-share", help="Share of competition rows damaged like real files (0-1)."
    ),
    test_share: float = typer.Option(0.3, "--test-share", help="Share of battles written to test.csv."),
    overlap_share: float = typer.Option(
        0.15, "--overlap-share", help="Share of battles whose prompt also occurs in the LMSYS shards."
    ),
    shard_rows: int = typer.Option(100_000, "--shard-rows", help="Conversations per parquet shard."),
) -> None:
    """Generate realistic synthetic stand-ins for LMSYS-Chat-1M and the competition CSVs, with ground truth.

    Writes OUT/lmsys/*.parquet, OUT/competition/{train,test,sample_submission}.csv, OUT/truth/ (see its
    README.md) and OUT/manifest.json.
    """
    t0 = time.perf_counter()
    m = generate(
        out,
        conversations=conversations,
        battles=battles,
        seed=seed,
        malformed_share=malformed_share,
        test_share=test_share,
        shard_rows=shard_rows,
        overlap_share=overlap_share,
    )
    took = time.perf_counter() - t0
    c = Console()
    c.print(f"wrote {m.conversations:,} conversations in {len(m.lmsys_shards)} shard(s) to {m.lmsys_dir}")
    c.print(f"wrote {m.n_train:,} train and {m.n_test:,} test battles to {m.train_csv.parent}")
    c.print(
        f"prompt groups {m.prompt_groups:,} (minable {m.minable_groups:,}), "
        f"near-duplicate variants {m.near_dup_variant_groups:,}"
    )
    ov = ", ".join(f"{k} {v:,}" for k, v in m.overlap_counts.items())
    c.print(f"overlap with LMSYS: {ov}")
    bad = sum(m.malformed_counts.values())
    if bad:
        c.print("malformed rows: " + ", ".join(f"{k} {v}" for k, v in m.malformed_counts.items() if v))
    mix = ", ".join(f"{k} {v:.1%}" for k, v in m.label_mix.items())
    c.print(
        f"labels: {mix}; best expected log loss {m.expected_log_loss:.4f} (uniform {m.uniform_log_loss:.4f})"
    )
    c.print(f"truth: {m.truth_dir} (README.md); manifest: {m.out_dir / 'manifest.json'}; {took:.1f} s")
