"""Benchmark of the topic map on synthetic LMSYS prompts with planted topics.

Measures, in one run: fit time and adjusted Rand index (ARI) against the planted topics with the default
embedder; assignment throughput (prompts/s, extrapolated to 1M); the MiniLM embedder's sentences/s and
the ARI of k-means on its vectors; and a plain reference side by side: sklearn's TfidfVectorizer (same
n-grams, sublinear tf, stop words) with k-means on the sparse TF-IDF rows (no SVD, no Arrow tokenizer).

    .venv/bin/python bench/bench_topics.py --n 100000 --assign-n 1000000 --minilm-n 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from arenapref.errors import MissingDependencyError
from arenapref.readers import open_source
from arenapref.records import first_user_turn
from arenapref.rejects import RejectLog
from arenapref.synth import generate
from arenapref.topics import FitSettings, MiniLMEmbedder, fit_topics
from arenapref.topics.fit import sample_first_prompts, select_prompts


def planted_topics(synth_dir: Path, rows: np.ndarray) -> np.ndarray:
    """The planted topic of the given LMSYS rows (row numbers in shard order)."""
    ids = pq.read_table(synth_dir / "lmsys", columns=["conversation_id"]).column("conversation_id")
    truth = pq.read_table(
        synth_dir / "truth" / "conversations.parquet", columns=["conversation_id", "topic_id"]
    )
    topic_of = dict(
        zip(truth.column("conversation_id").to_pylist(), truth.column("topic_id").to_pylist(), strict=True)
    )
    wanted = ids.take(pa.array(rows)).to_pylist()
    return np.array([topic_of[i] for i in wanted])


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="synthetic conversations (= fit sample)")
    parser.add_argument("--assign-n", type=int, default=1_000_000, help="prompts to assign")
    parser.add_argument("--minilm-n", type=int, default=2000, help="prompts embedded with MiniLM (0: skip)")
    parser.add_argument(
        "--reference-assign-n", type=int, default=100_000, help="prompts the reference assigns"
    )
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads, ours and reference")
    parser.add_argument("--workdir", type=Path, default=None, help="where the synthetic workspace goes")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_topics_"))
    synth_dir = workdir / f"synth_{args.n}_{args.seed}"
    t0 = time.perf_counter()
    if not (synth_dir / "manifest.json").exists():
        generate(synth_dir, conversations=args.n, battles=100, seed=args.seed)
    print(f"synthetic workspace: {synth_dir} ({time.perf_counter() - t0:.1f} s, not counted)")
    figures: dict[str, float] = {}

    # --- ours: fit (read, sample, filter, dedupe, embed, k-means, labels) -------------------------------
    settings = FitSettings(k=args.k, sample=args.n, seed=args.seed)
    t0, c0 = time.perf_counter(), time.process_time()
    model = fit_topics(synth_dir / "lmsys", settings, threads=args.threads)
    figures["fit_seconds"] = time.perf_counter() - t0
    figures["fit_cpu_seconds"] = time.process_time() - c0
    sample = sample_first_prompts(open_source(synth_dir / "lmsys").batches(), args.n, args.seed)
    kept, rows, _ = select_prompts(sample, settings, RejectLog(), "bench")
    truth = planted_topics(synth_dir, rows)
    figures["fit_prompts"] = float(len(kept))
    figures["ari"] = float(adjusted_rand_score(truth, model.assign_texts(kept)))
    print(f"fit: {figures['fit_seconds']:.1f} s, ARI {figures['ari']:.3f}", flush=True)

    # --- ours: assignment throughput ------------------------------------------------------------------
    table = open_source(synth_dir / "lmsys").read_table()
    prompts = pc.drop_null(first_user_turn(table))
    reps = -(-args.assign_n // len(prompts))
    many = pa.concat_arrays([prompts] * reps).slice(0, args.assign_n)
    t0, c0 = time.perf_counter(), time.process_time()
    model.assign_texts(many)
    seconds = time.perf_counter() - t0
    figures["assign_seconds"] = seconds
    figures["assign_cpu_seconds"] = time.process_time() - c0
    figures["assign_per_second"] = args.assign_n / seconds
    figures["assign_per_cpu_second"] = args.assign_n / figures["assign_cpu_seconds"]
    print(f"assign: {seconds:.1f} s for {args.assign_n:,} prompts", flush=True)

    # --- reference: sklearn TfidfVectorizer + k-means on sparse TF-IDF --------------------------------
    texts = kept.to_pylist()
    t0, c0 = time.perf_counter(), time.process_time()
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_df=0.5, stop_words="english", max_features=32_768
    )
    x = vectorizer.fit_transform(texts)
    with threadpool_limits(limits=args.threads):
        km = KMeans(n_clusters=args.k, n_init=1, random_state=args.seed).fit(x)
    figures["reference_fit_seconds"] = time.perf_counter() - t0
    figures["reference_fit_cpu_seconds"] = time.process_time() - c0
    figures["reference_ari"] = float(adjusted_rand_score(truth, km.labels_))
    ref_n = min(args.reference_assign_n, args.assign_n)
    ref_texts = many.slice(0, ref_n).to_pylist()
    t0, c0 = time.perf_counter(), time.process_time()
    km.predict(vectorizer.transform(ref_texts))
    figures["reference_assign_per_second"] = ref_n / (time.perf_counter() - t0)
    figures["reference_assign_per_cpu_second"] = ref_n / (time.process_time() - c0)

    # --- MiniLM option ----------------------------------------------------------------------------------
    if args.minilm_n > 0:
        try:
            emb = MiniLMEmbedder()
            subset = kept.slice(0, min(args.minilm_n, len(kept)))
            emb.fit(subset, args.seed)
            t0, c0 = time.perf_counter(), time.process_time()
            vectors = emb.embed(subset)
            figures["minilm_per_second"] = len(subset) / (time.perf_counter() - t0)
            figures["minilm_per_cpu_second"] = len(subset) / (time.process_time() - c0)
            labels = KMeans(n_clusters=args.k, n_init=4, random_state=args.seed).fit_predict(vectors)
            figures["minilm_ari"] = float(adjusted_rand_score(truth[: len(subset)], labels))
        except MissingDependencyError as exc:
            print(f"MiniLM skipped: {exc}")

    print(f"fit on {len(kept):,} prompts (of {args.n:,} sampled conversations), k={args.k}")
    print(f"{'':34}{'ours':>12}{'reference':>12}{'ratio':>8}")
    rows_out = [
        ("fit seconds (wall)", figures["fit_seconds"], figures["reference_fit_seconds"]),
        ("fit seconds (CPU)", figures["fit_cpu_seconds"], figures["reference_fit_cpu_seconds"]),
        ("ARI vs planted topics", figures["ari"], figures["reference_ari"]),
        ("assign prompts/s (wall)", figures["assign_per_second"], figures["reference_assign_per_second"]),
        (
            "assign prompts/s (CPU)",
            figures["assign_per_cpu_second"],
            figures["reference_assign_per_cpu_second"],
        ),
    ]
    for name, ours, ref in rows_out:
        print(f"{name:34}{ours:12.3f}{ref:12.3f}{ours / ref if ref else float('nan'):8.2f}")
    print(
        f"assign {args.assign_n:,} prompts: {figures['assign_seconds']:.1f} s wall, "
        f"{figures['assign_cpu_seconds']:.1f} s CPU (ours)"
    )
    if "minilm_per_second" in figures:
        print(
            f"MiniLM: {figures['minilm_per_second']:.0f} sentences/s wall, "
            f"{figures['minilm_per_cpu_second']:.0f}/CPU-s on "
            f"{min(args.minilm_n, len(kept))} prompts; k-means ARI on those {figures['minilm_ari']:.3f}"
        )
    print("top labels:")
    for topic in model.topics[: args.k]:
        print(f"  {topic.topic:2d} {topic.share:6.1%}  {topic.label}")
    return figures


if __name__ == "__main__":
    main()
