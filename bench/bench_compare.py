"""Benchmark of ``compare``: synthetic LMSYS-shaped conversations against competition-shaped prompts.

Run:  .venv/bin/python bench/bench_compare.py --conversations 1000000 --battles 60000

Measures, on a ``synth`` workspace (generated in a subprocess on first use and cached under --workdir, so
generation never counts towards the timings or the peak memory):

* wall time and peak RSS of reading both sides with the readers and running ``compare_tables``
  (keys, exact and placeholder matches, near-duplicates within and across sources, report);
* recall and precision against the generator's ground truth: planted near-duplicate variants inside
  LMSYS (pairs whose planted Jaccard >= threshold), and the planted exact / placeholder / near overlaps
  between the competition prompts and LMSYS;
* the same near-duplicate search done with a reference built on datasketch's MinHash + MinHashLSH
  (same shingles, same bands and rows, same exact verification), on a random subsample of the distinct
  texts and extrapolated linearly to all of them (MinHash and LSH cost per document is constant), with
  the agreement of both pair sets on that subsample.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasketch import MinHash, MinHashLSH

from arenapref.compare.near import NearDupSettings, near_pairs
from arenapref.compare.overlap import KINDS, NO_MATCH, concat_prompt_sets
from arenapref.compare.run import CompareResult, CompareSettings, compare_sets, read_prompt_set
from arenapref.synth import SynthManifest


def prepare(workdir: Path, conversations: int, battles: int, seed: int) -> SynthManifest:
    """The synthetic workspace for these sizes, generated once in a subprocess and then reused."""
    out = workdir / f"synth_{conversations}_{battles}_s{seed}"
    if not (out / "manifest.json").exists():
        code = (
            "import sys; from arenapref.synth import generate; a = sys.argv; "
            "generate(a[1], conversations=int(a[2]), battles=int(a[3]), seed=int(a[4]))"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(out), str(conversations), str(battles), str(seed)], check=True
        )
    return SynthManifest.load(out)


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)


def run_ours(m: SynthManifest, threshold: float) -> tuple[dict[str, Any], CompareResult]:
    """Read both sides batch by batch into prompt sets and compare them, as ``arenapref compare`` does."""
    settings = CompareSettings(threshold=threshold)
    t0, c0 = time.perf_counter(), time.process_time()
    train, _ = read_prompt_set(m.train_csv, settings=settings)
    test, _ = read_prompt_set(m.test_csv, settings=settings)
    comp = concat_prompt_sets([train, test])
    lmsys, _ = read_prompt_set(m.lmsys_dir, settings=settings)
    t1 = time.perf_counter()
    result = compare_sets(comp, lmsys, settings)
    t2 = time.perf_counter()
    figures = {
        "read_and_keys_s": t1 - t0,
        "compare_s": t2 - t1,
        "total_s": t2 - t0,
        "cpu_s": time.process_time() - c0,
        "peak_rss_gb": peak_rss_gb(),
        "near_s": sum(result.details.near_stats.seconds.values()),
        "documents": result.details.documents,
        "records": (len(comp), len(lmsys)),
        "stages": {k: round(v, 2) for k, v in result.report["seconds"].items()},
    }
    return figures, result


def first_turns(prompts: pa.ListArray) -> list[str | None]:
    has = pc.greater(pc.list_value_length(prompts), 0)
    return pc.list_element(pc.if_else(has, prompts, None), 0).to_pylist()  # type: ignore[no-any-return]


def truth_jaccard(a: str | None, b: str | None, ngram: int = 5) -> float:
    """The ground truth's own similarity: character 5-grams of lower-cased, whitespace-collapsed text."""
    sets = []
    for t in (a or "", b or ""):
        t = " ".join(t.lower().split())
        sets.append({t[i : i + ngram] for i in range(max(len(t) - ngram + 1, 1))} if t else set())
    union = sets[0] | sets[1]
    return len(sets[0] & sets[1]) / len(union) if union else 0.0


