"""``compare``: the overlap of two sources (or duplicates inside one) as a match table and a report.

``compare_tables`` is the Python API a notebook calls; ``write_compare`` writes ``matches.parquet``,
``report.json`` and ``report.md`` (the HTML report embeds the JSON). The match table has one row per
matched record and direction: ``side='left'`` rows are LEFT records with their best RIGHT partner,
``side='right'`` rows the other way round (for one source compared with itself, only 'left' rows, each
record with its best *other* record).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arenapref.atomic import atomic_dir
from arenapref.compare.overlap import (
    KINDS,
    NO_MATCH,
    BestMatch,
    OverlapResult,
    PromptSet,
    SelfDuplicates,
    concat_prompt_sets,
    overlap,
    prompt_set,
    prompt_set_of_batches,
)
from arenapref.compare.settings import CompareSettings
from arenapref.compare.sources import as_table, load_source
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import Shard, shards_of
from arenapref.markdown import md_text
from arenapref.readers import Source, open_source
from arenapref.records import Kind
from arenapref.rejects import RejectLog

EXCERPT_CHARS = 300
STREAM_BATCH_ROWS = 65_536
MATCH_SCHEMA = pa.schema(
    [
        ("side", pa.string()),
        ("left_id", pa.string()),
        ("right_id", pa.string()),
        ("kind", pa.string()),
        ("similarity", pa.float32()),
        ("left_text", pa.string()),
        ("right_text", pa.string()),
        ("left_model", pa.string()),
        ("right_model", pa.string()),
        ("left_language", pa.string()),
        ("right_language", pa.string()),
    ]
)


@dataclass(repr=False)
class CompareResult(NotebookResult):
    """The match table (``to_arrow``, one row per matched record and direction) and the report."""

    matches: pa.Table
    report: dict[str, Any]
    details: OverlapResult
    left: PromptSet
    right: PromptSet | None
    sources: list[Source] = field(default_factory=list)  # the sources read (one when LEFT is RIGHT)

    def to_arrow(self) -> pa.Table:
        return self.matches

    def summary_lines(self) -> list[str]:
        r = self.report
        out = [
            f"LEFT {r['left']['name']} ({r['left']['records']:,} records) vs RIGHT {r['right']['name']}"
            f" ({r['right']['records']:,})" + (" - the same source" if r["same_source"] else "")
        ]
        for key, title in (
            ("left_in_right", "LEFT found in RIGHT"),
            ("right_in_left", "RIGHT found in LEFT"),
        ):
            if key in r:
                b = r[key]
                out.append(
                    f"{title}: {b['matched']:,} of {b['records']:,} ({_pct(b['share'])}); "
                    f"exact {b['exact']:,}, "
                    f"placeholder {b['placeholder']:,}, near {b['near']:,}"
                )
        return out


def _excerpt(ps: PromptSet, rows: np.ndarray) -> pa.Array:
    """The first user turns of ``rows`` (turns joined by a blank line), cut to EXCERPT_CHARS."""
    taken = ps.prompts.take(pa.array(rows, pa.int64()))
    joined = pc.binary_join(pc.list_slice(taken, 0, 3).cast(pa.list_(pa.string())), "\n\n")
    return pc.utf8_slice_codeunits(pc.fill_null(joined, ""), 0, EXCERPT_CHARS)


def _model_str(ps: PromptSet, rows: np.ndarray) -> pa.Array:
    taken = ps.models.take(pa.array(rows, pa.int64()))
    return pc.binary_join(taken, " vs ")


def _match_rows(side: str, a: PromptSet, b: PromptSet, best: BestMatch, a_is_left: bool) -> pa.Table:
    rows = np.flatnonzero(best.partner != NO_MATCH)
    partner = best.partner[rows]
    lrows, rrows = (rows, partner) if a_is_left else (partner, rows)
    left, right = (a, b) if a_is_left else (b, a)
    return pa.table(
        {
            "side": pa.array([side] * len(rows), pa.string()),
            "left_id": left.ids.take(pa.array(lrows, pa.int64())),
            "right_id": right.ids.take(pa.array(rrows, pa.int64())),
            "kind": pa.array(np.asarray(KINDS, dtype=object)[best.kind[rows]].tolist(), pa.string()),
            "similarity": pa.array(best.similarity[rows], pa.float32()),
            "left_text": _excerpt(left, lrows),
            "right_text": _excerpt(right, rrows),
            "left_model": _model_str(left, lrows),
            "right_model": _model_str(right, rrows),
            "left_language": left.language.take(pa.array(lrows, pa.int64())),
            "right_language": right.language.take(pa.array(rrows, pa.int64())),
        },
        schema=MATCH_SCHEMA,
    )


def _share_block(best: BestMatch, n: int) -> dict[str, Any]:
    kinds = best.kind
    out: dict[str, Any] = {"records": n, "matched": int(np.count_nonzero(kinds >= 0))}
    out["share"] = out["matched"] / n if n else 0.0
    for k, name in enumerate(KINDS):
        c = int(np.count_nonzero(kinds == k))
        out[name] = c
        out[f"{name}_share"] = c / n if n else 0.0
    # Matches found without masking versus only with it: the point of placeholder-aware keys.
    out["without_masking"] = out["exact"]
    out["only_with_masking"] = out["placeholder"]
    return out


def _breakdown(best: BestMatch, values: pa.Array, top: int = 30) -> list[dict[str, Any]]:
    """Matched share per value (model or language); list values count a record under each element."""
    frame = pl.DataFrame({"v": pl.from_arrow(values), "kind": best.kind})
    if isinstance(frame.schema["v"], pl.List):
        frame = frame.explode("v")
    frame = frame.with_columns(pl.col("v").fill_null("(unknown)"))
    agg = (
        frame.group_by("v")
        .agg(
            pl.len().alias("records"),
            (pl.col("kind") >= 0).sum().alias("matched"),
            *[(pl.col("kind") == k).sum().alias(name) for k, name in enumerate(KINDS)],
        )
        .with_columns((pl.col("matched") / pl.col("records")).alias("share"))
        .sort(["records", "v"], descending=[True, False])
        .head(top)
    )
    return [{"value": r.pop("v"), **r} for r in agg.to_dicts()]


def _dups_block(d: SelfDuplicates | None, n: int) -> dict[str, Any] | None:
    if d is None:
        return None
    rows = d.exact_rows + d.placeholder_rows + d.near_rows
    return {
        "records": n,
        "duplicate_records": rows,
        "duplicate_rate": rows / n if n else 0.0,
        "exact": d.exact_rows,
        "placeholder": d.placeholder_rows,
        "near": d.near_rows,
        "clusters_with_duplicates": d.clusters_with_duplicates,
    }


def _sample(matches: pa.Table, per_kind: int, seed: int) -> list[dict[str, Any]]:
    """Up to ``per_kind`` random matched pairs of each kind (seeded), for eyeballing."""
    rng = np.random.default_rng(seed)
    kinds = matches.column("kind").to_numpy(zero_copy_only=False)
    out: list[dict[str, Any]] = []
    for name in KINDS:
        rows = np.flatnonzero(kinds == name)
        pick = np.sort(rng.choice(rows, size=min(per_kind, len(rows)), replace=False))
        out.extend(matches.take(pa.array(pick, pa.int64())).to_pylist())
    return out


def compare_tables(
    left: object,
    right: object | None,
    settings: CompareSettings | None = None,
    left_name: str = "left",
    right_name: str = "right",
) -> CompareResult:
    """Compare two sources' prompts (``right=None``: one source with itself) and build the report.

    Each source may be a pyarrow Table, a path, a pandas or polars DataFrame or a Hugging Face Dataset.
    """
    settings = settings or CompareSettings()
    t0 = time.perf_counter()
    left = as_table(left, left_name)[0]
    right = None if right is None else as_table(right, right_name)[0]
    ls = prompt_set(left, settings.turns, settings.mask_pii, settings.text)
    rs = None if right is None else prompt_set(right, settings.turns, settings.mask_pii, settings.text)
    return compare_sets(ls, rs, settings, left_name, right_name, time.perf_counter() - t0)


def compare_sets(
    ls: PromptSet,
    rs: PromptSet | None,
    settings: CompareSettings | None = None,
    left_name: str = "left",
    right_name: str = "right",
    key_seconds: float = 0.0,
    executor: Executor | None = None,
    partitions: int | None = None,
) -> CompareResult:
    """Compare two prompt sets (``rs=None``: one with itself) and build the match table and report.

    ``executor`` and ``partitions``: where the matching's key joins and near-duplicate search run
    (``overlap``'s).
    """
    settings = settings or CompareSettings()
    t0 = time.perf_counter()
    res = overlap(ls, rs, settings.near_settings, settings.near, True, executor, partitions)
    same = rs is None
    parts = [_match_rows("left", ls, ls if rs is None else rs, res.left_to_right, True)]
    if rs is not None:
        parts.append(_match_rows("right", rs, ls, res.right_to_left, False))
    matches = pa.concat_tables(parts)
    bands, rows = settings.near_settings.bands_rows
    n_right = len(ls) if rs is None else len(rs)
    report: dict[str, Any] = {
        "left": {"name": left_name, "records": len(ls), "within": _dups_block(res.left_dups, len(ls))},
        "right": {
            "name": left_name if same else right_name,
            "records": n_right,
            "within": _dups_block(res.left_dups if same else res.right_dups, n_right),
        },
        "same_source": same,
        "settings": {
            "threshold": settings.threshold,
            "num_perm": settings.near_settings.num_perm,
            "bands": bands,
            "rows": rows,
            "shingle": f"{settings.near_settings.shingle} {settings.near_settings.ngram}-grams",
            "turns": settings.turns,
            "text": settings.text,
            "mask_pii": settings.mask_pii,
            "near": settings.near,
        },
        "left_in_right": _share_block(res.left_to_right, len(ls)),
        "left_in_right_by_model": _breakdown(res.left_to_right, ls.models),
        "left_in_right_by_language": _breakdown(res.left_to_right, ls.language),
        "near_search": {
            "documents": res.documents,
            "shingles": res.near_stats.shingles,
            "flagged_by_lsh": res.near_stats.flagged,
            "candidate_pairs": res.near_stats.candidate_pairs,
            "passed_minhash_estimate": res.near_stats.estimate_passed,
            "verified_pairs": res.near_stats.verified_pairs,
            "windowed_buckets": res.near_stats.windowed_buckets,
        },
    }
    if rs is not None:
        report["right_in_left"] = _share_block(res.right_to_left, len(rs))
        report["right_in_left_by_model"] = _breakdown(res.right_to_left, rs.models)
        report["right_in_left_by_language"] = _breakdown(res.right_to_left, rs.language)
    report["sample"] = _sample(matches, settings.sample, settings.seed)
    total = key_seconds + time.perf_counter() - t0
    report["seconds"] = {"keys": key_seconds, **res.seconds, **res.near_stats.seconds, "total": total}
    return CompareResult(matches, report, res, ls, rs)


Progress = Callable[[str, int], None]


def _counted(
    batches: Iterable[pa.RecordBatch], stage: str, progress: Progress | None
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if progress is not None:
            progress(stage, batch.num_rows)
        yield batch


@dataclass
class ShardPrompts:
    """One shard's prompt set and the rows its reader rejected."""

    prompts: PromptSet
    rejects: RejectLog


def prompt_set_shard(shard: Shard, kind: Kind, settings: CompareSettings) -> ShardPrompts:
    """The per-block work of ``compare``: one file's records to keys and normalised text (a dozen regex
    passes per text, the bulk of a compare's per-record cost)."""
    source = shard.open()
    batches = source.batches(STREAM_BATCH_ROWS)
    ps = prompt_set_of_batches(batches, kind, settings.turns, settings.mask_pii, settings.text)
    return ShardPrompts(ps, source.rejects)


class PromptSetStep(BlockStep[Shard, ShardPrompts, PromptSet]):
    """A source's prompt set, one file per block, concatenated in file order; each file's rejects are
    added to the source's log and ``progress(stage, records)`` is called as each file comes back."""

    def __init__(self, source: Source, settings: CompareSettings, progress: Progress | None, stage: str):
        self.source, self.settings, self.progress, self.stage = source, settings, progress, stage

    def blocks(self, workers: int) -> list[Shard]:
        return shards_of(self.source)

    @property
    def work(self) -> Callable[[Shard], ShardPrompts]:
        return partial(prompt_set_shard, kind=self.source.kind, settings=self.settings)

    def merge(self, parts: Iterator[ShardPrompts]) -> PromptSet:
        sets = []
        for part in parts:
            self.source.rejects.extend(part.rejects)
            sets.append(part.prompts)
            if self.progress is not None:
                self.progress(self.stage, len(part.prompts))
        return concat_prompt_sets(sets)

    def whole(self) -> PromptSet:
        s, src = self.settings, self.source
        batches = _counted(src.batches(STREAM_BATCH_ROWS), self.stage, self.progress)
        return prompt_set_of_batches(batches, src.kind, s.turns, s.mask_pii, s.text)


def read_prompt_set(
    path: str | Path | Source,
    format: str | None = None,
    settings: CompareSettings | None = None,
    progress: Progress | None = None,
    stage: str = "read",
    executor: Executor | None = None,
    split: str | None = None,
) -> tuple[PromptSet, Source]:
    """Read a source batch by batch straight into its prompt set (the records are never all in memory).

    Answer files and ``question.jsonl`` get the views of ``load_source``; they are small, and read here
    even with an ``executor`` (which otherwise reads one file per block: ``PromptSetStep``).
    ``progress`` is called as ``progress(stage, records)`` after every batch (every file on an executor).
    ``split``: the split of a folder with split files to read. ``path`` may be a ``Source`` already
    opened (in the layout its caller chose), read as it is.
    """
    settings = settings or CompareSettings()
    if isinstance(path, Source):
        src = path
    else:
        p = Path(path)
        if p.is_file() and (p.parent.name == "model_answer" or p.name == "question.jsonl"):
            table, src = load_source(p, format, split)
            if progress is not None:
                progress(stage, table.num_rows)
            return prompt_set(table, settings.turns, settings.mask_pii, settings.text), src
        src = open_source(p, format, split=split)
    return run_step(PromptSetStep(src, settings, progress, stage), executor), src


#: One side of a streamed compare: a path or an opened reader ``Source``, or several of them (read in
#: order into one prompt set: the pipeline's train and test against its LMSYS shards).
Side = str | Path | Source | Sequence[str | Path | Source]


def _items(side: Side) -> list[str | Path | Source]:
    return list(side) if isinstance(side, (list, tuple)) else [side]  # type: ignore[list-item]


def _item_paths(side: Side) -> list[str]:
    return [str(item.path if isinstance(item, Source) else item) for item in _items(side)]


def _side_name(side: Side) -> str:
    return "+".join(_item_paths(side))


def read_side(
    side: Side,
    format: str | None,
    settings: CompareSettings,
    progress: Progress | None,
    stage: str,
    executor: Executor | None,
    split: str | None,
) -> tuple[PromptSet, list[Source]]:
    """One side's prompt set (each source read as ``read_prompt_set``, concatenated) and its sources."""
    parts = [
        read_prompt_set(item, format, settings, progress, stage, executor, split) for item in _items(side)
    ]
    sets = [ps for ps, _ in parts]
    return (sets[0] if len(sets) == 1 else concat_prompt_sets(sets)), [src for _, src in parts]


def _side_report(side: Side, sources: list[Source]) -> dict[str, Any]:
    """Where a side was read from and the rows its readers rejected (one value, or one per source)."""
    paths = _item_paths(side)
    rejects: dict[str, int] = {}
    for src in sources:
        for reason, n in src.rejects.counts.items():
            rejects[reason] = rejects.get(reason, 0) + n

    def each(values: list[Any]) -> Any:
        return values[0] if len(values) == 1 else values

    return {
        "path": each(paths),
        "format": each([src.format for src in sources]),
        "kind": each([src.kind for src in sources]),
        "rejected_rows": sum(len(src.rejects) for src in sources),
        "rejects": rejects,
    }


def _same_side(left: Side, right: Side) -> bool:
    """Whether both sides are one prompt set (the same object, or the same files in the same order), so
    the comparison is for duplicates within it, not of a set against a second copy of itself."""
    if left is right:
        return True
    ls, rs = _items(left), _items(right)
    return (
        len(ls) == len(rs)
        and all(isinstance(x, (str, Path)) for x in (*ls, *rs))
        and [Path(x).resolve() for x in ls] == [Path(x).resolve() for x in rs]  # type: ignore[arg-type]
    )


def compare_paths(
    left: Side,
    right: Side,
    settings: CompareSettings | None = None,
    format_left: str | None = None,
    format_right: str | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    partitions: int | None = None,
    split: str | None = None,
    left_name: str | None = None,
    right_name: str | None = None,
) -> CompareResult:
    """Read two sides with the readers and compare them; the same path twice means within one source.

    A side is a path, an opened ``Source`` or a list of them (read in order as one side; named by its
    paths joined with ``+`` unless ``left_name``/``right_name`` say otherwise). ``split``: the split to
    read of a folder with split files (both sides). ``result.sources`` holds every source read, with
    the rows its reader rejected; the report gives each side's count.

    ``progress(stage, records)`` is called while each side is read and once when matching starts.
    ``executor``: read each file and run the matching's key joins and LSH steps as blocks there
    (``partitions`` hash partitions of the keys, twice the workers by default); the same result.
    """
    settings = settings or CompareSettings()
    t0 = time.perf_counter()
    ls, lsrcs = read_side(left, format_left, settings, progress, "read LEFT", executor, split)
    same = _same_side(left, right) and format_left == format_right
    rs, rsrcs = (
        (None, lsrcs)
        if same
        else read_side(right, format_right, settings, progress, "read RIGHT", executor, split)
    )
    if progress is not None:
        progress("match", 0)
    seconds = time.perf_counter() - t0
    names = (left_name or _side_name(left), right_name or _side_name(right))
    result = compare_sets(ls, rs, settings, *names, seconds, executor, partitions)
    result.sources = lsrcs if same else [*lsrcs, *rsrcs]
    for key, srcs, side in (("left", lsrcs, left), ("right", rsrcs, right)):
        result.report[key].update(_side_report(side, srcs))
    return result


OUTPUT_FILES = ("matches.parquet", "report.json", "report.md")


def compare(
    left: object,
    right: object | None = None,
    settings: CompareSettings | None = None,
    split: str | None = None,
    left_name: str | None = None,
    right_name: str | None = None,
) -> CompareResult:
    """The ``compare`` entry point for notebooks: paths are streamed (``compare_paths``), tables and
    DataFrames compared in memory (``compare_tables``); ``right=None`` looks for duplicates in ``left``.
    ``split``: the split to read of a folder or DatasetDict with several."""
    if isinstance(left, (str, Path)) and isinstance(right, (str, Path)):
        return compare_paths(left, right, settings, split=split, left_name=left_name, right_name=right_name)
    if isinstance(left, (str, Path)) and right is None:
        return compare_paths(left, left, settings, split=split, left_name=left_name, right_name=right_name)
    if split is not None:
        left = open_source(left, split=split)
        right = None if right is None else open_source(right, split=split)
    return compare_tables(left, right, settings, left_name or "left", right_name or "right")


def write_compare(result: CompareResult, out_dir: str | Path) -> list[Path]:
    """Write ``matches.parquet``, ``report.json`` and ``report.md`` into ``out_dir``, as one folder.

    The folder is built under a temporary name and renamed into place complete (``atomic_dir``), so a
    killed run leaves the previous complete folder or none, never a new match table beside an old report.
    """
    out = Path(out_dir)
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
        if others:
            raise ArenaprefError(
                f"{out} already holds other files ({', '.join(others[:3])}); compare replaces its output "
                "folder as a whole, so give a new or empty folder"
            )
    with atomic_dir(out) as tmp:
        pq.write_table(result.matches, tmp / "matches.parquet", compression="zstd")
        text = json.dumps(result.report, indent=2, ensure_ascii=False, default=str)
        (tmp / "report.json").write_text(text + "\n", encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(result.report), encoding="utf-8")
    return [out / name for name in OUTPUT_FILES]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _cell(text: object) -> str:
    return md_text(text, EXCERPT_CHARS)


def _share_lines(title: str, block: dict[str, Any]) -> list[str]:
    n = block["records"]
    return [
        f"### {title}",
        "",
        "| | records | share |",
        "| --- | ---: | ---: |",
        f"| matched (any kind) | {block['matched']:,} / {n:,} | {_pct(block['share'])} |",
        f"| exact (found without masking) | {block['exact']:,} | {_pct(block['exact_share'])} |",
        f"| placeholder only (found only with masking) | {block['placeholder']:,} | "
        f"{_pct(block['placeholder_share'])} |",
        f"| near-duplicate only | {block['near']:,} | {_pct(block['near_share'])} |",
        "",
    ]


def _breakdown_lines(title: str, rows: list[dict[str, Any]]) -> list[str]:
    if not rows or (len(rows) == 1 and rows[0]["value"] == "(unknown)"):
        return []
    out = [f"#### {title}", "", "| value | records | matched | share | exact | placeholder | near |"]
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        out.append(
            f"| {_cell(r['value'])} | {r['records']:,} | {r['matched']:,} | {_pct(r['share'])} | "
            f"{r['exact']:,} | {r['placeholder']:,} | {r['near']:,} |"
        )
    return [*out, ""]


def render_markdown(report: dict[str, Any]) -> str:
    """The overlap report as Markdown: shares both ways, breakdowns, duplicates, sample pairs."""
    s = report["settings"]
    left, right = report["left"], report["right"]
    lines = [
        "# Prompt overlap report",
        "",
        f"- LEFT: {_cell(left['name'])} ({left['records']:,} records)",
        f"- RIGHT: {_cell(right['name'])} ({right['records']:,} records)"
        + (" — the same source: duplicates within it" if report["same_source"] else ""),
        f"- compared: {s['text']} text, {s['turns']} user turns; masking of NAME_k placeholders"
        + (" and names, e-mails, phones, URLs" if s["mask_pii"] else ""),
        f"- near-duplicates: {s['shingle']} Jaccard >= {s['threshold']} (MinHash {s['num_perm']} slots, "
        f"LSH {s['bands']} bands x {s['rows']} rows, every candidate verified exactly)"
        if s["near"]
        else "- near-duplicates: not searched",
        "",
        "## Overlap",
        "",
    ]
    title = "LEFT records matching another LEFT record" if report["same_source"] else "LEFT found in RIGHT"
    lines += _share_lines(title, report["left_in_right"])
    lines += _breakdown_lines("LEFT by model", report["left_in_right_by_model"])
    lines += _breakdown_lines("LEFT by language", report["left_in_right_by_language"])
    if "right_in_left" in report:
        lines += _share_lines("RIGHT found in LEFT", report["right_in_left"])
        lines += _breakdown_lines("RIGHT by model", report["right_in_left_by_model"])
        lines += _breakdown_lines("RIGHT by language", report["right_in_left_by_language"])
    lines += [
        "## Duplicates within each source",
        "",
        "| source | records | duplicate rate | exact | placeholder only | near only | clusters |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sides = [("LEFT", left)] if report["same_source"] else [("LEFT", left), ("RIGHT", right)]
    for label, side in sides:
        w = side.get("within")
        if w:
            lines.append(
                f"| {label} | {w['records']:,} | {_pct(w['duplicate_rate'])} | {w['exact']:,} | "
                f"{w['placeholder']:,} | {w['near']:,} | {w['clusters_with_duplicates']:,} |"
            )
    ns = report["near_search"]
    lines += [
        "",
        f"Near-duplicate search: {ns['documents']:,} distinct masked texts, {ns['shingles']:,} shingles, "
        f"{ns['flagged_by_lsh']:,} sharing an LSH band, {ns['candidate_pairs']:,} candidate pairs, "
        f"{ns['passed_minhash_estimate']:,} checked exactly, {ns['verified_pairs']:,} verified; "
        f"{report['seconds']['total']:.1f} s.",
        "",
        "## Sample of matched pairs",
        "",
        "| kind | sim | LEFT | RIGHT |",
        "| --- | ---: | --- | --- |",
    ]
    for m in report["sample"]:
        lines.append(
            f"| {m['kind']} | {m['similarity']:.2f} | {_cell(m['left_id'])}: {_cell(m['left_text'])} | "
            f"{_cell(m['right_id'])}: {_cell(m['right_text'])} |"
        )
    return "\n".join(lines) + "\n"


__all__ = [
    "CompareResult",
    "CompareSettings",
    "compare",
    "compare_paths",
    "compare_tables",
    "render_markdown",
    "write_compare",
]
