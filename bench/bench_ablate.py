"""Benchmark of ``ablate --repeats 5`` on real rows, and the real inputs its test uses.

Budgets (issue 13): 999 real base rows + 2,500 extra in at most 2 minutes; 57k synthetic base + 50k
extra in at most 20 minutes (run ``--synth-base/--synth-extra`` at a size the machine allows and read
the per-training time; the work grows linearly in rows).

Real inputs: competition_train_999 split by prompt into base and held-out halves; extra = answer pairs of
different models to the same Arena-Hard prompt (arena_hard_34_models, 5 pairs per prompt, seeded)
labeled by a teacher (our LightGBM) trained on the base half only, so nothing from the held-out half
reaches the extra labels. This is a stand-in for ``arenapref mine`` + ``arenapref label --teacher``
that keeps the test independent of those stages.

Plain reference, same run: the same arms trained with features recomputed for every training (what a
loop over ``make_estimator(...).fit(table)`` does), one repeat, scaled to the repeats.

    python bench/bench_ablate.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from arenapref.model.ablate import ablate
from arenapref.model.groups import grouped_split, prompt_keys
from arenapref.model.kinds import make_estimator
from arenapref.readers import open_source, read_battles
from arenapref.records import LABEL_COLUMNS


def arena_hard_pairs(folder: Path, n_pairs: int = 2500, per_prompt: int = 5, seed: int = 0) -> pa.Table:
    """Unlabeled battles: ``per_prompt`` pairs of different models' answers to each Arena-Hard prompt."""
    conv = open_source(folder).read_table()
    df = pl.DataFrame(
        {
            "qid": [
                c.rsplit(":", 1)[0] if ":" in c else c for c in conv.column("conversation_id").to_pylist()
            ],
            "model": conv.column("model").to_pylist(),
            "turns": conv.column("turns").to_pylist(),
        }
    )
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for qid, grp in sorted(df.group_by("qid"), key=lambda kv: str(kv[0])):
        recs = grp.to_dicts()
        order = rng.permutation(len(recs))
        for k in range(min(per_prompt, len(recs) // 2)):
            a, b = recs[int(order[2 * k])], recs[int(order[2 * k + 1])]
            user = [t["content"] for t in a["turns"] if t["role"] == "user"]
            rows.append(
                {
                    "id": f"ah-{qid}-{k}",
                    "prompt": user,
                    "response_a": [t["content"] for t in a["turns"] if t["role"] == "assistant"],
                    "response_b": [t["content"] for t in b["turns"] if t["role"] == "assistant"],
                    "model_a": a["model"],
                    "model_b": b["model"],
                }
            )
        if len(rows) >= n_pairs:
            break
    return pa.Table.from_pylist(rows[:n_pairs])


def real_inputs(shared: Path, n_extra: int = 2500, seed: int = 0) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(base, held-out, extra) from the shared real data (see the module docstring)."""
    comp = read_battles(shared / "competition_train_999" / "train_999.csv")
    held = grouped_split(prompt_keys(comp), 0.5, seed=seed)
    base, hold = comp.filter(pa.array(~held)), comp.filter(pa.array(held))
    pairs = arena_hard_pairs(shared / "arena_hard_34_models", n_extra, seed=seed)
    teacher = make_estimator("lgbm", random_state=seed).fit(base)
    p = teacher.predict_proba(pairs)
    for k, c in enumerate(LABEL_COLUMNS):
        pairs = pairs.append_column(c, pa.array(p[:, k]))
    return base, hold, pairs


def reference_seconds(base: pa.Table, extra: pa.Table, hold: pa.Table, repeats: int) -> float:
    """Plain reference: fit each arm from scratch (features recomputed per fit), one repeat, times repeats."""
    start = time.perf_counter()
    cols = [c for c in base.column_names if c in extra.column_names]
    both = pa.concat_tables([base.select(cols), extra.select(cols)], promote_options="permissive")
    for table in (base, both):
        make_estimator("lgbm", n_seeds=1).fit(table).predict_proba(hold)
    return (time.perf_counter() - start) * repeats


def synthetic_run(n_base: int, n_extra: int, repeats: int, boot: int, workdir: Path) -> dict[str, Any]:
    """``ablate --repeats`` on synthetic battles: ``n_base`` base rows (20% of their prompts held out)
    and ``n_extra`` extra rows, timed; the figures to extrapolate to 57k + 50k."""
    from arenapref.synth import generate

    synth = generate(workdir, conversations=0, battles=int((n_base + n_extra) / 0.7) + 10, test_share=0.3)
    table = read_battles(synth.train_csv)
    base, extra = table.slice(0, n_base), table.slice(n_base, n_extra)
    start = time.perf_counter()
    rep = ablate(base, extra, holdout_frac=0.2, repeats=repeats, n_boot=boot)
    secs = time.perf_counter() - start
    trainings = repeats * 2
    print(
        f"synthetic {base.num_rows} base + {extra.num_rows} extra, --repeats {repeats}: {secs:.1f} s "
        f"({trainings} trainings); {rep.overall.diff:+.4f} [{rep.overall.low:+.4f}, {rep.overall.high:+.4f}]"
    )
    return {"n_base": base.num_rows, "n_extra": extra.num_rows, "seconds": secs}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--n-extra", type=int, default=2500)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument(
        "--synth-base", type=int, default=0, help="Also time a synthetic run of this many base rows."
    )
    ap.add_argument("--synth-extra", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.synth_base:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return synthetic_run(
                args.synth_base, args.synth_extra, args.repeats, args.boot, args.workdir or Path(tmp)
            )
    t0 = time.perf_counter()
    base, hold, extra = real_inputs(args.shared, args.n_extra)
    prep = time.perf_counter() - t0
    results = []
    for s in [int(v) for v in args.seeds.split(",")]:
        rep = ablate(base, extra, holdout=hold, repeats=args.repeats, n_boot=args.boot, seed=s)
        o = rep.overall
        results.append(
            {
                "seed": s,
                "diff": o.diff,
                "low": o.low,
                "high": o.high,
                "verdict": rep.verdict,
                "seconds": rep.seconds,
                "mde": rep.min_detectable_effect,
            }
        )
        print(
            f"seed {s}: {o.diff:+.4f} [{o.low:+.4f}, {o.high:+.4f}] {rep.verdict}; "
            f"per repeat {', '.join(f'{d:+.4f}' for d in o.repeat_diffs)}; {rep.seconds:.1f} s"
        )
    ref = reference_seconds(base, extra, hold, args.repeats)
    mean_s = float(np.mean([r["seconds"] for r in results]))
    print(
        f"inputs: {base.num_rows} base, {hold.num_rows} held-out, {extra.num_rows} extra "
        f"(prepared in {prep:.1f} s)"
    )
    print(
        f"ablate --repeats {args.repeats}: {mean_s:.1f} s per run (budget 120 s); plain reference "
        f"(features per fit): {ref:.1f} s for the same trainings; 8 jobs shared a 2-core machine"
    )
    figures = {"runs": results, "ablate_seconds": mean_s, "reference_seconds": ref, "prep_seconds": prep}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