def evaluate(m: SynthManifest, result: CompareResult, threshold: float) -> dict[str, Any]:
    """Recall and precision of planted near-duplicates (inside LMSYS) and overlaps (across).

    Precision is given twice: against the planted pairs only, and counting as correct the unplanted
    pairs whose first turns are near-duplicates by the truth's own definition (the generator's templates
    produce some by accident: e.g. two prompts differing in one topic noun).
    """
    det = result.details
    comp, lmsys = result.left, result.right
    assert lmsys is not None
    truth = pl.from_arrow(pq.read_table(m.truth_conversations))
    assert isinstance(truth, pl.DataFrame)
    rec = pl.DataFrame(
        {
            "conversation_id": lmsys.ids.to_pylist(),
            "doc": det.right_docs,
            "first": first_turns(lmsys.prompts),
        }
    ).join(
        truth.select(
            "conversation_id", "prompt_group", "near_dup_group", "is_near_dup_variant", "near_dup_jaccard"
        ),
        on="conversation_id",
        how="left",
    )
    # Each prompt group is one document (identical user turns); a document maps back to one group.
    doc_info = rec.group_by("doc").agg(pl.col("near_dup_group").first(), pl.col("first").first())
    ndg = dict(zip(doc_info["doc"].to_list(), doc_info["near_dup_group"].to_list(), strict=True))
    first_of_doc = dict(zip(doc_info["doc"].to_list(), doc_info["first"].to_list(), strict=True))
    group_doc = dict(zip(rec["prompt_group"].to_list(), rec["doc"].to_list(), strict=True))
    u, v, _ = det.pairs
    lm_docs = set(det.right_docs.tolist())
    found = {(min(a, b), max(a, b)) for a, b in zip(u.tolist(), v.tolist(), strict=True)}
    in_lm = [p for p in found if p[0] in lm_docs and p[1] in lm_docs]
    planted = {p for p in in_lm if ndg.get(p[0]) is not None and ndg.get(p[0]) == ndg.get(p[1])}
    accidental = [
        p
        for p in in_lm
        if p not in planted and truth_jaccard(first_of_doc[p[0]], first_of_doc[p[1]]) >= threshold
    ]
    variants = (
        rec.filter(pl.col("is_near_dup_variant") & (pl.col("near_dup_jaccard") >= threshold))
        .select("prompt_group", "near_dup_group")
        .unique()
    )
    want = [(group_doc[g], group_doc[s]) for g, s in variants.iter_rows() if s in group_doc]
    hit = sum(1 for a, b in want if (min(a, b), max(a, b)) in found)
    out: dict[str, Any] = {
        "planted_near_pairs": len(want),
        "near_recall": hit / len(want) if want else float("nan"),
        "reported_near_pairs_in_lmsys": len(in_lm),
        "near_precision_planted": len(planted) / len(in_lm) if in_lm else float("nan"),
        "near_accidental_true": len(accidental),
        "near_precision": (len(planted) + len(accidental)) / len(in_lm) if in_lm else float("nan"),
    }
    # Across: each competition battle against its planted LMSYS prompt group.
    bt = pl.from_arrow(pq.read_table(m.truth_battles))
    assert isinstance(bt, pl.DataFrame)
    best = det.left_to_right
    has = best.partner != NO_MATCH
    partner_group = np.full(len(comp), -1, dtype=np.int64)
    partner_group[has] = rec["prompt_group"].to_numpy()[best.partner[has]]
    partner_first = np.full(len(comp), None, dtype=object)
    partner_first[has] = rec["first"].to_numpy()[best.partner[has]]
    mine = pl.DataFrame(
        {
            "id": comp.ids.to_pylist(),
            "kind": [KINDS[k] if k >= 0 else "none" for k in best.kind.tolist()],
            "partner_group": partner_group,
            "first": first_turns(comp.prompts),
            "partner_first": partner_first.tolist(),
        }
    ).join(bt.select("id", "overlap", "lmsys_prompt_group", "overlap_jaccard"), on="id", how="left")
    for kind in ("exact", "placeholder", "near"):
        sub = mine.filter(pl.col("overlap") == kind)
        if kind == "near":
            sub = sub.filter(pl.col("overlap_jaccard") >= threshold)
        ok = sub.filter(pl.col("partner_group") == pl.col("lmsys_prompt_group"))
        out[f"overlap_{kind}_planted"] = sub.height
        out[f"overlap_{kind}_recall"] = ok.height / sub.height if sub.height else float("nan")
        out[f"overlap_{kind}_found_as_{kind}"] = ok.filter(pl.col("kind") == kind).height
    matched = mine.filter(pl.col("kind") != "none")
    correct = matched.filter(pl.col("partner_group") == pl.col("lmsys_prompt_group"))
    wrong = matched.filter(pl.col("partner_group") != pl.col("lmsys_prompt_group").fill_null(-1))
    accidental_x = sum(
        1
        for k, a, b in wrong.select("kind", "first", "partner_first").iter_rows()
        if k == "near" and truth_jaccard(a, b) >= threshold
    )
    out["overlap_matched"] = matched.height
    out["overlap_precision_planted"] = correct.height / matched.height if matched.height else float("nan")
    out["overlap_accidental_true"] = accidental_x
    out["overlap_precision"] = (
        (correct.height + accidental_x) / matched.height if matched.height else float("nan")
    )
    return out


