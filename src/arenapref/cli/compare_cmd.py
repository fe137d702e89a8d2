"""``arenapref compare``, ``decontaminate`` and ``check-leakage``: source overlap and the leakage guard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
import typer

from arenapref.cli.app import app
from arenapref.cli.common import console, err_console, report_rejects
from arenapref.compare.guard import decontaminate, find_leaks
from arenapref.compare.near import NearDupSettings
from arenapref.compare.report import CompareSettings, compare_paths, load_source, write_compare
from arenapref.errors import ArenaprefError
from arenapref.writers import write_parquet

ThresholdOption = Annotated[
    float,
    typer.Option(
        "--threshold", "-t", envvar="ARENAPREF_NEAR_THRESHOLD", help="Jaccard threshold of near-duplicates."
    ),
]
TurnsOption = Annotated[
    Literal["all", "first"],
    typer.Option("--turns", help="Compare the whole list of user turns, or the first user turn only."),
]
ProtectOption = Annotated[
    list[Path],
    typer.Option("--protect", "-p", help="Protected source (test set, eval set); repeatable."),
]
NoPiiOption = Annotated[
    bool,
    typer.Option(
        "--no-pii-mask",
        help="Mask only <TYPE>_<k> placeholders, not names, e-mails, phone numbers and URLs.",
    ),
]
NoNearOption = Annotated[bool, typer.Option("--no-near", help="Exact and placeholder matches only.")]


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold < 1.0:
        raise ArenaprefError(f"--threshold must lie strictly between 0 and 1, got {threshold}")


@app.command("compare")
def compare(
    left: Annotated[Path, typer.Argument(help="First source (any supported format).")],
    right: Annotated[
        Path, typer.Argument(help="Second source; the same path as LEFT means within one source.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for matches.parquet, report.md, report.json.")
    ],
    threshold: ThresholdOption = 0.8,
    format_left: Annotated[
        str | None, typer.Option("--format-left", help="Format of LEFT if not detected.")
    ] = None,
    format_right: Annotated[
        str | None, typer.Option("--format-right", help="Format of RIGHT if not detected.")
    ] = None,
    turns: TurnsOption = "all",
    text: Annotated[
        Literal["prompt", "response"],
        typer.Option("--text", help="Compare prompts, or the answers of conversation sources."),
    ] = "prompt",
    no_pii_mask: NoPiiOption = False,
    no_near: NoNearOption = False,
    sample: Annotated[int, typer.Option(help="Matched pairs per kind shown side by side in the report.")] = 5,
) -> None:
    """Measure how many prompts of LEFT appear in RIGHT and vice versa: exactly, only once NAME_k
    placeholders (and names, e-mails, phones, URLs) are masked, or as near-duplicates (character
    5-gram Jaccard >= --threshold, MinHash-LSH with every candidate verified). Also reports duplicates
    within each source, breakdowns by model and language, and a sample of matched pairs."""
    _check_threshold(threshold)
    settings = CompareSettings(
        near=NearDupSettings(threshold=threshold),
        turns=turns,
        text=text,
        mask_pii=not no_pii_mask,
        find_near=not no_near,
        sample=sample,
    )
    result = compare_paths(left, right, settings, format_left, format_right)
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
        if rep[side].get("rejected_rows"):
            err_console.print(f"{rep[side]['path']}: {rep[side]['rejected_rows']:,} rows could not be read")
    for p in paths:
        console.print(f"wrote {p}", highlight=False)


def _read_protected(paths: list[Path]) -> list[pa.Table]:
    if not paths:
        raise ArenaprefError("give at least one --protect source")
    return [load_source(p)[0] for p in paths]


@app.command("decontaminate")
def decontaminate_cmd(
    candidates: Annotated[Path, typer.Argument(help="Records to clean (any supported format).")],
    protect: ProtectOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Kept records, native Parquet.")],
    dropped: Annotated[
        Path | None, typer.Option("--dropped", help="Dropped records with reason and matched id (Parquet).")
    ] = None,
    threshold: ThresholdOption = 0.8,
    turns: TurnsOption = "all",
    no_pii_mask: NoPiiOption = False,
    no_near: NoNearOption = False,
) -> None:
    """Drop every record whose prompt matches a --protect prompt exactly, after masking names and
    placeholders, or as a near-duplicate; write the kept records and (with --dropped) the dropped ones
    with the reason and the matched protected id."""
    _check_threshold(threshold)
    if out.suffix.lower() != ".parquet":
        raise ArenaprefError(f"--out must be a .parquet file (native records), got {out.name}")
    table, src = load_source(candidates)
    result = decontaminate(
        table,
        _read_protected(protect),
        threshold,
        turns=turns,
        mask_pii=not no_pii_mask,
        near=not no_near,
    )
    write_parquet(result.kept, out)
    c = result.counts
    console.print(
        f"{c['candidates']:,} records: kept {c['kept']:,}, dropped {c['exact']:,} exact, "
        f"{c['placeholder']:,} placeholder, {c['near']:,} near",
        highlight=False,
    )
    report_rejects(src.rejects, candidates, hint=False)
    console.print(f"wrote {out}", highlight=False)
    if dropped is not None:
        write_parquet(result.dropped, dropped)
        console.print(f"wrote {dropped}", highlight=False)


@app.command("check-leakage")
def check_leakage(
    file: Annotated[Path, typer.Argument(help="Records that must not leak (any supported format).")],
    protect: ProtectOption,
    threshold: ThresholdOption = 0.8,
    turns: TurnsOption = "all",
    no_pii_mask: NoPiiOption = False,
    no_near: NoNearOption = False,
    show: Annotated[int, typer.Option(help="Offending rows listed at most.")] = 20,
) -> None:
    """Exit 0 when no record of FILE matches a --protect prompt (exactly, after masking, or nearly);
    otherwise name the offending rows (id, matched protected id, kind) and exit 1."""
    _check_threshold(threshold)
    table, _ = load_source(file)
    leaks = find_leaks(
        table, _read_protected(protect), threshold, turns=turns, mask_pii=not no_pii_mask, near=not no_near
    )
    if leaks.num_rows == 0:
        console.print(
            f"no leakage: none of {table.num_rows:,} records matches a protected prompt", highlight=False
        )
        return
    names = [str(p) for p in protect]
    for row in leaks.slice(0, show).to_pylist():
        err_console.print(
            f"row {row['row']} id {row['id']}: {row['reason']} match of {row['protected_id']} "
            f"in {names[row['protected_source']]} (similarity {row['similarity']:.2f})",
            highlight=False,
        )
    if leaks.num_rows > show:
        err_console.print(f"... and {leaks.num_rows - show:,} more", highlight=False)
    raise ArenaprefError(f"{leaks.num_rows:,} of {table.num_rows:,} records leak protected prompts")
