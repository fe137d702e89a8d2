"""Sentence-embedding features (offline MiniLM), added to the engineered features of a battle.

The embedder is the topic helper's ``arenapref.topics.embedders.MiniLMEmbedder`` (all-MiniLM-L6-v2 as
int8 ONNX, vocabulary shipped in the package): one embedding model for the whole project.

Features, chosen to keep the A/B block structure (see ``features``):

* per answer: cosine with the prompt, and the answer's embedding projected on ``dims`` fixed random
  orthonormal directions (a Johnson–Lindenstrauss sketch; fixed, so the features have no learned state
  and can be computed once for all cross-validation folds);
* per pair: cosine between the two answers.

MiniLM runs at roughly a hundred texts per second per core here, so this is an option for small and
medium data sets, not the default.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from arenapref.model.features import BattleFeatures, battle_texts

if TYPE_CHECKING:
    from arenapref.topics.embedders import MiniLMEmbedder

_DIM = 384
_SEED = 20240501


@lru_cache(maxsize=1)
def _embedder() -> MiniLMEmbedder:
    from arenapref.topics.embedders import MiniLMEmbedder

    emb = MiniLMEmbedder()
    emb.fit(pa.array([], pa.string()), seed=0)  # loads the model; MissingDependencyError if absent
    return emb


def embed_texts(texts: list[str]) -> np.ndarray:
    """(n, 384) L2-normalised MiniLM embeddings; an empty text gives a zero row."""
    return np.asarray(_embedder().embed(pa.array(texts, pa.string())), dtype=np.float64)


@lru_cache(maxsize=8)
def projection(dims: int) -> np.ndarray:
    """``dims`` fixed orthonormal directions in the embedding space (same on every machine)."""
    rng = np.random.default_rng(_SEED)
    q, _ = np.linalg.qr(rng.standard_normal((_DIM, max(dims, 1))))
    return np.asarray(q[:, :dims])


def embedding_features(feats: BattleFeatures, table: pa.Table, dims: int = 8) -> BattleFeatures:
    """``feats`` with the embedding columns appended (see the module docstring)."""
    texts = battle_texts(table)
    ep = embed_texts(texts.get_column("prompt").to_list())
    ea = embed_texts(texts.get_column("a").to_list())
    eb = embed_texts(texts.get_column("b").to_list())
    proj = projection(dims)
    names = ("emb_prompt_cos", *(f"emb_dir{k}" for k in range(dims)))
    block_a = np.column_stack([(ea * ep).sum(axis=1), ea @ proj])
    block_b = np.column_stack([(eb * ep).sum(axis=1), eb @ proj])
    pair = (ea * eb).sum(axis=1)[:, None]
    return feats.with_extra(block_a, block_b, pair, names, ("emb_answers_cos",))


__all__ = ["embed_texts", "embedding_features", "projection"]
