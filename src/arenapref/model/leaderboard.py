"""Label trust: Bradley–Terry ratings from labeled pairs, and their rank agreement with human votes.

A judge or a teacher is worth training on only if it ranks the models as humans do. ``ratings`` fits a
Bradley–Terry model (as Chatbot Arena's leaderboard does; a tie counts as half a win each way) to any
labeled pairs — human votes, judge labels, teacher soft labels — with percentile intervals from a
bootstrap over the pairs, and ``compare_rankings`` gives Spearman's ρ and Kendall's τ between two
rankings over the models both cover.

Speed: the fit works on the m × m matrix of (soft) wins, not on the rows, so after one pass of
aggregation its cost does not depend on the number of pairs; a bootstrap resample of N pairs is one
multinomial draw over the distinct (pair, outcome) cells. 1M pairs take about a second.

Votes files without text (``arena_votes_10k``, ``arena_battles_1135``: model_a, model_b, winner) are
read by ``read_votes``; battle sources with p_a, p_b, p_tie by the battle readers.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError, InputFormatError
from arenapref.model.settings import LeaderboardSettings

#: Elo-like scale of the ratings: 400·log10(strength) + 1000, as on the Arena leaderboard.
SCALE, BASE_RATING = 400.0, 1000.0
_WINNER = {"model_a": (1.0, 0.0, 0.0), "model_b": (0.0, 1.0, 0.0)}


@dataclass
class Pairs:
    """Labeled model pairs: names and the probability-like outcome (A wins, B wins, tie) per pair."""

    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray

    def __len__(self) -> int:
        return len(self.model_a)


def pairs_from_battles(table: pa.Table) -> Pairs:
    """The labeled rows of a battle table with both model names (soft labels kept as they are)."""
    from arenapref.model.estimators import battle_labels

    if "model_a" not in table.column_names or "model_b" not in table.column_names:
        raise InputFormatError("the labeled pairs have no model_a/model_b columns; a leaderboard needs them")
    y, ok = battle_labels(table)
    a = np.array(table.column("model_a").to_pylist(), dtype=object)
    b = np.array(table.column("model_b").to_pylist(), dtype=object)
    ok &= (a != None) & (b != None) & (a != b)  # noqa: E711 - elementwise comparison with None
    return Pairs(a[ok].astype(str), b[ok].astype(str), y[ok])


def read_votes(path: str | Path) -> Pairs:
    """A votes file (CSV or JSONL with model_a, model_b, winner in model_a | model_b | tie | tie (bothbad)).

    Rows with another winner value or a missing model are an error naming the row, not a silent drop.
    """
    p = Path(path)
    rows: list[dict[str, Any]] = []
    try:
        if p.suffix.lower() in {".jsonl", ".json"}:
            with p.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        rows.append(json.loads(line))
        else:
            with p.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFormatError(f"{p}: cannot read votes ({exc})") from exc
    a, b, out = [], [], []
    for k, r in enumerate(rows, start=1):
        ma, mb, w = r.get("model_a"), r.get("model_b"), r.get("winner")
        if not ma or not mb or not isinstance(w, str):
            raise InputFormatError(f"{p}: row {k} has no model_a, model_b and winner")
        if w in _WINNER:
            out.append(_WINNER[w])
        elif w.startswith("tie"):
            out.append((0.0, 0.0, 1.0))
        else:
            raise InputFormatError(
                f"{p}: row {k}: winner {w!r}, expected model_a, model_b, tie or tie (bothbad)"
            )
        a.append(str(ma))
        b.append(str(mb))
    if not a:
        raise InputFormatError(f"{p}: no votes")
    return Pairs(np.array(a), np.array(b), np.array(out, dtype=np.float64).reshape(-1, 3))


def read_pairs(path: str | Path, fmt: str | None = None, split: str | None = None) -> Pairs:
    """Labeled pairs from a votes file (model_a, model_b, winner) or any battle source with labels
    (``split`` picks one split of a folder)."""
    p = Path(path)
    if p.is_file() and p.suffix.lower() in {".csv", ".jsonl", ".json"}:
        with p.open(encoding="utf-8", errors="replace") as fh:
            head = fh.readline()
        if "winner" in head and "response_a" not in head and "winner_model_a" not in head:
            return read_votes(p)
    from arenapref.readers import read_battles

    return pairs_from_battles(read_battles(p, fmt, split=split))


def win_matrix(pairs: Pairs, names: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(model names, W) with W[i, j] the (soft) wins of i over j; a tie adds half a win each way."""
    if names is None:
        names = np.unique(np.concatenate([pairs.model_a, pairs.model_b]))
    ia = np.searchsorted(names, pairs.model_a)
    ib = np.searchsorted(names, pairs.model_b)
    m = len(names)
    half_tie = 0.5 * pairs.outcome[:, 2]
    w = np.bincount(ia * m + ib, weights=pairs.outcome[:, 0] + half_tie, minlength=m * m)
    w += np.bincount(ib * m + ia, weights=pairs.outcome[:, 1] + half_tie, minlength=m * m)
    return names, w.reshape(m, m)