def _byte_shingles(text: str, ngram: int) -> set[bytes]:
    b = text.encode("utf-8")
    if not b:
        return set()
    if len(b) < ngram:
        return {b}
    return {b[i : i + ngram] for i in range(len(b) - ngram + 1)}


def reference_datasketch(texts: list[str], settings: NearDupSettings) -> tuple[float, set[tuple[int, int]]]:
    """The plain reference: datasketch MinHash + MinHashLSH, Python-set Jaccard verification."""
    bands, rows = settings.bands_rows
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=settings.threshold, num_perm=bands * rows, params=(bands, rows))
    shingles = [_byte_shingles(t, settings.ngram) for t in texts]
    hashes = []
    for k, sh in enumerate(shingles):
        mh = MinHash(num_perm=bands * rows, seed=settings.seed)
        if sh:
            mh.update_batch(list(sh))
            lsh.insert(k, mh)
        hashes.append(mh)
    pairs: set[tuple[int, int]] = set()
    for k, sh in enumerate(shingles):
        if not sh:
            continue
        for other in lsh.query(hashes[k]):
            if other <= k:
                continue
            o = shingles[other]
            if len(sh & o) / len(sh | o) >= settings.threshold - 1e-9:
                pairs.add((k, other))
    return time.perf_counter() - t0, pairs


def run_reference(result: CompareResult, sample: int, seed: int) -> dict[str, Any]:
    """Time datasketch and ours on the same random sample of distinct texts; extrapolate datasketch."""
    det = result.details
    n_docs = det.documents
    assert result.right is not None
    settings = NearDupSettings()
    # The distinct masked texts, one per document, in document order.
    all_docs = np.concatenate([det.left_docs, det.right_docs])
    texts = pa.concat_arrays([result.left.text, result.right.text])
    first = np.full(n_docs, -1, dtype=np.int64)
    first[all_docs[::-1]] = np.arange(len(all_docs))[::-1]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n_docs, size=min(sample, n_docs), replace=False))
    sub = texts.take(pa.array(first[pick]))
    c0 = time.process_time()
    ref_s, ref_pairs = reference_datasketch(sub.to_pylist(), settings)
    c1 = time.process_time()
    t0 = time.perf_counter()
    ours = near_pairs(sub, settings)
    ours_s = time.perf_counter() - t0
    c2 = time.process_time()
    our_pairs = set(zip(ours.i.tolist(), ours.j.tolist(), strict=True))
    union = ref_pairs | our_pairs
    return {
        "sample_docs": len(pick),
        "reference_sample_s": ref_s,
        "ours_sample_s": ours_s,
        "reference_extrapolated_s": ref_s * n_docs / len(pick),
        "reference_sample_cpu_s": c1 - c0,
        "ours_sample_cpu_s": c2 - c1,
        "pairs_reference": len(ref_pairs),
        "pairs_ours": len(our_pairs),
        "pair_agreement": len(ref_pairs & our_pairs) / len(union) if union else 1.0,
    }


