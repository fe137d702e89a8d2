"""Profile, compare and mine under Ray (local instance, 2 workers) side by side with the local executor.

Both executors run the same per-shard functions on the same synthetic shards in this one process, so
their ratio is what counts (this machine has 2 cores, shared with other jobs while it ran: say so with
the figures). Printed per stage: local seconds, Ray seconds, ratio, the per-shard cost (the per-file
block function alone, one core), the per-partition cost (one hash partition of keys, one core: mining's
grouping; compare's key joins, shared LSH band keys and band buckets), the driver's share (merges,
pairing; compare's MinHash-estimate filter, exact verification and report), and whether both results
are equal. compare's MinHash blocks (50k texts each) count in the projection but in neither column.
Then Ray's start-up cost, and a projection for 100M conversations on N nodes.

Projection model (stated with the figures): every kind of block (files; mining's prompt partitions,
whose number grows with the records so that each keeps its size) parallelises perfectly over all cores
of all nodes, in waves of one block per core, each core as fast as one core here; the driver phase grows
linearly with the records and runs on one machine; no network or storage limits. Real clusters add
transfer time to the driver phase (mine and compare ship keys, and mine the kept texts, to the driver;
mine ships the compared answers and compare the keys of each partition from the driver to the workers).

    .venv/bin/python bench/bench_ray.py --n 200000 --shard-rows 25000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arenapref.executors import Executor, LocalExecutor, get_executor
from benchlib import synth_workspace

T = TypeVar("T")
R = TypeVar("R")
TARGET = 100_000_000


class TimedLocal(LocalExecutor):
    """The local executor, recording how long each block took, by block function (its kind)."""

    def __init__(self) -> None:
        self.block_seconds: dict[str, list[float]] = defaultdict(list)

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        kind = getattr(getattr(fn, "func", fn), "__name__", "block")
        for item in items:
            start = time.perf_counter()
            out = fn(item)
            self.block_seconds[kind].append(time.perf_counter() - start)
            yield out

    @property
    def total(self) -> float:
        return sum(sum(v) for v in self.block_seconds.values())

    def mean(self, kinds: Callable[[str], bool]) -> float:
        times = [t for k, v in self.block_seconds.items() if kinds(k) for t in v]
        return sum(times) / len(times) if times else 0.0


def _profile(ex: Executor, lmsys: Path) -> Any:
    from arenapref.profile import profile_paths

    profile = profile_paths([lmsys], executor=ex)[0].to_dict()
    profile.pop("seconds")
    return profile


def _compare(ex: Executor, lmsys: Path) -> Any:
    from arenapref.compare.run import compare_paths

    result = compare_paths(lmsys, lmsys, executor=ex)
    return result.matches


def _mine(ex: Executor, lmsys: Path) -> Any:
    from arenapref.mine import mine_pairs

    result = mine_pairs([lmsys], executor=ex)
    return result.pairs


#: Block functions that take one hash partition of keys (mining's prompt groups; compare's key joins,
#: shared LSH band keys and band buckets), reported as "per part s"; files are "per shard s".
PARTITION_KINDS = ("group_partition", "key_partition_codes", "shared_band_owners", "bucket_pairs_block")
STAGES: dict[str, Callable[[Executor, Path], Any]] = {"profile": _profile, "compare": _compare, "mine": _mine}


def _equal(a: Any, b: Any) -> bool:
    return bool(a.equals(b)) if hasattr(a, "equals") else bool(a == b)


def projection(blocks: dict[str, list[float]], driver_s: float, n: int, nodes: int, cpus: int) -> float:
    """Seconds for TARGET conversations on ``nodes`` x ``cpus`` cores under the model in the docstring.

    ``blocks``: the measured seconds of each block, by kind; at TARGET each kind has TARGET / n times as
    many blocks of the same mean cost.
    """
    total = driver_s * TARGET / n
    for times in blocks.values():
        waves = math.ceil(len(times) * TARGET / n / (nodes * cpus))
        total += waves * sum(times) / len(times)
    return total


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="Synthetic conversations.")
    ap.add_argument("--shard-rows", type=int, default=25_000, help="Conversations per Parquet shard.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/arenapref-bench-ray"))
    ap.add_argument("--stages", default="profile,compare,mine")
    ap.add_argument("--nodes", default="1,8,32,128", help="Node counts of the projection.")
    ap.add_argument("--cpus-per-node", type=int, default=16)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    ws, reused = synth_workspace(args.workdir, args.n, args.seed, args.shard_rows)
    lmsys = ws / "lmsys"
    n_shards = len(list(lmsys.glob("*.parquet")))
    print(
        f"{args.n:,} synthetic conversations in {n_shards} shards ({'reused' if reused else 'generated'} in "
        f"{time.perf_counter() - t0:.1f} s); 2 CPU cores, shared with other jobs while this ran"
    )

    import ray

    t0 = time.perf_counter()
    own = not ray.is_initialized()  # a test may have started one already
    if own:
        ray.init(
            num_cpus=2, include_dashboard=False, object_store_memory=256 * 1024 * 1024, log_to_driver=False
        )
    ray_ex = get_executor("ray")
    ray.get(ray.remote(lambda: 0).remote())
    startup = time.perf_counter() - t0
    # Warm both worker processes (imports of the stage modules), reported apart from start-up.
    t0 = time.perf_counter()
    ray_ex.map(_warm, [0, 1])
    warm = time.perf_counter() - t0
    print(
        f"Ray start-up (local instance, 2 workers): {startup:.1f} s, plus {warm:.1f} s importing the stages"
    )

    results: dict[str, Any] = {"n": args.n, "shards": n_shards, "ray_startup_s": startup, "ray_warm_s": warm}
    nodes = [int(x) for x in args.nodes.split(",")]
    header = (
        f"{'stage':<8} {'local s':>8} {'ray s':>7} {'ratio':>6} {'per shard s':>11} "
        f"{'per part s':>10} {'driver s':>8} equal"
    )
    print(header)
    for stage in args.stages.split(","):
        timed = TimedLocal()
        t0 = time.perf_counter()
        ref = STAGES[stage](timed, lmsys)
        local_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = STAGES[stage](ray_ex, lmsys)
        ray_s = time.perf_counter() - t0
        per_shard = timed.mean(lambda kind: kind.endswith("_shard"))
        per_part = timed.mean(lambda kind: kind in PARTITION_KINDS)
        driver = max(0.0, local_s - timed.total)
        equal = _equal(ref, got)
        blocks = dict(timed.block_seconds)
        proj = {k: projection(blocks, driver, args.n, k, args.cpus_per_node) for k in nodes}
        results[stage] = {
            "local_s": local_s,
            "ray_s": ray_s,
            "ratio_local_over_ray": local_s / ray_s,
            "per_shard_s": per_shard,
            "per_partition_s": per_part,
            "blocks": sum(len(v) for v in blocks.values()),
            "blocks_by_kind": {k: len(v) for k, v in blocks.items()},
            "driver_s": driver,
            "equal": equal,
            "projection_100M_s": proj,
        }
        ratio = local_s / ray_s
        print(
            f"{stage:<8} {local_s:8.1f} {ray_s:7.1f} {ratio:6.2f} {per_shard:11.2f} {per_part:10.2f} "
            f"{driver:8.1f} {equal}"
        )
    ray_ex.close()
    if own:
        ray.shutdown()
    print(
        f"\nProjection for {TARGET:,} conversations ({math.ceil(TARGET / args.shard_rows):,} shards of "
        f"{args.shard_rows:,}), {args.cpus_per_node} cores per node, per-shard cost as measured here, "
        "driver part linear in records, no network or storage limits:"
    )
    print(f"{'stage':<8} " + " ".join(f"{f'{k} nodes':>11}" for k in nodes))
    for stage in args.stages.split(","):
        proj = results[stage]["projection_100M_s"]
        print(f"{stage:<8} " + " ".join(f"{proj[k] / 60:9.1f} m" for k in nodes))
    print(json.dumps(results))
    return results


def _warm(_: int) -> int:
    import arenapref.compare.run
    import arenapref.mine.miner
    import arenapref.profile.core  # noqa: F401

    return 0


if __name__ == "__main__":
    main()