def fit_bt(wins: np.ndarray, max_iter: int = 10_000, tol: float = 1e-10) -> np.ndarray:
    """Bradley–Terry log-strengths from a win matrix by Hunter's MM iteration (mean log-strength 0).

    A model that never lost (or never won) has no finite maximum-likelihood rating; a tiny prior of
    0.01 wins each way against every opponent it met keeps its rating finite and in order.
    """
    n = wins + wins.T
    met = n > 0
    wins = wins + 0.01 * met
    n = wins + wins.T
    total = wins.sum(axis=1)
    p = np.ones(len(wins))
    for _ in range(max_iter):
        denom = (n / (p[:, None] + p[None, :])).sum(axis=1)
        new = np.where(denom > 0, total / np.maximum(denom, 1e-300), p)
        new /= np.exp(np.log(np.maximum(new, 1e-300)).mean())
        if np.max(np.abs(np.log(np.maximum(new, 1e-300)) - np.log(np.maximum(p, 1e-300)))) < tol:
            p = new
            break
        p = new
    return np.asarray(np.log(np.maximum(p, 1e-300)))


def _to_rating(log_p: np.ndarray) -> np.ndarray:
    return np.asarray(SCALE * log_p / np.log(10.0) + BASE_RATING)


@dataclass(repr=False)
class Leaderboard(NotebookResult):
    """Ratings per model (Elo scale) with bootstrap percentile intervals, best first (``to_arrow``)."""

    models: list[str]
    rating: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_pairs: np.ndarray
    n_boot: int

    def to_arrow(self) -> pa.Table:
        return pa.table(
            {
                "model": pa.array(self.models, pa.string()),
                "rating": self.rating,
                "low": self.low,
                "high": self.high,
                "pairs": self.n_pairs,
            }
        )

    def summary_lines(self) -> list[str]:
        return [
            f"{len(self.models)} models, {int(self.n_pairs.sum()) // 2:,} pairs, "
            f"{self.n_boot} bootstrap rounds"
        ]

    def as_dict(self) -> list[dict[str, Any]]:
        return [
            {"model": m, "rating": float(r), "low": float(lo), "high": float(hi), "pairs": int(n)}
            for m, r, lo, hi, n in zip(
                self.models, self.rating, self.low, self.high, self.n_pairs, strict=True
            )
        ]

    def lines(self, top: int | None = None) -> list[str]:
        width = max((len(m) for m in self.models), default=5)
        out = [f"{'rank':>4}  {'model':<{width}}  {'rating':>7}  interval          pairs"]
        for k, row in enumerate(self.as_dict()[:top], start=1):
            out.append(
                f"{k:>4}  {row['model']:<{width}}  {row['rating']:>7.1f}  "
                f"[{row['low']:7.1f}, {row['high']:7.1f}]  {row['pairs']}"
            )
        return out


