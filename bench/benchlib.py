"""What several benchmarks share: synthetic workspaces, shard subsets, and measuring a run in a child.

Each implementation runs in a fresh interpreter so its wall time, CPU time and peak memory are its own.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's VmHWM starts afresh at exec; ``ru_maxrss`` would carry over the
    high-water mark of the parent that forked us (the generator), so it is only the fallback."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def own_usage() -> dict[str, float]:
    """CPU seconds and peak RSS of this process, to add to a child's printed figures."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": peak_rss_mb()}


def run_child(script: str, *args: str) -> dict[str, Any]:
    """Run ``script --child ...`` in a fresh interpreter; its last stdout line is its JSON figures."""
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def synth_workspace(out_dir: Path, n: int, seed: int, shard_rows: int) -> tuple[Path, bool]:
    """Write N LMSYS-shaped conversations with the project's generator; returns the workspace folder.

    A kept ``--workdir`` that already holds the same N and seed is reused (generating 1M takes minutes).
    """
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        done = json.loads(manifest.read_text())
        if (done.get("conversations"), done.get("seed")) == (n, seed):
            return out_dir, True
    from arenapref.synth import generate

    generate(out_dir, conversations=n, battles=0, seed=seed, shard_rows=shard_rows)
    return out_dir, False


def link_shards(lmsys_dir: Path, min_rows: int, out_dir: Path) -> tuple[Path, list[Path], int]:
    """Link whole shards covering at least ``min_rows`` conversations into a folder of their own."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = 0
    shards = []
    for shard in sorted(lmsys_dir.glob("*.parquet")):
        (out_dir / shard.name).symlink_to(shard.resolve())
        shards.append(shard)
        rows += pq.ParquetFile(shard).metadata.num_rows
        if rows >= min_rows:
            break
    return out_dir, shards, rows
