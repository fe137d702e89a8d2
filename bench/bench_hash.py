"""What ``arenapref run`` pays to fingerprint its inputs by content, on LMSYS-1M-sized input.

Every input is hashed whole (SHA-256, hashlib's, which uses the CPU's SHA instructions) the first time a
run sees it; ``HashCache`` then remembers each hash under the file's path, size, mtime, ctime and inode,
so a later run on untouched files only ``stat``s them. Printed side by side, in the same run, on the same
files (the synthetic LMSYS shards plus train/test, warm in the page cache after generation):

- reading every byte and doing nothing with it (the floor any content hash pays);
- the first fingerprint (every file hashed; a folder's files on a thread per core) and BLAKE2b over the
  same bytes one file after another, the alternative in hashlib;
- the second fingerprint (hash cache warm: no file read).

    .venv/bin/python bench/bench_hash.py --n 1000000 --workdir /tmp/bh
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from arenapref.pipeline.manifest import HashCache, fingerprint
from arenapref.synth import generate


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def read_only(files: list[Path]) -> float:
    """Seconds to read every byte (1 MiB blocks), the plain reference."""
    start = time.perf_counter()
    for f in files:
        with f.open("rb") as fh:
            while fh.read(1 << 20):
                pass
    return time.perf_counter() - start


def blake2b_all(files: list[Path]) -> float:
    """Seconds to BLAKE2b every file (hashlib.file_digest, like the SHA-256 path)."""
    start = time.perf_counter()
    for f in files:
        with f.open("rb") as fh:
            hashlib.file_digest(fh, "blake2b")
    return time.perf_counter() - start


def fingerprint_all(inputs: list[Path], base: Path, cache_file: Path) -> float:
    """Seconds for the runner's fingerprints of the inputs with the cache kept in ``cache_file``."""
    start = time.perf_counter()
    cache = HashCache(cache_file)
    for p in inputs:
        fingerprint(p, base, cache)
    cache.save()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="synthetic conversations")
    ap.add_argument("--battles", type=int, default=60_000, help="synthetic battles (train + test)")
    ap.add_argument("--workdir", type=Path, default=None, help="where to generate (default: a temp folder)")
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-hash-"))
    root = work / "synth"
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    generate(root, conversations=args.n, battles=args.battles, seed=0)
    gen_s = time.perf_counter() - t0
    inputs = [root / "lmsys", root / "competition" / "train.csv", root / "competition" / "test.csv"]
    files = [f for p in inputs for f in ([p] if p.is_file() else _files(p))]
    size = sum(f.stat().st_size for f in files)
    cache_file = work / "hashes.json"
    cache_file.unlink(missing_ok=True)
    result = {
        "conversations": args.n,
        "battles": args.battles,
        "files": len(files),
        "bytes": size,
        "generate_s": gen_s,
        "read_s": read_only(files),
        "fingerprint_first_s": fingerprint_all(inputs, work, cache_file),
        "blake2b_s": blake2b_all(files),
        "fingerprint_cached_s": fingerprint_all(inputs, work, cache_file),
    }
    gb = size / 1e9
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.n:,} conversations + {args.battles:,} battles: {len(files)} files, {gb:.2f} GB")
    print(f"{os.cpu_count()} cores, load average {load} (1, 5, 15 min) at the end of the measurement")
    for label, key in [
        ("reference: read every byte", "read_s"),
        ("first fingerprint (SHA-256 of every file)", "fingerprint_first_s"),
        ("BLAKE2b of every file (the hashlib alternative)", "blake2b_s"),
        ("second fingerprint (hash cache warm, nothing read)", "fingerprint_cached_s"),
    ]:
        secs = result[key]
        print(f"  {label:<52} {secs:8.3f} s  ({gb / max(secs, 1e-9):7.2f} GB/s)")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
