"""Does the extra (pseudo-labeled) data help? Train with and without it, score both on the same humans.

The two arms differ only in the training rows: the same estimator, hyper-parameters and seed; base
rows weigh 1 and extra rows ``extra_weight``. Both are scored on the same held-out human-labeled rows,
so the per-row log-loss differences are paired, and the interval comes from a paired bootstrap over
prompt groups (rows sharing a prompt move together, since they are not independent evidence).

Leakage is removed before training, and counted: base rows whose prompt also appears in the held-out
set (when the held-out set is a separate file), and extra rows whose prompt appears in the held-out set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arenapref.errors import ArenaprefError
from arenapref.model.estimators import battle_labels, make_estimator
from arenapref.model.evaluate import log_loss, row_log_loss
from arenapref.model.groups import grouped_split, prompt_keys


@dataclass
class Interval:
    """A mean log-loss difference (with extra minus without) and its bootstrap interval."""

    n: int
    base_log_loss: float
    extra_log_loss: float
    diff: float
    low: float
    high: float

    def verdict(self) -> str:
        if self.high < 0:
            return "extra data helps"
        if self.low > 0:
            return "extra data hurts"
        return "no clear difference"


@dataclass
class TopicRow(Interval):
    """The same comparison restricted to one topic of the held-out rows."""

    topic: str = ""


@dataclass
class AblationReport:
    """What ``ablate`` measured; ``diff`` < 0 means the extra data lowered log loss."""

    overall: Interval
    n_base_train: int
    n_extra: int
    extra_weight: float
    n_base_dropped: int
    n_extra_dropped: int
    prior_log_loss: float
    confidence: float
    n_boot: int
    seconds: float
    per_topic: list[TopicRow] = field(default_factory=list)

    def lines(self) -> list[str]:
        o = self.overall
        out = [
            f"held-out human-labeled battles: {o.n}; base training rows {self.n_base_train}, "
            f"extra rows {self.n_extra} at weight {self.extra_weight:g}",
            f"dropped for prompt overlap with the held-out set: {self.n_base_dropped} base, "
            f"{self.n_extra_dropped} extra",
            f"log loss: base only {o.base_log_loss:.4f}, base + extra {o.extra_log_loss:.4f} "
            f"(class prior {self.prior_log_loss:.4f})",
            f"difference (with extra - without): {o.diff:+.4f}, {self.confidence:.0%} CI "
            f"[{o.low:+.4f}, {o.high:+.4f}] ({self.n_boot} paired bootstrap resamples over prompts): "
            f"{o.verdict()}",
        ]
        if self.per_topic:
            out.append("per topic (difference and CI):")
            out += [
                f"  {t.topic[:40]:<40} n={t.n:<6} {t.diff:+.4f} [{t.low:+.4f}, {t.high:+.4f}]"
                for t in self.per_topic
            ]
        out.append(f"({self.seconds:.1f} s)")
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap(
    diffs: np.ndarray, groups: np.ndarray, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of per-row differences and a percentile interval, resampling whole groups with replacement."""
    if len(diffs) == 0:
        return float("nan"), float("nan"), float("nan")
    _, inverse = np.unique(groups, return_inverse=True)
    g_sum = np.bincount(inverse, weights=diffs)
    g_n = np.bincount(inverse).astype(np.float64)
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    chunk = max(1, 2_000_000 // len(g_sum))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, len(g_sum), size=(stop - start, len(g_sum)))
        stats[start:stop] = g_sum[idx].sum(axis=1) / g_n[idx].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(diffs.mean()), float(low), float(high)


def _labeled(table: pa.Table, what: str) -> pa.Table:
    _, ok = battle_labels(table)
    if not ok.any():
        raise ArenaprefError(f"the {what} data has no labeled battles")
    return table.filter(pa.array(ok))


def _topics(holdout: pa.Table, topics_dir: str | Path | None) -> list[str] | None:
    """Topic label per held-out row: from a topic map when given, else a ``topic`` column if present."""
    if topics_dir is not None:
        from arenapref.topics import load_model as load_topics
        from arenapref.topics import with_topic_columns

        tagged = with_topic_columns(load_topics(topics_dir), holdout)
        return [str(v) if v is not None else "(no prompt)" for v in tagged.column("topic_label").to_pylist()]
    if "topic" in holdout.column_names:
        return [str(v) if v is not None else "(none)" for v in holdout.column("topic").to_pylist()]
    return None


def ablate(
    base: pa.Table,
    extra: pa.Table,
    holdout: pa.Table | None = None,
    holdout_frac: float | None = None,
    extra_weight: float = 1.0,
    topics: str | Path | None = None,
    model: str = "lgbm",
    params: Mapping[str, Any] | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_topic_rows: int = 20,
) -> AblationReport:
    """Train on ``base`` alone and on ``base`` + ``extra``; compare log loss on the same held-out rows.

    Give either ``holdout`` (human-labeled battles) or ``holdout_frac`` (that share of ``base``'s
    prompt groups is held out). ``topics`` is a topic-map folder for the per-topic breakdown (topics
    with fewer than ``min_topic_rows`` held-out rows are folded into "(small topics)").
    """
    start = time.perf_counter()
    if (holdout is None) == (holdout_frac is None):
        raise ArenaprefError("give exactly one of a held-out data set or a held-out fraction")
    if extra_weight < 0:
        raise ArenaprefError(f"the extra data's weight must be non-negative, got {extra_weight}")
    base = _labeled(base, "base")
    extra = _labeled(extra, "extra")
    base_keys = prompt_keys(base)
    n_base_dropped = 0
    if holdout_frac is not None:
        held = grouped_split(base_keys, holdout_frac, seed=seed)
        holdout, base, base_keys = base.filter(pa.array(held)), base.filter(pa.array(~held)), base_keys[~held]
    elif holdout is not None:
        holdout = _labeled(holdout, "held-out")
        leak = np.isin(base_keys, prompt_keys(holdout))
        n_base_dropped = int(leak.sum())
        base, base_keys = base.filter(pa.array(~leak)), base_keys[~leak]
    hold_keys = prompt_keys(holdout)
    extra_leak = np.isin(prompt_keys(extra), hold_keys)
    extra = extra.filter(pa.array(~extra_leak))
    if base.num_rows == 0:
        raise ArenaprefError("no base rows are left to train on after holding rows out")
    common = [c for c in base.column_names if c in extra.column_names]
    both = pa.concat_tables([base.select(common), extra.select(common)], promote_options="permissive")
    weights = np.concatenate([np.ones(base.num_rows), np.full(extra.num_rows, extra_weight)])

    extra_params = dict(params or {})
    if model == "lgbm":
        extra_params.setdefault("random_state", seed)
    alone = make_estimator(model, **extra_params).fit(base)
    with_extra = make_estimator(model, **extra_params).fit(both, sample_weight=weights)
    labels, _ = battle_labels(holdout)
    loss_a = row_log_loss(alone.predict_proba(holdout), labels)
    loss_b = row_log_loss(with_extra.predict_proba(holdout), labels)
    y_base, _ = battle_labels(base)
    prior = np.tile(y_base.mean(axis=0), (len(labels), 1))

    def interval(mask: np.ndarray, salt: int) -> tuple[int, float, float, float, float, float]:
        d = loss_b[mask] - loss_a[mask]
        mean, low, high = paired_bootstrap(d, hold_keys[mask], n_boot, confidence, seed + salt)
        return int(mask.sum()), float(loss_a[mask].mean()), float(loss_b[mask].mean()), mean, low, high

    overall = Interval(*interval(np.ones(len(labels), dtype=bool), 0))
    per_topic: list[TopicRow] = []
    topic_of = _topics(holdout, topics)
    if topic_of is not None:
        names = np.array(topic_of, dtype=object)
        uniq, counts = np.unique(names, return_counts=True)
        small = set(uniq[counts < min_topic_rows].tolist())
        names = np.array(["(small topics)" if n in small else n for n in names], dtype=object)
        for k, name in enumerate(sorted(set(names.tolist()))):
            row = interval(names == name, k + 1)
            per_topic.append(TopicRow(*row, topic=str(name)))
        per_topic.sort(key=lambda t: -t.n)
    return AblationReport(
        overall=overall,
        n_base_train=base.num_rows,
        n_extra=extra.num_rows,
        extra_weight=extra_weight,
        n_base_dropped=n_base_dropped,
        n_extra_dropped=int(extra_leak.sum()),
        prior_log_loss=log_loss(prior, labels),
        confidence=confidence,
        n_boot=n_boot,
        seconds=time.perf_counter() - start,
        per_topic=per_topic,
    )


def write_report(report: AblationReport, path: str | Path) -> Path:
    """The report as JSON (for notebooks and the project report)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    return p


__all__ = ["AblationReport", "Interval", "TopicRow", "ablate", "paired_bootstrap", "write_report"]
