"""Reading speed: the competition CSV's polars fast path against the per-row ``csv`` reader, and every
other layout against the competition CSV reader, each in the same run.

Part 1 reads one synthetic train.csv (``arenapref synth``, with malformed rows, so the fast path's
fallback to the per-row decoder is exercised) both ways, checks that the tables, rejects and repairs are
identical and prints wall time for each. Part 2 (``--layout-rows N``) writes N records of each layout
in ``arenapref.testing.layouts`` (the same prompt and answer texts in every layout) and reads each, next
to the same N rows in the competition layout (train.csv, read as ``open_source`` reads it); the budget
is at most twice the competition reader's time per input record. ``--only NAME[,NAME]`` times only those
layouts (the reference still runs first and last). Files are written and read a chunk or a batch at a
time, so a million records of a layout fit in bounded memory. Run it as
``nice -n 10 .venv/bin/python bench/bench_read.py --battles 2000 --layout-rows 100000`` (every layout) or
``... --repeats 1 --layout-rows 1000000 --only capybara-preferences,hh-rlhf`` (the 1M measurement).
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
from arenapref.testing.layouts import LAYOUTS, write

REFERENCE = "arena-55k"  # the competition layout: train.csv


def _read_seconds(path: Path, repeats: int) -> tuple[float, float, int, int]:
    """Best wall and best CPU time of reading ``path`` whole, the rows it gave, and the rows it rejected.

    The batches are streamed and dropped, as the pipeline's stages consume them, so memory stays bounded
    at a million rows (UltraFeedback's 1M records are 5.6M battles, more than this machine holds).
    CPU time (all threads of this process) is reported beside wall time because on a shared machine
    the wall time of one read moves with the load of the others; polars' threads count in it too."""
    best, best_cpu, rows, rejected = float("inf"), float("inf"), 0, 0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        src = open_source(path)
        rows = sum(b.num_rows for b in src.batches())
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        rejected = len(src.rejects)
    return best, best_cpu, rows, rejected


def layouts(n: int, repeats: int, root: Path, only: list[str] | None = None) -> dict[str, Any]:
    """Per layout: input records, battles read, seconds, microseconds per record (wall and CPU), and the
    ratios to the competition CSV reader's microseconds per record on the same texts, measured in this
    run: its file is read first and again last (after every other layout), and the ratios use the better
    of the two, so a load that changed during the run does not favour the layouts. ``only`` names the
    layouts to time (None: all); the reference runs either way."""
    out: dict[str, Any] = {}
    ref_path = write(REFERENCE, root / REFERENCE, n)
    ref = _read_seconds(ref_path, repeats)
    for name in [REFERENCE, *(k for k in LAYOUTS if k != REFERENCE and (only is None or k in only))]:
        path = ref_path if name == REFERENCE else write(name, root / name, n)
        seconds, cpu, rows, rejected = ref if name == REFERENCE else _read_seconds(path, repeats)
        out[name] = {
            "layout": LAYOUTS[name][2],
            "records": n,
            "battles": rows,
            "rejected": rejected,
            "mb": round(path.stat().st_size / 1e6, 1),
            "seconds": round(seconds, 2),
            "us_per_record": round(seconds / n * 1e6, 1),
            "cpu_us_per_record": round(cpu / n * 1e6, 1),
        }
        if name != REFERENCE:
            path.unlink()
    again = _read_seconds(ref_path, repeats)
    out[REFERENCE]["seconds_again"] = round(again[0], 2)
    wall, cpu = min(ref[0], again[0]) / n * 1e6, min(ref[1], again[1]) / n * 1e6
    for row in out.values():
        row["vs_competition_csv"] = round(row["us_per_record"] / wall, 2)
        row["cpu_vs_competition_csv"] = round(row["cpu_us_per_record"] / cpu, 2)
    ref_path.unlink()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--battles", type=int, default=57_000, help="battles synthesised (train share 1.0)")
    parser.add_argument("--malformed-share", type=float, default=0.005)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--layout-rows", type=int, default=0, help="records per layout for part 2 (0: part 1 only)"
    )
    parser.add_argument(
        "--only",
        type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
        default=None,
        help="part 2 only for these comma-separated layouts (the reference runs anyway): "
        + f"{', '.join(LAYOUTS)}",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or ()) - set(LAYOUTS))
    if unknown:
        parser.error(f"--only: unknown layout(s) {', '.join(unknown)}; known: {', '.join(LAYOUTS)}")
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
        if args.layout_rows:
            results["layouts"] = layouts(args.layout_rows, args.repeats, root / "layouts", args.only)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
