"""Does the extra (pseudo-labeled) data help? Train with and without it, score both on the same humans.

The arms differ only in the training rows: the same estimator and hyper-parameters; base rows weigh 1
and extra rows ``weight``; a curve adds arms with a share (``fractions``) of the extra rows at several
weights. Both are scored on the same held-out human-labeled rows, so per-row log-loss differences are
paired.

Training randomness is part of the answer: on 999 real battles one LightGBM trained with seeds 0, 1, 2
scored 1.075, 1.056 and 1.051 on the same held-out rows, as far apart as the effects being judged. So
every arm is trained ``repeats`` times with different seeds; the point estimate compares the per-row
predictions averaged over the repeats, and the interval comes from a two-level bootstrap: each
resample draws the repeats of each arm with replacement (the training randomness) and then the
held-out prompt groups with replacement (rows sharing a prompt move together, since they are not
independent evidence). The report also gives the smallest difference the held-out set can detect
(80% power at the chosen confidence), so "no clear difference" can be read as "nothing larger than
this".

Leakage is removed before training, and counted: base rows whose prompt also appears in the held-out
set (when the held-out set is a separate file), and extra rows whose prompt appears in the held-out set.
Features have no learned state, so they are computed once for all rows and every training reuses them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pyarrow as pa

from arenapref.atomic import atomic_path, write_text
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.metrics import log_loss, row_log_loss
from arenapref.model.estimators import battle_labels, with_labels
from arenapref.model.features import BattleFeatures
from arenapref.model.groups import grouped_split, prompt_keys
from arenapref.model.kinds import make_estimator
from arenapref.model.settings import AblateSettings
from arenapref.model.task import (
    LOSS_NAMES,
    Task,
    TieRule,
    accuracy,
    binary_labels,
    binary_proba,
    check_task,
    check_ties,
    detect_task,
    row_loss,
)
from arenapref.model.training import read_labeled
from arenapref.progress import TextLines
from arenapref.rejects import RejectLog
from arenapref.settings import build

#: Power for the minimum detectable effect.
POWER = 0.8


@dataclass
class Interval:
    """A mean log-loss difference (with extra minus without) and its two-level bootstrap interval."""

    n: int
    base_log_loss: float
    extra_log_loss: float
    diff: float
    low: float
    high: float
    se: float = float("nan")
    # Binary task: accuracy of each arm (``diff``, ``low``, ``high`` are then error-rate differences).
    base_accuracy: float | None = None
    extra_accuracy: float | None = None

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
class CurvePoint(Interval):
    """One arm of the curve: a share of the extra rows at one weight, against base alone."""

    fraction: float = 1.0
    weight: float = 1.0
    n_extra: int = 0
    repeat_diffs: list[float] = field(default_factory=list)


@dataclass(repr=False)
class AblationReport(NotebookResult):
    """What ``ablate`` measured; ``diff`` < 0 means the extra data lowered the task's loss: log loss for
    the three-way task, the error rate (1 - accuracy) for the binary task (``metric`` names it).

    ``overall`` is the full extra set at the first weight; ``curve`` holds every (fraction, weight);
    ``to_arrow()`` is the curve, one row per fraction and weight.
    """

    overall: CurvePoint
    curve: list[CurvePoint]
    n_base_train: int
    n_extra: int
    n_base_dropped: int
    n_extra_dropped: int
    prior_log_loss: float
    repeats: int
    seed: int
    confidence: float
    n_boot: int
    min_detectable_effect: float
    seconds: float
    per_topic: list[TopicRow] = field(default_factory=list)
    task: Task = "three-way"
    metric: str = "log loss"
    n_ties_dropped: int = 0

    @property
    def verdict(self) -> str:
        return self.overall.verdict()

    def curve_lines(self) -> list[str]:
        out = [f"{'fraction':>8} {'weight':>7} {'extra rows':>10} {'difference':>11}  CI"]
        out += [
            f"{c.fraction:>8g} {c.weight:>7g} {c.n_extra:>10} {c.diff:>+11.4f}  [{c.low:+.4f}, {c.high:+.4f}]"
            f"  {c.verdict()}"
            for c in self.curve
        ]
        return out

    def lines(self) -> list[str]:
        o = self.overall
        scores = (
            f"log loss (predictions averaged over {self.repeats} trainings per arm): base only "
            f"{o.base_log_loss:.4f}, base + extra {o.extra_log_loss:.4f} "
            f"(class prior {self.prior_log_loss:.4f})"
        )
        if o.base_accuracy is not None and o.extra_accuracy is not None:
            scores = (
                f"binary task: accuracy (predictions averaged over {self.repeats} trainings per arm) base "
                f"only {o.base_accuracy:.4f}, base + extra {o.extra_accuracy:.4f}; log loss "
                f"{o.base_log_loss:.4f} and {o.extra_log_loss:.4f}"
            )
        out = [
            f"held-out human-labeled battles: {o.n}; base training rows {self.n_base_train}, "
            f"extra rows {self.n_extra} at weight {o.weight:g}",
            f"dropped for prompt overlap with the held-out set: {self.n_base_dropped} base, "
            f"{self.n_extra_dropped} extra"
            + (f"; tie rows left out (binary task): {self.n_ties_dropped}" if self.n_ties_dropped else ""),
            scores,
            f"{self.metric} difference per repeat: " + ", ".join(f"{d:+.4f}" for d in o.repeat_diffs),
            f"pooled {self.metric} difference (with extra - without): {o.diff:+.4f}, "
            f"{self.confidence:.0%} CI [{o.low:+.4f}, {o.high:+.4f}] ({self.n_boot} two-level bootstrap "
            f"resamples over repeats and prompts): {o.verdict()}",
            f"smallest difference this held-out set can detect ({POWER:.0%} power): "
            f"±{self.min_detectable_effect:.4f}",
        ]
        if len(self.curve) > 1:
            out.append("curve (share and weight of the extra rows):")
            out += ["  " + line for line in self.curve_lines()]
        if self.per_topic:
            out.append("per topic (difference and CI, full extra set):")
            out += [
                f"  {t.topic[:40]:<40} n={t.n:<6} {t.diff:+.4f} [{t.low:+.4f}, {t.high:+.4f}]"
                for t in self.per_topic
            ]
        out.append(f"({self.seconds:.1f} s)")
        return out

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        return d

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist([asdict(c) | {"verdict": c.verdict()} for c in self.curve])

    def summary_lines(self) -> list[str]:
        return self.lines()


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
    stats = _group_resamples(g_sum, g_n, n_boot, rng)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(diffs.mean()), float(low), float(high)


def _group_resamples(g_sum: np.ndarray, g_n: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Row-weighted mean of ``n_boot`` resamples of whole groups (chunked to bound memory)."""
    stats = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(len(g_sum), 1))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, len(g_sum), size=(stop - start, len(g_sum)))
        stats[start:stop] = g_sum[idx].sum(axis=1) / g_n[idx].sum(axis=1)
    return stats


