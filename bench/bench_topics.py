"""Benchmark of the topic map: agreement with real topic labels per embedder, and speed at scale.

Part 1 (real data, when ../shared/data is present): for each embedder (hybrid, static, tfidf, minilm, and
mpnet, the paper's all-mpnet-base-v2, where the ``mpnet`` extra and its weight parts are installed),
k-means with k = the number of labels on real prompts with real topic labels, ARI and NMI (mean of 5
k-means seeds, same prompts, k and seeds for every embedder) side by side with embedding speed:
pandalm_human_999 (170 distinct instructions, motivation_app, 50 apps) and arena_hard_34_models
(500 prompts, 250 question clusters). The static part reads a MiniLM sample of the fitting prompts:
on these small sets the sample is the whole set (as for any fit of at most 2,000 prompts); the
"held-out" rows learn it instead from other real prompts only (arena_prompts_1135, the LMSYS sample
and the other labelled set); "half" rows learn it from a seeded half of the set plus those, and are
scored on the other half only (MiniLM too, on the same half): the 100k case, where the sample is the
user's own data and 98% of the prompts are outside it.
Distillation of the isolated-token table is timed cold (fresh cache folder) and warm (reused).

Part 2 (synthetic LMSYS prompts with planted topics):

Measures, in one run: fit time (wall and CPU, with the seconds at which each recipe step started) and
adjusted Rand index (ARI) against the planted topics with the default embedder; a contention
micro-benchmark (MiniLM over a fixed 200 of the prompts, uncached, just before and just after the fit:
its prompts/s and the share of the 2 cores the process got show how much of the fit's time is the
machine's load); assignment throughput (prompts/s, extrapolated to 1M); the MiniLM embedder's
sentences/s and the ARI of k-means on its vectors; and a plain reference side by side: sklearn's
TfidfVectorizer (same n-grams, sublinear tf, stop words) with k-means on the sparse TF-IDF rows (no SVD,
no Arrow tokenizer).

    .venv/bin/python bench/bench_topics.py --n 100000 --assign-n 1000000 --minilm-n 2000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from arenapref.errors import MissingDependencyError
from arenapref.progress import ProgressFn
from arenapref.readers import open_source
from arenapref.records import conform, first_user_turn
from arenapref.rejects import RejectLog
from arenapref.synth import generate
from arenapref.topics import FitSettings, MiniLMEmbedder, fit_topics
from arenapref.topics.embedders import HybridEmbedder, make_embedder
from arenapref.topics.fit import kmeans_centroids, sample_first_prompts, select_prompts
from arenapref.topics.static import StaticEmbedder, raw_token_table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_sets(shared: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Real prompts with real topic labels (distinct prompts only: PandaLM repeats an instruction)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    pandalm = shared / "pandalm_human_999" / "testset-v1.json"
    if pandalm.is_file():
        seen: dict[str, str] = {}
        for row in json.loads(pandalm.read_text(encoding="utf-8")):
            text = (row["instruction"] + "\n" + (row.get("input") or "")).strip()
            seen.setdefault(text, row["motivation_app"])
        out["pandalm_human_999 (motivation_app)"] = (list(seen), list(seen.values()))
    questions = shared / "arena_hard_34_models" / "question.jsonl"
    if questions.is_file():
        rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line]
        out["arena_hard_34_models (cluster)"] = (
            [r["turns"][0]["content"] for r in rows],
            [r["cluster"] for r in rows],
        )
    return out


def held_out_prompts(shared: Path, exclude: str) -> list[str]:
    """Real prompts other than the scored set's: what the held-out rows learn the context from.

    Lines are split on newlines only: ``splitlines`` also splits on U+2028 inside JSON strings.
    """
    out: list[str] = []
    battles = shared / "arena_prompts_1135" / "arena_battles_1135.jsonl"
    if battles.is_file():
        for line in filter(None, battles.read_text(encoding="utf-8").split("\n")):
            out.append(json.loads(line)["turns"][0])
    lmsys = shared / "lmsys_chat_1m_sample" / "lmsys_1000.jsonl"
    if lmsys.is_file():
        for line in filter(None, lmsys.read_text(encoding="utf-8").split("\n")):
            out.append(json.loads(line)["conversation"][0]["content"])
    for name, (texts, _) in real_sets(shared).items():
        if name != exclude:
            out += texts
    return [t for t in dict.fromkeys(out) if t and t.strip()]


def agreement(
    name: str,
    texts: list[str],
    labels: list[str],
    seeds: int = 5,
    limit: int = 0,
    context_texts: list[str] | None = None,
    scored: np.ndarray | None = None,
) -> dict[str, float]:
    """ARI/NMI of the map's clustering (kmeans_centroids + nearest centroid) and embedding prompts/s.

    k-means runs over every prompt; ``scored`` (a boolean mask) restricts ARI/NMI to those prompts.
    """
    if limit:
        texts, labels = texts[:limit], labels[:limit]
    arr = pa.array(texts, pa.string())
    emb = make_embedder(name)
    if context_texts is not None and isinstance(emb, HybridEmbedder | StaticEmbedder):
        emb.fit(arr, 0, context_texts=context_texts)
    else:
        emb.fit(arr, 0)
    t0 = time.perf_counter()
    vectors = emb.embed(arr)
    per_second = len(texts) / (time.perf_counter() - t0)
    k = len(set(labels))
    aris, nmis = [], []
    for seed in range(seeds):
        centroids = kmeans_centroids(vectors, k, 4, seed)
        predicted = np.argmax(vectors @ centroids.T, axis=1)
        truth = np.asarray(labels, dtype=object)
        if scored is not None:
            truth, predicted = truth[scored], predicted[scored]
        aris.append(adjusted_rand_score(truth, predicted))
        nmis.append(normalized_mutual_info_score(truth, predicted))
    return {"ari": float(np.mean(aris)), "nmi": float(np.mean(nmis)), "per_second": per_second}


# (row, embedder, where the MiniLM sample comes from): "self" = the scored set (as in any fit of at most
# 2,000 prompts), "held-out" = other real prompts only, "half" = one seeded half of the scored set plus the
# other real prompts, scored on the other half only (the 100k case: the sample is the user's own data, and
# most prompts are outside it); "half" for minilm scores it on the same half, for a like-for-like figure.
REAL_ROWS = (
    ("hybrid (default)", "hybrid", "self"),
    ("hybrid, held-out", "hybrid", "held-out"),
    ("hybrid, half", "hybrid", "half"),
    ("static", "static", "self"),
    ("static, held-out", "static", "held-out"),
    ("tfidf", "tfidf", "self"),
    ("minilm", "minilm", "self"),
    ("minilm, half", "minilm", "half"),
    ("mpnet (the paper's model)", "mpnet", "self"),
)


def _context(
    how: str, emb: str, texts: list[str], held_out: list[str], half: np.ndarray
) -> tuple[list[str] | None, np.ndarray | None]:
    """The MiniLM sample for a row and the prompts it is scored on (None: the defaults)."""
    if how == "held-out":
        return held_out, None
    if how == "half":
        context = None if emb == "minilm" else [t for t, h in zip(texts, half, strict=True) if h] + held_out
        return context, ~half
    return None, None


def real_table(shared: Path, figures: dict[str, float], minilm_limit: int, seeds: int = 5) -> None:
    sets = real_sets(shared)
    if not sets:
        print(f"real-data table skipped: {shared} is not present")
        return
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        raw_token_table(cache=Path(cache))
        figures["distill_cold_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, info = raw_token_table(cache=Path(cache))
        figures["distill_warm_seconds"] = time.perf_counter() - t0
    print(
        f"isolated-token table distilled from the bundled MiniLM ONNX: "
        f"{figures['distill_cold_seconds']:.1f} s "
        f"cold, {figures['distill_warm_seconds']:.2f} s reused from the cache (reused={info['reused']})"
    )
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for set_name, (texts, labels) in sets.items():
        key = set_name.split()[0]
        held_out = held_out_prompts(shared, set_name)
        half = np.zeros(len(texts), dtype=bool)
        half[np.random.default_rng(0).permutation(len(texts))[: len(texts) // 2]] = True
        for row, emb, how in REAL_ROWS:
            if how == "half" and emb == "minilm" and minilm_limit:
                continue
            context, scored = _context(how, emb, texts, held_out, half)
            try:
                r = agreement(
                    emb,
                    texts,
                    labels,
                    seeds,
                    minilm_limit if emb == "minilm" else 0,
                    context_texts=context,
                    scored=scored,
                )
            except MissingDependencyError as exc:
                print(f"{row}: skipped: {exc}")
                continue
            rows.setdefault(row, {})[key] = r
            slug = row.split(" (")[0].replace(", ", "_").replace("-", "_")
            figures.update({f"{key}_{slug}_{m}": v for m, v in r.items()})
    keys = [name.split()[0] for name in sets]
    print(f"agreement with real topic labels (mean of {seeds} k-means seeds, k = number of labels)")
    header = "".join(f"{k.split('_')[0] + ' ARI':>14}{'NMI':>7}" for k in keys)
    print(f"{'embedder':20}{header}{'prompts/s':>11}")
    for row, per_set in rows.items():
        cells = "".join(
            f"{per_set[k]['ari']:14.3f}{per_set[k]['nmi']:7.3f}" if k in per_set else f"{'-':>14}{'-':>7}"
            for k in keys
        )
        speed = np.mean([r["per_second"] for r in per_set.values()])
        print(f"{row:20}{cells}{speed:11,.0f}", flush=True)


def student_table(shared: Path, figures: dict[str, float], seeds: int = 5) -> None:
    """The new default against MiniLM, in the regime that matters: a fit sample larger than the scored set.

    For each labelled set, the map is fitted (k = number of labels) on the MiniLM vectors of every real
    prompt (the set plus all other real prompts); the transformer's own assignment is the MiniLM
    reference. The student is trained on the fit prompts *outside* the scored set, as a 100k fit's
    student has never seen the rows it later places, and scored on the set. Seed stability: matched
    agreement of the map's labels under seeds s and s + 100 over the whole fit sample.
    """
    from arenapref.topics.static import contextual_outputs
    from arenapref.topics.student import TopicStudent, matched_agreement

    sets = real_sets(shared)
    if not sets:
        return
    print(f"new default on real prompts (mean of {seeds} seeds; student never saw the scored prompts)")
    print(
        f"{'set':14}{'fit':>6}{'MiniLM ARI':>11}{'NMI':>7}{'student ARI':>12}{'NMI':>7}"
        f"{'agreement':>10}{'stability':>10}{'student/s':>10}"
    )
    for set_name, (texts, labels) in sets.items():
        key = set_name.split()[0]
        pool = list(dict.fromkeys(texts + held_out_prompts(shared, set_name)))
        outputs, _ = contextual_outputs(pool)
        vectors = outputs["sentences"]
        scored = np.array([pool.index(t) for t in texts])
        outside = np.ones(len(pool), dtype=bool)
        outside[scored] = False
        k = len(set(labels))
        train = [pool[i] for i in np.flatnonzero(outside)]
        train_outputs, _ = contextual_outputs(train)
        rows: dict[str, list[float]] = {}
        for seed in range(seeds):
            centroids = kmeans_centroids(vectors, k, 4, seed)
            mapped = np.argmax(vectors @ centroids.T, axis=1)
            other = np.argmax(vectors @ kmeans_centroids(vectors, k, 4, seed + 100).T, axis=1)
            rows.setdefault("stability", []).append(matched_agreement(mapped, other, k))
            rows.setdefault("minilm_ari", []).append(adjusted_rand_score(labels, mapped[scored]))
            rows.setdefault("minilm_nmi", []).append(normalized_mutual_info_score(labels, mapped[scored]))
            student = TopicStudent()
            student.fit(train, train_outputs, seed)
            t0 = time.perf_counter()
            placed = np.argmax(student.scores(pa.array(texts), centroids), axis=1)
            rows.setdefault("per_second", []).append(len(texts) / (time.perf_counter() - t0))
            rows.setdefault("agreement", []).append(float(np.mean(placed == mapped[scored])))
            rows.setdefault("student_ari", []).append(adjusted_rand_score(labels, placed))
            rows.setdefault("student_nmi", []).append(normalized_mutual_info_score(labels, placed))
        means = {m: float(np.mean(v)) for m, v in rows.items()}
        figures.update({f"{key}_default_{m}": v for m, v in means.items()})
        print(
            f"{key.split('_')[0]:14}{len(pool):6d}{means['minilm_ari']:11.3f}{means['minilm_nmi']:7.3f}"
            f"{means['student_ari']:12.3f}{means['student_nmi']:7.3f}{means['agreement']:10.3f}"
            f"{means['stability']:10.3f}{means['per_second']:10,.0f}",
            flush=True,
        )


def probe_sample_table(shared: Path, figures: dict[str, float], seeds: int = 5) -> None:
    """Is a smaller probe sample honest? Each real source's topic shares from a seeded sample against the
    shares of every row placed exactly, on a MiniLM map fitted (k = 20, the default) on all real prompts.

    The sample is the default ``probe_sample`` (5,000) where a source has more rows (Arena-Hard's 34
    models' answers: 17,000), and otherwise a quarter of the rows, the ratio of the change (20,000 to
    5,000). Per source: the share of (seed, topic) cells whose full-source share lies inside the sample's
    95% Wilson interval (about 95% or more if the intervals are honest), the largest distance in points
    and the largest interval half-width. Every row's vector is computed once (``TopicModel.embedded``).
    """
    from arenapref.topics.probe import PROBE_SAMPLE, probe, wilson_interval
    from arenapref.topics.settings import FitSettings as Recipe

    paths = {
        "pandalm_human_999": shared / "pandalm_human_999" / "testset-v1.json",
        "arena_hard_34_models": shared / "arena_hard_34_models",
        "lmsys_chat_1m_sample": shared / "lmsys_chat_1m_sample" / "lmsys_1000.jsonl",
        "arena_prompts_1135": shared / "arena_prompts_1135" / "arena_battles_1135.jsonl",
    }
    # Each source as its rows' first prompts (battles and conversations alike, in a battles' prompt column).
    tables = {
        n: conform(
            pa.table({"prompt": [[t] for t in first_user_turn(open_source(p).read_table()).to_pylist()]}),
            "battles",
        )
        for n, p in paths.items()
        if p.exists()
    }
    if not tables:
        return
    fit_on = pa.concat_tables(list(tables.values()))
    model = fit_topics(fit_on, Recipe(seed=0))
    print(
        f"probe sample against every row (MiniLM map, k = {model.k}, fitted on {model.stats['kept']:,} real "
        f"prompts; {seeds} sample seeds): full share inside the sample's 95% interval"
    )
    print(f"{'source':22}{'rows':>7}{'sample':>8}{'inside':>9}{'max diff':>10}{'max half':>10}")
    for name, table in tables.items():
        rows = table.num_rows
        sample = PROBE_SAMPLE if rows > PROBE_SAMPLE else rows // 4
        full = probe(model, [table], [name], sample=rows).mixes[0]
        inside, cells, diff, half = 0, 0, 0.0, 0.0
        for seed in range(seeds):
            model.settings = model.settings.model_copy(update={"seed": seed})
            part = probe(model, [table], [name], sample=sample).mixes[0]
            for count, total_count in zip(part.counts, full.counts, strict=True):
                lo, hi = wilson_interval(count, part.n)
                truth = total_count / full.n
                inside += int(lo <= truth <= hi)
                cells += 1
                diff = max(diff, abs(count / part.n - truth))
                half = max(half, (hi - lo) / 2)
        model.settings = model.settings.model_copy(update={"seed": 0})
        key = name.split("_")[0]
        figures.update({f"probe_{key}_inside": inside / cells, f"probe_{key}_max_diff": diff})
        print(
            f"{name:22}{rows:7,}{part.n:8,}{inside / cells:9.1%}{100 * diff:9.2f}p{100 * half:9.2f}p",
            flush=True,
        )


def micro_benchmark(texts: pa.Array) -> dict[str, float]:
    """MiniLM over a fixed set of prompts, uncached: how fast the transformer runs on this machine *now*.

    Run beside the fit in the same process, it shows what share of the fit's time is the machine's load:
    ``cores`` is CPU seconds per wall second (2.0 = both cores of an idle 2-core machine).
    """
    emb = MiniLMEmbedder()
    emb.fit(texts, 0)
    t0, c0 = time.perf_counter(), time.process_time()
    emb.embed(texts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"per_second": len(texts) / wall, "per_cpu_second": len(texts) / cpu, "cores": cpu / wall}


def speed_table(shared: Path, n: int) -> None:
    """MiniLM and mpnet over the same ``n`` real prompts (Arena-Hard's), uncached, in one run.

    Prints prompts/s (wall), prompts per CPU-second and the share of the 2 cores the process got, so the
    two models' speeds are compared under the same load. Model loading is not timed.
    """
    texts = pa.array(real_sets(shared).get("arena_hard_34_models (cluster)", ([], []))[0][:n], pa.string())
    if len(texts) == 0:
        print(f"speed table skipped: no Arena-Hard prompts under {shared}")
        return
    print(f"{'embedder':10}{'prompts':>9}{'prompts/s':>11}{'per CPU-s':>11}{'cores':>7}")
    for name in ("minilm", "mpnet"):
        try:
            emb = make_embedder(name)
            emb.fit(texts, 0)
        except MissingDependencyError as exc:
            print(f"{name}: skipped: {exc}")
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        emb.embed(texts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{name:10}{len(texts):9d}{len(texts) / wall:11.1f}{len(texts) / cpu:11.1f}{cpu / wall:7.2f}")


def step_timer(t0: float) -> ProgressFn:
    """A fit progress callback that prints each recipe step with the seconds since ``t0``: where time goes."""

    def report(step: str, number: int, total: int | None) -> None:
        del number, total
        print(f"  {time.perf_counter() - t0:7.1f} s  {step}", flush=True)

    return report


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
    parser.add_argument("--shared", type=Path, default=SHARED, help="folder of the real labelled samples")
    parser.add_argument("--real-minilm-n", type=int, default=0, help="cap MiniLM's real prompts (0: all)")
    parser.add_argument("--real-seeds", type=int, default=5, help="k-means seeds per real-data figure")
    parser.add_argument("--real-only", action="store_true", help="print the real-data table and stop")
    parser.add_argument("--cold-cache", action="store_true", help="fit with a fresh, empty user cache")
    parser.add_argument(
        "--micro-n", type=int, default=200, help="prompts of the contention micro-benchmark (0: skip)"
    )
    parser.add_argument(
        "--default-only", action="store_true", help="print only the new default's real-data table and stop"
    )
    parser.add_argument(
        "--speed", type=int, default=0, help="only time minilm and mpnet on this many real prompts"
    )
    parser.add_argument(
        "--probe-sample",
        action="store_true",
        help="print only the probe-sample check on the real sets (sampled shares against every row's)",
    )
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared by other jobs)")
    figures: dict[str, float] = {}
    if args.speed:
        speed_table(args.shared, args.speed)
        return figures
    if args.probe_sample:
        probe_sample_table(args.shared, figures, args.real_seeds)
        return figures
    if not args.default_only:
        real_table(args.shared, figures, args.real_minilm_n, args.real_seeds)
    student_table(args.shared, figures, args.real_seeds)
    if args.real_only or args.default_only:
        return figures

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_topics_"))
    synth_dir = workdir / f"synth_{args.n}_{args.seed}"
    t0 = time.perf_counter()
    if not (synth_dir / "manifest.json").exists():
        generate(synth_dir, conversations=args.n, battles=100, seed=args.seed)
    print(f"synthetic workspace: {synth_dir} ({time.perf_counter() - t0:.1f} s, not counted)")

    # --- ours: fit (read, sample, filter, dedupe, embed, k-means, labels) -------------------------------
    settings = FitSettings(k=args.k, sample=args.n, seed=args.seed)
    sample = sample_first_prompts(open_source(synth_dir / "lmsys").batches(), args.n, args.seed)
    kept, rows, _ = select_prompts(sample, settings, RejectLog(), "bench")
    micro_texts = kept.slice(0, args.micro_n)
    if args.micro_n:
        figures.update({f"micro_before_{k}": v for k, v in micro_benchmark(micro_texts).items()})
        print(
            f"micro-benchmark before the fit: {figures['micro_before_per_second']:.1f} prompts/s, "
            f"{figures['micro_before_per_cpu_second']:.1f} per CPU-s, "
            f"{figures['micro_before_cores']:.2f} of 2 cores",
            flush=True,
        )
    if args.cold_cache:  # a fresh user cache: the fit pays for the transformer pass and the token table
        os.environ["ARENAPREF_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_topics_cache_")
    t0, c0 = time.perf_counter(), time.process_time()
    model = fit_topics(synth_dir / "lmsys", settings, threads=args.threads, progress=step_timer(t0))
    figures["fit_seconds"] = time.perf_counter() - t0
    figures["fit_cpu_seconds"] = time.process_time() - c0
    if args.micro_n:
        figures.update({f"micro_after_{k}": v for k, v in micro_benchmark(micro_texts).items()})
    truth = planted_topics(synth_dir, rows)
    figures["fit_prompts"] = float(len(kept))
    figures["ari"] = float(adjusted_rand_score(truth, model.assign_texts(kept)))
    figures.update(model.quality)
    figures.update(model.timing)
    print(
        f"fit: {figures['fit_seconds']:.1f} s wall, {figures['fit_cpu_seconds']:.1f} s CPU, "
        f"{model.stats['kept']:,} of {len(kept):,} kept prompts through the transformer at "
        f"{model.timing['embed_prompts_per_second']:.1f} prompts/s; ARI {figures['ari']:.3f} (assigned by "
        f"{model.assigner}); quality {model.quality}",
        flush=True,
    )
    if args.micro_n:
        m0, m1 = figures["micro_before_per_second"], figures["micro_after_per_second"]
        print(
            f"contention: the same micro-benchmark (MiniLM, {len(micro_texts)} of these prompts, not cached) "
            f"read {m0:.1f} prompts/s before the fit and {m1:.1f} after, getting "
            f"{figures['micro_before_cores']:.2f} and {figures['micro_after_cores']:.2f} of 2 cores "
            f"(load average now {os.getloadavg()[0]:.1f}); the fit's own transformer rate was "
            f"{model.timing['embed_prompts_per_second']:.1f} prompts/s",
            flush=True,
        )

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
    figures["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory (max RSS of this process, whole run): {figures['peak_rss_gb']:.2f} GB")
    print(
        f"default embedder {model.embedder.name}: fit {figures['fit_seconds']:.1f} s, {len(kept):,} prompts "
        f"(budget 300 s at 100k with a cold cache), assign ({model.assigner}) {args.assign_n:,} in "
        f"{figures['assign_seconds']:.1f} s = {figures['assign_per_second']:,.0f}/s (budget 5,000/s) "
        f"-> 1M in {figures['assign_seconds'] * 1_000_000 / args.assign_n:.0f} s (budget 300 s)"
    )
    print("top labels:")
    for topic in model.topics[: args.k]:
        print(f"  {topic.topic:2d} {topic.share:6.1%}  {topic.label}")
    return figures


if __name__ == "__main__":
    main()
