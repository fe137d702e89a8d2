"""``arenapref compare``, ``decontaminate`` and ``check-leakage``: source overlap and the leakage guard.

Thin adapters: the options are the fields of ``compare.settings.CompareSettings`` and ``GuardSettings``
(tests/test_data_settings.py checks the set, the defaults and the ranges), handed to ``arenapref.api``'s
``compare``, ``decontaminate`` and ``check_leakage``. Stage packages (polars, rensa, scipy behind them)
are imported inside the commands, so that importing the command line stays light.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    FormatOption,
    JsonOption,
    ProtectFormatOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    console,
    default_of,
    emit_json,
    err_console,
    progress_enabled,
    protected_inputs,
    report_rejects,
    say,
    settings_options,
    start_command,
)
from arenapref.compare.settings import CompareSettings, GuardSettings
from arenapref.errors import ArenaprefError, CheckFailed
from arenapref.executors.cli import AddressOption, ExecutorOption, executor_for
from arenapref.progress import ProgressFn, TextLines

if TYPE_CHECKING:
    import pyarrow as pa

    from arenapref.readers import Source

#: The options of the settings whose flag is not ``--`` and the name with dashes (both negate the setting).
FLAGS = {"mask_pii": "--no-pii-mask", "near": "--no-near"}

ThresholdOption = Annotated[
    float,
    typer.Option(
        "--threshold", envvar="ARENAPREF_NEAR_THRESHOLD", help="Jaccard threshold of near-duplicates."
    ),
]
TurnsOption = Annotated[
    Literal["all", "first"],
    typer.Option(
        "--turns",
        help=(
            "all (default): a record leaks when its user turns begin with the protected record's turns or "
            "the protected turns begin with its own, turn by turn (a test prompt that opens a longer "
            "conversation is caught); first: compare first user turns only."
        ),
    ),
]
ProtectOption = Annotated[
    list[Path],
    typer.Option("--protect", help="Protected source (test set, eval set); repeatable."),
]
NoPiiOption = Annotated[
    bool,
    typer.Option(
        "--no-pii-mask",
        help="Mask only <TYPE>_<k> placeholders, not names, e-mails, phone numbers and URLs.",
    ),
]
NoNearOption = Annotated[bool, typer.Option("--no-near", help="Exact and placeholder matches only.")]
MinCharsOption = Annotated[
    int,
    typer.Option(
        "--min-chars",
        help=(
            "A match on part of either record (one side's turns opening the other's, or first turns) counts "
            "only when the shared turns hold this many characters (the LMSYS-Chat-1M paper's minimum prompt "
            "length), so that 'hi' does not match every conversation opening with 'hi'. Two whole, equal "
            "turn lists match at any length."
        ),
    ),
]


@contextmanager
def stage_progress(enabled: bool | None = None) -> Iterator[ProgressFn | Literal[False]]:
    """A rich spinner on stderr showing the current stage and the records it has handled.

    Yields the ``progress=`` of the Python API's functions: a ``progress(stage, done, total)`` callable,
    or False when --quiet, so the Python API stays free of terminal code.
    """
    if not (progress_enabled() if enabled is None else enabled):
        yield False
        return
    if not err_console.is_terminal:  # a log: one line per stage step (arenapref.progress.TextLines)
        lines = TextLines()
        yield lines
        lines.close()
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        current = {"stage": ""}

        def tell(stage: str, records: int, total: int | None) -> None:
            if stage != current["stage"]:
                current["stage"] = stage
                bar.update(task, description=stage)
            bar.update(task, completed=records)

        yield tell


def _write_rejects(sources: list[tuple[str, Source]], rejects: Path | None) -> None:
    """Report every input's unreadable rows; with --rejects write them all to one file."""
    from arenapref.rejects import RejectLog

    for label, src in sources:
        report_rejects(src.rejects, label, hint=rejects is None)
    if rejects is not None:
        log = RejectLog()
        for _, src in sources:
            log.extend(src.rejects)
        log.write(rejects)
        say(f"rejects written to {rejects}")


