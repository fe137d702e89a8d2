"""A fast student that places prompts on a topic map fitted in a sentence transformer's space.

Why: the map's quality is the transformer's (k-means runs on MiniLM sentence vectors of the fit
sample), but the transformer reads about 200 prompts per second on two cores, so per-row topic columns
over a million rows (mining's per-topic funnel, choosing extra data by topic) would take more than an
hour. The student is the static token table distilled from the same transformer (static.py),
contextualised with the transformer's outputs on the fit sample and mapped by ridge regression onto the
transformer's own sentence vectors of those prompts; a prompt goes to the map's nearest centroid in that
imitated space. It reads tens of thousands of prompts per second.

Why not a classifier trained on the map's topics: measured on real prompts (bench/bench_topics.py), a
logistic regression over static and TF-IDF features needs many prompts per topic and agreed with the map
on 20-50% of unseen prompts (k = 50 and 250), where the imitated space agreed on 67-75%, above the
map's own stability under another k-means seed (44-49%).

Its honesty figure is measured at fit time and saved with the map: the student is fitted on 80% of the
fit sample and scored on the other 20% against the transformer's own topics (the transformer ran over
the two parts separately, so this costs no second pass); the final student is then refitted on every
prompt. Next to it, the map's stability: the matched agreement of the k-means labels from two seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from scipy.optimize import linear_sum_assignment

from arenapref.topics.static import StaticEmbedder, merge_outputs
from arenapref.topics.terms import as_text_array

# Share of the fit prompts held out to measure the student's agreement before it is refitted on all.
HOLDOUT = 0.2
# Fewer fit prompts than this (outside the hold-out) cannot map the 256-wide table onto the transformer's
# space without memorising them (static.py); such maps are small enough to place rows exactly.
MIN_PROMPTS = 512


def matched_agreement(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Share of rows whose labels agree once ``b``'s topic ids are matched one-to-one to ``a``'s.

    k-means numbers its clusters arbitrarily, so two runs are compared after the best matching
    (Hungarian algorithm on the contingency table).
    """
    if len(a) == 0:
        return 0.0
    table = np.zeros((k, k), dtype=np.int64)
    np.add.at(table, (a, b), 1)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(a))


def holdout_mask(n: int, seed: int) -> np.ndarray:
    """The seeded share of fit prompts the student is first scored on."""
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(seed).permutation(n)[: round(HOLDOUT * n)]] = True
    return held


class TopicStudent:
    """The static table mapped onto the transformer's space; topics by the map's nearest centroid."""

    def __init__(self, static: StaticEmbedder | None = None) -> None:
        self.static = static or StaticEmbedder()

    def fit(self, texts: list[str], outputs: dict[str, np.ndarray], seed: int) -> None:
        """Learn the table from the transformer ``outputs`` of exactly ``texts`` (``contextual_outputs``)."""
        self.static.context = len(texts)
        self.static.fit(pa.array(texts, pa.string()), seed, context_texts=texts, outputs=outputs)

    def scores(self, texts: pa.Array, centroids: np.ndarray) -> np.ndarray:
        """(n, k) cosine to each centroid; a row of zeros where the table knows nothing of the text."""
        return np.asarray(self.static.embed(as_text_array(texts)) @ centroids.T, dtype=np.float32)

    def settings(self) -> dict[str, Any]:
        return self.static.settings()

    def arrays(self) -> dict[str, np.ndarray]:
        return self.static.arrays()

    @classmethod
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> TopicStudent:
        return cls(StaticEmbedder.restore(settings, arrays))


def fit_student(
    texts: list[str],
    parts: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    held: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray,
    seed: int,
    vocab_limit: int = 0,
) -> tuple[TopicStudent, float]:
    """The student refitted on every fit prompt, and its agreement on ``held`` when fitted without them.

    ``parts`` are the transformer outputs of the kept prompts and of the held ones, in that order.
    """
    kept_texts = [t for t, h in zip(texts, held, strict=True) if not h]
    held_texts = [t for t, h in zip(texts, held, strict=True) if h]
    agreement = float("nan")
    if held_texts and kept_texts:
        trial = TopicStudent(StaticEmbedder(vocab_limit=vocab_limit))
        trial.fit(kept_texts, parts[0], seed)
        placed = np.argmax(trial.scores(pa.array(held_texts, pa.string()), centroids), axis=1)
        known = labels[held] >= 0
        agreement = float(np.mean(placed[known] == labels[held][known])) if known.any() else agreement
    student = TopicStudent(StaticEmbedder(vocab_limit=vocab_limit))
    student.fit(kept_texts + held_texts, merge_outputs(list(parts)), seed)
    return student, agreement
