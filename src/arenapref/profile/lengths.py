"""Token-length distributions in bounded memory: integer histograms instead of lists of lengths.

A profile of 1M conversations sees millions of messages; keeping every length to take percentiles
would grow with the input. Lengths are small integers, so a histogram with one bin per token count
gives *exact* percentiles for every message shorter than ``EXACT_BELOW`` tokens (nearly all of them)
and log-spaced bins above (1.1% relative error at most) keep the memory fixed however long a message
is. Means and maxima are tracked exactly beside the histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EXACT_BELOW = 4096
SUBBINS_PER_OCTAVE = 64
OCTAVES = 24
N_BINS = EXACT_BELOW + SUBBINS_PER_OCTAVE * OCTAVES
QUANTILES = (0.5, 0.9, 0.99)

IntArray = npt.NDArray[np.int64]


def bin_index(tokens: IntArray) -> IntArray:
    """The histogram bin of each length: itself below ``EXACT_BELOW``, a log-spaced bin above."""
    bins = tokens.astype(np.int64, copy=True)
    big = tokens >= EXACT_BELOW
    if big.any():
        octave = np.floor(SUBBINS_PER_OCTAVE * np.log2(tokens[big] / EXACT_BELOW)).astype(np.int64)
        bins[big] = EXACT_BELOW + np.minimum(octave, SUBBINS_PER_OCTAVE * OCTAVES - 1)
    return bins


def bin_low(bins: IntArray) -> IntArray:
    """The smallest length that falls in each bin (what a percentile read off the histogram reports)."""
    low = bins.astype(np.float64)
    big = bins >= EXACT_BELOW
    low[big] = np.ceil(EXACT_BELOW * np.exp2((bins[big] - EXACT_BELOW) / SUBBINS_PER_OCTAVE))
    return low.astype(np.int64)


BIN_LOW = bin_low(np.arange(N_BINS, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class LengthStats:
    """Tokens per message: how many messages, their mean, nearest-rank percentiles and maximum."""

    messages: int
    tokens: int
    mean: float | None
    p50: int | None
    p90: int | None
    p99: int | None
    max: int | None


@dataclass(frozen=True, slots=True)
class Histogram:
    """A coarse histogram for charts and JSON.

    ``counts[i]`` messages have ``edges[i] <= tokens < edges[i + 1]``.
    """

    edges: list[int]
    counts: list[int]


def stats_from_histogram(hist: IntArray, tokens: int, maximum: int) -> LengthStats:
    """Mean, percentiles (nearest rank, like ``numpy.percentile(method="inverted_cdf")``) and max."""
    n = int(hist.sum())
    if n == 0:
        return LengthStats(0, 0, None, None, None, None, None)
    cum = np.cumsum(hist)
    ranks = np.ceil(np.asarray(QUANTILES) * n).astype(np.int64)
    cuts = [min(int(BIN_LOW[np.searchsorted(cum, r)]), maximum) for r in ranks]
    return LengthStats(n, tokens, tokens / n, cuts[0], cuts[1], cuts[2], maximum)


def coarse_histogram(hist: IntArray) -> Histogram:
    """Regroup the fine histogram into a few dozen log-spaced bins: readable on a log axis, small in JSON."""
    nonzero = np.flatnonzero(hist)
    if not len(nonzero):
        return Histogram([0, 1], [0])
    top = int(BIN_LOW[nonzero[-1]]) + 1
    edges = _log_edges(top)
    which = np.searchsorted(np.asarray(edges), BIN_LOW, side="right") - 1
    counts = np.bincount(which, weights=hist, minlength=len(edges))[: len(edges) - 1]
    return Histogram(edges, [int(c) for c in counts])


def _log_edges(top: int) -> list[int]:
    """Bin edges 0, 1, 2, 3, 4, then a factor 2**(1/4) apart, up to the first edge past ``top``."""
    edges = [0, 1, 2, 3, 4]
    step = 0
    while edges[-1] < top:
        step += 1
        edges.append(max(edges[-1] + 1, round(4 * 2 ** (step / 4))))
    return edges


class LengthAccumulator:
    """Per-group (model) length histograms, token sums and maxima, updated one batch at a time."""

    def __init__(self) -> None:
        self.hist: IntArray = np.zeros((0, N_BINS), dtype=np.int64)
        self.tokens: IntArray = np.zeros(0, dtype=np.int64)
        self.maxima: IntArray = np.zeros(0, dtype=np.int64)

    def grow(self, n_groups: int) -> None:
        """Room for ``n_groups`` groups (a merge of per-block accumulators grows the target first)."""
        extra = n_groups - len(self.tokens)
        if extra > 0:
            self.hist = np.vstack([self.hist, np.zeros((extra, N_BINS), dtype=np.int64)])
            self.tokens = np.concatenate([self.tokens, np.zeros(extra, dtype=np.int64)])
            self.maxima = np.concatenate([self.maxima, np.zeros(extra, dtype=np.int64)])

    def add(self, groups: IntArray, tokens: IntArray, n_groups: int) -> None:
        """Count each message's length under its group; ``n_groups`` is the vocabulary size so far."""
        self.grow(n_groups)
        if not len(tokens):
            return
        keys, counts = np.unique(groups * N_BINS + bin_index(tokens), return_counts=True)
        flat = self.hist.reshape(-1)
        flat[keys] += counts
        self.tokens += np.bincount(groups, weights=tokens, minlength=len(self.tokens)).astype(np.int64)
        np.maximum.at(self.maxima, groups, tokens)

    def stats(self, group: int) -> LengthStats:
        if group >= len(self.tokens):
            return LengthStats(0, 0, None, None, None, None, None)
        return stats_from_histogram(self.hist[group], int(self.tokens[group]), int(self.maxima[group]))

    def histogram(self, group: int) -> Histogram:
        if group >= len(self.tokens):
            return Histogram([0, 1], [0])
        return coarse_histogram(self.hist[group])
