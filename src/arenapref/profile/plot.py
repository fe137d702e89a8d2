"""The profile chart: one row per source with model counts, token-length histograms and label mix/languages.

matplotlib is imported here only (Agg backend, no display needed), so profiling without ``--chart``
does not pay for it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

from arenapref.atomic import atomic_path, output_suffix
from arenapref.profile.core import Profile
from arenapref.profile.lengths import Histogram

TOP_MODELS = 15


def _density(hist: Histogram) -> tuple[list[float], list[float]]:
    """Edges shifted by one token (so a log axis shows the 0-token bin) and messages per decade of length.

    Dividing by each bin's width on the log axis keeps the uneven small bins (1, 2, 3 tokens wide)
    from showing as spikes.
    """
    edges = [e + 1.0 for e in hist.edges]
    widths = [math.log10(hi / lo) for lo, hi in itertools.pairwise(edges)]
    return edges, [c / w for c, w in zip(hist.counts, widths, strict=True)]


def _short(name: str, width: int = 32) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _mean(profile: Profile, which: str) -> float:
    stats = profile.prompt if which == "prompt" else profile.response
    return stats.mean or 0.0


def plot_profiles(profiles: Sequence[Profile], path: str | Path, top: int = TOP_MODELS) -> Path:
    """Write a PNG: per-model counts, prompt/response token histograms, and label mix or top languages."""
    out = Path(path)
    output_suffix(out, (".png",))  # checked before the drawing, so --chart x.txt costs nothing
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(profiles), 3, figsize=(16, 4.2 * len(profiles)), squeeze=False)
    for row, p in zip(axes, profiles, strict=True):
        name = _short(p.name)
        models = p.per_model[:top][::-1]
        row[0].barh([m.model for m in models], [m.rows for m in models], color="tab:blue")
        row[0].set_title(f"{name}: {'battles' if p.kind == 'battles' else 'conversations'} per model")
        row[0].tick_params(axis="y", labelsize=7)

        for hist, label, color in (
            (p.prompt_histogram, "prompt", "tab:orange"),
            (p.response_histogram, "response", "tab:green"),
        ):
            edges, counts = _density(hist)
            if sum(counts):
                row[1].stairs(counts, edges, label=f"{label} (mean {_mean(p, label):.1f})", color=color)
        row[1].set_xscale("log")
        row[1].set_xlabel(f"tokens per message + 1 ({p.tokenizer})")
        row[1].set_ylabel("messages per decade")
        row[1].set_title(f"{name}: message lengths")
        row[1].legend(fontsize=8)

        if p.label_mix is not None and p.label_mix.labeled:
            shares = [p.label_mix.a or 0.0, p.label_mix.b or 0.0, p.label_mix.tie or 0.0]
            row[2].bar(["A wins", "B wins", "tie"], shares, color=["tab:blue", "tab:red", "tab:gray"])
            row[2].set_title(f"{name}: label mix ({p.label_mix.labeled:,} labeled)")
            row[2].set_ylim(0, 1)
        elif p.per_language:
            langs = list(p.per_language.items())[:top][::-1]
            row[2].barh([k for k, _ in langs], [v for _, v in langs], color="tab:purple")
            row[2].set_title(f"{name}: languages")
            row[2].tick_params(axis="y", labelsize=7)
        else:
            row[2].text(0.5, 0.5, "no labels or languages", ha="center", va="center")
            row[2].set_axis_off()
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return out