def len_planted(quality: dict[str, Any]) -> str:
    n = round(quality["near_precision_planted"] * quality["reported_near_pairs_in_lmsys"])
    return f"{n:,}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--conversations", "--n", type=int, default=1_000_000)
    parser.add_argument("--battles", type=int, default=60_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--reference-sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/arenapref_bench"))
    args = parser.parse_args(argv)
    m = prepare(args.workdir, args.conversations, args.battles, args.seed)
    base_rss = peak_rss_gb()
    ours, result = run_ours(m, args.threshold)
    print(
        f"arenapref: {ours['total_s']:.1f} s wall, {ours['cpu_s']:.1f} s CPU, "
        f"peak RSS {ours['peak_rss_gb']:.2f} GB; stages {json.dumps(ours['stages'])}",
        flush=True,
    )
    quality = evaluate(m, result, args.threshold)
    ref = run_reference(result, args.reference_sample, args.seed)
    speedup = ref["reference_extrapolated_s"] / ours["near_s"] if ours["near_s"] else float("inf")
    figures = {
        "ours": ours,
        "quality": quality,
        "reference": ref,
        "speedup_near": speedup,
        "rss_before_gb": base_rss,
    }
    rows = [
        ("LMSYS conversations / competition prompts", f"{ours['records'][1]:,} / {ours['records'][0]:,}", ""),
        ("distinct masked texts (documents)", f"{ours['documents']:,}", ""),
        ("read both sides, keys and texts (readers)", f"{ours['read_and_keys_s']:.1f} s", ""),
        ("compare (exact, near, report)", f"{ours['compare_s']:.1f} s", ""),
        ("total wall time (budget 120 s)", f"{ours['total_s']:.1f} s", ""),
        ("total CPU time of this process", f"{ours['cpu_s']:.1f} s", ""),
        ("peak RSS (budget 6 GB)", f"{ours['peak_rss_gb']:.2f} GB", ""),
        (
            "near-dup search, all documents",
            f"{ours['near_s']:.1f} s",
            f"{ref['reference_extrapolated_s']:.1f} s (extrapolated from {ref['sample_docs']:,} docs)",
        ),
        (
            "near-dup search, same sample: wall / CPU",
            f"{ref['ours_sample_s']:.2f} s / {ref['ours_sample_cpu_s']:.2f} s",
            f"{ref['reference_sample_s']:.2f} s / {ref['reference_sample_cpu_s']:.2f} s",
        ),
        ("speed-up over datasketch (goal >= 5x)", f"{speedup:.1f}x", ""),
        ("pairs found on the sample", f"{ref['pairs_ours']:,}", f"{ref['pairs_reference']:,}"),
        ("pair-set agreement on the sample", f"{ref['pair_agreement']:.3f}", ""),
        ("planted LMSYS near-dup pairs (J >= threshold)", f"{quality['planted_near_pairs']:,}", ""),
        ("near-dup recall (goal >= 0.95)", f"{quality['near_recall']:.4f}", ""),
        (
            "reported LMSYS near pairs: planted / accidental / all",
            f"{len_planted(quality)} / {quality['near_accidental_true']:,} / "
            f"{quality['reported_near_pairs_in_lmsys']:,}",
            "",
        ),
        ("near-dup precision vs planted only", f"{quality['near_precision_planted']:.4f}", ""),
        ("near-dup precision (goal >= 0.99)", f"{quality['near_precision']:.4f}", ""),
        (
            "overlap recall exact / placeholder / near",
            f"{quality['overlap_exact_recall']:.3f} / {quality['overlap_placeholder_recall']:.3f} / "
            f"{quality['overlap_near_recall']:.3f}",
            "",
        ),
        ("overlap precision vs planted only", f"{quality['overlap_precision_planted']:.4f}", ""),
        ("overlap precision (accidental true near counted)", f"{quality['overlap_precision']:.4f}", ""),
    ]
    print(f"{'figure':<48} {'arenapref (rensa)':>24}   datasketch reference")
    for name, a, b in rows:
        print(f"{name:<48} {a:>24}   {b}")
    print("stage seconds:", json.dumps(ours["stages"]))
    print(f"load average while running (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return figures


if __name__ == "__main__":
    main()
