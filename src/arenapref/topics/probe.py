"""The topic-mix probe: which topics each source's prompts fall into, and how the mixes differ.

The question it answers: does the external data (LMSYS-Chat-1M, mined pairs) cover the topics of the
test set? Each source's first prompts are assigned to a saved topic map; the report gives each source's
topic shares with 95% Wilson intervals, a chi-square test and the Jensen–Shannon distance for every
pair of sources, and, against a target source, the topics the others under- or over-represent.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

from arenapref.atomic import atomic_path, write_text
from arenapref.compare.normalize import prompt_keys
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import Shard, shards_of
from arenapref.readers import Source, open_source
from arenapref.records import first_user_turn
from arenapref.rejects import RejectLog
from arenapref.topics.embedders import TRANSFORMERS
from arenapref.topics.fit import TopicModel, cached_model, sample_first_prompts
from arenapref.topics.settings import TopicProbeSettings
from arenapref.topics.terms import as_text_array

Z95 = 1.959963984540054
# Prompts per source that a transformer map's probe embeds exactly (a seeded sample): the settings model's
# default, where its choice is explained (``TopicProbeSettings``).
PROBE_SAMPLE: int = TopicProbeSettings.model_fields["probe_sample"].default


@dataclass(slots=True)
class SourceMix:
    """How many of one source's prompts fell into each topic."""

    name: str
    counts: list[int]
    # Rows the map could not place: no prompt, or nothing the embedder knows; by reason below.
    unassigned: int = 0
    # Rows skipped as repeats of an earlier prompt (only when counting unique prompts).
    repeats: int = 0
    unassigned_reasons: dict[str, int] = field(default_factory=dict)
    # Rows of the source a seeded sample was drawn from (None: every row was assigned).
    sampled_from: int | None = None

    @property
    def n(self) -> int:
        return sum(self.counts)

    def shares(self) -> np.ndarray:
        total = self.n
        return np.asarray(self.counts, dtype=float) / total if total else np.zeros(len(self.counts))


