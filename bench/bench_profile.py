"""Benchmark: ingest + profile of N synthetic LMSYS-shaped conversations against a plain pandas profile.

Issue 2's budget: 1M conversations (Parquet shards written by ``arenapref.synth``) profiled in at most
60 s wall and 4 GB peak RSS, and at least 10x faster than a straightforward pandas implementation
(``pd.read_parquet`` then Python loops over rows and messages, one tokenizer call per message) of the
same profile, measured in the same run.

Each implementation runs in a fresh Python process so its peak RSS (``getrusage``) is its own. The pandas
reference is slow, so it runs on whole shards covering at least ``--ref-n`` conversations and its time is
extrapolated linearly to N (the output says so); arenapref profiles that same subset too, and the two
must agree on every figure, which is what makes the speed comparison fair.

    .venv/bin/python bench/bench_profile.py --n 1000000 --ref-n 100000
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from benchlib import link_shards, own_usage, run_child, synth_workspace

WALL_BUDGET_S = 60.0
RSS_BUDGET_MB = 4096.0
MIN_SPEEDUP = 10.0
BUDGET_N = 1_000_000
# Figures both implementations report; they must agree exactly on the shared subset.
FIGURES = (
    "rows",
    "models",
    "users",
    "languages",
    "user_turns",
    "prompt_tokens",
    "responses",
    "response_tokens",
)


def run_arenapref(path: Path, tokenizer: str) -> dict[str, Any]:
    """The implementation under test: stream the reader's batches through ``profile_source``."""
    start = time.perf_counter()
    from arenapref.profile import profile_source
    from arenapref.readers import open_source

    p = profile_source(open_source(path), tokenizer)
    return {
        "wall_s": time.perf_counter() - start,
        "rows": p.rows,
        "models": p.models,
        "users": p.users or 0,
        "languages": p.languages or 0,
        "user_turns": p.user_turns,
        "prompt_tokens": p.prompt.tokens,
        "responses": p.response.messages,
        "response_tokens": p.response.tokens,
        "prompt_p50_p90_p99_max": [p.prompt.p50, p.prompt.p90, p.prompt.p99, p.prompt.max],
        "response_p50_p90_p99_max": [p.response.p50, p.response.p90, p.response.p99, p.response.max],
        "rejected": sum(p.rejected.values()),
    }


def run_pandas(path: Path, tokenizer: str) -> dict[str, Any]:
    """The plain reference: read_parquet, then Python loops over rows and messages."""
    start = time.perf_counter()
    import pandas as pd
    import quicktok

    enc = quicktok.get_encoding(tokenizer)
    df = pd.concat([pd.read_parquet(f) for f in sorted(path.glob("*.parquet"))], ignore_index=True)
    has_users = "user_id" in df.columns
    models: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    users: set[str] = set()
    prompts: dict[str, list[int]] = defaultdict(list)
    responses: dict[str, list[int]] = defaultdict(list)
    rows = 0
    records: Iterable[Any] = df.itertuples(index=False)
    for row in records:
        conversation = row.conversation
        if row.conversation_id is None or conversation is None or len(conversation) == 0:
            continue
        rows += 1
        models[row.model] += 1
        if row.language is not None:
            languages[row.language] += 1
        if has_users and row.user_id is not None:
            users.add(row.user_id)
        for message in conversation:
            n = len(enc.encode(message["content"] or ""))
            if message["role"] == "user":
                prompts[row.model].append(n)
            elif message["role"] == "assistant":
                responses[row.model].append(n)
    prompt_all = [n for lens in prompts.values() for n in lens]
    response_all = [n for lens in responses.values() for n in lens]
    per_model = {
        m: {"prompt_mean": float(np.mean(prompts[m])) if prompts[m] else None, "conversations": c}
        for m, c in models.items()
    }

    def spread(lens: list[int]) -> list[int]:
        qs = np.percentile(lens, [50, 90, 99], method="inverted_cdf")
        return [int(q) for q in qs] + [max(lens)]

    return {
        "wall_s": time.perf_counter() - start,
        "rows": rows,
        "models": len(models),
        "users": len(users),
        "languages": len(languages),
        "user_turns": len(prompt_all),
        "prompt_tokens": sum(prompt_all),
        "responses": len(response_all),
        "response_tokens": sum(response_all),
        "prompt_p50_p90_p99_max": spread(prompt_all),
        "response_p50_p90_p99_max": spread(response_all),
        "per_model": len(per_model),
    }


