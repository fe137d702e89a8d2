"""The nine stages, each a thin adapter from the config to one stage package's Python API.

Stage packages are imported inside ``run`` so a pipeline that skips every stage imports none of them.
Every stage writes only into ``ctx.out`` (a temporary folder the runner renames into place).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from arenapref.errors import ArenaprefError, CheckFailed, MissingDependencyError
from arenapref.pipeline.config import PipelineConfig
from arenapref.pipeline.stage import StageContext, StageOutcome, register

if TYPE_CHECKING:
    from arenapref.executors.base import Executor


def _paths(config: PipelineConfig, base: Path, *names: str) -> list[Path]:
    src = config.sources
    out: list[Path] = []
    for name in names:
        value = getattr(src, name)
        for p in value if isinstance(value, list) else [value] if value else []:
            q = Path(p).expanduser()
            out.append(q if q.is_absolute() else base / q)
    return out


@contextmanager
def _executor(ctx: StageContext) -> Iterator[Executor | None]:
    """The executor ``run.executor`` names; None for this process (the stage's plain local code).

    Under ``run_pipeline`` it is the run's one executor (``ctx.executor``: started here on first use,
    closed by the runner), so a run starts Ray once, not once a stage. ``run.executor`` is deliberately
    not in any stage's ``settings``: both executors write equal outputs (tests/test_ray_executors.py),
    so a switch must not change a stage's key or rerun it.
    """
    from arenapref.executors.registry import get_executor, ray_available

    run = ctx.config.run
    if run.executor == "local":
        yield None
        return
    if not ray_available():
        raise MissingDependencyError("ray", 'run.executor = "ray"', "ray")
    if ctx.executor is not None:
        yield ctx.executor.get()
        return
    with get_executor(run.executor, run.address) as executor:
        yield executor


def _fields(ctx: StageContext, section: BaseModel, model: type[BaseModel]) -> dict[str, Any]:
    """The fields of a stage package's settings ``model`` in its config ``section``, with ``run.seed``."""
    fields = section.model_dump(include=set(model.model_fields))
    return fields | ({"seed": ctx.config.run.seed} if "seed" in model.model_fields else {})


def _json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


class _Base:
    """Defaults shared by the stages: enabled from the config section, no upstream, no inputs."""

    name = ""
    version = "1"
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    def section(self, config: PipelineConfig) -> Any:
        return getattr(config, self.name)

    def enabled(self, config: PipelineConfig) -> bool:
        return bool(self.section(config).enabled)

    def missing(self, config: PipelineConfig) -> str | None:
        absent = [f"sources.{s}" for s in self.required if not getattr(config.sources, s)]
        return f"needs {' and '.join(absent)}" if absent else None

    def inputs(self, config: PipelineConfig, base: Path) -> list[Path]:
        return _paths(config, base, *self.sources)

    def settings(self, config: PipelineConfig, base: Path) -> dict[str, Any]:
        data: dict[str, Any] = self.section(config).model_dump()
        data["seed"] = config.run.seed
        for s in self.sources:
            if hasattr(config.sources, f"{s}_format"):
                data[f"{s}_format"] = getattr(config.sources, f"{s}_format")
        return data


class ProfileStage(_Base):
    name = "profile"
    sources = ("lmsys", "train", "test")

    def missing(self, config: PipelineConfig) -> str | None:
        s = config.sources
        return None if s.lmsys or s.train or s.test else "needs at least one source"

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref import api
        from arenapref.profile.plot import plot_profiles
        from arenapref.profile.render import write_json
        from arenapref.profile.settings import ProfileSettings
        from arenapref.readers import open_source

        src = ctx.config.sources
        settings = _fields(ctx, ctx.config.profile, ProfileSettings)
        opened = [
            *(open_source(ctx.path(p), src.lmsys_format) for p in src.lmsys),
            *([open_source(ctx.path(src.train), src.train_format)] if src.train else []),
            *([open_source(ctx.path(src.test), src.test_format)] if src.test else []),
        ]
        profiles = []
        with _executor(ctx) as ex:
            for i, s in enumerate(opened):
                profiles.append(api.profile(s, executor=ex, **settings))
                ctx.progress(i + 1, len(opened))
        write_json(profiles, ctx.out / "profile.json")
        plot_profiles(profiles, ctx.out / "profile.png")
        drops = {f"{p.name}: {k}": v for p in profiles for k, v in p.rejected.items()}
        rows = {p.name: p.rows for p in profiles}
        return StageOutcome(
            ", ".join(f"{n} {r:,} rows" for n, r in rows.items())
            + (f"; {sum(drops.values()):,} rejected" if drops else ""),
            counts={"rows": rows},
            drops=drops,
        )


