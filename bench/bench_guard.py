"""Benchmark of the leakage guard (``find_leaks``): prefix matching over N conversations vs plain Python.

    .venv/bin/python bench/bench_guard.py --n 200000 --protected 20000 --workdir /tmp/bench_guard \
        --before /tmp/guard_before/src

With ``--before SRC`` (a source tree of an earlier version, e.g. ``git archive REV src | tar -x -C DIR``)
the same two ``find_leaks`` runs are timed with that version, in a fresh interpreter on the same data in
the same run, so a change's cost is a ratio measured under one load.

Candidates are N synthetic LMSYS-shaped conversations (``arenapref.synth``). The protected set is built
from them so that every kind of leak is present: for a third of the sampled conversations only the first
user turn (a test prompt that opens a longer conversation), for a third the whole list of user turns, for
a third the first turn plus an invented follow-up (the candidate opens the protected record only if it is
single-turn), and a few short prompts ("hi") that must not match every conversation opening with them.

The reference is what one would write first: each record's turns normalised in Python (NFKC, casefold,
NAME_k placeholders masked, whitespace collapsed, punctuation runs and a trailing mark dropped), a dict
of every protected prefix, and for each candidate a look-up of each of its prefixes and of its whole
list, with the same 32-character rule. Both run exact and placeholder matching only (``near=False``,
no PII masking); the reference knows only the turn-list rule, so the rows the guard adds by its
containment and name-span rules (and by the normalisations it has beyond NFKC: HTML entities, escaped
newlines, typography, look-alikes) are the only disagreement; the counts by rule are printed. The
machine is shared with other jobs: the ratio in the same run is the figure that counts, and CPU seconds
(all threads) are printed next to wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import synth_workspace

MIN_CHARS = 32
_PLACEHOLDER = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]+)*_[0-9]+\b")
_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"([^\w\s])[^\w\s]+")


def _norm(text: str | None) -> str:
    t = unicodedata.normalize("NFKC", text or "")
    t = _PLACEHOLDER.sub("\ue000", t)
    t = _PUNCT.sub(r"\1", t.casefold())
    t = _SPACE.sub(" ", t).strip()
    return re.sub(r" ?[.!?。！？]$", "", t)


def reference(cands: list[list[str | None]], prot: list[list[str | None]]) -> set[int]:
    """Rows of ``cands`` that leak, by plain dicts of normalised turn tuples."""
    prefixes: dict[tuple[str, ...], bool] = {}  # prefix -> some protected record is exactly it
    for turns in prot:
        t = tuple(_norm(x) for x in turns)
        for j in range(1, len(t) + 1):
            whole = j == len(t)
            prefixes[t[:j]] = prefixes.get(t[:j], False) or whole
    leaks = set()
    for row, turns in enumerate(cands):
        t = tuple(_norm(x) for x in turns)
        for j in range(1, len(t) + 1):
            p = t[:j]
            if p not in prefixes:
                continue
            chars = sum(len(x) for x in p)
            if chars == 0:
                continue
            protected_whole = prefixes[p]
            mine_whole = j == len(t)
            if (mine_whole and protected_whole) or (chars >= MIN_CHARS and (mine_whole or protected_whole)):
                leaks.add(row)
                break
    return leaks


def protected_set(table: pa.Table, k: int, seed: int) -> pa.Table:
    from arenapref.records import Battle, battles_table, user_turns

    turns = user_turns(table).to_pylist()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(turns), size=min(k, len(turns)), replace=False)
    battles = []
    for n, r in enumerate(rows.tolist()):
        t = turns[r] or [""]
        kind = n % 3
        prompt = [t[0]] if kind == 0 else list(t) if kind == 1 else [t[0], f"and one more thing, number {n}"]
        battles.append(Battle(f"p{n}", prompt, [None] * len(prompt), [None] * len(prompt)))
    battles += [Battle("hi", ["hi"], [None], [None]), Battle("hello", ["Hello!"], [None], [None])]
    return battles_table(battles)


def _load(args: argparse.Namespace) -> tuple[pa.Table, pa.Table]:
    """The candidate conversations and the protected set (written once, so ``--before`` reads the same)."""
    from arenapref.readers import read_table

    synth, _ = synth_workspace(args.workdir / "synth", args.n, args.seed, 100_000)
    table = pa.concat_tables([read_table(p) for p in sorted((synth / "lmsys").glob("*.parquet"))])
    path = args.workdir / f"protected-{args.n}-{args.protected}-{args.seed}.parquet"
    if not path.exists():
        pq.write_table(protected_set(table, args.protected, args.seed), path)
    return table, pq.read_table(path)


def _timed(run: Any) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of every thread of this process) of ``run()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def measure(table: pa.Table, prot: pa.Table, exact_only: bool = False) -> dict[str, Any]:
    """The timed ``find_leaks`` runs of whichever arenapref is imported: exact + placeholder, and the
    default (unless ``exact_only``)."""
    from arenapref.compare.guard import find_leaks

    leaks, wall, cpu = _timed(lambda: find_leaks(table, [prot], near=False, mask_pii=False))
    out = {"leaks": leaks, "wall_s": wall, "cpu_s": cpu}
    if not exact_only:
        near, out["near_wall_s"], out["near_cpu_s"] = _timed(lambda: find_leaks(table, [prot]))
        out["near_leaks"] = near.num_rows
    return out


def _before(args: argparse.Namespace) -> dict[str, Any]:
    """``measure`` with the arenapref of ``--before``, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(args.before)}
    cmd = [sys.executable, __file__, "--child", "--n", str(args.n), "--protected", str(args.protected)]
    cmd += ["--seed", str(args.seed), "--workdir", str(args.workdir)] + ["--exact-only"] * args.exact_only
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the --before run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="candidate conversations")
    parser.add_argument("--protected", type=int, default=20_000, help="protected records built from them")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_guard"))
    parser.add_argument("--before", type=Path, help="source tree of an earlier arenapref to time as well")
    parser.add_argument("--no-reference", action="store_true", help="skip the plain Python reference")
    parser.add_argument("--exact-only", action="store_true", help="skip the default (near-duplicate) runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from arenapref.records import user_turns

    table, prot = _load(args)
    if args.child:
        out = measure(table, prot, args.exact_only)
        out["leaks"] = out["leaks"].num_rows
        print(json.dumps(out))
        return out
    ours = measure(table, prot, args.exact_only)
    leaks = ours["leaks"]
    before = None
    if args.before:
        del table  # the child reads its own copy: two at once would double the memory at 1M
        before = _before(args)
        table, prot = _load(args)
    got = set(leaks.column("row").to_pylist())
    ref: set[int] = set()
    ref_s = agreement = float("nan")
    if not args.no_reference:
        ref, ref_s, _ = _timed(lambda: reference(user_turns(table).to_pylist(), user_turns(prot).to_pylist()))
        agreement = len(got & ref) / max(len(got | ref), 1)
    names, counts = np.unique(leaks.column("scope").to_numpy(zero_copy_only=False), return_counts=True)
    scopes = dict(zip(names.tolist(), counts.tolist(), strict=True))
    print(
        f"leakage guard: {table.num_rows:,} candidate conversations against {prot.num_rows:,} protected "
        "records (a shared machine: compare the ratios, not the seconds)"
    )
    print(
        f"  arenapref find_leaks, exact + placeholder: {ours['wall_s']:.2f} s ({ours['cpu_s']:.2f} CPU s), "
        f"{len(got):,} leaking records"
    )
    if args.no_reference:
        print("  plain Python reference: skipped (--no-reference)")
    else:
        print(f"  plain Python reference (dict of prefixes): {ref_s:.2f} s, {len(ref):,} leaking records")
        print(
            f"  speed-up {ref_s / max(ours['wall_s'], 1e-9):.1f}x; "
            f"agreement (Jaccard of the flagged rows) {agreement:.4f}"
        )
    print(f"  by scope: {{{', '.join(f'{k}: {int(v):,}' for k, v in scopes.items())}}}")
    if "rule" in leaks.column_names:
        names, counts = np.unique(leaks.column("rule").to_numpy(zero_copy_only=False), return_counts=True)
        print(f"  by rule: {dict(zip(names.tolist(), counts.tolist(), strict=True))}")
    if not args.exact_only:
        print(
            f"  with near-duplicates and PII masking (the default): {ours['near_wall_s']:.2f} s "
            f"({ours['near_cpu_s']:.2f} CPU s), {ours['near_leaks']:,} records"
        )
    if before is not None:
        print(f"  --before {args.before}, same data, same run:")
        runs = [("exact + placeholder", "", "leaks")] + [("default", "near_", "near_leaks")] * (
            not args.exact_only
        )
        for label, key, n in runs:
            wall, cpu = (
                ours[f"{key}wall_s"] / before[f"{key}wall_s"],
                ours[f"{key}cpu_s"] / before[f"{key}cpu_s"],
            )
            print(
                f"    {label}: {before[f'{key}wall_s']:.2f} s ({before[f'{key}cpu_s']:.2f} CPU s), "
                f"{before[n]:,} records; now / before: {wall:.2f}x wall, {cpu:.2f}x CPU"
            )
    return {
        "candidates": table.num_rows,
        "protected": prot.num_rows,
        "ours_s": ours["wall_s"],
        "ours_cpu_s": ours["cpu_s"],
        "ours_near_s": ours.get("near_wall_s"),
        "reference_s": ref_s,
        "ours_leaks": len(got),
        "reference_leaks": len(ref),
        "agreement": agreement,
        "scopes": {str(k): int(v) for k, v in scopes.items()},
        "near_leaks": ours.get("near_leaks"),
        "before": before,
    }


if __name__ == "__main__":
    main()
