"""``arenapref topics``: fit the topic map, probe topic mixes of several sources, write topic columns.

Stage packages (sklearn, scipy, onnxruntime) are imported inside the commands, so ``arenapref --help``
stays light.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    JsonOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    command_progress,
    console,
    default_of,
    emit_json,
    open_input,
    progress_enabled,
    report_rejects,
    settings_options,
    start_command,
)
from arenapref.executors.cli import AddressOption, ExecutorOption, executor_for
from arenapref.topics.settings import EMBEDDER_NAMES, TopicFitSettings, TopicProbeSettings

if TYPE_CHECKING:
    from arenapref.topics.fit import TopicModel
    from arenapref.topics.probe import ProbeReport

# The settings models own every default (topics.settings is pydantic only: --help stays light).
_fit, _probe = partial(default_of, TopicFitSettings), partial(default_of, TopicProbeSettings)
#: ``TopicProbeSettings`` fields whose option is not ``--`` and the name with dashes.
PROBE_FLAGS = {"probe_sample": "--sample"}

topics_app = typer.Typer(
    help="Topic map (the LMSYS-Chat-1M paper's k-means topics): fit, show, title, probe mixes, assign.",
    no_args_is_help=True,
)
app.add_typer(topics_app, name="topics")

ModelDir = Annotated[Path, typer.Argument(help="Folder of a topic map written by `topics fit`.")]


def _topics_json(model: TopicModel) -> list[dict[str, Any]]:
    return [
        {"topic": t.topic, "size": t.size, "share": t.share, "label": t.title or t.label, "terms": t.terms}
        for t in model.topics
    ]


@topics_app.command("fit")
def fit(
    source: Annotated[Path, typer.Argument(help="Conversations or battles to learn the topics from.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the topic map into.")],
    k: Annotated[int, typer.Option("--k", help="Number of topics.")] = _fit("k"),
    sample: Annotated[int, typer.Option("--sample", help="Rows sampled at random before filtering.")] = _fit(
        "sample"
    ),
    map_sample: Annotated[
        int,
        typer.Option(
            "--map-sample",
            help="Kept prompts a transformer embeds and clusters, a seeded sample (0: all of them).",
        ),
    ] = _fit("map_sample"),
    embedder: Annotated[
        str,
        typer.Option(
            "--embedder",
            envvar="ARENAPREF_TOPIC_EMBEDDER",
            help=f"Embedder: {', '.join(EMBEDDER_NAMES)} (auto: minilm, or tfidf without the embed extra).",
        ),
    ] = _fit("embedder"),
    assign: Annotated[
        Literal["student", "transformer"],
        typer.Option(
            "--assign",
            help="How a transformer map places other rows: a fast student trained on the fit sample's "
            "transformer topics, or the transformer itself (exact, about 100 prompts/s).",
        ),
    ] = _fit("assign"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample, the SVD and k-means.")] = _fit(
        "seed"
    ),
    english_only: Annotated[
        bool, typer.Option("--english-only/--all-languages", help="Keep English prompts only (paper).")
    ] = _fit("english_only"),
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            envvar="ARENAPREF_THREADS",
            help="BLAS/OpenMP threads for the SVD and k-means; 0: every core of the machine.",
        ),
    ] = _fit("threads"),
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects_path: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fit a topic map with the LMSYS-Chat-1M paper's recipe: a seeded random sample, first user prompt,
    English only, 32-1536 characters, de-duplicated, embedded, L2-normalised, k-means. Each topic gets a
    label from its most distinctive terms (class-based TF-IDF) and the prompts nearest its centroid.
    Prompts dropped by the recipe are written to DIR/rejects.jsonl (and --rejects) with their reason.
    """
    start_command(json_out, quiet)
    from arenapref.api import fit_topics
    from arenapref.settings import build

    values = {"k": k, "sample": sample, "map_sample": map_sample, "embedder": embedder, "seed": seed}
    with settings_options():
        settings = build(
            TopicFitSettings, **values, english_only=english_only, assign=assign, threads=threads
        )
    opened = open_input(source, fmt, split=split)
    rejects = opened.rejects
    with command_progress("topics fit") as tell:
        model = fit_topics(opened, tell or False, out=out, **settings.model_dump())
    for note in model.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    _print_recipe(model)
    _print_topics(model)
    report_rejects(rejects, source, rejects_path, hint=False)
    stats = model.stats
    console.print(
        f"fitted {model.k} topics on {stats['kept']} prompts of {stats['sampled']} sampled "
        f"({model.embedder.name} embedder); map written to {out}",
        highlight=False,
    )
    _print_quality({**model.timing, **model.quality})
    if json_out:
        emit_json(
            {
                "command": "topics fit",
                "out": out,
                "embedder": model.embedder.name,
                "k": model.k,
                "recipe": model.recipe,
                "stats": stats,
                "notes": model.notes,
                "quality": model.quality,
                "timing": model.timing,
                "assigned_by": model.assigner,
                "topics": _topics_json(model),
                "rejects": len(rejects),
            }
        )