class CompareStage(_Base):
    name = "compare"
    sources = ("lmsys", "train", "test")
    required = ("lmsys",)

    def missing(self, config: PipelineConfig) -> str | None:
        s = config.sources
        if not s.lmsys or not (s.train or s.test):
            return "needs sources.lmsys and sources.train or sources.test"
        return None

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref import api
        from arenapref.compare.run import write_compare
        from arenapref.compare.settings import CompareSettings
        from arenapref.readers import open_source

        src = ctx.config.sources
        named = [("train", src.train, src.train_format), ("test", src.test, src.test_format)]
        given = [(n, p, f) for n, p, f in named if p]
        steps = ("read LEFT", "read RIGHT", "match")
        with _executor(ctx) as ex:
            result = api.compare(
                [open_source(ctx.path(p), f) for _, p, f in given],
                [open_source(ctx.path(p), src.lmsys_format) for p in src.lmsys],
                left_name="+".join(n for n, _, _ in given),
                right_name="lmsys",
                executor=ex,
                progress=lambda stage, done, total: ctx.progress(steps.index(stage), len(steps)),
                **_fields(ctx, ctx.config.compare, CompareSettings),
            )
        write_compare(result, ctx.out)
        ctx.progress(3, 3)
        lr, rep = result.report["left_in_right"], result.report
        return StageOutcome(
            f"{lr['matched']:,}/{lr['records']:,} {rep['left']['name']} prompts found in LMSYS "
            f"(exact {lr['exact']:,}, placeholder {lr['placeholder']:,}, near {lr['near']:,})",
            counts={k: lr[k] for k in ("records", "matched", "exact", "placeholder", "near")},
            drops={
                f"{rep[s]['name']}: {k}": v for s in ("left", "right") for k, v in rep[s]["rejects"].items()
            },
        )


class TopicsStage(_Base):
    name = "topics"
    sources = ("lmsys", "train", "test")
    required = ("lmsys",)

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref.api import fit_topics, probe
        from arenapref.readers import open_source
        from arenapref.topics.probe import write_chart
        from arenapref.topics.settings import TopicFitSettings, TopicProbeSettings

        t, src = ctx.config.topics, ctx.config.sources
        lmsys = [open_source(ctx.path(p), src.lmsys_format) for p in src.lmsys]
        fit_on = lmsys[0] if len(lmsys) == 1 else lmsys
        model = fit_topics(fit_on, False, out=ctx.out / "map", **_fields(ctx, t, TopicFitSettings))
        ctx.progress(1, 2)
        sources = {
            f"lmsys{i + 1}" if len(src.lmsys) > 1 else "lmsys": open_source(ctx.path(p), src.lmsys_format)
            for i, p in enumerate(src.lmsys)
        }
        for name, p, f in (("train", src.train, src.train_format), ("test", src.test, src.test_format)):
            if p:
                sources[name] = open_source(ctx.path(p), f)
        with _executor(ctx) as ex:
            report = probe(model, sources, executor=ex, **_fields(ctx, t, TopicProbeSettings))
        report.write_json(ctx.out / "probe.json")
        write_chart(report, ctx.out / "probe.png")
        ctx.progress(2, 2)
        flagged = [c for c in report.coverage if c.flag in {"under", "missing"}]
        return StageOutcome(
            f"{model.k} topics fitted on {model.stats['kept']:,} prompts; target {report.target}: "
            f"{len(flagged)} topic(s) under-covered",
            counts={"k": model.k, "fitted_on": model.stats["kept"], "under_covered": len(flagged)},
            drops={str(k): int(v) for k, v in model.stats.items() if str(k).startswith("dropped: ")},
        )