def two_level_bootstrap(
    base_pred: np.ndarray,
    extra_pred: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray] = row_log_loss,
) -> tuple[float, float, float, float]:
    """Pooled difference of the repeat-averaged predictions, its interval and bootstrap standard error.

    ``base_pred`` and ``extra_pred`` are (repeats, n, 3). Each resample draws each arm's repeats with
    replacement (the arms were trained independently, so independently), averages their predictions,
    and then draws the prompt groups with replacement. ``loss``: the per-row loss compared (log loss, or
    the binary task's error).
    """
    r_a, r_b = len(base_pred), len(extra_pred)
    diff = loss(extra_pred.mean(axis=0), labels) - loss(base_pred.mean(axis=0), labels)
    _, inverse = np.unique(groups, return_inverse=True)
    n_groups = int(inverse.max()) + 1
    g_n = np.bincount(inverse, minlength=n_groups).astype(np.float64)
    rng = np.random.default_rng(seed)
    # Loss per held-out row for every multiset of repeats would be too many; draw n_boot of them. Summing
    # repeat counts times predictions keeps each draw at one (n, 3) product per arm.
    stats = np.empty(n_boot)
    for b in range(n_boot):
        ca = np.bincount(rng.integers(0, r_a, r_a), minlength=r_a) / r_a
        cb = np.bincount(rng.integers(0, r_b, r_b), minlength=r_b) / r_b
        pa_ = np.tensordot(ca, base_pred, axes=1)
        pb_ = np.tensordot(cb, extra_pred, axes=1)
        d = loss(pb_, labels) - loss(pa_, labels)
        g_sum = np.bincount(inverse, weights=d, minlength=n_groups)
        idx = rng.integers(0, n_groups, n_groups)
        stats[b] = g_sum[idx].sum() / g_n[idx].sum()
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(diff.mean()), float(low), float(high), float(stats.std(ddof=1))


