"""Near-duplicate search (arenapref.compare.near): shingles, derived LSH parameters, recall and precision."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from arenapref.compare.near import (
    NearDupSettings,
    clusters,
    near_pairs,
    optimal_param,
    shingle_hashes,
    verify,
)
from arenapref.compare.normalize import normalize_texts
from arenapref.errors import ArenaprefError


def py_shingles(text: str, settings: NearDupSettings) -> set[tuple[object, ...]]:
    """Reference shingles in plain Python: byte n-grams or word n-grams; short texts give one shingle."""
    tokens: list[object] = list(text.encode()) if settings.shingle == "char" else list(text.split())
    if not tokens:
        return set()
    n = settings.ngram
    if len(tokens) < n:
        return {tuple(tokens)}
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set[tuple[object, ...]], b: set[tuple[object, ...]]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def test_bands_and_rows_are_derived_from_the_threshold() -> None:
    b, r = optimal_param(0.8, 128)
    assert b * r <= 128
    # Weighted towards recall: a pair just at the threshold is a candidate with at least 99% probability
    # (the exact check drops the extra candidates), a pair at Jaccard 0.3 rarely.
    assert 1 - (1 - 0.8**r) ** b >= 0.99
    assert 1 - (1 - 0.3**r) ** b < 0.02
    assert NearDupSettings().bands_rows == (b, r)
    _, r9 = optimal_param(0.9, 128)
    assert r9 > r  # a higher threshold needs longer bands
    with pytest.raises(ArenaprefError):
        optimal_param(1.0, 128)


@pytest.mark.parametrize(("shingle", "ngram"), [("char", 5), ("char", 8), ("word", 3), ("word", 1)])
def test_shingles_match_a_python_reference(shingle: str, ngram: int) -> None:
    settings = NearDupSettings(shingle=shingle, ngram=ngram)  # type: ignore[arg-type]
    texts = ["hello world this is a test", "hi", "", "a b", "x y z w v u t s", "ünïcödé text here", "abcd"]
    flat, offsets = shingle_hashes(pa.array(texts), settings)
    for d, text in enumerate(texts):
        assert len(set(flat[offsets[d] : offsets[d + 1]].tolist())) == len(py_shingles(text, settings))
    # Exact Jaccard from the hashes equals the Python set Jaccard.
    i, j = np.array([0, 4, 0]), np.array([5, 5, 3])
    _, _, sims = verify(flat, offsets, i, j, threshold=0.0)
    expected = [
        jaccard(py_shingles(texts[a], settings), py_shingles(texts[b], settings))
        for a, b in zip(i, j, strict=True)
    ]
    assert sims.tolist() == pytest.approx(expected, abs=1e-6)


def test_character_ngrams_longer_than_eight_bytes_are_refused() -> None:
    with pytest.raises(ArenaprefError):
        shingle_hashes(pa.array(["text"]), NearDupSettings(ngram=9))


def planted_corpus(seed: int, n: int, variants: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Random texts plus variants with one word replaced, and the planted (source, variant) pairs."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(3000)]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(10, 60))) for _ in range(n)]
    planted = []
    for _ in range(variants):
        src = rng.randrange(n)
        words = texts[src].split()
        words[rng.randrange(len(words))] = rng.choice(vocab)
        texts.append(" ".join(words))
        planted.append((src, len(texts) - 1))
    return texts, planted


def test_recall_and_precision_on_planted_near_duplicates() -> None:
    texts, planted = planted_corpus(seed=3, n=3000, variants=300)
    settings = NearDupSettings(threshold=0.8)
    arr = normalize_texts(pa.array(texts))
    found = near_pairs(arr, settings)
    pairs = set(zip(found.i.tolist(), found.j.tolist(), strict=True))
    ref = [py_shingles(t, settings) for t in arr.to_pylist()]
    truly_near = [(a, b) for a, b in planted if jaccard(ref[a], ref[b]) >= 0.8]
    assert len(truly_near) > 200
    recall = sum((min(a, b), max(a, b)) in pairs for a, b in truly_near) / len(truly_near)
    assert recall >= 0.95
    # Precision is exact: every reported pair really is at or above the threshold, with its similarity.
    for a, b, s in zip(found.i.tolist(), found.j.tolist(), found.similarity.tolist(), strict=True):
        assert a < b
        assert s == pytest.approx(jaccard(ref[a], ref[b]), abs=1e-6)
        assert s >= 0.8 - 1e-6
    assert found.stats.candidate_pairs >= found.stats.verified_pairs == len(pairs)


def test_cross_only_pairs_and_clusters() -> None:
    texts = [
        "please explain how photosynthesis works in plants",
        "please explain how photosynthesis works in plants!",
        "please explain how photosynthesis works in the plants",
        "an entirely different request about tax law",
    ]
    arr = normalize_texts(pa.array(texts))
    everything = near_pairs(arr)
    assert {(0, 2)} <= set(zip(everything.i.tolist(), everything.j.tolist(), strict=True))
    group_a = np.array([True, False, False, False])
    group_b = ~group_a
    cross = near_pairs(arr, cross=(group_a, group_b))
    assert all(group_a[i] != group_a[j] for i, j in zip(cross.i.tolist(), cross.j.tolist(), strict=True))
    labels = clusters(5, np.array([0, 1]), np.array([1, 2]))
    assert labels[0] == labels[1] == labels[2] != labels[3] != labels[4]


def test_giant_buckets_are_windowed_but_still_cluster() -> None:
    base = "write a detailed product description for an online shop selling handmade ceramic mugs"
    texts = [f"{base} {k}" for k in range(300)]
    settings = NearDupSettings(max_bucket=16, window=4)
    found = near_pairs(pa.array(texts), settings)
    assert found.stats.windowed_buckets > 0
    assert found.stats.candidate_pairs < 300 * 299 // 2  # not every pair of the bucket was compared
    labels = clusters(len(texts), found.i, found.j)
    assert len(set(labels.tolist())) == 1