class MineStage(_Base):
    name = "mine"
    uses = ("topics",)
    sources = ("lmsys", "train", "test")
    required = ("lmsys",)

    def inputs(self, config: PipelineConfig, base: Path) -> list[Path]:
        names = ("lmsys", "test", "train") if config.mine.exclude_train else ("lmsys", "test")
        return _paths(config, base, *names)

    def settings(self, config: PipelineConfig, base: Path) -> dict[str, Any]:
        data = super().settings(config, base)
        regen = data.pop("regenerate")
        if config.mine.regenerate.model:  # where answers are kept and how fast they come change none
            data["regenerate"] = {k: v for k, v in regen.items() if k not in ("cache", "concurrency")}
        return data

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref import api
        from arenapref.mine.output import write_result
        from arenapref.mine.regenerate import regeneration
        from arenapref.mine.settings import MineSettings
        from arenapref.readers import open_source

        m, src = ctx.config.mine, ctx.config.sources
        # In the run folder, outside the stage folder (as the judge's): answers received before a kill
        # survive it; a configured cache is relative to the config file, as every path.
        cache = ctx.path(m.regenerate.cache) if m.regenerate.cache else ctx.run_dir / "cache" / "regen.sqlite"
        regen = regeneration(m.regenerate.model_copy(update={"cache": str(cache)}))
        exclude = [
            ctx.path(p)
            for p in ([src.test] if src.test else []) + ([src.train] if m.exclude_train and src.train else [])
        ]
        topics = ctx.stage_dir("topics") / "map" if ctx.has("topics") else None
        with _executor(ctx) as ex:
            result = api.mine(
                [open_source(ctx.path(p), src.lmsys_format) for p in src.lmsys],
                exclude,
                topics=topics,
                regenerate=regen,
                work_dir=ctx.out,
                executor=ex,
                progress=False,
                **_fields(ctx, m, MineSettings),
            )
        write_result(result, ctx.out / "pairs.parquet", dropped=ctx.out / "dropped.parquet")
        f = result.funnel
        drops = {**f.dropped, **{f"pair: {k}": v for k, v in f.pairs_dropped.items()}}
        return StageOutcome(
            f"{f.total_in:,} conversations -> {f.minable_groups:,} minable prompt groups -> "
            f"{f.pairs_out:,} pairs",
            counts={"conversations": f.total_in, "minable_groups": f.minable_groups, "pairs": f.pairs_out},
            drops=drops,
        )


# Judge settings that do not change an answer (how fast and where it is asked, where answers are kept);
# the raw spec, base_url and model are replaced in the key by the judge's identity, which resolves them.
JUDGE_NOT_IN_KEY = (
    "enabled",
    "spec",
    "base_url",
    "model",
    "api_key_env",
    "concurrency",
    "timeout_s",
    "cache",
)