def run_tokenize_only(path: Path, tokenizer: str) -> dict[str, Any]:
    """Tokenizing alone, done the way arenapref does it (distinct texts of a batch, ``count_batch``).

    Both implementations must count every message's tokens, so this shows how much of each run is
    the tokenizer rather than the profile around it.
    """
    start = time.perf_counter()
    import pyarrow.compute as pc
    import quicktok

    from arenapref.readers import DEFAULT_BATCH

    enc = quicktok.get_encoding(tokenizer)
    tokens = messages = 0
    for shard in sorted(path.glob("*.parquet")):
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=DEFAULT_BATCH, columns=["conversation"]):
            texts = pc.struct_field(pc.list_flatten(batch.column("conversation")), "content")
            encoded = pc.dictionary_encode(pc.fill_null(texts, ""))
            counts = quicktok.count_batch(enc, encoded.dictionary.to_pylist())
            tokens += int(counts[encoded.indices.to_numpy(zero_copy_only=False)].sum())
            messages += len(texts)
    return {"wall_s": time.perf_counter() - start, "messages": messages, "tokens": tokens}


RUNNERS = {"arenapref": run_arenapref, "pandas": run_pandas, "tokenize-only": run_tokenize_only}


def _child(impl: str, path: Path, tokenizer: str) -> None:
    print(json.dumps({**RUNNERS[impl](path, tokenizer), **own_usage()}))


def measure(impl: str, path: Path, tokenizer: str) -> dict[str, Any]:
    """Run one implementation in a fresh interpreter: its wall time, CPU time and peak RSS are its own."""
    return run_child(
        str(Path(__file__).resolve()), "--child", impl, "--path", str(path), "--tokenizer", tokenizer
    )


def _row(label: str, *cells: str) -> str:
    return f"{label:<26}" + "".join(f"{c:>23}" for c in cells)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=BUDGET_N, help="conversations to generate and profile")
    parser.add_argument(
        "--ref-n", type=int, default=100_000, help="conversations the pandas reference profiles"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-rows", type=int, default=100_000, help="conversations per Parquet shard")
    parser.add_argument("--tokenizer", default="cl100k_base")
    parser.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) the generated data here")
    parser.add_argument("--child", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.path, args.tokenizer)
        return {}

    tmp = Path(tempfile.mkdtemp(prefix="bench_profile_")) if args.workdir is None else args.workdir
    try:
        start = time.perf_counter()
        synth, reused = synth_workspace(tmp / "synth", args.n, args.seed, args.shard_rows)
        lmsys_dir = synth / "lmsys"
        gen_s = time.perf_counter() - start
        shutil.rmtree(tmp / "ref_subset", ignore_errors=True)
        ref_dir, _, _ = link_shards(lmsys_dir, min(args.ref_n, args.n), tmp / "ref_subset")
        ours = measure("arenapref", lmsys_dir, args.tokenizer)
        ours_ref = measure("arenapref", ref_dir, args.tokenizer)
        pandas_ref = measure("pandas", ref_dir, args.tokenizer)
        floor_ref = measure("tokenize-only", ref_dir, args.tokenizer)
    finally:
        if args.workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    results = report(args.tokenizer, None if reused else gen_s, ours, ours_ref, pandas_ref, floor_ref)
    return results