@app.command("compare")
def compare(
    left: Annotated[Path, typer.Argument(help="First source (any supported format).")],
    right: Annotated[
        Path, typer.Argument(help="Second source; the same path as LEFT means within one source.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for matches.parquet, report.md, report.json (replaced as a whole)."
        ),
    ],
    threshold: ThresholdOption = default_of(CompareSettings, "threshold"),
    fmt: FormatOption = None,
    format_left: Annotated[
        str | None, typer.Option("--format-left", help="Format of LEFT only (overrides --format).")
    ] = None,
    format_right: Annotated[
        str | None, typer.Option("--format-right", help="Format of RIGHT only (overrides --format).")
    ] = None,
    turns: Annotated[
        Literal["all", "first"],
        typer.Option("--turns", help="Compare the whole list of user turns, or the first user turn only."),
    ] = default_of(CompareSettings, "turns"),
    text: Annotated[
        Literal["prompt", "response"],
        typer.Option("--text", help="Compare prompts, or the answers of conversation sources."),
    ] = default_of(CompareSettings, "text"),
    no_pii_mask: NoPiiOption = not default_of(CompareSettings, "mask_pii"),
    no_near: NoNearOption = not default_of(CompareSettings, "near"),
    sample: Annotated[
        int, typer.Option(help="Matched pairs per kind shown side by side in the report.")
    ] = default_of(CompareSettings, "sample"),
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the report's sample of matched pairs.")
    ] = default_of(CompareSettings, "seed"),
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Measure how many prompts of LEFT appear in RIGHT and vice versa: exactly, only once NAME_k
    placeholders (and names, e-mails, phones, URLs) are masked, or as near-duplicates (character
    5-gram Jaccard >= --threshold, MinHash-LSH with every candidate verified). Also reports duplicates
    within each source, breakdowns by model and language, and a sample of matched pairs."""
    start_command(json_out, quiet)
    from arenapref import api
    from arenapref.compare.run import write_compare
    from arenapref.settings import build

    values = {"threshold": threshold, "turns": turns, "text": text, "mask_pii": not no_pii_mask}
    values |= {"near": not no_near, "sample": sample, "seed": seed}
    with settings_options(FLAGS):
        settings = build(CompareSettings, **values)
    with stage_progress() as tell, executor_for(executor, address) as ex:
        result = api.compare(
            left,
            right,
            format_left=format_left or fmt,
            format_right=format_right or fmt,
            split=split,
            executor=ex,
            progress=tell,
            settings=settings,
        )
        paths = write_compare(result, out)
    rep = result.report
    for key, label in (("left_in_right", "LEFT in RIGHT"), ("right_in_left", "RIGHT in LEFT")):
        if key in rep:
            b = rep[key]
            console.print(
                f"{label}: {b['matched']:,}/{b['records']:,} ({100 * b['share']:.1f}%) — "
                f"exact {b['exact']:,}, placeholder only {b['placeholder']:,}, near only {b['near']:,}",
                highlight=False,
            )
    for side in ("left", "right"):
        w = rep[side].get("within")
        if w and not (side == "right" and rep["same_source"]):
            console.print(
                f"duplicates within {side.upper()}: {w['duplicate_records']:,}/{w['records']:,} "
                f"({100 * w['duplicate_rate']:.1f}%)",
                highlight=False,
            )
    for p in paths:
        console.print(f"wrote {p}", highlight=False)
    labels = [str(left)] if rep["same_source"] else [str(left), str(right)]
    _write_rejects(list(zip(labels, result.sources, strict=True)), rejects)
    if json_out:
        emit_json(
            {
                "command": "compare",
                "out": str(out),
                "files": [str(p) for p in paths],
                "left_in_right": rep.get("left_in_right"),
                "right_in_left": rep.get("right_in_left"),
                "within_left": rep["left"].get("within"),
                "within_right": None if rep["same_source"] else rep["right"].get("within"),
                "rejected_rows": {
                    "left": rep["left"]["rejected_rows"],
                    "right": rep["right"]["rejected_rows"],
                },
                "seconds": rep["seconds"]["total"],
            }
        )


def _guard_options(
    threshold: float, turns: str, min_chars: int, no_pii_mask: bool, no_near: bool
) -> GuardSettings:
    """The guard's options as ``GuardSettings``, checked before anything is read."""
    from arenapref.settings import build

    values = {"threshold": threshold, "turns": turns, "min_chars": min_chars}
    with settings_options(FLAGS):
        return build(GuardSettings, **values, mask_pii=not no_pii_mask, near=not no_near)