def ratings(
    pairs: Pairs, n_boot: int = LeaderboardSettings().n_boot, confidence: float = 0.95, seed: int = 0
) -> Leaderboard:
    """Bradley–Terry ratings of every model in ``pairs`` with a bootstrap over the pairs."""
    if len(pairs) == 0:
        raise ArenaprefError("no labeled pairs with two different model names to rate")
    names, wins = win_matrix(pairs)
    point = _to_rating(fit_bt(wins))
    m = len(names)
    ia = np.searchsorted(names, pairs.model_a)
    ib = np.searchsorted(names, pairs.model_b)
    # Distinct (pair of models, outcome) cells and their counts: a resample of N rows is one multinomial.
    cell = (ia * m + ib).astype(np.int64)
    keys, inv = np.unique(np.column_stack([cell, pairs.outcome]), axis=0, return_inverse=True)
    counts = np.bincount(inv.ravel())
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, m))
    for b in range(n_boot):
        c = rng.multinomial(len(pairs), counts / counts.sum()).astype(np.float64)
        w_ab = keys[:, 1] * c + 0.5 * keys[:, 3] * c
        w_ba = keys[:, 2] * c + 0.5 * keys[:, 3] * c
        k = keys[:, 0].astype(np.int64)
        wb = np.bincount(k, weights=w_ab, minlength=m * m).reshape(m, m)
        wb += np.bincount(k, weights=w_ba, minlength=m * m).reshape(m, m).T
        boot[b] = _to_rating(fit_bt(wb, max_iter=2000, tol=1e-8))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha], axis=0) if n_boot else (point, point)
    n_pairs = np.bincount(ia, minlength=m) + np.bincount(ib, minlength=m)
    order = np.argsort(-point, kind="stable")
    return Leaderboard(
        [str(names[i]) for i in order], point[order], low[order], high[order], n_pairs[order], n_boot
    )


@dataclass
class RankAgreement:
    """Spearman's ρ and Kendall's τ between two leaderboards over the models both rate."""

    shared_models: list[str]
    spearman: float
    kendall: float
    spearman_p: float
    kendall_p: float

    def line(self, what: str = "labels") -> str:
        if len(self.shared_models) < 3:
            return (
                f"{what} vs human votes: only {len(self.shared_models)} shared models, too few to correlate"
            )
        return (
            f"{what} vs human votes over {len(self.shared_models)} shared models: "
            f"Spearman {self.spearman:+.3f} "
            f"(p = {self.spearman_p:.3g}), Kendall {self.kendall:+.3f} (p = {self.kendall_p:.3g})"
        )


def compare_rankings(ours: Leaderboard, human: Leaderboard) -> RankAgreement:
    """Rank correlation of two leaderboards over their shared models (NaN with fewer than 3)."""
    from scipy.stats import kendalltau, spearmanr

    hr = dict(zip(human.models, human.rating.tolist(), strict=True))
    shared = [m for m in ours.models if m in hr]
    if len(shared) < 3:
        nan = float("nan")
        return RankAgreement(shared, nan, nan, nan, nan)
    orr = dict(zip(ours.models, ours.rating.tolist(), strict=True))
    x, y = [orr[m] for m in shared], [hr[m] for m in shared]
    sp = spearmanr(x, y)
    kt = kendalltau(x, y)
    return RankAgreement(shared, float(sp.statistic), float(kt.statistic), float(sp.pvalue), float(kt.pvalue))


def merge_pairs(parts: list[Pairs]) -> Pairs:
    """Several pair sets as one."""
    return Pairs(
        np.concatenate([p.model_a for p in parts]),
        np.concatenate([p.model_b for p in parts]),
        np.concatenate([p.outcome for p in parts]),
    )


__all__ = [
    "Leaderboard",
    "Pairs",
    "RankAgreement",
    "compare_rankings",
    "fit_bt",
    "merge_pairs",
    "pairs_from_battles",
    "ratings",
    "read_pairs",
    "read_votes",
    "win_matrix",
]