def min_detectable_effect(se: float, confidence: float, power: float = POWER) -> float:
    """The smallest true difference a two-sided test at ``confidence`` detects with ``power``."""
    nd = NormalDist()
    return float((nd.inv_cdf(1 - (1 - confidence) / 2) + nd.inv_cdf(power)) * se)


def _labeled(table: pa.Table, what: str) -> pa.Table:
    _, ok = battle_labels(table)
    if not ok.any():
        raise ArenaprefError(f"the {what} data has no labeled battles")
    return table.filter(pa.array(ok))


def _binary(table: pa.Table, ties: TieRule) -> pa.Table:
    """Labeled battles with their labels made binary (``model.task.binary_labels``); tie rows dropped."""
    y, _ = battle_labels(table)
    yb, keep = binary_labels(y, ties)
    return with_labels(table.filter(pa.array(keep)), yb[keep])


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


def _check_grid(fractions: Sequence[float], weights: Sequence[float]) -> None:
    if not fractions or not weights:
        raise ArenaprefError("give at least one extra fraction and one extra weight")
    bad_f = [f for f in fractions if not 0.0 < f <= 1.0]
    if bad_f:
        raise ArenaprefError(f"extra fractions must be in (0, 1], got {bad_f[0]}")
    bad_w = [w for w in weights if not (w >= 0 and np.isfinite(w))]
    if bad_w:
        raise ArenaprefError(f"the extra data's weight must be non-negative, got {bad_w[0]}")


class _Trainer:
    """Fits the estimator on row subsets of one concatenated table, reusing its features."""

    def __init__(self, model: str, params: Mapping[str, Any], table: pa.Table) -> None:
        self.model = model
        self.params = dict(params)
        self.table = table
        probe = make_estimator(model, **self.params)
        self.feats: BattleFeatures | None = (
            probe.features(table) if callable(getattr(probe, "features", None)) else None
        )

    def predict(
        self, train_rows: np.ndarray, weights: np.ndarray, test_rows: np.ndarray, seed: int
    ) -> np.ndarray:
        params = dict(self.params)
        if "random_state" in make_estimator(self.model).get_params():
            params["random_state"] = seed
        est = make_estimator(self.model, **params)
        train_t, test_t = self.table.take(train_rows), self.table.take(test_rows)
        if self.feats is None:
            est.fit(train_t, sample_weight=weights)
            return np.asarray(est.predict_proba(test_t))
        est.fit(train_t, sample_weight=weights, features=self.feats.take(train_rows))
        return np.asarray(est.predict_proba(test_t, features=self.feats.take(test_rows)))


