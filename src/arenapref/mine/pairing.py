"""Pair conversations of different models within each prompt group, vectorised over all groups at once.

The matching: inside a group, sort the records so that each model's records are contiguous, the largest
model first, and pair position ``i`` with position ``i + d`` where ``d = max(s, n // 2)`` (``n`` records,
``s`` in the largest model) for ``i < min(d, n - d)``. Two positions ``d`` apart can never share a model,
because no model occupies more than ``d`` contiguous positions; and the count ``min(n // 2, n - s)`` is the
largest number of different-model pairs possible when no record is used twice (a model with more than half
the records can only be paired with the others; otherwise everyone but at most one finds a partner). It is
one sort and some integer arithmetic for a million records, instead of a Python loop over groups.

``max_uses > 1`` repeats the matching over the records with uses left, in fresh random orders, and keeps
the pairs not seen before, so each record appears in at most ``max_uses`` pairs. Caps keep a few popular
prompts and model pairs from dominating: pairs are kept in a seeded random order per prompt group, then
per (unordered) model pair. Everything random comes from ``numpy`` generators seeded by the caller and
drawn in input order, so the same input and seed give the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True, slots=True)
class PairingSettings:
    """How many pairs a record, a prompt group and a model pair may contribute (None = no cap): the
    pairing's share of ``MineSettings`` (which holds the defaults; ``miner.pairing_settings`` builds this)."""

    max_uses: int
    max_pairs_per_prompt: int | None
    max_pairs_per_model_pair: int | None
    seed: int


def max_pairs(n: int, largest: int) -> int:
    """The most different-model pairs ``n`` records can form, each used once, if ``largest`` share a model."""
    return min(n // 2, n - largest)


def _one_round(group: np.ndarray, model: np.ndarray, rand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One matching (each record at most once): returns positions (into the inputs) of the two sides."""
    frame = pl.DataFrame({"g": group, "m": model, "r": rand, "i": np.arange(len(group), dtype=np.int64)})
    frame = frame.with_columns(
        pl.len().over("g", "m").alias("s"),
        pl.col("r").min().over("g", "m").alias("cr"),
    ).sort(["g", "s", "cr", "r"], descending=[False, True, False, False])
    frame = frame.with_columns(
        pl.int_range(pl.len()).over("g").alias("pos"),
        pl.len().over("g").alias("n"),
        pl.col("s").max().over("g").alias("smax"),
    )
    pos = frame.get_column("pos").to_numpy().astype(np.int64)
    n = frame.get_column("n").to_numpy().astype(np.int64)
    smax = frame.get_column("smax").to_numpy().astype(np.int64)
    d = np.maximum(smax, n // 2)
    left = np.nonzero(pos < np.minimum(d, n - d))[0]
    right = left + d[left]
    idx = frame.get_column("i").to_numpy()
    return idx[left], idx[right]


def match(group: np.ndarray, model: np.ndarray, settings: PairingSettings) -> np.ndarray:
    """Different-model pairs within groups, before caps: an (m, 2) array of input positions.

    ``group`` and ``model`` are integer codes per record (records of one group need not be adjacent).
    Round one is the maximum matching above. With ``max_uses > 1`` further rounds match the records that
    still have uses left, in a fresh random order, keeping only pairs not formed before; a group stops
    taking part after three rounds in a row without a new pair (it is then saturated, e.g. two records
    that are already paired). Pairs come out sorted by their first position.
    """
    rng = np.random.default_rng(settings.seed)
    n = len(group)
    max_uses = max(settings.max_uses, 1)
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    _, gidx = np.unique(group, return_inverse=True)
    gidx = gidx.astype(np.int64)
    misses = np.zeros(int(gidx.max()) + 1, dtype=np.int64)
    uses = np.zeros(n, dtype=np.int64)
    seen = np.zeros(0, dtype=np.int64)
    chunks: list[np.ndarray] = []
    for _ in range(3 * max_uses + 2):
        idx = np.nonzero((uses < max_uses) & (misses[gidx] < 3))[0]
        two_models = (
            pl.DataFrame({"g": gidx[idx], "m": model[idx]})
            .select(pl.col("m").n_unique().over("g") >= 2)
            .to_series()
            .to_numpy()
        )
        idx = idx[two_models]
        if not len(idx):
            break
        a, b = _one_round(gidx[idx], model[idx], rng.random(len(idx)))
        lo, hi = np.minimum(idx[a], idx[b]), np.maximum(idx[a], idx[b])
        codes = lo * n + hi
        fresh = ~np.isin(codes, seen)
        misses[np.unique(gidx[idx])] += 1
        misses[gidx[lo[fresh]]] = 0
        seen = np.concatenate([seen, codes[fresh]])
        uses += np.bincount(np.concatenate([lo[fresh], hi[fresh]]), minlength=n)
        chunks.append(np.stack([lo[fresh], hi[fresh]], axis=1))
    out = np.concatenate(chunks) if chunks else np.zeros((0, 2), dtype=np.int64)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def apply_caps(
    pairs: np.ndarray, group: np.ndarray, model: np.ndarray, settings: PairingSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Which pairs survive the per-prompt and then the per-model-pair cap.

    Returns two boolean masks over ``pairs``: dropped by the prompt cap, dropped by the model-pair cap.
    """
    m = len(pairs)
    rng = np.random.default_rng([settings.seed, 1])
    order = rng.random(m)
    g = group[pairs[:, 0]] if m else np.zeros(0, dtype=np.int64)
    ma, mb = (model[pairs[:, 0]], model[pairs[:, 1]]) if m else (np.zeros(0), np.zeros(0))
    frame = pl.DataFrame(
        {"g": g, "lo": np.minimum(ma, mb), "hi": np.maximum(ma, mb), "r": order, "i": np.arange(m)}
    )
    prompt_drop = np.zeros(m, dtype=bool)
    if settings.max_pairs_per_prompt is not None:
        rank = frame.select(pl.col("r").rank("ordinal").over("g")).to_series().to_numpy()
        prompt_drop = rank > settings.max_pairs_per_prompt
    model_drop = np.zeros(m, dtype=bool)
    if settings.max_pairs_per_model_pair is not None:
        kept = frame.filter(pl.Series(~prompt_drop))
        rank = kept.select(pl.col("r").rank("ordinal").over("lo", "hi")).to_series().to_numpy()
        over = kept.get_column("i").to_numpy()[rank > settings.max_pairs_per_model_pair]
        model_drop[over] = True
    return prompt_drop, model_drop
