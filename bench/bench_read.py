"""Competition CSV reading: the polars fast path against the per-row ``csv`` reader, in the same run.

Both read the same synthetic train.csv (``arenapref synth``, with malformed rows, so the fast path's
fallback to the per-row decoder is exercised); the script checks that the tables, rejects and repairs are
identical and prints wall time for each. Run it as
``.venv/bin/python bench/bench_read.py --battles 57000 --malformed-share 0.005``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from arenapref.readers import open_source
from arenapref.readers.competition import read_rows
from arenapref.rejects import RejectLog
from arenapref.synth import generate


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--battles", type=int, default=57_000, help="battles synthesised (train share 1.0)")
    parser.add_argument("--malformed-share", type=float, default=0.005)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp)
        m = generate(
            root / "ws",
            conversations=0,
            battles=args.battles,
            test_share=0.0,
            malformed_share=args.malformed_share,
        )
        fast_s, slow_s = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fast_log = RejectLog()
            fast = open_source(m.train_csv, rejects=fast_log).read_table()
            fast_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            slow_log = RejectLog()
            slow = pa.Table.from_batches(list(read_rows(m.train_csv, slow_log, 8192, False)))
            slow_s.append(time.perf_counter() - t0)
        same = (
            fast.equals(slow)
            and fast_log.counts == slow_log.counts
            and fast_log.recovered == slow_log.recovered
            and [(r.row, r.reason) for r in fast_log.rejects] == [(r.row, r.reason) for r in slow_log.rejects]
        )
        results = {
            "rows_read": fast.num_rows,
            "rejected": len(fast_log),
            "recovered": sum(fast_log.recovered.values()),
            "csv_mb": round(m.train_csv.stat().st_size / 1e6, 1),
            "polars_fast_path_s": round(min(fast_s), 3),
            "per_row_reader_s": round(min(slow_s), 3),
            "speedup": round(min(slow_s) / min(fast_s), 1),
            "identical": same,
        }
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
