"""Benchmark: ``mine_pairs`` over N synthetic LMSYS-shaped conversations against a plain Python reference.

Issue 5's budget: 1M conversations mined in at most 60 s wall and 4 GB peak RSS, with the generator's
ground truth (``truth/minable_groups.parquet``) showing that every minable prompt group was found.

"Found" means at least one pair of different models was formed from the group (whether it then made the
output or was removed by the per-prompt cap); the truth's definition of minable is "two or more different
models among records a miner should keep" (not flagged, not redacted, no error text, no empty answer),
which is exactly what the miner's default filters keep, so recall should be 1.0 and no group outside the
truth should be found. The run is made without ``--exclude``, since the truth does not know about it.

The reference is what one would write first: ``pyarrow`` rows as Python dicts, a plain Python key
(NFKC, casefold, NAME_k placeholders masked, whitespace collapsed), dict grouping, exact duplicate
removal, the same closed-form matching and per-prompt cap. It does no near-identical-answer check. It runs
on whole shards covering ``--ref-n`` conversations (its memory grows with the text it holds), and its time
is extrapolated linearly to N; arenapref runs on the same subset too, and the two must agree on the
number of minable groups found there.

Each implementation runs in a fresh Python process so its peak RSS is its own.

    .venv/bin/python bench/bench_mine.py --n 1000000 --ref-n 200000 --workdir /tmp/bench_mine
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from benchlib import link_shards, own_usage, run_child, synth_workspace

WALL_BUDGET_S = 60.0
RSS_BUDGET_MB = 4096.0
BUDGET_N = 1_000_000
CAP = 5


def run_arenapref(path: Path) -> dict[str, Any]:
    """The implementation under test, with default settings; returns the conversation ids of formed pairs."""
    start = time.perf_counter()
    import polars as pl

    from arenapref.mine import MineSettings, mine_pairs

    result = mine_pairs([path], MineSettings())
    wall = time.perf_counter() - start
    kept = pl.from_arrow(result.pairs.select(["provenance"]))
    dropped = pl.from_arrow(result.dropped)
    assert isinstance(kept, pl.DataFrame) and isinstance(dropped, pl.DataFrame)
    formed = dropped.filter(pl.col("stage") == "pair").select(pl.col("conversation_ids").alias("provenance"))
    ids = pl.concat([kept, formed]).explode("provenance").get_column("provenance").unique().to_list()
    f = result.funnel
    return {
        "wall_s": wall,
        "rows": f.total_in,
        "pairs_out": f.pairs_out,
        "pairs_formed": f.pairs_formed,
        "minable_groups": f.minable_groups,
        "stages_s": f.seconds,
        "paired_ids": ids,
    }


_PLACEHOLDER = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]+)*_\d+\b")
_ERRORS = re.compile(
    r"NETWORK ERROR DUE TO HIGH TRAFFIC|RATE LIMIT OF THIS MODEL|VIOLATES OUR CONTENT MODERATION|"
    r"\(error_code: |CUDA out of memory"
)


def _key(turns: list[str]) -> str:
    parts = []
    for t in turns:
        t = unicodedata.normalize("NFKC", t)
        t = _PLACEHOLDER.sub("\ue000", t).casefold()
        parts.append(" ".join(t.split()))
    return "\x1f".join(parts)


def run_reference(path: Path) -> dict[str, Any]:
    """The plain reference: Python dicts over pyarrow rows, dict grouping, the same matching rule."""
    start = time.perf_counter()
    groups: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
    rows = 0
    for shard in sorted(path.glob("*.parquet")):
        for rec in pq.read_table(shard).to_pylist():
            rows += 1
            conv = rec["conversation"] or []
            moderation = rec.get("openai_moderation") or []
            if rec.get("redacted") or any(m and m.get("flagged") for m in moderation):
                continue
            roles = [m["role"] for m in conv]
            if not conv or len(conv) % 2 or roles != ["user", "assistant"] * (len(conv) // 2):
                continue
            users = [m["content"] or "" for m in conv[0::2]]
            answers = tuple(m["content"] or "" for m in conv[1::2])
            if not rec.get("model") or any(not u.strip() for u in users):
                continue
            if any(not a.strip() or _ERRORS.search(a) for a in answers):
                continue
            groups[_key(users)].append((rec["conversation_id"], rec["model"], answers))
    paired: list[str] = []
    pairs_out = 0
    minable = 0
    for records in groups.values():
        seen: set[tuple[str, ...]] = set()
        kept: list[tuple[str, str]] = []
        for cid, model, answers in records:
            if answers not in seen:
                seen.add(answers)
                kept.append((cid, model))
        counts = Counter(m for _, m in kept)
        if len(counts) < 2:
            continue
        minable += 1
        order = sorted(kept, key=lambda r: (-counts[r[1]], r[1]))
        n, s = len(order), max(counts.values())
        d = max(s, n // 2)
        formed = [(order[i], order[i + d]) for i in range(min(d, n - d))]
        paired += [c for pair in formed for c, _ in pair]
        pairs_out += min(len(formed), CAP)
    return {
        "wall_s": time.perf_counter() - start,
        "rows": rows,
        "pairs_out": pairs_out,
        "pairs_formed": len(paired) // 2,
        "minable_groups": minable,
        "paired_ids": paired,
    }


RUNNERS = {"arenapref": run_arenapref, "reference": run_reference}


def key_costs(path: Path, repeats: int = 2) -> dict[str, Any]:
    """The scan's hot spot on its own: group keys for every filtered record, against Polars alone.

    ``arenapref``: ``miner.KeyCache`` over the scan's batches (raw-prompt cache, normalisation of each
    distinct prompt, 128-bit keys), exactly what ``scan`` runs. ``polars alone``: the same normalisation
    string operations (NFKC, format characters, whitespace, NAME_k placeholders, lower case, punctuation
    runs, trailing mark, case folds) and a hash as one Polars expression over every turn of the same
    batches: no cache, no conversions, no Python. Best of ``repeats`` runs each (the machine is shared).
    """
    import numpy as np
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc

    from arenapref.compare import normalize as N
    from arenapref.mine.filters import inspect_batch
    from arenapref.mine.miner import filter_settings
    from arenapref.mine.scan import KeyCache
    from arenapref.mine.settings import MineSettings
    from arenapref.readers import open_source

    fs = filter_settings(MineSettings())
    prompts = []
    for batch in open_source(path).batches():
        ins = inspect_batch(batch, fs)
        prompts.append(ins.prompts.take(pa.array(np.nonzero(ins.reason == 0)[0], pa.int64())))

    def ours() -> None:
        cache = KeyCache()
        for p in prompts:
            cache.keys(p)

    def polars_alone() -> None:
        t = pl.col("t")
        expr = N._casefold_rest(N._main_expr(N._fold_unicode(t), True, False)).hash(0)
        for p in prompts:
            pl.DataFrame({"t": pl.Series(pc.list_flatten(p))}).select(expr)

    out: dict[str, Any] = {"records": sum(len(p) for p in prompts)}
    for name, fn in (("arenapref_s", ours), ("polars_alone_s", polars_alone)):
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        out[name] = best
    return out


def _child(impl: str, path: Path, ids_out: Path) -> None:
    result = {**RUNNERS[impl](path), **own_usage()}
    ids_out.write_text("\n".join(result.pop("paired_ids")), encoding="utf-8")
    print(json.dumps(result))


def measure(impl: str, path: Path, scratch: Path, in_process: bool = False) -> dict[str, Any]:
    """Run one implementation in a fresh interpreter; returns its figures and the ids it paired.

    ``in_process`` (smoke tests only) runs it here instead: no interpreter start-up, but the peak RSS is
    then this process's.
    """
    if in_process:
        result = {**RUNNERS[impl](path), **own_usage()}
        result["paired_ids"] = set(result["paired_ids"])
        return result
    ids_out = scratch / f"{impl}-{path.name}.ids"
    script = str(Path(__file__).resolve())
    result = run_child(script, "--child", impl, "--path", str(path), "--ids-out", str(ids_out))
    result["paired_ids"] = set(ids_out.read_text(encoding="utf-8").split("\n")) - {""}
    return result


def truth_recall(truth_dir: Path, paired_ids: set[str], shards: list[Path]) -> dict[str, Any]:
    """Minable groups (of the records in ``shards``) with at least one formed pair, and extra groups."""
    import polars as pl

    ids = pl.concat([pl.read_parquet(s, columns=["conversation_id"]) for s in shards])
    conv = pl.read_parquet(truth_dir / "conversations.parquet").join(ids, on="conversation_id")
    keep = conv.filter(pl.col("keep_for_mining"))
    per_group = keep.group_by("prompt_group").agg(pl.col("model").n_unique().alias("models"))
    minable = per_group.filter(pl.col("models") >= 2).get_column("prompt_group")
    found = conv.filter(pl.col("conversation_id").is_in(list(paired_ids))).get_column("prompt_group").unique()
    hit = int(minable.is_in(found.implode()).sum())
    extra = int((~found.is_in(minable.implode())).sum())
    return {"minable": minable.len(), "found": hit, "recall": hit / max(minable.len(), 1), "extra": extra}


def _row(label: str, *cells: str) -> str:
    return f"{label:<24}" + "".join(f"{c:>22}" for c in cells)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=BUDGET_N, help="conversations to generate and mine")
    parser.add_argument("--ref-n", type=int, default=200_000, help="conversations the reference mines")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-rows", type=int, default=100_000, help="conversations per Parquet shard")
    parser.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) the generated data here")
    parser.add_argument("--in-process", action="store_true", help="smoke tests: no child processes")
    parser.add_argument("--child", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ids-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.path, args.ids_out)
        return {}

    tmp = Path(tempfile.mkdtemp(prefix="bench_mine_")) if args.workdir is None else args.workdir
    try:
        start = time.perf_counter()
        synth, reused = synth_workspace(tmp / "synth", args.n, args.seed, args.shard_rows)
        gen_s = time.perf_counter() - start
        lmsys_dir = synth / "lmsys"
        all_shards = sorted(lmsys_dir.glob("*.parquet"))
        shutil.rmtree(tmp / "ref_subset", ignore_errors=True)
        ref_dir, ref_shards, _ = link_shards(lmsys_dir, min(args.ref_n, args.n), tmp / "ref_subset")
        scratch = tmp / "ids"
        scratch.mkdir(exist_ok=True)
        ours = measure("arenapref", lmsys_dir, scratch, args.in_process)
        ours_ref = measure("arenapref", ref_dir, scratch, args.in_process)
        plain_ref = measure("reference", ref_dir, scratch, args.in_process)
        recall = truth_recall(synth / "truth", ours["paired_ids"], all_shards)
        recall_ours_ref = truth_recall(synth / "truth", ours_ref["paired_ids"], ref_shards)
        recall_plain_ref = truth_recall(synth / "truth", plain_ref["paired_ids"], ref_shards)
        keys = key_costs(ref_dir)
    finally:
        if args.workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    out = report(
        None if reused else gen_s, ours, ours_ref, plain_ref, recall, recall_ours_ref, recall_plain_ref
    )
    print(
        f"scan key normalisation on the subset ({keys['records']:,} filtered records): arenapref "
        f"{keys['arenapref_s']:.2f} s, the same string operations in Polars alone "
        f"{keys['polars_alone_s']:.2f} s "
        f"(ratio {keys['arenapref_s'] / max(keys['polars_alone_s'], 1e-9):.2f}; best of 2, shared machine)"
    )
    out["keys"] = keys
    return out


def report(
    gen_s: float | None,
    ours: dict[str, Any],
    ours_ref: dict[str, Any],
    plain_ref: dict[str, Any],
    recall: dict[str, Any],
    recall_ours_ref: dict[str, Any],
    recall_plain_ref: dict[str, Any],
) -> dict[str, Any]:
    """Print the side-by-side table and the budget verdicts; return every figure."""
    scale = ours["rows"] / max(plain_ref["rows"], 1)
    plain_at_n = {k: plain_ref[k] * scale for k in ("wall_s", "cpu_s")}
    speedup = {k: plain_at_n[k] / max(ours[k], 1e-9) for k in ("wall_s", "cpu_s")}
    same = {k: plain_ref[k] / max(ours_ref[k], 1e-9) for k in ("wall_s", "cpu_s")}
    n = ours["rows"]
    print(f"mine benchmark: N={n:,} synthetic LMSYS-shaped conversations, default settings, no --exclude")
    print(
        "  data reused from --workdir"
        if gen_s is None
        else f"  data written by arenapref.synth.generate in {gen_s:.1f} s (not part of the budget)"
    )
    print(
        f"  the plain reference ran on whole shards holding {plain_ref['rows']:,} conversations; "
        f"its time at N is extrapolated linearly (x{scale:.2f})"
    )
    print(_row("", "arenapref at N", "reference at N (ext.)", "arenapref on subset", "reference on subset"))
    print(_row("conversations", f"{n:,}", f"{n:,}", f"{ours_ref['rows']:,}", f"{plain_ref['rows']:,}"))
    for key, label in (("wall_s", "wall s"), ("cpu_s", "cpu s (user+sys)")):
        cells = (ours[key], plain_at_n[key], ours_ref[key], plain_ref[key])
        print(_row(label, *(f"{c:.1f}" for c in cells)))
    print(
        _row(
            "peak RSS MB",
            f"{ours['peak_rss_mb']:.0f}",
            "-",
            f"{ours_ref['peak_rss_mb']:.0f}",
            f"{plain_ref['peak_rss_mb']:.0f}",
        )
    )
    for key in ("minable_groups", "pairs_formed", "pairs_out"):
        print(_row(key, f"{ours[key]:,}", "", f"{ours_ref[key]:,}", f"{plain_ref[key]:,}"))
    for label, r in (("truth recall", recall), ("", None)):
        if r is None:
            continue
        print(
            _row(
                label,
                f"{r['found']:,}/{r['minable']:,}",
                "",
                f"{recall_ours_ref['found']:,}/{recall_ours_ref['minable']:,}",
                f"{recall_plain_ref['found']:,}/{recall_plain_ref['minable']:,}",
            )
        )
    print(
        _row(
            "found, not minable",
            f"{recall['extra']:,}",
            "",
            f"{recall_ours_ref['extra']:,}",
            f"{recall_plain_ref['extra']:,}",
        )
    )
    print(f"arenapref stage seconds at N: {ours['stages_s']}")
    print(
        f"speed-up over the reference at N: {speedup['wall_s']:.1f}x wall, {speedup['cpu_s']:.1f}x cpu; "
        f"on the same subset: {same['wall_s']:.1f}x wall, {same['cpu_s']:.1f}x cpu"
    )
    checks = [("every minable group found", recall["recall"] == 1.0 and recall["extra"] == 0)]
    if n >= BUDGET_N:
        checks += [
            (f"wall <= {WALL_BUDGET_S:.0f} s", ours["wall_s"] <= WALL_BUDGET_S),
            (f"peak RSS <= {RSS_BUDGET_MB:.0f} MB", ours["peak_rss_mb"] <= RSS_BUDGET_MB),
        ]
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}: {name}")
    out = {
        "arenapref": {k: v for k, v in ours.items() if k != "paired_ids"},
        "arenapref_subset": {k: v for k, v in ours_ref.items() if k != "paired_ids"},
        "reference_subset": {k: v for k, v in plain_ref.items() if k != "paired_ids"},
        "recall": recall,
        "recall_subset_arenapref": recall_ours_ref,
        "recall_subset_reference": recall_plain_ref,
        "speedup_wall": speedup["wall_s"],
        "speedup_cpu": speedup["cpu_s"],
        "checks": dict(checks),
    }
    return out


if __name__ == "__main__":
    main()
