"""A fast student that assigns prompts to a topic map fitted in a sentence transformer's space.

Why: the map's quality is the transformer's (k-means runs on MiniLM sentence vectors of the fit
sample), but the transformer reads about 200 prompts per second on two cores, so per-row topic columns
over a million rows (mining's per-topic funnel, choosing extra data by topic) would take more than an
hour. The student is trained on the fit sample's own transformer assignments and reads tens of thousands
of prompts per second:

* features: the static token table distilled from the same transformer, contextualised and mapped onto
  its sentence vectors with *every* fit prompt (they have been through the transformer already), side by
  side with word TF-IDF reduced by SVD (the ``hybrid`` embedder of embedders.py);
* a multinomial logistic regression from those features to the map's topics.

Its honesty figures are measured at fit time and saved with the map: the student's agreement with the
transformer on fit prompts it was not trained on (a seeded hold-out; the final student is then refitted
on all of them), next to the map's own stability (matched agreement of the k-means labels from two seeds
on the same vectors). A student that agrees with the map about as often as the map agrees with itself
under another seed adds no error a user could notice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from scipy.optimize import linear_sum_assignment
from sklearn.linear_model import LogisticRegression

from arenapref.topics.embedders import HybridEmbedder
from arenapref.topics.static import StaticEmbedder
from arenapref.topics.terms import as_text_array

# Share of the fit prompts held out to measure the student's agreement before it is refitted on all.
HOLDOUT = 0.2
# Inverse L2 strength of the logistic regression.
C = 10.0
MAX_ITER = 300


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


class TopicStudent:
    """Hybrid features and a linear classifier that imitate a transformer topic map's assignments."""

    def __init__(self, features: HybridEmbedder | None = None) -> None:
        self.features = features or HybridEmbedder()
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None

    def fit(
        self, texts: pa.Array, labels: np.ndarray, k: int, seed: int, context_texts: list[str] | None = None
    ) -> float:
        """Learn the features on ``texts`` and the classifier on ``labels``; return held-out agreement.

        ``context_texts`` are the prompts whose transformer outputs contextualise the static table (the
        whole fit sample, whose outputs are cached by content, so this costs no second transformer pass).
        """
        texts = as_text_array(texts)
        self.features.fit(texts, seed, context_texts=context_texts)
        x = self.features.embed(texts)
        rng = np.random.default_rng(seed)
        held = np.zeros(len(labels), dtype=bool)
        held[rng.permutation(len(labels))[: round(HOLDOUT * len(labels))]] = True
        agreement = float("nan")
        if held.any() and len(np.unique(labels[~held])) == k:
            self._fit_classifier(x[~held], labels[~held], k, seed)
            agreement = float(np.mean(self._argmax(x[held]) == labels[held]))
        self._fit_classifier(x, labels, k, seed)
        return agreement

    def _fit_classifier(self, x: np.ndarray, labels: np.ndarray, k: int, seed: int) -> None:
        clf = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed).fit(x, labels)
        coef = np.zeros((k, x.shape[1]), dtype=np.float32)
        intercept = np.full(k, -np.inf, dtype=np.float32)  # a topic absent from training is never chosen
        if len(clf.classes_) == 2:  # scikit-learn keeps one row for two classes
            coef[clf.classes_[1]], intercept[clf.classes_[1]] = clf.coef_[0], clf.intercept_[0]
            coef[clf.classes_[0]], intercept[clf.classes_[0]] = 0.0, 0.0
        else:
            coef[clf.classes_], intercept[clf.classes_] = clf.coef_, clf.intercept_
        self.coef_, self.intercept_ = coef, intercept

    def _argmax(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.argmax(self._logits(x), axis=1))

    def _logits(self, x: np.ndarray) -> np.ndarray:
        if self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("the topic student is not fitted")
        return np.asarray(x @ self.coef_.T + self.intercept_, dtype=np.float32)

    def scores(self, texts: pa.Array) -> np.ndarray:
        """(n, k) logits; a row of zeros where the features know nothing of the text (unassigned)."""
        x = self.features.embed(texts)
        out = self._logits(x)
        out[~np.any(x != 0, axis=1)] = 0.0
        return out

    def settings(self) -> dict[str, Any]:
        return {"features": self.features.settings(), "C": C}

    def arrays(self) -> dict[str, np.ndarray]:
        if self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("the topic student is not fitted")
        out = {f"features.{k}": v for k, v in self.features.arrays().items()}
        out.update({"coef": self.coef_, "intercept": self.intercept_})
        return out

    @classmethod
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> TopicStudent:
        prefix = "features."
        features = HybridEmbedder.restore(
            settings["features"], {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        )
        student = cls(features)
        student.coef_ = arrays["coef"].astype(np.float32)
        student.intercept_ = arrays["intercept"].astype(np.float32)
        return student


def new_student(vocab_limit: int, context: int) -> TopicStudent:
    """A student whose static part reads ``context`` fit prompts' transformer outputs."""
    return TopicStudent(HybridEmbedder(static=StaticEmbedder(vocab_limit=vocab_limit, context=context)))