def report(
    tokenizer: str,
    gen_s: float | None,
    ours: dict[str, Any],
    ours_ref: dict[str, Any],
    pandas_ref: dict[str, Any],
    floor_ref: dict[str, Any],
) -> dict[str, Any]:
    """Print the side-by-side table and budget verdicts; return every figure (for tests and notes)."""
    scale = ours["rows"] / max(pandas_ref["rows"], 1)
    at_n = {k: pandas_ref[k] * scale for k in ("wall_s", "cpu_s")}
    floor_at_n = {k: floor_ref[k] * scale for k in ("wall_s", "cpu_s")}
    speedup = {k: at_n[k] / max(ours[k], 1e-9) for k in ("wall_s", "cpu_s")}
    same = {k: pandas_ref[k] / max(ours_ref[k], 1e-9) for k in ("wall_s", "cpu_s")}
    spreads = ("prompt_p50_p90_p99_max", "response_p50_p90_p99_max")
    mismatches = [f for f in (*FIGURES, *spreads) if ours_ref[f] != pandas_ref[f]]

    n = ours["rows"]
    print(f"profile benchmark: N={n:,} synthetic LMSYS-shaped conversations, tokenizer {tokenizer}")
    if gen_s is None:
        print("  data written earlier by arenapref.synth.generate, reused from --workdir")
    else:
        print(f"  data written by arenapref.synth.generate in {gen_s:.1f} s (not part of the budget)")
    print(
        f"  the pandas reference and tokenizing alone ran on whole shards holding "
        f"{pandas_ref['rows']:,} conversations; their times at N are extrapolated linearly (x{scale:.2f})"
    )
    cols = (
        "arenapref at N",
        "pandas at N (extrap.)",
        "tokenize at N (extr.)",
        "arenapref on subset",
        "pandas on subset",
    )
    print(_row("", *cols))
    print(
        _row(
            "conversations", f"{n:,}", f"{n:,}", f"{n:,}", f"{ours_ref['rows']:,}", f"{pandas_ref['rows']:,}"
        )
    )
    for key, label in (("wall_s", "wall s"), ("cpu_s", "cpu s (user+sys)")):
        cells = (ours[key], at_n[key], floor_at_n[key], ours_ref[key], pandas_ref[key])
        print(_row(label, *(f"{c:.1f}" for c in cells)))
    rss = (ours["peak_rss_mb"], None, None, ours_ref["peak_rss_mb"], pandas_ref["peak_rss_mb"])
    print(_row("peak RSS MB", *("-" if c is None else f"{c:.0f}" for c in rss)))
    for f in FIGURES:
        print(_row(f, f"{ours[f]:,}", "", "", f"{ours_ref[f]:,}", f"{pandas_ref[f]:,}"))
    for f in spreads:
        print(
            _row(
                f,
                "/".join(map(str, ours[f])),
                "",
                "",
                "/".join(map(str, ours_ref[f])),
                "/".join(map(str, pandas_ref[f])),
            )
        )
    print(
        f"speed-up over pandas at N: {speedup['wall_s']:.1f}x wall, {speedup['cpu_s']:.1f}x cpu; "
        f"on the same subset: {same['wall_s']:.1f}x wall, {same['cpu_s']:.1f}x cpu"
    )
    print(
        f"reading + tokenizing alone (no profile, as arenapref tokenizes) takes {floor_at_n['cpu_s']:.1f} "
        f"cpu s at N ({floor_at_n['wall_s']:.1f} s wall): what exact token counts cost any implementation"
    )
    print(
        "figures agree on the subset"
        if not mismatches
        else f"MISMATCH on the subset: {', '.join(mismatches)}"
    )
    if n >= BUDGET_N:
        checks = [
            (f"wall <= {WALL_BUDGET_S:.0f} s", ours["wall_s"] <= WALL_BUDGET_S),
            (f"peak RSS <= {RSS_BUDGET_MB:.0f} MB", ours["peak_rss_mb"] <= RSS_BUDGET_MB),
            (f"speed-up >= {MIN_SPEEDUP:.0f}x (wall)", speedup["wall_s"] >= MIN_SPEEDUP),
        ]
        print("budget: " + "; ".join(f"{name}: {'PASS' if ok else 'FAIL'}" for name, ok in checks))
    else:
        print(f"budget checks apply at N >= {BUDGET_N:,}; this run is smaller")
    return {
        "generate_s": gen_s,
        "arenapref": ours,
        "arenapref_on_subset": ours_ref,
        "pandas_on_subset": pandas_ref,
        "tokenize_only_on_subset": floor_ref,
        "pandas_at_n": at_n,
        "speedup": speedup,
        "speedup_same_subset": same,
        "mismatches": mismatches,
    }


if __name__ == "__main__":
    main()