def _read_candidates(path: Path, fmt: str | None, split: str | None) -> tuple[pa.Table, Source]:
    from arenapref.compare.sources import load_source

    return load_source(path, fmt, split)


def _protected(paths: list[Path], fmt: str | None) -> tuple[list[pa.Table], list[str]]:
    """Read the --protect sources; no source, unreadable rows or no prompts at all are errors."""
    from arenapref.compare.guard import read_protected

    if not paths:
        raise ArenaprefError("give at least one --protect source")
    return read_protected(protected_inputs(paths, fmt), [str(p) for p in paths])


@app.command("decontaminate")
def decontaminate_cmd(
    candidates: Annotated[Path, typer.Argument(help="Records to clean (any supported format).")],
    protect: ProtectOption,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Kept records: .parquet (native records) or .csv (battles, competition layout).",
        ),
    ],
    dropped: Annotated[
        Path | None,
        typer.Option("--dropped", help="Dropped records with reason, scope and matched id (.parquet)."),
    ] = None,
    threshold: ThresholdOption = default_of(GuardSettings, "threshold"),
    turns: TurnsOption = default_of(GuardSettings, "turns"),
    min_chars: MinCharsOption = default_of(GuardSettings, "min_chars"),
    no_pii_mask: NoPiiOption = not default_of(GuardSettings, "mask_pii"),
    no_near: NoNearOption = not default_of(GuardSettings, "near"),
    fmt: FormatOption = None,
    protect_format: ProtectFormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Drop every record whose user turns match a --protect record's: one list opening the other (or both
    equal), exactly, after masking names and placeholders, or as near-duplicates; write the kept records
    and (with --dropped) the dropped ones with the reason and the matched protected id."""
    start_command(json_out, quiet)
    from arenapref import api
    from arenapref.atomic import atomic_path, output_suffix
    from arenapref.compare.guard import RULES

    options = _guard_options(threshold, turns, min_chars, no_pii_mask, no_near)
    suffix = output_suffix(out, (".parquet", ".csv"))
    if dropped is not None:
        output_suffix(dropped, (".parquet",))
    with stage_progress() as tell, executor_for(executor, address) as ex:
        if tell:
            tell("read", 0, None)
        tables, names = _protected(protect, protect_format)
        table, src = _read_candidates(candidates, fmt, split)
        if tell:
            tell("match", table.num_rows, None)
        result = api.decontaminate(table, tables, protect_names=names, executor=ex, settings=options)
    if suffix == ".csv" and src.kind != "battles":
        raise ArenaprefError(
            f"--out {out}: CSV holds battles (competition layout); {candidates} holds {src.kind}"
        )
    _write_records(result.kept, out, suffix, atomic_path)
    if dropped is not None:
        _write_records(result.dropped, dropped, ".parquet", atomic_path)
    c = result.counts
    console.print(
        f"{c['candidates']:,} records: kept {c['kept']:,}, dropped {c['exact']:,} exact, "
        f"{c['placeholder']:,} placeholder, {c['near']:,} near"
        + "".join(f"; rule {r}: {c[f'rule_{r}']:,}" for r in RULES if c[f"rule_{r}"]),
        highlight=False,
    )
    _write_rejects([(str(candidates), src)], rejects)
    console.print(f"wrote {out}", highlight=False)
    if dropped is not None:
        console.print(f"wrote {dropped}", highlight=False)
    if json_out:
        emit_json(
            {
                "command": "decontaminate",
                "out": str(out),
                "dropped_file": None if dropped is None else str(dropped),
                "counts": c,
                "rejected_rows": len(src.rejects),
            }
        )


def _write_records(table: pa.Table, path: Path, suffix: str, atomic_path: Any) -> None:
    import pyarrow.parquet as pq

    from arenapref.writers import write_competition_csv

    with atomic_path(path) as tmp:
        if suffix == ".csv":
            write_competition_csv(table, tmp, labels=True)
        else:
            pq.write_table(table, tmp, compression="zstd")


@app.command("check-leakage")
def check_leakage(
    file: Annotated[Path, typer.Argument(help="Records that must not leak (any supported format).")],
    protect: ProtectOption,
    threshold: ThresholdOption = default_of(GuardSettings, "threshold"),
    turns: TurnsOption = default_of(GuardSettings, "turns"),
    min_chars: MinCharsOption = default_of(GuardSettings, "min_chars"),
    no_pii_mask: NoPiiOption = not default_of(GuardSettings, "mask_pii"),
    no_near: NoNearOption = not default_of(GuardSettings, "near"),
    show: Annotated[int, typer.Option(help="Offending rows listed at most.")] = 20,
    fmt: FormatOption = None,
    protect_format: ProtectFormatOption = None,
    split: SplitOption = None,
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Exit 0 when no record of FILE matches a --protect record (one's user turns opening the other's, or
    equal; exactly, after masking, or nearly); otherwise name the offending rows (id, matched protected
    id, kind) and exit 3. A --protect source without prompts, or rows of FILE or of a --protect source
    that could not be read, are errors: a check that could not look does not pass."""
    start_command(json_out, quiet)
    from arenapref import api

    options = _guard_options(threshold, turns, min_chars, no_pii_mask, no_near)
    with stage_progress() as tell:
        if tell:
            tell("read", 0, None)
        tables, names = _protected(protect, protect_format)
        table, src = _read_candidates(file, fmt, split)
        if tell:
            tell("match", table.num_rows, None)
        leaks = api.check_leakage(table, tables, protect_names=names, settings=options).leaks
    _write_rejects([(str(file), src)], rejects)
    rows = leaks.slice(0, show).to_pylist()
    summary: dict[str, Any] = {
        "command": "check-leakage",
        "records": table.num_rows,
        "leaks": leaks.num_rows,
        "rejected_rows": len(src.rejects),
        "ok": leaks.num_rows == 0 and not len(src.rejects),
        "offending": rows,
    }
    if leaks.num_rows == 0 and not len(src.rejects):
        console.print(
            f"no leakage: none of {table.num_rows:,} records matches a protected prompt", highlight=False
        )
        if json_out:
            emit_json(summary)
        return
    for row in rows:
        err_console.print(
            f"row {row['row']} id {row['id']}: {row['reason']} match of {row['protected_id']} "
            f"in {names[row['protected_source']]} (rule {row['rule']}, {row['scope'].replace('_', ' ')}, "
            f"{row['shared_turns']} turn(s), similarity {row['similarity']:.2f})",
            highlight=False,
            markup=False,
        )
    if leaks.num_rows > show:
        err_console.print(f"... and {leaks.num_rows - show:,} more", highlight=False)
    if json_out:
        emit_json(summary)
    if leaks.num_rows:
        raise CheckFailed(f"{leaks.num_rows:,} of {table.num_rows:,} records leak protected prompts")
    raise CheckFailed(
        f"{len(src.rejects):,} rows of {file} could not be read, so they were not checked for leakage"
    )