def wilson_interval(count: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion: sane at 0 and 1 and for small n, unlike the normal one."""
    if n == 0:
        return 0.0, 1.0
    p = count / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 and n the bound is 0 or 1 exactly; the subtraction leaves a rounding crumb (1e-18) above 0.
    low = 0.0 if count == 0 else max(0.0, centre - half)
    return low, 1.0 if count == n else min(1.0, centre + half)


def _counted(batches: Any, total: list[int]) -> Any:
    """``batches`` as they are, adding their rows to ``total[0]`` on the way."""
    for batch in batches:
        total[0] += batch.num_rows
        yield batch


def source_mix(
    model: TopicModel,
    source: str | Path | Source | pa.Table,
    name: str | None = None,
    unique_prompts: bool = False,
    sample: int = PROBE_SAMPLE,
) -> SourceMix:
    """Assign a source's first user prompts to the map and count per topic (streamed).

    With ``unique_prompts`` a prompt seen before in the source (same normalised key) is not counted
    again: the mix of distinct requests rather than of records (a FastChat folder holds each question
    once per answering model; LMSYS-Chat-1M repeats popular prompts).

    On a map fitted in a transformer's space, a seeded sample of at most ``sample`` rows is placed by
    the transformer itself (exact; the intervals say how far the shares can be from the whole source's);
    ``sample = 0`` places every row, through the map's fast student where it has one.
    """
    if isinstance(source, pa.Table):
        batches: Any = source.to_batches()
        label = name or "table"
    else:
        opened = source if isinstance(source, Source) else open_source(source)
        batches = opened.batches()
        label = name or opened.name
    exact = sample > 0 and model.embedder.name in TRANSFORMERS
    total = [0]
    if exact:
        drawn = sample_first_prompts(_counted(batches, total), sample, model.settings.seed)
        batches = [
            pa.table({"prompt": pa.array([[t] for t in drawn.texts.to_pylist()], pa.list_(pa.string()))})
        ]
    counts = np.zeros(model.k, dtype=np.int64)
    missing = 0
    reasons: Counter[str] = Counter()
    repeats = 0
    seen: set[str] = set()
    for batch in batches:
        texts = (
            as_text_array(batch.column("prompt").combine_chunks().flatten())
            if exact
            else as_text_array(first_user_turn(batch))
        )
        if unique_prompts:
            keys = prompt_keys(texts).to_pylist()
            fresh = np.zeros(len(keys), dtype=bool)
            for i, key in enumerate(keys):
                if key not in seen:
                    seen.add(key)
                    fresh[i] = True
            blank = ~pc.is_valid(texts).to_numpy(zero_copy_only=False)
            repeats += int((~fresh & ~blank).sum())
            texts = texts.filter(pa.array(fresh | blank))
        ids, why = model.assign_with_reasons(texts, exact=exact)
        missing += int((ids < 0).sum())
        reasons.update(r for r in why.drop_null().to_pylist())
        counts += np.bincount(ids[ids >= 0], minlength=model.k)
    sampled_from = total[0] if exact and total[0] > sample else None
    return SourceMix(label, [int(c) for c in counts], missing, repeats, dict(reasons), sampled_from)


def mix_shard(shard: Shard, model_dir: str, name: str) -> tuple[SourceMix, RejectLog]:
    """The per-block work of the probe: one file's topic counts (``source_mix``)."""
    source = shard.open()
    # Every row of the block, placed by the map's student: blocks add up to the source's counts, which a
    # per-block transformer sample would not (the single-process probe samples the whole source instead).
    mix = source_mix(cached_model(model_dir), source, name, sample=0)
    return mix, source.rejects


class MixStep(BlockStep[Shard, tuple[SourceMix, RejectLog], SourceMix]):
    """``source_mix`` with one file per block: every record counted, and on an executor every row placed
    (``sample`` applies to the single-process path only; ``unique_prompts`` needs one pass over the whole
    source, so ``count_source`` counts such a mix in this process).

    Counts are sums, so the files' mixes add up to the source's; unassigned reasons keep the order in
    which a sequential read first meets them.
    """

    def __init__(
        self,
        model: TopicModel,
        model_dir: str,
        source: Source,
        name: str,
        sample: int = PROBE_SAMPLE,
        unique_prompts: bool = False,
    ) -> None:
        self.model, self.model_dir, self.source, self.name = model, model_dir, source, name
        self.sample, self.unique_prompts = sample, unique_prompts

    def blocks(self, workers: int) -> list[Shard]:
        return shards_of(self.source)

    @property
    def work(self) -> Callable[[Shard], tuple[SourceMix, RejectLog]]:
        return partial(mix_shard, model_dir=self.model_dir, name=self.name)

    def merge(self, parts: Iterator[tuple[SourceMix, RejectLog]]) -> SourceMix:
        total = SourceMix(self.name, [], 0, 0, {})
        for mix, rejects in parts:
            self.source.rejects.extend(rejects)
            total.counts = (
                mix.counts
                if not total.counts
                else [a + b for a, b in zip(total.counts, mix.counts, strict=True)]
            )
            total.unassigned += mix.unassigned
            total.repeats += mix.repeats
            for reason, n in mix.unassigned_reasons.items():
                total.unassigned_reasons[reason] = total.unassigned_reasons.get(reason, 0) + n
        return total

    def whole(self) -> SourceMix:
        return source_mix(self.model, self.source, self.name, self.unique_prompts, self.sample)


def count_source(
    model: TopicModel,
    model_dir: str | None,
    source: Source | pa.Table,
    name: str,
    sample: int = PROBE_SAMPLE,
    unique_prompts: bool = False,
    executor: Executor | None = None,
) -> SourceMix:
    """``source``'s topic counts (``MixStep``): the probe's per-source figures.

    Counted in this process, whatever ``executor`` is, when one pass must see the whole source: a seeded
    transformer sample (``sample`` > 0 on a transformer map; sampling per file would give other prompts)
    or ``unique_prompts`` (each distinct prompt counted once across the source). So an executor never
    changes the figures. ``model_dir``: the folder workers load the map from (needed with an executor).
    """
    if not isinstance(source, Source):
        return source_mix(model, source, name, unique_prompts, sample)
    if unique_prompts or (sample > 0 and model.embedder.name in TRANSFORMERS):
        executor = None
    if executor is not None and model_dir is None:
        raise ArenaprefError(
            "`executor` needs the map saved to a folder (`TopicModel.save`): workers load it"
        )
    return run_step(MixStep(model, model_dir or "", source, name, sample, unique_prompts), executor)


@dataclass(slots=True)
class PairTest:
    """Chi-square test of homogeneity and Jensen–Shannon distance (base 2, in [0, 1]) of two mixes."""

    a: str
    b: str
    chi2: float
    dof: int
    p_value: float
    js_distance: float


@dataclass(slots=True)
class Coverage:
    """One topic of the target: another source's share relative to the target's, with a flag."""

    topic: int
    source: str
    share: float
    target_share: float
    ratio: float | None
    flag: str


PROBE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("topic", pa.int64()),
        ("label", pa.string()),
        ("count", pa.int64()),
        ("share", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
    ]
)


@dataclass(repr=False)
class ProbeReport(NotebookResult):
    """Everything the probe found; ``to_json`` is what ``--json`` writes.

    ``to_arrow()`` is one row per source and topic: count, share and its 95% Wilson interval.
    """

    topics: list[dict[str, Any]]
    mixes: list[SourceMix]
    pairs: list[PairTest]
    target: str
    coverage: list[Coverage] = field(default_factory=list)
    # The map's honesty figures (student agreement, seed stability), printed beside the mixes.
    quality: dict[str, float] = field(default_factory=dict)
    assigner: str = ""

    def to_json(self) -> dict[str, Any]:
        sources = []
        for mix in self.mixes:
            rows = []
            for t, count in enumerate(mix.counts):
                lo, hi = wilson_interval(count, mix.n)
                rows.append(
                    {
                        "topic": t,
                        "count": count,
                        "share": _r(count / mix.n if mix.n else 0.0),
                        "ci_low": _r(lo),
                        "ci_high": _r(hi),
                    }
                )
            sources.append(
                {
                    "name": mix.name,
                    "n": mix.n,
                    "unassigned": mix.unassigned,
                    "unassigned_reasons": mix.unassigned_reasons,
                    "repeats": mix.repeats,
                    "sampled_from": mix.sampled_from,
                    "max_ci_half_width": _r(
                        max(((r["ci_high"] - r["ci_low"]) / 2 for r in rows), default=0.0)
                    ),
                    "topics": rows,
                }
            )
        return {
            "topics": self.topics,
            "sources": sources,
            "pairs": [asdict(p) for p in self.pairs],
            "target": self.target,
            "coverage": [asdict(c) for c in self.coverage],
            "map_quality": self.quality,
            "assigned_by": self.assigner,
        }

    def write_json(self, path: str | Path) -> Path:
        return write_text(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False))

    def to_arrow(self) -> pa.Table:
        labels = {t["topic"]: t.get("label", "") for t in self.topics}
        rows = [
            {
                "source": s["name"],
                "topic": r["topic"],
                "label": labels.get(r["topic"], ""),
                **{k: r[k] for k in ("count", "share", "ci_low", "ci_high")},
            }
            for s in self.to_json()["sources"]
            for r in s["topics"]
        ]
        return pa.Table.from_pylist(rows, schema=PROBE_SCHEMA)

    def summary_lines(self) -> list[str]:
        out = [f"{len(self.mixes)} sources on {len(self.topics)} topics; target {self.target}"]
        out += [f"{m.name}: {m.n:,} prompts, {m.unassigned:,} unassigned" for m in self.mixes]
        flagged = [c for c in self.coverage if c.flag != "ok"]
        out += [f"{c.source}: topic {c.topic} {c.flag} (ratio {c.ratio})" for c in flagged[:5]]
        if len(flagged) > 5:
            out.append(f"... {len(flagged) - 5} more flagged topics (see .coverage)")
        return out


