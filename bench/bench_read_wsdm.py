"""WSDM Cup Parquet reading: per-row time of the column-wise WSDM reader against the competition CSV reader.

The same synthetic battles (``arenapref synth``) are written as the competition's train.csv and, ties
dropped, as a WSDM ``train.parquet`` (plain-string cells, ``winner``, ``language``) repeated up to
``--rows`` rows. Both are read in the same run through ``open_source``; the script prints microseconds per
row for each and their ratio (issue 21's budget: no worse than twice the competition reader's per-row time).

    .venv/bin/python bench/bench_read_wsdm.py --battles 20000 --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arenapref.readers import open_source
from arenapref.synth import generate


def _wsdm_table(battles: pa.Table, rows: int) -> pa.Table:
    """Battles without ties in the WSDM layout, repeated (with fresh ids) to ``rows`` rows."""
    decided = battles.filter(pc.equal(battles.column("p_tie"), 0.0))
    joined = {c: pc.binary_join(decided.column(c), "\n") for c in ("prompt", "response_a", "response_b")}
    base = pa.table(
        {
            **joined,
            "winner": pc.if_else(pc.greater(decided.column("p_a"), 0.5), "model_a", "model_b"),
            "model_a": decided.column("model_a"),
            "model_b": decided.column("model_b"),
            "language": pa.array(["English"] * decided.num_rows),
        }
    )
    reps = -(-rows // max(base.num_rows, 1))
    table = pa.concat_tables([base] * reps).slice(0, rows)
    ids = pa.array([str(i) for i in range(table.num_rows)])
    return table.add_column(0, "id", ids)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--battles", type=int, default=20_000, help="synthetic battles (competition CSV)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the WSDM Parquet file")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp)
        m = generate(root / "ws", conversations=0, battles=args.battles, test_share=0.0)
        t0 = time.perf_counter()
        comp = open_source(m.train_csv).read_table()
        comp_s = time.perf_counter() - t0
        wsdm_path = root / "wsdm_train.parquet"
        pq.write_table(_wsdm_table(comp, args.rows), wsdm_path)
        src = open_source(wsdm_path)
        t0 = time.perf_counter()
        table = src.read_table()
        wsdm_s = time.perf_counter() - t0
    comp_us = 1e6 * comp_s / max(comp.num_rows, 1)
    wsdm_us = 1e6 * wsdm_s / max(table.num_rows, 1)
    results = {
        "competition_rows": comp.num_rows,
        "competition_s": round(comp_s, 3),
        "competition_us_per_row": round(comp_us, 2),
        "wsdm_format": src.format,
        "wsdm_rows": table.num_rows,
        "wsdm_s": round(wsdm_s, 3),
        "wsdm_us_per_row": round(wsdm_us, 2),
        "ratio": round(wsdm_us / comp_us, 3) if comp_us else None,
    }
    print(
        f"competition CSV reader: {comp.num_rows:,} rows in {comp_s:.2f} s ({comp_us:.2f} us/row); "
        f"WSDM reader: {table.num_rows:,} rows in {wsdm_s:.2f} s ({wsdm_us:.2f} us/row); "
        f"ratio {results['ratio']}"
    )
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