class LabelStage(_Base):
    name = "label"
    version = "2"
    needs = ("mine",)
    sources = ("train",)
    required = ("train",)

    def settings(self, config: PipelineConfig, base: Path) -> dict[str, Any]:
        from arenapref.label.settings import judge_config

        data = super().settings(config, base)
        lab = config.label
        judge = data.pop("judge")
        if lab.judge_runs:
            # The judge's identity (server, model, the spec's full content): another judge's answers are
            # never reused; the spec is resolved against the config's folder, as every config path.
            identity = judge_config(lab.judge, base=base, seed=config.run.seed).identity()
            data["judge"] = {k: v for k, v in judge.items() if k not in JUDGE_NOT_IN_KEY} | identity
        if not lab.teacher.enabled:
            data.pop("teacher")
        elif not lab.teacher.model_dir:
            data["teacher"].pop("model_dir", None)
        return data

    def inputs(self, config: PipelineConfig, base: Path) -> list[Path]:
        out = super().inputs(config, base)
        t = config.label.teacher
        if t.enabled and t.model_dir:
            out.append(Path(t.model_dir) if Path(t.model_dir).is_absolute() else base / t.model_dir)
        return out

    def missing(self, config: PipelineConfig) -> str | None:
        lab = config.label
        if not (lab.judge_runs or lab.teacher.enabled):
            return "label.judge and label.teacher are both disabled"
        if not (lab.judge_runs if lab.use == "judge" else lab.teacher.enabled):
            return f"label.use is {lab.use!r} but label.{lab.use}.enabled is false"
        return super().missing(config)

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref.label.output import write_outputs
        from arenapref.readers import read_table

        lab, src = ctx.config.label, ctx.config.sources
        pairs = read_table(ctx.stage_dir("mine") / "pairs.parquet")
        if lab.max_pairs is not None:
            pairs = pairs.slice(0, lab.max_pairs)
        counts: dict[str, Any] = {"pairs": pairs.num_rows}
        drops: dict[str, int] = {}
        parts: list[str] = []
        assert src.train is not None
        train_path = ctx.path(src.train)
        if lab.judge_runs:
            result, report = self._judge(ctx, pairs, read_table(train_path, src.train_format))
            write_outputs(
                result.table,
                result.failures,
                ctx.out / "judge_labels.parquet",
                ctx.out / "judge_failures.jsonl",
            )
            s = result.stats
            counts["judge"] = {
                "labeled": s.labeled,
                "failed": s.failed,
                "orders_sent": s.orders_sent,
                "orders_cached": s.orders_cached,
                "cost_this_run": s.cost,
                "agreement": None if report is None else report.agreement.accuracy,
            }
            drops.update({f"judge: {k}": v for k, v in s.failure_reasons.items()})
            parts.append(
                f"judge labeled {s.labeled:,}/{s.pairs:,} ({s.orders_sent} sent, {s.orders_cached} cached)"
            )
        if lab.teacher.enabled:
            result = self._teacher(ctx, pairs, train_path)
            write_outputs(
                result.table,
                result.failures,
                ctx.out / "teacher_labels.parquet",
                ctx.out / "teacher_failures.jsonl",
            )
            counts["teacher"] = {"labeled": result.stats.labeled}
            parts.append(f"teacher labeled {result.stats.labeled:,}")
        chosen = ctx.out / f"{lab.use}_labels.parquet"
        shutil.copyfile(chosen, ctx.out / "labeled.parquet")
        counts["labeled"] = pq.read_metadata(chosen).num_rows
        return StageOutcome("; ".join(parts) + f"; using {lab.use} labels", counts=counts, drops=drops)

    def _judge(self, ctx: StageContext, pairs: pa.Table, train: pa.Table) -> tuple[Any, Any]:
        """The judge's labels (and its agreement with the first ``eval_rows`` human labels, whose
        calibration map then applies), through the same ``open_judge`` as ``arenapref label``."""
        from arenapref.label.calibration import CalibrationMap
        from arenapref.label.evaluate import judge_eval
        from arenapref.label.settings import open_judge

        j = ctx.config.label.judge
        with (
            _executor(ctx) as ex,
            open_judge(
                j,
                base=ctx.base,
                seed=ctx.config.run.seed,
                # In the run folder, outside the stage folder: answers received before a kill survive it.
                default_cache=ctx.run_dir / "cache" / "judge.sqlite",
                executor=ex,
                progress=lambda done, total, cost: ctx.progress(done, total),
            ) as judge,
        ):
            report = None
            cmap = None
            if j.eval_rows:
                report = judge_eval(
                    train.slice(0, j.eval_rows), judge, ctx.out / "judge-eval", seed=ctx.config.run.seed
                )
                if "calibration" in report.outputs:
                    cmap = CalibrationMap.load(report.outputs["calibration"])
            return judge(pairs, cmap), report

    def _teacher(self, ctx: StageContext, pairs: pa.Table, train_path: Path) -> Any:
        from arenapref.api import train
        from arenapref.label.teacher import load_teacher, teacher_battles

        t = ctx.config.label.teacher
        if t.model_dir:
            model_dir = ctx.path(t.model_dir)
        else:
            model_dir = ctx.out / "teacher"
            train(
                [train_path],
                model_dir,
                seed=ctx.config.run.seed,
                format=ctx.config.sources.train_format,
                folds=t.folds,
                params={"n_estimators": t.n_estimators},
            )
        return teacher_battles(pairs, load_teacher(model_dir), model_dir.name)


