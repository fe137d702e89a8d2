"""Fit a topic map with the LMSYS-Chat-1M paper's recipe, and save, load and apply it.

Recipe (paper defaults): a seeded random sample of conversations, their first user prompt, English only,
prompts of 32 to 1536 characters, de-duplicated, embedded, L2-normalised, k-means with k = 20. Each
topic is then described by its most distinctive terms (class-based TF-IDF, as in BERTopic) and by the
prompts nearest its centroid, so a person can tell what the cluster is about without an LLM.

A prompt's topic is the centroid with the highest cosine similarity. Using the same rule for the fitting
sample (sizes, examples, labels) and for later assignment keeps the saved sizes consistent with what
``assign`` returns for the same prompts.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from arenapref.atomic import atomic_dir
from arenapref.compare.normalize import prompt_keys
from arenapref.compare.sources import as_table
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.progress import ProgressFn
from arenapref.readers import Source, open_source
from arenapref.records import first_user_turn
from arenapref.rejects import RejectLog
from arenapref.settings import SettingsError, build
from arenapref.threads import resolve_threads
from arenapref.topics.embedders import (
    TRANSFORMERS,
    Embedder,
    MiniLMEmbedder,
    MpnetEmbedder,
    TfidfSvdEmbedder,
    l2_normalize,
    load_embedder,
    load_parts,
    make_embedder,
    resolve_embedder,
    save_embedder,
    save_parts,
)
from arenapref.topics.settings import FitSettings
from arenapref.topics.student import (
    MIN_PROMPTS,
    TopicStudent,
    fit_student,
    holdout_mask,
    matched_agreement,
)
from arenapref.topics.terms import TermCounter, as_text_array

MODEL_FORMAT = "arenapref-topic-map"
MODEL_VERSION = 1
ASSIGN_BATCH = 65_536
INIT_SUBSAMPLE = 20_000
EXAMPLE_CHARS = 300
ENGLISH_NAMES = frozenset({"english", "en"})
TOPIC_TYPE = pa.int32()
# Why a prompt got no topic (the ``topic_unassigned`` column and the probe's counts).
NO_PROMPT = "no user prompt"
NOTHING_KNOWN = "nothing the embedder knows (no known words or tokens)"


@dataclass(slots=True)
class Topic:
    """One topic of a fitted map."""

    topic: int
    size: int
    share: float
    label: str
    terms: list[str]
    examples: list[str]
    title: str | None = None


TOPICS_SCHEMA = pa.schema(
    [
        ("topic", pa.int64()),
        ("size", pa.int64()),
        ("share", pa.float64()),
        ("label", pa.string()),
        ("terms", pa.string()),
        ("title", pa.string()),
    ]
)


@dataclass(repr=False)
class TopicModel(NotebookResult):
    """A fitted topic map: embedder, unit centroids, and what each topic is about (``to_arrow``)."""

    settings: FitSettings
    embedder: Embedder
    centroids: np.ndarray
    topics: list[Topic]
    stats: dict[str, int] = field(default_factory=dict)
    source: str = ""
    # The recipe's steps in order with the prompts left after each, for the fit's output.
    recipe: list[dict[str, Any]] = field(default_factory=list)
    # Sentences the fit wants a person to read (e.g. the default embedder fell back to tfidf).
    notes: list[str] = field(default_factory=list)
    # The student that places rows fast on a transformer map (None: rows go through ``embedder``).
    student: TopicStudent | None = None
    # Fit-time honesty figures: student agreement on held-out fit prompts, the map's seed stability.
    quality: dict[str, float] = field(default_factory=dict)
    # How fast the fit embedded (prompts/s); not saved, so two fits of the same data write identical maps.
    timing: dict[str, float] = field(default_factory=dict)
    # The fit's MiniLM vectors by prompt, in memory only: the probe's exact sample and the transformer
    # assigner take a prompt's vector from here rather than embed it again. A MiniLM vector is a function
    # of its text alone, bit for bit (batch, padding and threads change nothing; tests/test_topics_api.py
    # checks), so reusing one changes no figure, only the time.
    embedded: dict[str, np.ndarray] = field(default_factory=dict)
    # The folder the map was saved to or loaded from (None: only in memory); an executor's workers load
    # the map from there.
    folder: Path | None = None

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def to_arrow(self) -> pa.Table:
        """One row per topic: id, size, share, label, top terms and the LLM title where written."""
        return pa.Table.from_pylist(
            [
                {
                    "topic": t.topic,
                    "size": t.size,
                    "share": t.share,
                    "label": t.label,
                    "terms": ", ".join(t.terms),
                    "title": t.title,
                }
                for t in self.topics
            ],
            schema=TOPICS_SCHEMA,
        )

    def summary_lines(self) -> list[str]:
        s = self.stats
        fitted = f" on {s['kept']:,} of {s['sampled']:,} sampled prompts" if "kept" in s else ""
        return [f"{self.k} topics, embedder {self.embedder.name}{fitted}", *self.notes]

    @property
    def labels(self) -> list[str]:
        """Short label per topic id: the LLM title when one was written, else the top terms."""
        return [t.title or t.label for t in self.topics]

    def assign_texts(self, texts: pa.Array | pa.ChunkedArray | list[str | None]) -> np.ndarray:
        """Topic id of every text (int32); -1 where the map cannot place it (see ``assign_with_reasons``)."""
        return self.assign_with_reasons(texts)[0]

    @property
    def assigner(self) -> str:
        """What places rows: "student" or the embedder's name (the transformer itself, or a static map)."""
        return (
            "student"
            if self.student is not None and self.settings.assign == "student"
            else self.embedder.name
        )

    def assign_with_reasons(
        self, texts: pa.Array | pa.ChunkedArray | list[str | None], exact: bool = False
    ) -> tuple[np.ndarray, pa.Array]:
        """Topic id of every text (int32, -1 when unassigned) and why each unassigned one is (else null).

        Unassigned is a null or blank text (``NO_PROMPT``), or one whose vector is zero
        (``NOTHING_KNOWN``: e.g. a tfidf map and a prompt in another language); "nearest centroid" of a
        zero vector would be arbitrary, so the map says so instead of guessing. ``exact`` places rows
        with the map's own embedder even when a student is there (the sampled probe does).
        """
        student = None if exact or self.assigner != "student" else self.student
        arr = as_text_array(texts)
        out = np.full(len(arr), -1, dtype=np.int32)
        present = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(pc.fill_null(arr, ""))), 0)
        present_np = present.to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(present_np)
        for start in range(0, len(rows), ASSIGN_BATCH):
            chunk = rows[start : start + ASSIGN_BATCH]
            part = arr.take(pa.array(chunk))
            scores = (
                student.scores(part, self.centroids) if student is not None else self._embedder_scores(part)
            )
            best = np.argmax(scores, axis=1).astype(np.int32)
            best[~np.any(scores != 0, axis=1)] = -1
            out[chunk] = best
        reasons = np.full(len(arr), None, dtype=object)
        reasons[~present_np] = NO_PROMPT
        reasons[present_np & (out < 0)] = NOTHING_KNOWN
        return out, pa.array(reasons, pa.string())

    def _embedder_scores(self, texts: pa.Array) -> np.ndarray:
        """``embedder.scores`` of present ``texts``, each distinct text embedded once and the fit's
        prompts not at all (their vectors are in ``embedded``)."""
        if not self.embedded:
            return self.embedder.scores(texts, self.centroids)
        values = texts.to_pylist()
        vectors = np.empty((len(values), self.centroids.shape[1]), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(values):
            known = self.embedded.get(text)
            if known is None:
                todo.setdefault(text, []).append(i)
            else:
                vectors[i] = known
        if todo:
            for rows, vector in zip(todo.values(), self.embedder.embed(pa.array(list(todo))), strict=True):
                vectors[rows] = vector
        return np.asarray(vectors @ self.centroids.T, dtype=np.float32)

    def save(self, folder: str | Path, rejects: RejectLog | None = None) -> Path:
        """Write the map as JSON, ``.npy`` and ``.npz`` files (no pickle) into ``folder``, atomically.

        The folder is replaced as a whole (complete or absent). ``rejects`` (the recipe's dropped
        prompts) go to ``rejects.jsonl``; without it, a ``rejects.jsonl`` already in the folder is kept,
        so re-saving a map after ``topics title`` does not lose the fit's record.
        """
        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            self._write(tmp)
            if rejects is not None:
                rejects.write(tmp / "rejects.jsonl")
            elif (folder / "rejects.jsonl").is_file():
                shutil.copyfile(folder / "rejects.jsonl", tmp / "rejects.jsonl")
        self.folder = folder
        return folder

    def _write(self, folder: Path) -> None:
        meta = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "settings": self.settings.model_dump(),
            "embedder": self.embedder.name,
            "k": self.k,
            "dim": int(self.centroids.shape[1]),
            "source": self.source,
            "stats": self.stats,
            "recipe": self.recipe,
            "notes": self.notes,
            "quality": self.quality,
            "student": self.student is not None,
        }
        (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        np.save(folder / "centroids.npy", self.centroids.astype(np.float32))
        save_embedder(self.embedder, folder)
        if self.student is not None:
            save_parts(folder, "student", self.student.settings(), self.student.arrays())
        topics = [asdict(t) for t in self.topics]
        (folder / "topics.json").write_text(
            json.dumps(topics, indent=2, ensure_ascii=False), encoding="utf-8"
        )


def load_model(folder: str | Path) -> TopicModel:
    """Load a map written by ``TopicModel.save``; refuses other formats and versions with one sentence."""
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise ArenaprefError(f"{folder}: not a topic map folder (no model.json); make one with `topics fit`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArenaprefError(f"{meta_path}: unreadable ({exc})") from exc
    if meta.get("format") != MODEL_FORMAT:
        raise ArenaprefError(f"{meta_path}: not an arenapref topic map (format {meta.get('format')!r})")
    if meta.get("version") != MODEL_VERSION:
        raise ArenaprefError(
            f"{folder}: topic map version {meta.get('version')!r}, this arenapref reads version "
            f"{MODEL_VERSION}; refit it with `arenapref topics fit`"
        )
    try:
        centroids = np.load(folder / "centroids.npy", allow_pickle=False)
        topics = [Topic(**t) for t in json.loads((folder / "topics.json").read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError) as exc:
        raise ArenaprefError(f"{folder}: topic map files are damaged ({exc})") from exc
    embedder = load_embedder(folder)
    student = None
    if meta.get("student"):
        settings, arrays = load_parts(folder, "student")
        student = TopicStudent.restore(settings, arrays)
    if centroids.shape != (meta["k"], meta["dim"]) or len(topics) != meta["k"]:
        raise ArenaprefError(f"{folder}: centroids, topics and model.json disagree on the number of topics")
    try:
        recipe = build(FitSettings, **meta.get("settings", {}))
    except SettingsError as exc:
        raise ArenaprefError(f"{meta_path}: the saved settings are not a topic recipe ({exc})") from None
    return TopicModel(
        settings=recipe,
        embedder=embedder,
        centroids=centroids.astype(np.float32),
        topics=topics,
        stats={str(k): int(v) for k, v in meta.get("stats", {}).items()},
        source=str(meta.get("source", "")),
        recipe=list(meta.get("recipe", [])),
        notes=[str(n) for n in meta.get("notes", [])],
        student=student,
        quality={str(k): float(v) for k, v in meta.get("quality", {}).items()},
        folder=folder,
    )


@lru_cache(maxsize=4)
def cached_model(folder: str) -> TopicModel:
    """One map per worker process and folder: loading (and an ONNX session) costs more than a block."""
    return load_model(folder)


# ---------------------------------------------------------------------------------------------- sampling


@dataclass
class PromptSample:
    """First user prompts of a seeded random sample of a source, in source order."""

    rows: np.ndarray
    texts: pa.Array
    languages: pa.Array


def sample_first_prompts(batches: Iterable[pa.RecordBatch | pa.Table], n: int, seed: int) -> PromptSample:
    """A uniform random sample of ``n`` rows, streamed so a 1M-row source is never held whole.

    Each row draws one uniform key from a generator seeded by ``seed`` (in row order, so the draw does
    not depend on batch sizes); the ``n`` smallest keys win. Only the prompt and language are kept.
    """
    rng = np.random.default_rng(seed)
    keys: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    texts: list[pa.Array] = []
    langs: list[pa.Array] = []
    offset = 0
    held = 0
    for batch in batches:
        m = batch.num_rows
        if m == 0:
            continue
        keys.append(rng.random(m))
        rows.append(np.arange(offset, offset + m, dtype=np.int64))
        texts.append(as_text_array(first_user_turn(batch)))
        lang = batch.column("language") if "language" in batch.schema.names else pa.nulls(m, pa.string())
        langs.append(as_text_array(lang))
        offset += m
        held += m
        if held > 2 * n + ASSIGN_BATCH:
            keys, rows, texts, langs = _keep_smallest(keys, rows, texts, langs, n)
            held = n
    keys, rows, texts, langs = _keep_smallest(keys, rows, texts, langs, n)
    if not rows:
        return PromptSample(np.zeros(0, np.int64), pa.array([], pa.string()), pa.array([], pa.string()))
    return PromptSample(rows[0], texts[0], langs[0])


def _keep_smallest(
    keys: list[np.ndarray], rows: list[np.ndarray], texts: list[pa.Array], langs: list[pa.Array], n: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[pa.Array], list[pa.Array]]:
    if not keys:
        return keys, rows, texts, langs
    all_keys = np.concatenate(keys)
    chosen = np.argsort(all_keys, kind="stable")[:n] if len(all_keys) > n else np.arange(len(all_keys))
    chosen = np.sort(chosen)
    take = pa.array(chosen)
    all_rows = np.concatenate(rows)[chosen]
    text = pa.concat_arrays(texts).take(take)
    lang = pa.concat_arrays(langs).take(take)
    return [all_keys[chosen]], [all_rows], [text], [lang]


def _is_english(texts: pa.Array, languages: pa.Array) -> np.ndarray:
    """The source's language column where it has one; py3langid for rows without it."""
    declared = languages.to_pylist()
    out = np.zeros(len(texts), dtype=bool)
    unknown = [i for i, lang in enumerate(declared) if lang is None]
    for i, lang in enumerate(declared):
        if lang is not None:
            out[i] = lang.strip().lower() in ENGLISH_NAMES
    if unknown:
        import py3langid

        values = texts.take(pa.array(unknown, pa.int64())).to_pylist()
        for i, text in zip(unknown, values, strict=True):
            out[i] = py3langid.classify(text or "")[0] == "en"
    return out


def select_prompts(
    sample: PromptSample, settings: FitSettings, rejects: RejectLog, source_name: str
) -> tuple[pa.Array, np.ndarray, Counter[str]]:
    """Apply the recipe's filters in the paper's order; every dropped prompt is logged with its reason."""
    counts: Counter[str] = Counter()
    texts = sample.texts
    lengths = pc.utf8_length(pc.fill_null(texts, "")).to_numpy(zero_copy_only=False)
    blank = ~pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(pc.fill_null(texts, ""))), 0).to_numpy(
        zero_copy_only=False
    )
    reason = np.full(len(texts), "", dtype=object)
    reason[blank] = "no user prompt"
    if settings.english_only:
        todo = np.flatnonzero(reason == "")
        english = _is_english(texts.take(pa.array(todo)), sample.languages.take(pa.array(todo)))
        reason[todo[~english]] = "not English"
    todo = reason == ""
    reason[todo & (lengths < settings.min_chars)] = f"shorter than {settings.min_chars} characters"
    reason[todo & (lengths > settings.max_chars)] = f"longer than {settings.max_chars} characters"
    todo_idx = np.flatnonzero(reason == "")
    keys = prompt_keys(texts.take(pa.array(todo_idx))).to_numpy(zero_copy_only=False)
    _, first = np.unique(keys, return_index=True)
    duplicate = np.ones(len(todo_idx), dtype=bool)
    duplicate[first] = False
    reason[todo_idx[duplicate]] = "duplicate prompt"
    for i in np.flatnonzero(reason != ""):
        counts[str(reason[i])] += 1
        rejects.add(source_name, int(sample.rows[i]), str(reason[i]), raw=texts[int(i)].as_py() or "")
    kept = np.flatnonzero(reason == "")
    return texts.take(pa.array(kept)), sample.rows[kept], counts


# ------------------------------------------------------------------------------------------------ fitting


def _open(
    source: str | Path | Source | pa.Table | list[Any], format: str | None, rejects: RejectLog
) -> tuple[str, Iterable[pa.RecordBatch | pa.Table]]:
    """The source's name and its batches, streamed; a list's sources one after another (names joined)."""
    if isinstance(source, list):
        opened = [_open(s, format, rejects) for s in source]
        return "+".join(name for name, _ in opened), chain.from_iterable(b for _, b in opened)
    if isinstance(source, pa.Table):
        return "table", source.to_batches()
    if isinstance(source, Source):
        return str(source.path), source.batches()
    opened_source = open_source(source, format, rejects)
    return str(opened_source.path), opened_source.batches()


def fit_topics(
    source: str | Path | Source | pa.Table | list[Any],
    settings: FitSettings | None = None,
    format: str | None = None,
    rejects: RejectLog | None = None,
    threads: int = 0,
    progress: ProgressFn | None = None,
) -> TopicModel:
    """Fit a topic map on a source (path, opened ``Source`` or table in a shared schema, or a list of them).

    ``threads`` caps the BLAS/OpenMP threads of the SVD and k-means; 0 (the default) means every core,
    or ``ARENAPREF_THREADS`` (``arenapref.threads``): on a busy 2-core machine threads that wait for each
    other made a 1,135-prompt fit take 20 s instead of 3 s, so a shared machine should set it to 1.
    Results for one seed are reproducible at a given thread count. ``progress`` (a callable,
    ``arenapref.progress``) gets ``progress(step, number, None)`` as each recipe step starts.

    With a transformer embedder (the default, MiniLM), k-means runs on the transformer's sentence vectors
    of a seeded sample of at most ``map_sample`` kept prompts (cached by content), so the map is the
    transformer's; with ``assign = "student"`` a fast student (MiniLM maps only) is then placed over it to
    assign other rows (see student.py).
    """
    settings = settings or FitSettings()
    name_used, note = resolve_embedder(settings.embedder)
    settings = settings.model_copy(update={"embedder": name_used})
    rejects = rejects if rejects is not None else RejectLog()
    steps = _Steps(progress)
    steps.start("reading and sampling")
    name, batches = _open(source, format, rejects)
    sample = sample_first_prompts(batches, settings.sample, settings.seed)
    steps.start("filtering (first user turn, English, length, duplicates)")
    texts, rows, dropped = select_prompts(sample, settings, rejects, name)
    _require_enough(len(texts), settings.k, name, dropped)
    embedder = make_embedder(settings.embedder, settings.distill_vocab)
    selected = len(texts)
    if embedder.name in TRANSFORMERS and 0 < settings.map_sample < len(texts):
        chosen = np.sort(
            np.random.default_rng(settings.seed).choice(len(texts), settings.map_sample, replace=False)
        )
        texts, rows = texts.take(pa.array(chosen)), rows[chosen]
    with threadpool_limits(limits=resolve_threads(threads)):
        steps.start(f"embedding {len(texts):,} prompts ({embedder.name})")
        started = time.perf_counter()
        embedder.fit(texts, settings.seed)
        fit_texts = texts.to_pylist()
        held = holdout_mask(len(fit_texts), settings.seed)
        parts = None
        if isinstance(embedder, MiniLMEmbedder):
            vectors, parts = embedder.embed_parts(texts, held)
        elif isinstance(embedder, MpnetEmbedder):
            vectors = embedder.embed_cached(texts)
        else:
            vectors = embedder.embed(texts)
        embed_seconds = time.perf_counter() - started
        placed = np.any(vectors != 0, axis=1)
        # A prompt with nothing the embedder knows embeds to zero: it has no direction to cluster by.
        empty = np.flatnonzero(~np.any(vectors != 0, axis=1))
        for i in empty:
            rejects.add(name, int(rows[i]), "no known terms", raw=texts[int(i)].as_py() or "")
        if len(empty):
            dropped["no known terms"] += len(empty)
            keep = np.any(vectors != 0, axis=1)
            texts, vectors = texts.filter(pa.array(keep)), vectors[keep]
            _require_enough(len(texts), settings.k, name, dropped)
        steps.start(f"k-means, k = {settings.k}")
        centroids = kmeans_centroids(vectors, settings.k, settings.n_init, settings.seed)
    steps.start("labels (class-based TF-IDF terms, nearest prompts)")
    similarity = vectors @ centroids.T
    raw_labels = np.argmax(similarity, axis=1)
    # Topic ids by decreasing size (ties: k-means order), so topic 0 is the biggest in every fit.
    sizes = np.bincount(raw_labels, minlength=settings.k)
    order = np.lexsort((np.arange(settings.k), -sizes))
    centroids = centroids[order]
    similarity = similarity[:, order]
    labels = np.argmax(similarity, axis=1)
    quality: dict[str, float] = {}
    student = None
    note_small: str | None = None
    if embedder.name in TRANSFORMERS:
        with threadpool_limits(limits=max(1, threads)):
            steps.start("map stability (a second k-means seed)")
            other = kmeans_centroids(vectors, settings.k, settings.n_init, settings.seed + 1)
            quality["seed_stability"] = round(
                matched_agreement(labels, np.argmax(vectors @ other.T, axis=1), settings.k), 4
            )
            if settings.assign == "student" and parts is None:
                note_small = (
                    f"{embedder.name} maps have no student; rows are placed by {embedder.name} itself"
                )
            elif settings.assign == "student" and (~held).sum() < MIN_PROMPTS:
                note_small = (
                    f"{len(fit_texts):,} fit prompts are too few for a student (it needs "
                    f"{MIN_PROMPTS:,} outside its hold-out); rows are placed by the transformer itself"
                )
            elif settings.assign == "student" and parts is not None:  # parts: MiniLM's outputs
                steps.start("student (static table mapped onto the transformer's space)")
                # Labels of every fit prompt in fit order; -1 for any the transformer left empty.
                fit_labels = np.full(len(fit_texts), -1, dtype=np.int64)
                fit_labels[np.flatnonzero(placed)] = labels
                student, agreement = fit_student(
                    fit_texts, parts, held, fit_labels, centroids, settings.seed, settings.distill_vocab
                )
                quality["student_agreement"] = round(agreement, 4)
    counter = embedder.counter if isinstance(embedder, TfidfSvdEmbedder) else TermCounter().fit(texts)
    terms = class_tfidf_terms(counter.counts(texts), labels, settings.k, counter.terms, settings.label_terms)
    topics = []
    text_list = texts.to_pylist()
    for t in range(settings.k):
        members = np.flatnonzero(labels == t)
        nearest = members[np.argsort(-similarity[members, t], kind="stable")[: settings.examples]]
        topics.append(
            Topic(
                topic=t,
                size=len(members),
                share=round(len(members) / len(labels), 6),
                label=", ".join(terms[t][:5]) or f"topic {t}",
                terms=terms[t],
                examples=[_clip(text_list[i]) for i in nearest],
            )
        )
    stats = {
        "sampled": len(sample.texts),
        "selected": selected,
        "kept": len(texts),
        **{f"dropped: {k}": v for k, v in dropped.items()},
    }
    recipe = recipe_steps(settings, len(sample.texts), dropped, len(texts), embedder.name)
    timing = {"embed_prompts_per_second": round(len(texts) / max(embed_seconds, 1e-9), 1)}
    notes = [n for n in (note, note_small) if n]
    embedded = dict(zip(text_list, vectors, strict=True)) if isinstance(embedder, MiniLMEmbedder) else {}
    return TopicModel(
        settings, embedder, centroids, topics, stats, name, recipe, notes, student, quality, timing, embedded
    )


def recipe_steps(
    settings: FitSettings, sampled: int, dropped: Counter[str], kept: int, embedder: str
) -> list[dict[str, Any]]:
    """The paper's recipe as explicit steps, each with the number of prompts left after it."""
    left = sampled
    out: list[dict[str, Any]] = [{"step": f"random sample of {settings.sample:,} rows", "count": left}]
    filters = [
        ("first user turn", NO_PROMPT),
        ("English" if settings.english_only else "any language (--all-languages)", "not English"),
        (f"at least {settings.min_chars} characters", f"shorter than {settings.min_chars} characters"),
        (f"at most {settings.max_chars} characters", f"longer than {settings.max_chars} characters"),
        ("de-duplicated", "duplicate prompt"),
    ]
    for step, reason in filters:
        left -= dropped.get(reason, 0)
        out.append({"step": step, "count": left})
    if embedder in TRANSFORMERS and 0 < settings.map_sample < left:
        left = settings.map_sample
        out.append({"step": f"seeded sample of {left:,} for the transformer (map_sample)", "count": left})
    out.append({"step": f"embedded ({embedder}), L2-normalised, non-empty", "count": kept})
    k_step = f"k-means, k = {settings.k}; summarised from the prompts nearest each centroid"
    out.append({"step": k_step, "count": kept})
    return out


class _Steps:
    """Numbers the recipe's steps for a ``progress(step, number, None)`` callable (or nothing)."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self._done = 0

    def start(self, description: str) -> None:
        self._done += 1
        if self.progress is not None:
            self.progress(description, self._done, None)


def kmeans_centroids(vectors: np.ndarray, k: int, n_init: int, seed: int) -> np.ndarray:
    """Unit k-means centroids: the best of ``n_init`` seeded runs on a subsample, refined on all vectors.

    Why the two steps: k-means' failure mode on topic data is a local minimum that merges two topics
    and splits another; more restarts fix it, but each restart on 100k prompts costs seconds. Restarts
    on a 20k subsample are cheap, and one Lloyd run on everything from the best start keeps the result
    a k-means fit of the whole sample.
    """
    rng = np.random.default_rng(seed)
    subset = (
        vectors[np.sort(rng.choice(len(vectors), INIT_SUBSAMPLE, replace=False))]
        if len(vectors) > INIT_SUBSAMPLE
        else vectors
    )
    first = KMeans(n_clusters=k, n_init=n_init, random_state=seed, algorithm="lloyd").fit(subset)
    if subset is vectors:
        return l2_normalize(np.asarray(first.cluster_centers_, dtype=np.float32))
    final = KMeans(n_clusters=k, init=first.cluster_centers_, n_init=1, random_state=seed, algorithm="lloyd")
    return l2_normalize(np.asarray(final.fit(vectors).cluster_centers_, dtype=np.float32))


def _require_enough(n: int, k: int, name: str, dropped: Counter[str]) -> None:
    if n < max(k * 2, 10):
        raise ArenaprefError(
            f"{name}: only {n} prompts left after sampling and filtering ({_describe(dropped)}); "
            f"a {k}-topic map needs more"
        )


def _describe(dropped: Counter[str]) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in dropped.most_common()) or "none dropped"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


# Words of the request rather than of the subject: they make labels like "does, tell, using" that say
# nothing about the topic. Only labels skip them; embeddings keep them.
_REQUEST_WORDS = frozenset(
    [
        "please",
        "want",
        "need",
        "like",
        "does",
        "did",
        "tell",
        "know",
        "using",
        "use",
        "make",
        "just",
        "help",
        "hi",
        "hello",
        "thanks",
        "thank",
        "let",
        "ll",
        "don",
        "doesn",
        "isn",
        "ve",
        "im",
        "given",
        "following",
    ]
)


def _label_worthy(term: str) -> bool:
    """Terms a label may show: not numbers, not request boilerplate."""
    words = term.split()
    return not any(w.isdigit() for w in words) and not all(w in _REQUEST_WORDS for w in words)


def class_tfidf_terms(
    counts: sp.csr_matrix, labels: np.ndarray, k: int, vocabulary: list[str], n_terms: int
) -> list[list[str]]:
    """The most distinctive terms of each class by c-TF-IDF (BERTopic's formula).

    The documents of a class are joined into one; tf is L1-normalised per class and the idf is
    log(1 + A / f_t), A the mean number of words per class and f_t the term's frequency over all classes.
    A term whose words are all already shown (``python code`` after ``python`` and ``code``, or the
    reverse) is skipped, so the label spends its few slots on new words.
    """
    membership = sp.csr_matrix(
        (np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels))
    )
    per_class = np.asarray((membership @ counts).todense(), dtype=np.float64)
    totals = per_class.sum(axis=1, keepdims=True)
    tf = per_class / np.where(totals == 0, 1.0, totals)
    freq = per_class.sum(axis=0)
    mean_words = per_class.sum() / k
    idf = np.log(1.0 + mean_words / np.where(freq == 0, 1.0, freq))
    scores = tf * idf
    usable = np.array([_label_worthy(term) for term in vocabulary], dtype=bool)
    out = []
    for row in scores:
        chosen: list[str] = []
        seen: set[str] = set()
        for j in np.lexsort((np.arange(len(row)), -row)):
            if row[j] <= 0 or len(chosen) >= n_terms:
                break
            words = set(vocabulary[j].split())
            if not usable[j] or words <= seen:
                continue
            chosen.append(vocabulary[j])
            seen |= words
        out.append(chosen)
    return out


# ---------------------------------------------------------------------------------------------- assigning


def _records(data: Any) -> pa.Table | pa.RecordBatch:
    """Records in the shared schema from a table, path, DataFrame or Dataset (read by the readers)."""
    if isinstance(data, pa.RecordBatch):
        return data
    return as_table(data, "data")[0]


def assign_topics(model: TopicModel, table: Any) -> pa.Array:
    """The topic of each row's first user prompt (int32; null where the map cannot place it).

    ``table``: records in the shared schema, or anything the readers read (path, DataFrame, Dataset).
    """
    ids = model.assign_texts(as_text_array(first_user_turn(_records(table))))
    return pa.array(ids, TOPIC_TYPE, mask=ids < 0)


TOPIC_COLUMNS = ("topic", "topic_label", "topic_unassigned")


def with_topic_columns(model: TopicModel, table: Any) -> pa.Table:
    """``table`` with ``topic``, ``topic_label`` and ``topic_unassigned`` appended (replaced if there).

    ``topic_unassigned`` is null for a placed row and says why for the others, so no row is silently
    without a topic. A DataFrame, Dataset or path is read into the shared schema first.
    """
    table = _records(table)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    for name in TOPIC_COLUMNS:
        if name in table.column_names:
            table = table.drop_columns([name])
    ids, reasons = model.assign_with_reasons(as_text_array(first_user_turn(table)))
    topic = pa.array(ids, TOPIC_TYPE, mask=ids < 0)
    labels = pa.array(model.labels, pa.string())
    label = pc.take(labels, topic) if len(topic) else pa.array([], pa.string())
    return (
        table.append_column("topic", topic)
        .append_column("topic_label", label)
        .append_column("topic_unassigned", reasons)
    )


def topic_batches(model: TopicModel, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    """Streamed ``with_topic_columns`` over a source's batches (bounded memory for 1M rows)."""
    for batch in batches:
        yield with_topic_columns(model, pa.Table.from_batches([batch]))
