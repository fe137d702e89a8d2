"""NVIDIA HelpSteer / HelpSteer2: one rated response per row (``prompt``, ``response``, ``helpfulness``,
``correctness``, ``coherence``, ``complexity``, ``verbosity``).

Rows with the same prompt text are grouped (over the whole input, in first-seen order) and paired by the
rule of ``rated``: source order, at most ``rated.MAX_PAIRS`` pairs per prompt, the label from the
``helpfulness`` difference (the attribute HelpSteer's reward models are ranked by), equal ratings a tie,
A/B by the seeded coin. A prompt with a single usable response cannot be paired: a counted reject.
Ids are ``<file>:<first row of the prompt>:<row>-<row>`` (the two source rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from arenapref.errors import InputFormatError
from arenapref.readers.base import (
    LayoutReader,
    Peek,
    ReadOptions,
    Records,
    file_records,
    record_id,
    table_records,
)
from arenapref.readers.files import CSV_SUFFIXES, JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text
from arenapref.readers.rated import Usable, rated_batches, rating_of

COLUMNS = ("prompt", "response", "helpfulness")


def _check(names: list[str], where: Path | str) -> None:
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InputFormatError(f"{where}: not the helpsteer layout: no {', '.join(missing)} column")


def _groups(records: Records, opts: ReadOptions) -> Records:
    """One record per distinct prompt: {"prompt": text, "members": [(row, record), ...]}."""
    groups: dict[str, list[tuple[int, dict[str, object]]]] = {}
    for row_no, rec in records:
        prompt = rec.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            opts.rejects.add(opts.where, row_no, "empty prompt", "column prompt")
            continue
        groups.setdefault(prompt, []).append((row_no, rec))
    for prompt, members in groups.items():
        yield members[0][0], {"prompt": prompt, "members": members}


def _usable(group: dict[str, object], row_no: int, opts: ReadOptions) -> Usable | str:
    members = group["members"]
    assert isinstance(members, list)
    got = Usable(record_id({}, (), opts.where, row_no), [str(group["prompt"])], [], [], [], [])
    for rn, rec in members:
        rating = rating_of(rec.get("helpfulness"))
        try:
            text = content_text(rec.get("response"), "response")
        except CellError as exc:
            opts.rejects.add(opts.where, rn, "unreadable response", str(exc))
            continue
        if rating is None or text is None:
            opts.rejects.add(opts.where, rn, "response without a numeric helpfulness rating")
            continue
        got.positions.append(rn)
        got.texts.append(text)
        got.models.append(rec.get("model"))
        got.ratings.append(rating)
    if len(got.texts) < 2:
        return "only one rated response to this prompt: nothing to pair it with"
    return got


def _read(path: Path, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
    opts.where = path
    records = file_records(path, opts, lambda names: _check(names, path))
    return rated_batches(_groups(records, opts), _usable, opts, "helpsteer")


def _from_table(table: pa.Table, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
    _check(table.column_names, opts.where)
    return rated_batches(_groups(table_records(table, opts.batch_size), opts), _usable, opts, "helpsteer")


def _sniff(p: Peek) -> bool:
    return p.has(*COLUMNS)


READER = LayoutReader(
    "helpsteer", "battles", CSV_SUFFIXES + JSON_SUFFIXES + TABLE_SUFFIXES, COLUMNS, _sniff, _read, _from_table
)
