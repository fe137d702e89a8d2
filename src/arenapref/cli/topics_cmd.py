"""``arenapref topics``: fit the topic map, probe topic mixes of several sources, write topic columns."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.table import Table

from arenapref.cli.app import app
from arenapref.cli.common import FormatOption, console, open_input, report_rejects
from arenapref.errors import ArenaprefError
from arenapref.topics.embedders import DEFAULT_EMBEDDER, EMBEDDERS
from arenapref.topics.fit import FitSettings, TopicModel, fit_topics, load_model, topic_batches
from arenapref.topics.probe import ProbeReport, probe, wilson_interval, write_chart
from arenapref.topics.titles import write_titles

topics_app = typer.Typer(
    help="Topic map (the LMSYS-Chat-1M paper's k-means topics): fit, show, title, probe mixes, assign.",
    no_args_is_help=True,
)
app.add_typer(topics_app, name="topics")

ModelDir = Annotated[Path, typer.Argument(help="Folder of a topic map written by `topics fit`.")]


@topics_app.command("fit")
def fit(
    source: Annotated[Path, typer.Argument(help="Conversations or battles to learn the topics from.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the topic map into.")],
    k: Annotated[int, typer.Option("--k", min=2, help="Number of topics.")] = 20,
    sample: Annotated[
        int, typer.Option("--sample", min=1, help="Rows sampled at random before filtering.")
    ] = 100_000,
    embedder: Annotated[
        str,
        typer.Option(
            "--embedder", envvar="ARENAPREF_TOPIC_EMBEDDER", help=f"Embedder: {', '.join(EMBEDDERS)}."
        ),
    ] = DEFAULT_EMBEDDER,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample, the SVD and k-means.")] = 0,
    english_only: Annotated[
        bool, typer.Option("--english-only/--all-languages", help="Keep English prompts only (paper).")
    ] = True,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=1,
            envvar="ARENAPREF_THREADS",
            help="BLAS/OpenMP threads for the SVD and k-means.",
        ),
    ] = 1,
    fmt: FormatOption = None,
) -> None:
    """Fit a topic map with the LMSYS-Chat-1M paper's recipe: a seeded random sample, first user prompt,
    English only, 32-1536 characters, de-duplicated, embedded, L2-normalised, k-means. Each topic gets a
    label from its most distinctive terms (class-based TF-IDF) and the prompts nearest its centroid.
    Prompts dropped by the recipe are written to DIR/rejects.jsonl with their reason.
    """
    if embedder not in EMBEDDERS:
        raise ArenaprefError(f"unknown embedder {embedder!r}; choose one of {', '.join(EMBEDDERS)}")
    settings = FitSettings(k=k, sample=sample, embedder=embedder, seed=seed, english_only=english_only)
    opened = open_input(source, fmt)
    rejects = opened.rejects
    model = fit_topics(opened, settings, rejects=rejects, threads=threads)
    model.save(out)
    rejects.write(out / "rejects.jsonl")
    _print_topics(model)
    stats = model.stats
    console.print(
        f"fitted {model.k} topics on {stats['kept']} prompts of {stats['sampled']} sampled; "
        f"{rejects.summary()}; map written to {out}",
        highlight=False,
    )


@topics_app.command("show")
def show(model_dir: ModelDir) -> None:
    """Print a saved topic map: size, share, label and the prompt nearest each centroid."""
    _print_topics(load_model(model_dir))


@topics_app.command("probe")
def probe_cmd(
    model_dir: ModelDir,
    sources: Annotated[list[Path], typer.Argument(help="Sources to compare (any supported format).")],
    target: Annotated[
        str | None, typer.Option("--target", help="Source the others are compared to (default: the last).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here.")
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
    ] = False,
) -> None:
    """Assign each source's first prompts to the topic map and compare the topic mixes: shares with 95%
    Wilson intervals side by side, chi-square test and Jensen-Shannon distance for every pair, and the
    topics the other sources under- or over-represent relative to the target (e.g. the test set).
    """
    model = load_model(model_dir)
    opened = [open_input(s) for s in sources]
    names = [_display_name(s, sources) for s in sources]
    report = probe(model, list(opened), names, target, unique_prompts)
    for src in opened:
        report_rejects(src.rejects, src.path, hint=False)
    _print_report(report)
    if json_out is not None:
        report.write_json(json_out)
        console.print(f"report written to {json_out}", highlight=False)
    if chart is not None:
        write_chart(report, chart)
        console.print(f"chart written to {chart}", highlight=False)


@topics_app.command("assign")
def assign(
    model_dir: ModelDir,
    source: Annotated[Path, typer.Argument(help="Records to label with their topic.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write (shared schema + topic).")],
    fmt: FormatOption = None,
) -> None:
    """Write the source's records (native Parquet, shared schema) with `topic` (int, null without a
    prompt) and `topic_label` columns appended, for mining, sampling and grouped validation.
    """
    model = load_model(model_dir)
    opened = open_input(source, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    rows = 0
    counts = [0] * model.k
    try:
        for table in topic_batches(model, opened.batches()):
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="zstd")
            writer.write_table(table)
            rows += table.num_rows
            for t in table.column("topic").drop_null().to_pylist():
                counts[t] += 1
        if writer is None:
            empty = pa.Table.from_batches([], schema=opened.schema)
            pq.write_table(
                empty.append_column("topic", pa.array([], pa.int32())).append_column(
                    "topic_label", pa.array([], pa.string())
                ),
                out,
            )
    finally:
        if writer is not None:
            writer.close()
    report_rejects(opened.rejects, source, hint=False)
    top = sorted(range(model.k), key=lambda t: -counts[t])[:3]
    summary = ", ".join(f"{t} ({counts[t]})" for t in top)
    console.print(f"{rows} rows written to {out}; largest topics: {summary}", highlight=False)


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
    base_url: Annotated[
        str,
        typer.Option("--base-url", envvar="ARENAPREF_JUDGE_BASE_URL", help="OpenAI-compatible server URL."),
    ],
    llm: Annotated[str, typer.Option("--model", envvar="ARENAPREF_JUDGE_MODEL", help="Chat model to ask.")],
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key (may be unset).")
    ] = "OPENAI_API_KEY",
) -> None:
    """Ask a chat model for a short title per topic (from its terms and nearest prompts) and save the
    titles into the map; labels then show the title, and the terms stay in topics.json.
    """
    model = load_model(model_dir)
    write_titles(model, base_url, llm, os.environ.get(api_key_env) or None)
    model.save(model_dir)
    _print_topics(model)