def _stage_settings(section: Any, cls: type[Any], **resolved: Any) -> Any:
    """The model package's settings a pipeline section extends (``cls``), with paths ``resolved``."""
    return cls(**{k: getattr(section, k) for k in cls.model_fields} | resolved)


class TrainStage(_Base):
    name = "train"
    uses = ("label",)
    sources = ("train",)
    required = ("train",)

    def inputs(self, config: PipelineConfig, base: Path) -> list[Path]:
        out = super().inputs(config, base)
        b = config.train.base
        if b:  # the base model of an LLM: a changed one retrains
            out.append(Path(b) if Path(b).is_absolute() else base / b)
        return out

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref.api import train
        from arenapref.model.settings import TrainSettings

        tr, src = ctx.config.train, ctx.config.sources
        assert src.train is not None
        data: list[str | Path] = [ctx.path(src.train)]
        if tr.extra:
            if not ctx.has("label"):
                raise ArenaprefError("train.extra is true but the label stage has no output in this run")
            data.append(ctx.stage_dir("label") / "labeled.parquet")
        settings = _stage_settings(tr, TrainSettings, base=str(ctx.path(tr.base)) if tr.base else None)
        summary = train(
            data,
            ctx.out / "model",
            seed=ctx.config.run.seed,
            weights={str(data[-1]): tr.extra_weight} if tr.extra else None,
            format=None if tr.extra else src.train_format,
            settings=settings,
        )
        return StageOutcome(summary.brief(), counts=summary.counts(), drops=dict(summary.rejects.counts))

    def settings(self, config: PipelineConfig, base: Path) -> dict[str, Any]:
        data = super().settings(config, base)
        if not config.train.extra:
            data.pop("extra_weight")
        return data


class EvaluateStage(_Base):
    """Validation on human labels only: the train stage's out-of-fold predictions, and an optional holdout.

    Ground truth of synthetic data is never looked for here; the demo scores against it as its own step.
    """

    name = "evaluate"
    needs = ("train",)
    sources = ("train",)
    required = ("train",)

    def inputs(self, config: PipelineConfig, base: Path) -> list[Path]:
        out = super().inputs(config, base)
        d = config.evaluate.data
        if d:
            out.append(Path(d) if Path(d).is_absolute() else base / d)
        return out

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref.model.estimators import battle_labels
        from arenapref.model.evaluate import compute_metrics, reliability_diagram
        from arenapref.model.kinds import load_model
        from arenapref.model.task import Task, check_task
        from arenapref.readers import read_battles

        ev, src = ctx.config.evaluate, ctx.config.sources
        model = load_model(ctx.stage_dir("train") / "model")
        # The task asked for, by default the one the model was trained for (as ``arenapref evaluate``).
        trained_for: Task = getattr(model, "task_", "three-way")
        task: Task = check_task(ev.task) or trained_for
        assert src.train is not None
        human = read_battles(ctx.path(src.train), src.train_format)
        labels, ok = battle_labels(human)
        label_of = {str(i): labels[k] for k, i in enumerate(human.column("id").to_pylist()) if ok[k]}
        oof = pq.read_table(ctx.stage_dir("train") / "model" / "oof.parquet")
        ids = [str(i) for i in oof.column("id").to_pylist()]
        keep = np.array([i in label_of for i in ids], dtype=bool)
        proba = np.column_stack([oof.column(c).to_numpy() for c in ("p_a", "p_b", "p_tie")])[keep]
        y = np.array([label_of[i] for i, k in zip(ids, keep, strict=True) if k]).reshape(-1, 3)
        metrics = {"oof": compute_metrics(proba, y, task=task).as_dict()}
        reliability_diagram(proba, y, ctx.out / "reliability.png", n_bins=ev.bins)
        score = "accuracy" if task == "binary" else "log_loss"
        summary = f"OOF on {len(y):,} human-labeled battles: {score} {metrics['oof'][score]:.4f}"
        if ev.data:
            held = read_battles(ctx.path(ev.data), ev.data_format)
            hl, hok = battle_labels(held)
            held = held.filter(pa.array(hok))
            hp = model.predict_proba(held)
            metrics["holdout"] = compute_metrics(hp, hl[hok], task=task).as_dict()
            reliability_diagram(hp, hl[hok], ctx.out / "holdout_reliability.png", n_bins=ev.bins)
            summary += f"; holdout {int(hok.sum()):,}: {metrics['holdout'][score]:.4f}"
        _json(ctx.out / "metrics.json", metrics)
        return StageOutcome(summary, counts={k: v[score] for k, v in metrics.items()})