def _r(x: float) -> float:
    return round(float(x), 6)


def compare_mixes(a: SourceMix, b: SourceMix) -> PairTest:
    """Chi-square over the topics either source uses, and the JS distance of the share vectors."""
    table = np.array([a.counts, b.counts], dtype=float)
    used = table.sum(axis=0) > 0
    if a.n == 0 or b.n == 0 or used.sum() < 2:
        chi2, p, dof = 0.0, 1.0, 0
    else:
        result = chi2_contingency(table[:, used], correction=False)
        chi2, p, dof = float(result.statistic), float(result.pvalue), int(result.dof)
    js = float(jensenshannon(a.shares(), b.shares(), base=2)) if a.n and b.n else float("nan")
    return PairTest(a.name, b.name, _r(chi2), dof, float(p), _r(js))


def coverage_flags(mixes: list[SourceMix], target: SourceMix) -> list[Coverage]:
    """Per topic and other source: share ratio to the target and whether the 95% intervals separate.

    ``under``: the source's interval lies wholly below the target's (the topic is scarcer there);
    ``over``: wholly above; ``missing``: the target has the topic and the source none at all; ``ok``:
    the intervals overlap.
    """
    out = []
    for mix in mixes:
        if mix is target:
            continue
        for t, (count, tcount) in enumerate(zip(mix.counts, target.counts, strict=True)):
            share = count / mix.n if mix.n else 0.0
            tshare = tcount / target.n if target.n else 0.0
            lo, hi = wilson_interval(count, mix.n)
            tlo, thi = wilson_interval(tcount, target.n)
            if tcount > 0 and count == 0:
                flag = "missing"
            elif hi < tlo:
                flag = "under"
            elif lo > thi:
                flag = "over"
            else:
                flag = "ok"
            ratio = _r(share / tshare) if tshare > 0 else None
            out.append(Coverage(t, mix.name, _r(share), _r(tshare), ratio, flag))
    return out