def _print_quality(quality: dict[str, float]) -> None:
    """The map's honesty figures in one line: student agreement next to the map's own seed stability."""
    if "seed_stability" not in quality:
        return
    parts = []
    if "embed_prompts_per_second" in quality:
        parts.append(f"transformer {quality['embed_prompts_per_second']:,.0f} prompts/s")
    parts.append(f"map seed stability {quality['seed_stability']:.3f}")
    if "student_agreement" in quality:
        parts.append(f"student agreement on held-out fit prompts {quality['student_agreement']:.3f}")
    console.print("; ".join(parts), highlight=False)


def _print_recipe(model: TopicModel) -> None:
    table = Table(title="Recipe (LMSYS-Chat-1M paper): prompts left after each step")
    table.add_column("step")
    table.add_column("prompts", justify="right")
    for step in model.recipe:
        table.add_row(str(step["step"]), f"{int(step['count']):,}")
    console.print(table)


@topics_app.command("show")
def show(model_dir: ModelDir, json_out: JsonOption = False, quiet: QuietOption = False) -> None:
    """Print a saved topic map: recipe counts, size, share, label and the prompt nearest each centroid."""
    start_command(json_out, quiet)
    from arenapref.topics.fit import load_model

    model = load_model(model_dir)
    _print_recipe(model)
    _print_topics(model)
    if json_out:
        emit_json(
            {
                "command": "topics show",
                "model": model_dir,
                "embedder": model.embedder.name,
                "k": model.k,
                "recipe": model.recipe,
                "topics": _topics_json(model),
            }
        )


