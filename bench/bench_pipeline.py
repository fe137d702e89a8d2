"""The whole pipeline end to end on a synthetic workspace: per-stage times, the rerun, and extrapolation.

Target: 1M conversations + 60k battles in at most 15 minutes. Run smaller (default 100k + 6k) on a
shared machine and extrapolate per stage: conversation-bound stages (profile, compare, topics, mine)
scale with conversations, model stages (train, evaluate, ablate, predict) with battles; label is capped
by ``--judge-pairs`` and does not scale. The extrapolation is linear, an upper bound for topics, whose
fit sample is capped at 100k prompts.

Reference run side by side: exact token counting alone (quicktok ``count_batch`` over every message of
the same files, as the profile does it), against the profile stage: the difference is the profile's
own overhead.

    .venv/bin/python bench/bench_pipeline.py --n 100000 --battles 6000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

TARGET_CONVERSATIONS = 1_000_000
TARGET_BATTLES = 60_000
BY_CONVERSATIONS = {"profile", "compare", "topics", "mine"}
BY_BATTLES = {"train", "evaluate", "ablate", "predict"}


def config_text(judge_pairs: int, topics_embedder: str | None = None) -> str:
    """The bench's PIPELINE.toml; ``topics_embedder`` overrides the map's embedder (None: the default)."""
    topics = "" if topics_embedder is None else f'[topics]\nembedder = "{topics_embedder}"\n'
    return (
        topics
        + f"""
[run]
dir = "run"
[sources]
lmsys = ["synth/lmsys"]
train = "synth/competition/train.csv"
test = "synth/competition/test.csv"
[label]
max_pairs = {judge_pairs}
[label.judge]
base_url = "offline"
concurrency = 32
eval_rows = 500
[train]
folds = 5
[ablate]
n_boot = 1000
curve = [0.5, 1.0]
"""
    )


def tokenize_only(paths: list[Path], tokenizer: str = "cl100k_base") -> dict[str, Any]:
    """Exact token counts of every message of the LMSYS shards, nothing else (the profile's floor)."""
    import quicktok

    from arenapref.readers import DEFAULT_BATCH

    start = time.perf_counter()
    enc = quicktok.get_encoding(tokenizer)
    tokens = messages = 0
    for shard in paths:
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=DEFAULT_BATCH, columns=["conversation"]):
            texts = pc.struct_field(pc.list_flatten(batch.column("conversation")), "content")
            encoded = pc.dictionary_encode(pc.fill_null(texts, ""))
            counts = quicktok.count_batch(enc, encoded.dictionary.to_pylist())
            tokens += int(counts[encoded.indices.to_numpy(zero_copy_only=False)].sum())
            messages += len(texts)
    return {"wall_s": time.perf_counter() - start, "messages": messages, "tokens": tokens}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="synthetic conversations")
    ap.add_argument("--battles", type=int, default=6_000, help="synthetic battles (train + test)")
    ap.add_argument("--judge-pairs", type=int, default=2_000, help="mined pairs the judge labels")
    ap.add_argument(
        "--workdir", type=Path, default=None, help="keep the workspace here (reused if it matches)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--topics-embedder",
        default=None,
        help="the topic map's embedder (default: the stage's default); 'hybrid' is the default of 2026-12-04",
    )
    args = ap.parse_args(argv)

    from arenapref.pipeline import run_pipeline
    from arenapref.synth import SynthManifest, generate

    tmp = None
    root = args.workdir
    if root is None:
        tmp = tempfile.mkdtemp(prefix="bench-pipeline-")
        root = Path(tmp)
    root.mkdir(parents=True, exist_ok=True)
    synth = root / "synth"
    t0 = time.perf_counter()
    try:
        m = SynthManifest.load(synth)
        reuse = (m.conversations, m.battles, m.seed) == (args.n, args.battles, args.seed)
    except Exception:
        reuse = False
    if not reuse:
        shutil.rmtree(root / "run", ignore_errors=True)
        generate(synth, conversations=args.n, battles=args.battles, seed=args.seed)
    gen_s = time.perf_counter() - t0
    (root / "PIPELINE.toml").write_text(config_text(args.judge_pairs, args.topics_embedder), encoding="utf-8")
    shutil.rmtree(root / "run", ignore_errors=True)
    # The floor is measured right before the pipeline, whose first stage is the profile, so both run
    # under the same load on a shared machine.
    ref = tokenize_only(sorted((synth / "lmsys").glob("*.parquet")))
    load_before = os.getloadavg()[0]
    first = run_pipeline(root / "PIPELINE.toml", progress=False)
    load_after = os.getloadavg()[0]
    t1 = time.perf_counter()
    rerun = run_pipeline(root / "PIPELINE.toml", progress=False)
    rerun_s = time.perf_counter() - t1

    conv_scale = TARGET_CONVERSATIONS / max(args.n, 1)
    battle_scale = TARGET_BATTLES / max(args.battles, 1)
    rows = []
    total = projected = 0.0
    for s in first.stages:
        scale = conv_scale if s.name in BY_CONVERSATIONS else battle_scale if s.name in BY_BATTLES else 1.0
        rows.append((s.name, s.status, s.seconds, s.seconds * scale))
        total += s.seconds
        projected += s.seconds * scale
    profile_s = first.status_of("profile").seconds
    print(
        f"pipeline on {args.n:,} synthetic conversations + {args.battles:,} battles "
        f"(judge: {args.judge_pairs:,} pairs, local test server); "
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after ({os.cpu_count()} cores)"
    )
    print(f"workspace {'reused' if reuse else f'generated in {gen_s:.1f} s'}")
    print(f"{'stage':<10}{'status':<9}{'seconds':>9}{'at 1M + 60k (extrapolated linearly)':>40}")
    for name, status, sec, proj in rows:
        print(f"{name:<10}{status:<9}{sec:>9.1f}{proj:>40.1f}")
    print(f"{'total':<19}{total:>9.1f}{projected:>40.1f}   (target <= 900 s)")
    print(
        f"rerun with nothing changed: {rerun_s:.2f} s, "
        f"stages skipped: {sum(s.status == 'skipped' for s in rerun.stages)}"
    )
    print(
        f"profile stage {profile_s:.1f} s vs exact token counting alone {ref['wall_s']:.1f} s "
        f"({ref['tokens']:,} tokens in {ref['messages']:,} LMSYS messages; "
        "the stage also profiles train/test and draws the figures): "
        f"overhead {profile_s - ref['wall_s']:+.1f} s"
    )
    result = {
        "n": args.n,
        "battles": args.battles,
        "stages": {
            name: {"status": st, "seconds": sec, "extrapolated_s": proj} for name, st, sec, proj in rows
        },
        "total_s": total,
        "extrapolated_total_s": projected,
        "rerun_s": rerun_s,
        "rerun_statuses": [s.status for s in rerun.stages],
        "profile_s": profile_s,
        "tokenize_only": ref,
        "load_average": [load_before, load_after],
    }
    print(json.dumps(result))
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
