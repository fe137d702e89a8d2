"""Benchmark of ``arenapref synth``: time and peak memory for N conversations + M battles.

Compares, in the same run, with a plain reference generator (per-record Python, per-word random choices,
``Table.from_pylist``) that writes the same LMSYS layout, timed on a subset and extrapolated linearly.

    .venv/bin/python bench/bench_synth.py --n 1000000 --battles 60000
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from arenapref.synth import generate
from arenapref.synth.lmsys import LANGUAGE_NAMES, LMSYS_SCHEMA, MODERATION_CATEGORIES
from arenapref.synth.topics import TOPICS
from arenapref.synth.vocab import LMSYS_MODELS


def reference_generate(out_dir: Path, n: int, seed: int) -> None:
    """The straightforward way: one Python dict per record, words drawn one at a time."""
    rnd = random.Random(seed)
    models = [m.name for m in LMSYS_MODELS]
    weights = [m.weight for m in LMSYS_MODELS]

    def sentence(words: tuple[str, ...]) -> str:
        return " ".join(rnd.choice(words) for _ in range(rnd.randint(6, 14))).capitalize() + "."

    rows: list[dict[str, Any]] = []
    for _ in range(n):
        topic = rnd.choice(TOPICS)
        words = topic.nouns + topic.verbs + topic.adjs
        n_turns = 1 if rnd.random() < 0.6 else rnd.randint(2, 6)
        conv = []
        for _t in range(n_turns):
            conv.append(
                {"content": " ".join(sentence(words) for _ in range(rnd.randint(1, 8))), "role": "user"}
            )
            conv.append(
                {"content": " ".join(sentence(words) for _ in range(rnd.randint(3, 25))), "role": "assistant"}
            )
        mod = {
            "categories": dict.fromkeys(MODERATION_CATEGORIES, False),
            "category_scores": {c: rnd.random() * 0.01 for c in MODERATION_CATEGORIES},
            "flagged": False,
        }
        rows.append(
            {
                "conversation_id": f"{rnd.getrandbits(128):032x}",
                "model": rnd.choices(models, weights)[0],
                "conversation": conv,
                "turn": n_turns,
                "language": LANGUAGE_NAMES[0],
                "openai_moderation": [mod] * len(conv),
                "redacted": False,
            }
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=LMSYS_SCHEMA), out_dir / "part-00000.parquet")


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="conversations")
    ap.add_argument("--battles", type=int, default=60_000, help="competition battles")
    ap.add_argument(
        "--ref-n", type=int, default=20_000, help="conversations for the reference (extrapolated)"
    )
    ap.add_argument("--shard-rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--workdir", type=Path, default=None, help="where to write (default: a temp folder, removed)"
    )
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    try:
        t0 = time.perf_counter()
        c0 = time.process_time()
        m = generate(work / "synth", args.n, args.battles, seed=args.seed, shard_rows=args.shard_rows)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t1 = time.perf_counter()
        reference_generate(work / "reference", args.ref_n, args.seed)
        ref_wall = time.perf_counter() - t1
        ref_extrapolated = ref_wall * args.n / max(1, args.ref_n)
        lmsys_s = wall  # battles are included in wall; the reference writes conversations only
        res = {
            "n": args.n,
            "battles": args.battles,
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "conversations_per_s": round(args.n / wall),
            "peak_rss_mb": round(rss_mb),
            "written_mb": round(_size_mb(work / "synth")),
            "shards": len(m.lmsys_shards),
            "reference_n": args.ref_n,
            "reference_wall_s": round(ref_wall, 2),
            "reference_extrapolated_s": round(ref_extrapolated, 1),
            "speedup": round(ref_extrapolated / lmsys_s, 1),
            "expected_log_loss": round(m.expected_log_loss, 4),
        }
        print(f"arenapref synth: {args.n:,} conversations + {args.battles:,} battles in {wall:.1f} s wall")
        print(
            f"  ({cpu:.1f} s CPU, {res['conversations_per_s']:,} conversations/s, peak RSS {rss_mb:.0f} MB,"
        )
        print(f"   {res['written_mb']} MB written in {len(m.lmsys_shards)} shards)")
        print(f"reference (per-record Python): {args.ref_n:,} conversations in {ref_wall:.1f} s,")
        print(f"  extrapolated linearly to {args.n:,}: {ref_extrapolated:.0f} s (conversations only)")
        print(f"speedup: {res['speedup']}x")
        return res
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