@topics_app.command("probe")
def probe_cmd(
    model_dir: ModelDir,
    sources: Annotated[list[Path], typer.Argument(help="Sources to compare (any supported format).")],
    target: Annotated[
        str | None, typer.Option("--target", help="Source the others are compared to (default: the last).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the full report as JSON here.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write a bar chart (PNG) of the mixes here.")
    ] = None,
    unique_prompts: Annotated[
        bool,
        typer.Option(
            "--unique-prompts/--all-rows",
            help="Count each distinct prompt once per source (FastChat folders repeat a question per model).",
        ),
    ] = _probe("unique_prompts"),
    sample: Annotated[
        int,
        typer.Option(
            "--sample",
            help="On a transformer map, prompts per source placed exactly by the transformer (a seeded "
            "sample: 5,000 gives 95% intervals of at most +-1.4 points, +-0.6 at a 5% share; the fit "
            "source's prompts the map embedded are not embedded again); 0 places every row through "
            "the student.",
        ),
    ] = _probe("probe_sample"),
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects_path: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Assign each source's first prompts to the topic map and compare the topic mixes: shares with 95%
    Wilson intervals side by side, chi-square test and Jensen-Shannon distance for every pair, and the
    topics the other sources under- or over-represent relative to the target (e.g. the test set).
    Prompts the map cannot place are counted as unassigned, by reason.
    """
    start_command(json_out, quiet)
    from arenapref.api import probe
    from arenapref.rejects import RejectLog
    from arenapref.settings import build
    from arenapref.topics.probe import unique_names, write_chart

    with settings_options(PROBE_FLAGS):
        settings = build(TopicProbeSettings, probe_sample=sample, unique_prompts=unique_prompts)
    opened = [open_input(s, fmt, split=split) for s in sources]
    names = unique_names([_display_name(s, sources) for s in sources])
    with executor_for(executor, address) as ex:
        report = probe(
            model_dir, dict(zip(names, opened, strict=True)), target, executor=ex, **settings.model_dump()
        )
    merged = RejectLog()
    for src in opened:
        report_rejects(src.rejects, src.path, hint=False)
        merged.extend(src.rejects)
    if rejects_path is not None:
        merged.write(rejects_path)
        console.print(f"rejects written to {rejects_path}", highlight=False)
    _print_report(report)
    for mix in report.mixes:
        if mix.sampled_from:
            console.print(
                f"{mix.name}: a seeded sample of {mix.n:,} of {mix.sampled_from:,} rows, "
                "placed by the transformer",
                highlight=False,
                markup=False,
            )
    _print_quality(report.quality)
    for mix in report.mixes:
        if mix.unassigned:
            why = ", ".join(f"{n} {r}" for r, n in sorted(mix.unassigned_reasons.items()))
            console.print(f"{mix.name}: {mix.unassigned} unassigned ({why})", highlight=False, markup=False)
    if out is not None:
        report.write_json(out)
        console.print(f"report written to {out}", highlight=False)
    if chart is not None:
        write_chart(report, chart)
        console.print(f"chart written to {chart}", highlight=False)
    if json_out:
        emit_json({"command": "topics probe", "out": out, "chart": chart, **report.to_json()})


@topics_app.command("assign")
def assign(
    model_dir: ModelDir,
    source: Annotated[Path, typer.Argument(help="Records to label with their topic.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write (shared schema + topic).")],
    fmt: FormatOption = None,
    split: SplitOption = None,
    rejects_path: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Write the source's records (native Parquet, shared schema) with `topic` (int; null when the map
    cannot place the prompt), `topic_label` and `topic_unassigned` (why a row has no topic) appended, for
    mining, sampling and grouped validation. Written atomically: complete or absent.
    """
    start_command(json_out, quiet)
    from collections import Counter

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rich.progress import Progress

    from arenapref.atomic import atomic_path
    from arenapref.topics.fit import load_model

    model = load_model(model_dir)
    opened = open_input(source, fmt, split=split)
    rows = 0
    counts = np.zeros(model.k, dtype=np.int64)
    unassigned: Counter[str] = Counter()
    with (
        atomic_path(out) as tmp,
        Progress(console=console, disable=not progress_enabled(), transient=True) as bar,
        executor_for(executor, address) as ex,
    ):
        from arenapref.topics.blocks import assign_source

        task = bar.add_task("topics assign", total=None)
        writer: pq.ParquetWriter | None = None
        try:
            for table in assign_source(model, str(model_dir), opened, ex):
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table)
                rows += table.num_rows
                topic = table.column("topic").drop_null().to_numpy()
                counts += np.bincount(topic, minlength=model.k)
                unassigned.update(table.column("topic_unassigned").drop_null().to_pylist())
                bar.update(task, advance=table.num_rows, description=f"topics assign: {rows:,} rows")
            if writer is None:
                empty = pa.Table.from_batches([], schema=opened.schema)
                pq.write_table(
                    empty.append_column("topic", pa.array([], pa.int32()))
                    .append_column("topic_label", pa.array([], pa.string()))
                    .append_column("topic_unassigned", pa.array([], pa.string())),
                    tmp,
                )
        finally:
            if writer is not None:
                writer.close()
    report_rejects(opened.rejects, source, rejects_path, hint=False)
    top = sorted(range(model.k), key=lambda t: -counts[t])[:3]
    summary = ", ".join(f"{t} ({counts[t]})" for t in top)
    console.print(f"{rows} rows written to {out}; largest topics: {summary}", highlight=False)
    if unassigned:
        why = ", ".join(f"{n} {r}" for r, n in sorted(unassigned.items()))
        console.print(f"unassigned: {sum(unassigned.values())} ({why})", highlight=False, markup=False)
    if json_out:
        emit_json(
            {
                "command": "topics assign",
                "out": out,
                "rows": rows,
                "counts": [int(c) for c in counts],
                "unassigned": dict(unassigned),
                "rejects": len(opened.rejects),
            }
        )


