"""``arenapref synth``: write a seeded synthetic workspace (LMSYS shards, competition CSVs, ground truth)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from arenapref.cli.app import app
from arenapref.cli.common import JsonOption, QuietOption, emit_json, say, start_command


@app.command("synth")
def synth(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the workspace into (replaced as a whole).")
    ],
    conversations: Annotated[
        int, typer.Option("--conversations", "-n", help="LMSYS-shaped conversations.")
    ] = 20_000,
    battles: Annotated[
        int, typer.Option("--battles", help="Competition-shaped battles (train + test).")
    ] = 3_000,
    seed: Annotated[
        int, typer.Option("--seed", envvar="ARENAPREF_SEED", help="Random seed; same seed, same bytes.")
    ] = 0,
    malformed_share: Annotated[
        float,
        typer.Option("--malformed-share", help="Share of competition rows damaged like real files (0-1)."),
    ] = 0.0,
    test_share: Annotated[
        float, typer.Option("--test-share", help="Share of battles written to test.csv.")
    ] = 0.3,
    overlap_share: Annotated[
        float,
        typer.Option(
            "--overlap-share", help="Share of battles whose prompt also occurs in the LMSYS shards."
        ),
    ] = 0.15,
    shard_rows: Annotated[
        int, typer.Option("--shard-rows", help="Conversations per parquet shard.")
    ] = 100_000,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Generate realistic synthetic stand-ins for LMSYS-Chat-1M and the competition CSVs, with ground truth.

    Writes OUT/lmsys/*.parquet, OUT/competition/{train,test,sample_submission}.csv, OUT/truth/ (see its
    README.md) and OUT/manifest.json. The workspace is built under a temporary name and renamed into
    place, so a killed run leaves the previous workspace or none.
    """
    from arenapref.synth import generate

    start_command(json_out, quiet)
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
    say(f"wrote {m.conversations:,} conversations in {len(m.lmsys_shards)} shard(s) to {m.lmsys_dir}")
    say(f"wrote {m.n_train:,} train and {m.n_test:,} test battles to {m.train_csv.parent}")
    say(
        f"prompt groups {m.prompt_groups:,} (minable {m.minable_groups:,}), "
        f"near-duplicate variants {m.near_dup_variant_groups:,}"
    )
    say("overlap with LMSYS: " + ", ".join(f"{k} {v:,}" for k, v in m.overlap_counts.items()))
    if sum(m.malformed_counts.values()):
        say("malformed rows: " + ", ".join(f"{k} {v}" for k, v in m.malformed_counts.items() if v))
    mix = ", ".join(f"{k} {v:.1%}" for k, v in m.label_mix.items())
    say(f"labels: {mix}; best expected log loss {m.expected_log_loss:.4f} (uniform {m.uniform_log_loss:.4f})")
    say(f"truth: {m.truth_dir} (README.md); manifest: {m.out_dir / 'manifest.json'}; {took:.1f} s")
    if json_out:
        emit_json(
            {
                "command": "synth",
                "out": str(m.out_dir),
                "manifest": str(m.out_dir / "manifest.json"),
                "conversations": m.conversations,
                "lmsys_shards": len(m.lmsys_shards),
                "n_train": m.n_train,
                "n_test": m.n_test,
                "malformed": m.malformed_counts,
                "label_mix": m.label_mix,
                "seconds": round(took, 2),
            }
        )