class AblateStage(_Base):
    name = "ablate"
    needs = ("label",)
    uses = ("topics",)
    sources = ("train",)
    required = ("train",)

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref.model.ablate import ablate, plot_curve, write_report
        from arenapref.model.settings import AblateSettings
        from arenapref.readers import read_battles, read_table

        a, src, seed = ctx.config.ablate, ctx.config.sources, ctx.config.run.seed
        assert src.train is not None
        base = read_battles(ctx.path(src.train), src.train_format)
        extra = read_table(ctx.stage_dir("label") / "labeled.parquet")
        report = ablate(
            base,
            extra,
            settings=_stage_settings(a, AblateSettings, curve=sorted({*a.curve, 1.0})),
            topics=ctx.stage_dir("topics") / "map" if ctx.has("topics") else None,
            seed=seed,
            on_trained=ctx.progress,
            task=ctx.config.train.task,
            ties=ctx.config.train.ties,
        )
        write_report(report, ctx.out / "ablation.json")
        plot_curve(report, ctx.out / "curve.png")
        o = report.overall
        return StageOutcome(
            f"extra data {o.diff:+.4f} {report.metric} [{o.low:+.4f}, {o.high:+.4f}]: {o.verdict()}",
            counts={"holdout": o.n, "extra": report.n_extra, "diff": o.diff, "low": o.low, "high": o.high},
            drops={
                "base: prompt in holdout": report.n_base_dropped,
                "extra: prompt in holdout": report.n_extra_dropped,
            },
        )

    def settings(self, config: PipelineConfig, base: Path) -> dict[str, Any]:
        data = super().settings(config, base)
        # The task picks the metric the ablation compares (``[train] task``, shared with train/evaluate).
        data["task"], data["ties"] = config.train.task, config.train.ties
        return data


class PredictStage(_Base):
    name = "predict"
    needs = ("train",)
    sources = ("test",)
    required = ("test",)

    def run(self, ctx: StageContext) -> StageOutcome:
        from arenapref.api import predict
        from arenapref.model.io import check_submission

        test = ctx.config.sources.test
        assert test is not None
        with _executor(ctx) as ex:
            sub = predict(
                ctx.stage_dir("train") / "model",
                ctx.path(test),
                ctx.out / "submission.csv",
                executor=ex,
                clip=ctx.config.predict.clip,
            )
        check = check_submission(sub.path, ctx.path(test))
        if not check.ok:
            raise CheckFailed(f"the submission failed its format check: {'; '.join(check.problems)}")
        return StageOutcome(
            f"{sub.n_rows:,} predictions, format check passed",
            counts={"rows": sub.n_rows, "prior_fallback": sub.n_fallback},
            drops=dict(sub.rejects.counts),
        )


register(ProfileStage())
register(CompareStage())
register(TopicsStage())
register(MineStage())
register(LabelStage())
register(TrainStage())
register(EvaluateStage())
register(AblateStage())
register(PredictStage())