def probe(
    model: TopicModel,
    sources: list[str | Path | Source | pa.Table],
    names: list[str] | None = None,
    target: str | None = None,
    unique_prompts: bool = False,
    sample: int = PROBE_SAMPLE,
    executor: Executor | None = None,
) -> ProbeReport:
    """Assign each source to the map and compare the mixes; the target defaults to the last source.

    ``sample``: see ``source_mix``. Paths are opened here (rows a reader drops go to each ``Source``'s
    rejects when a ``Source`` is given). ``executor`` counts a source's files on its workers where that
    gives the same figures (``count_source``); the map must then have been saved (``model.folder``).
    """
    if not sources:
        raise ArenaprefError("give at least one source to probe")
    names = unique_names(names or [_default_name(s, i) for i, s in enumerate(sources)])
    folder = None if model.folder is None else str(model.folder)
    mixes = [
        count_source(model, folder, _opened(s), n, sample, unique_prompts, executor)
        for s, n in zip(sources, names, strict=True)
    ]
    return probe_mixes(model, mixes, target)


def _opened(source: str | Path | Source | pa.Table) -> Source | pa.Table:
    return open_source(source) if isinstance(source, (str, Path)) else source


def probe_mixes(model: TopicModel, mixes: list[SourceMix], target: str | None = None) -> ProbeReport:
    """The report for mixes already counted (lets a notebook count sources its own way)."""
    by_name = {m.name: m for m in mixes}
    target_mix = mixes[-1] if target is None else by_name.get(target)
    if target_mix is None:
        raise ArenaprefError(f"target {target!r} is not one of the sources: {', '.join(by_name)}")
    # The examples are the fit prompts nearest each centroid (the report shows a few per topic).
    topics = [
        {
            "topic": t.topic,
            "label": t.title or t.label,
            "terms": t.terms,
            "fit_share": t.share,
            "examples": t.examples,
        }
        for t in model.topics
    ]
    pairs = [compare_mixes(a, b) for a, b in combinations(mixes, 2)]
    return ProbeReport(
        topics,
        mixes,
        pairs,
        target_mix.name,
        coverage_flags(mixes, target_mix),
        dict(model.quality),
        "transformer (sampled)" if any(m.sampled_from for m in mixes) else model.assigner,
    )


def _default_name(source: str | Path | Source | pa.Table, i: int) -> str:
    if isinstance(source, pa.Table):
        return f"table{i + 1}"
    if isinstance(source, Source):
        return source.name
    p = Path(source)
    return p.parent.name + "/" + p.name if p.is_file() else p.name


def unique_names(names: list[str]) -> list[str]:
    """``names`` with a repeated one numbered (``train.csv#2``), so every source has its own row."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def write_chart(report: ProbeReport, path: str | Path) -> Path:
    """Grouped horizontal bars: each topic's share per source, with the 95% intervals as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    k = len(report.topics)
    n_src = len(report.mixes)
    height = 0.8 / max(n_src, 1)
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.45 * k * max(1, n_src) ** 0.5 + 1.5)))
    y = np.arange(k)
    for i, mix in enumerate(report.mixes):
        shares = mix.shares()
        bounds = [wilson_interval(c, mix.n) for c in mix.counts]
        err = np.array(
            [
                [s - lo for s, (lo, _) in zip(shares, bounds, strict=True)],
                [hi - s for s, (_, hi) in zip(shares, bounds, strict=True)],
            ]
        )
        ax.barh(
            y + i * height - 0.4 + height / 2,
            shares,
            height=height,
            xerr=err,
            capsize=2,
            label=f"{mix.name} (n={mix.n})",
        )
    labels = [f"{t['topic']}: {_short(t['label'])}" for t in report.topics]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of prompts (95% Wilson interval)")
    ax.set_title(f"Topic mix by source (target: {report.target})")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _short(label: str, width: int = 45) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