def _display_name(path: Path, all_paths: list[Path]) -> str:
    """The file or folder name, with its parent when two sources share a name (train.csv, test.csv)."""
    same = [p for p in all_paths if p.name == path.name]
    return f"{path.parent.name}/{path.name}" if len(same) > 1 else path.name


def _print_topics(model: TopicModel) -> None:
    table = Table(title=f"{model.k} topics ({model.embedder.name} embedder, seed {model.settings.seed})")
    table.add_column("topic", justify="right")
    table.add_column("size", justify="right")
    table.add_column("share", justify="right")
    table.add_column("label")
    table.add_column("nearest prompt")
    for t in model.topics:
        example = t.examples[0] if t.examples else ""
        table.add_row(str(t.topic), str(t.size), f"{t.share:.1%}", t.title or t.label, example[:90])
    console.print(table)


def _print_report(report: ProbeReport) -> None:
    from arenapref.topics.probe import wilson_interval

    mixes = {m.name: m for m in report.mixes}
    target = mixes[report.target]
    flags = {(c.topic, c.source): c for c in report.coverage}
    table = Table(title=f"Topic mix (share, 95% interval); target: {report.target}")
    table.add_column("topic", justify="right")
    table.add_column("label")
    for mix in report.mixes:
        table.add_column(f"{mix.name}\nn={mix.n}", justify="right")
    for info in report.topics:
        t = info["topic"]
        cells = []
        for mix in report.mixes:
            lo, hi = wilson_interval(mix.counts[t], mix.n)
            share = mix.counts[t] / mix.n if mix.n else 0.0
            cell = f"{share:.1%} [{lo:.1%}-{hi:.1%}]"
            cov = flags.get((t, mix.name))
            if cov is not None and cov.flag != "ok":
                ratio = f" x{cov.ratio:.2f}" if cov.ratio is not None else ""
                cell += f"\n{cov.flag}{ratio}"
            cells.append(cell)
        table.add_row(str(t), str(info["label"]), *cells)
    console.print(table)
    pairs = Table(title="Pairwise: chi-square test of homogeneity and Jensen-Shannon distance")
    for col in ("source A", "source B", "chi2", "dof", "p-value", "JS distance"):
        pairs.add_column(col, justify="left" if col.startswith("source") else "right")
    for p in report.pairs:
        pairs.add_row(p.a, p.b, f"{p.chi2:.1f}", str(p.dof), f"{p.p_value:.3g}", f"{p.js_distance:.3f}")
    if report.pairs:
        console.print(pairs)
    under = [c for c in report.coverage if c.flag in {"under", "missing"}]
    if under:
        console.print(f"topics under-represented relative to {report.target} (target n={target.n}):")
        for c in sorted(under, key=lambda c: (c.source, c.ratio or 0.0)):
            ratio = f"x{c.ratio:.2f}" if c.ratio is not None else "-"
            console.print(
                f"  {c.source}: topic {c.topic} ({report.topics[c.topic]['label']}) "
                f"{c.share:.1%} vs {c.target_share:.1%} ({ratio}, {c.flag})",
                highlight=False,
            )


@topics_app.command("title")
def title(
    model_dir: ModelDir,
    llm: Annotated[str, typer.Option("--model", envvar="ARENAPREF_JUDGE_MODEL", help="Chat model to ask.")],
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            envvar=["ARENAPREF_BASE_URL", "OPENAI_BASE_URL"],
            help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1.",
        ),
    ] = None,
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key (may be unset).")
    ] = "OPENAI_API_KEY",
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Ask a chat model for a short title per topic (from its terms and nearest prompts) and save the
    titles into the map (rewritten atomically); labels then show the title, and the terms stay in
    topics.json. Answers are cached like judge calls, so asking again sends nothing.
    """
    start_command(json_out, quiet)
    from arenapref.topics.fit import load_model
    from arenapref.topics.titles import write_titles

    model = load_model(model_dir)
    write_titles(model, base_url, llm, os.environ.get(api_key_env) or None)
    model.save(model_dir)
    _print_topics(model)
    if json_out:
        emit_json({"command": "topics title", "model": model_dir, "topics": _topics_json(model)})