def ablate(
    base: Any,
    extra: Any,
    holdout: Any = None,
    settings: AblateSettings | None = None,
    *,
    topics: str | Path | None = None,
    seed: int = 0,
    task: str | None = None,
    ties: str = "drop",
    confidence: float = 0.95,
    min_topic_rows: int = 20,
    split_seed: int = 0,
    progress: bool = False,
    on_trained: Callable[[int, int], None] | None = None,
    rejects: RejectLog | None = None,
    format: str | None = None,
    split: str | None = None,
    **fields: Any,
) -> AblationReport:
    """Train on ``base`` alone and on ``base`` + ``extra`` ``repeats`` times each; compare log loss on the
    same held-out rows (see the module docstring).

    ``settings`` (or its fields as keywords: ``repeats``, ``n_boot``, ``curve``, ``extra_weight``,
    ``holdout_frac``, ``model``, ``params``; see ``AblateSettings``) say how. Inputs are paths (read by
    ``arenapref.readers``, ``format`` and ``split`` as there, unreadable rows counted in ``rejects``),
    Tables or DataFrames. ``holdout``: human-labeled battles to score on; without it, ``holdout_frac`` of
    ``base``'s prompt groups is held out, chosen with ``split_seed`` so that ``seed`` changes only the
    training randomness and the bootstrap. ``curve`` and ``extra_weight`` make the arms; the subsets of
    the extra rows are nested (the 0.25 share is inside the 0.5 share). For the ``lgbm`` model the seed
    ensemble is one booster per repeat unless ``params`` sets ``n_seeds`` (the repeats already average).
    ``topics`` is a topic-map folder for the per-topic breakdown (topics with fewer than
    ``min_topic_rows`` held-out rows are folded into "(small topics)"). ``progress`` prints a count of
    trainings to stderr; ``on_trained(done, total)`` is called after each training instead, for a
    caller's own progress bar. ``task`` (None: detected from ``base``, see ``model.task``) picks the
    metric: log loss, or for the binary task the error rate (accuracy reported beside it); a binary
    task's training rows treat ties by ``ties``, and held-out tie rows are left out (counted).
    """
    start = time.perf_counter()
    if settings is not None and fields:
        raise ArenaprefError(f"give `settings` or its fields, not both (got {', '.join(sorted(fields))})")
    if holdout is not None and "holdout_frac" in fields:
        raise ArenaprefError("give exactly one of `holdout` (held-out data) and `holdout_frac`")
    s = settings if settings is not None else build(AblateSettings, **fields)
    model, repeats, n_boot = s.model, s.repeats, s.n_boot
    weights_grid = list(s.extra_weight)
    fractions = sorted(set(float(f) for f in s.curve))
    _check_grid(fractions, weights_grid)
    log = rejects if rejects is not None else RejectLog()
    base_t = _labeled(read_labeled(base, log, format, split)[0], "base")
    extra_t = _labeled(read_labeled(extra, log, format, split)[0], "extra")
    base_keys = prompt_keys(base_t)
    n_base_dropped = 0
    if holdout is None:
        held = grouped_split(base_keys, s.holdout_frac, seed=split_seed)
        hold_t, base_t = base_t.filter(pa.array(held)), base_t.filter(pa.array(~held))
    else:
        hold_t = _labeled(read_labeled(holdout, log, format, split)[0], "held-out")
        leak = np.isin(base_keys, prompt_keys(hold_t))
        n_base_dropped = int(leak.sum())
        base_t = base_t.filter(pa.array(~leak))
    y_base, _ = battle_labels(base_t)
    the_task: Task = check_task(task) or detect_task(base_t, y_base)
    n_ties = 0
    if the_task == "binary":
        rule = check_ties(ties)
        n_before = base_t.num_rows + extra_t.num_rows + hold_t.num_rows
        base_t, extra_t, hold_t = _binary(base_t, rule), _binary(extra_t, rule), _binary(hold_t, "drop")
        n_ties = n_before - base_t.num_rows - extra_t.num_rows - hold_t.num_rows
        if hold_t.num_rows == 0 or base_t.num_rows == 0:
            raise ArenaprefError("no base or held-out rows are left once ties are left out (binary task)")
    hold_keys = prompt_keys(hold_t)
    extra_leak = np.isin(prompt_keys(extra_t), hold_keys)
    extra_t = extra_t.filter(pa.array(~extra_leak))
    if base_t.num_rows == 0:
        raise ArenaprefError("no base rows are left to train on after holding rows out")
    common = [c for c in base_t.column_names if c in extra_t.column_names and c in hold_t.column_names]
    both = pa.concat_tables(
        [base_t.select(common), extra_t.select(common), hold_t.select(common)], promote_options="permissive"
    )
    n_b, n_e, n_h = base_t.num_rows, extra_t.num_rows, hold_t.num_rows
    base_rows = np.arange(n_b)
    extra_order = n_b + np.random.default_rng(seed).permutation(n_e)
    hold_rows = np.arange(n_b + n_e, n_b + n_e + n_h)

    run_params = dict(s.params)
    if model == "lgbm":
        run_params.setdefault("n_seeds", 1)
    trainer = _Trainer(model, run_params, both)
    seeds = [seed * 1000 + r for r in range(repeats)]
    arms = [(f, w) for f in fractions for w in weights_grid]
    total = repeats * (1 + len(arms))
    done = 0
    lines = TextLines("ablate") if progress else None

    def tick() -> None:
        nonlocal done
        done += 1
        if on_trained is not None:
            on_trained(done, total)
        elif lines is not None:
            lines("trained", done, total)

    binary = the_task == "binary"

    def fit_predict(rows: np.ndarray, wts: np.ndarray, s: int) -> np.ndarray:
        p = trainer.predict(rows, wts, hold_rows, s)
        tick()
        return binary_proba(p) if binary else p

    pred_a = np.stack([fit_predict(base_rows, np.ones(n_b), s) for s in seeds])
    labels, _ = battle_labels(hold_t)
    arm_preds: dict[tuple[float, float], np.ndarray] = {}
    for f, w in arms:
        take = extra_order[: round(f * n_e)]
        rows = np.concatenate([base_rows, take])
        wts = np.concatenate([np.ones(n_b), np.full(len(take), w)])
        arm_preds[(f, w)] = np.stack([fit_predict(rows, wts, s) for s in seeds])

    def point(f: float, w: float, mask: np.ndarray, salt: int) -> CurvePoint:
        pb = arm_preds[(f, w)][:, mask]
        pa_ = pred_a[:, mask]
        lab = labels[mask]
        diff, low, high, se = two_level_bootstrap(
            pa_, pb, lab, hold_keys[mask], n_boot, confidence, seed + salt, partial(row_loss, the_task)
        )
        per_rep = [
            float(row_loss(the_task, pb[r], lab).mean() - row_loss(the_task, pa_[r], lab).mean())
            for r in range(repeats)
        ]
        return CurvePoint(
            n=int(mask.sum()),
            base_log_loss=log_loss(pa_.mean(axis=0), lab),
            extra_log_loss=log_loss(pb.mean(axis=0), lab),
            diff=diff,
            low=low,
            high=high,
            se=se,
            fraction=f,
            weight=w,
            n_extra=round(f * n_e),
            repeat_diffs=per_rep,
            base_accuracy=accuracy(pa_.mean(axis=0), lab) if binary else None,
            extra_accuracy=accuracy(pb.mean(axis=0), lab) if binary else None,
        )

    everything = np.ones(n_h, dtype=bool)
    curve = [point(f, w, everything, k) for k, (f, w) in enumerate(arms)]
    overall = next(c for c in curve if c.fraction == fractions[-1] and c.weight == weights_grid[0])
    per_topic: list[TopicRow] = []
    topic_of = _topics(hold_t, topics)
    if topic_of is not None:
        names = np.array(topic_of, dtype=object)
        uniq, counts = np.unique(names, return_counts=True)
        small = set(uniq[counts < min_topic_rows].tolist())
        names = np.array(["(small topics)" if n in small else n for n in names], dtype=object)
        for k, name in enumerate(sorted(set(names.tolist()))):
            c = point(overall.fraction, overall.weight, names == name, 100 + k)
            per_topic.append(
                TopicRow(c.n, c.base_log_loss, c.extra_log_loss, c.diff, c.low, c.high, c.se, topic=str(name))
            )
        per_topic.sort(key=lambda t: -t.n)
    y_base, _ = battle_labels(base_t)
    prior = np.tile(y_base.mean(axis=0), (n_h, 1))
    return AblationReport(
        overall=overall,
        curve=curve,
        n_base_train=n_b,
        n_extra=n_e,
        n_base_dropped=n_base_dropped,
        n_extra_dropped=int(extra_leak.sum()),
        prior_log_loss=log_loss(binary_proba(prior) if binary else prior, labels),
        repeats=repeats,
        seed=seed,
        confidence=confidence,
        n_boot=n_boot,
        min_detectable_effect=min_detectable_effect(overall.se, confidence),
        seconds=time.perf_counter() - start,
        per_topic=per_topic,
        task=the_task,
        metric=LOSS_NAMES[the_task],
        n_ties_dropped=n_ties,
    )


def write_report(report: AblationReport, path: str | Path) -> Path:
    """The report as JSON (for notebooks and the project report), written atomically."""
    return write_text(path, json.dumps(report.as_dict(), indent=2) + "\n")


def plot_curve(report: AblationReport, path: str | Path) -> Path:
    """A PNG of the difference (with its interval) against the share of extra rows, one line per weight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(0.0, color="grey", linewidth=1, linestyle="--")
    for w in sorted({c.weight for c in report.curve}):
        pts = sorted((c for c in report.curve if c.weight == w), key=lambda c: c.fraction)
        x = [c.n_extra for c in pts]
        y = np.array([c.diff for c in pts])
        err = np.array([[c.diff - c.low for c in pts], [c.high - c.diff for c in pts]])
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=f"weight {w:g}")
    ax.set_xlabel("extra rows used")
    ax.set_ylabel("log-loss difference (with - without)")
    ax.set_title(f"Extra data: {report.repeats} trainings per arm, {report.confidence:.0%} intervals")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)


__all__ = [
    "AblationReport",
    "CurvePoint",
    "Interval",
    "TopicRow",
    "ablate",
    "min_detectable_effect",
    "paired_bootstrap",
    "plot_curve",
    "two_level_bootstrap",
    "write_report",
]
