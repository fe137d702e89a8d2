"""LMSYS-Chat-1M: a folder of Parquet shards (the published layout) or a JSON-lines dump.

Parquet batches are converted column-wise (no per-row Python), because the full dataset is a million
conversations; JSONL is parsed line by line. Fields a file lacks (``openai_moderation``, ``redacted``,
``user_id`` ...) become nulls, not errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.errors import InputFormatError
from arenapref.readers.base import LayoutReader, Peek, ReadOptions
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES, iter_table_file, table_schema
from arenapref.readers.jsoncells import CellError, content_text
from arenapref.readers.jsonrecords import iter_json_records
from arenapref.records import CONVERSATION_SCHEMA, TURN_TYPE
from arenapref.rejects import RejectLog

ROLES = ("user", "assistant", "system")


def read(path: Path, rejects: RejectLog, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream one LMSYS-Chat-1M file (a Parquet shard, an Arrow file, or JSON lines) as conversations."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        yield from _read_parquet(path, rejects, batch_size)
    else:
        yield from _read_jsonl(path, rejects, batch_size)


def _read_parquet(path: Path, rejects: RejectLog, batch_size: int) -> Iterator[pa.RecordBatch]:
    names = set(table_schema(path).names)
    if "conversation" not in names:
        raise InputFormatError(f"{path}: not an LMSYS-Chat-1M shard: no 'conversation' column")
    yield from convert_batches(iter_table_file(path, batch_size), path, rejects)


def convert_batches(
    batches: Iterator[pa.RecordBatch], where: Path | str, rejects: RejectLog
) -> Iterator[pa.RecordBatch]:
    """Raw LMSYS batches (a file's or a DataFrame's) as conversations; odd column types are one sentence."""
    offset = 0
    for batch in batches:
        try:
            out = convert_batch(batch, where, offset, rejects)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputFormatError(f"{where}: a column does not have the LMSYS-Chat-1M type ({exc})") from exc
        offset += batch.num_rows
        if out.num_rows:
            yield out


def _any_per_row(values: np.ndarray, parents: np.ndarray, n: int) -> np.ndarray:
    """Per-row OR of a flattened boolean array given each value's row index."""
    return np.bincount(parents, weights=values.astype(np.float64), minlength=n) > 0


def _moderation(col: pa.Array, n: int) -> tuple[pa.Array, pa.Array]:
    """Per conversation: was any message flagged, and which categories fired in any message."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    flat = pc.list_flatten(col)
    parents = pc.list_parent_indices(col).to_numpy()
    valid = pc.is_valid(flat).to_numpy(zero_copy_only=False)
    flat_type = flat.type
    if not pa.types.is_struct(flat_type) or flat_type.get_field_index("flagged") < 0:
        return pa.nulls(n, pa.bool_()), pa.nulls(n, pa.list_(pa.string()))
    flagged_msgs = (
        pc.fill_null(pc.struct_field(flat, "flagged"), False).to_numpy(zero_copy_only=False) & valid
    )
    flagged = _any_per_row(flagged_msgs, parents, n)
    has_moderation = pc.is_valid(col).to_numpy(zero_copy_only=False)
    categories: list[list[str]] = [[] for _ in range(n)]
    cat_idx = flat_type.get_field_index("categories")
    if cat_idx >= 0 and flagged.any():
        cats = pc.struct_field(flat, "categories")
        for i in range(cats.type.num_fields):
            name = cats.type.field(i).name
            fired = pc.fill_null(pc.struct_field(cats, [i]), False).to_numpy(zero_copy_only=False) & valid
            for row in np.nonzero(_any_per_row(fired, parents, n))[0]:
                categories[row].append(name)
    flag_arr = pa.array(np.where(has_moderation, flagged, False), pa.bool_(), mask=~has_moderation)
    return flag_arr, pa.array(categories, pa.list_(pa.string()))


def _content_strings(content: pa.Array, path: Path | str) -> pa.Array:
    """Message contents as strings; OpenAI-style part lists and other shapes go through ``content_text``.

    The content column has one type for the whole file, so a shape ``content_text`` cannot read is an
    error for the file (naming it), not a row to drop.
    """
    if pa.types.is_string(content.type) or pa.types.is_large_string(content.type):
        return content.cast(pa.string())
    if pa.types.is_null(content.type):
        return pa.nulls(len(content), pa.string())
    try:
        return content.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        try:
            return pa.array(
                [content_text(v, "conversation content") for v in content.to_pylist()], pa.string()
            )
        except CellError as exc:
            raise InputFormatError(f"{path}: {exc}") from exc


def convert_batch(batch: pa.RecordBatch, path: Path | str, offset: int, rejects: RejectLog) -> pa.RecordBatch:
    """Turn one raw LMSYS batch into CONVERSATION_SCHEMA, rejecting rows that cannot be conversations."""
    n = batch.num_rows
    names = batch.schema.names
    conv = batch.column("conversation")
    conv_type = conv.type
    if not (pa.types.is_list(conv_type) or pa.types.is_large_list(conv_type)) or not pa.types.is_struct(
        conv_type.value_type
    ):
        raise InputFormatError(
            f"{path}: 'conversation' is {conv_type}, expected a list of role/content structs"
        )
    if pa.types.is_large_list(conv_type):
        conv = conv.cast(pa.list_(conv_type.value_type))
    values = conv.values
    if values.type.get_field_index("role") < 0 or values.type.get_field_index("content") < 0:
        raise InputFormatError(f"{path}: conversation messages need 'role' and 'content' fields")
    # struct_field (unlike StructArray.field) honours the struct array's own offset.
    try:
        role = pc.struct_field(values, "role").cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
        raise InputFormatError(f"{path}: conversation message roles are not text ({exc})") from exc
    content = _content_strings(pc.struct_field(values, "content"), path)
    turns = pa.ListArray.from_arrays(
        conv.offsets,
        pa.StructArray.from_arrays([role, content], fields=list(TURN_TYPE)),
        mask=pc.is_null(conv),
    )
    # Validity checks, vectorised; bad rows are rejected with their row number in the file.
    ids = (
        batch.column("conversation_id").cast(pa.string())
        if "conversation_id" in names
        else pa.nulls(n, pa.string())
    )
    bad_id = pc.fill_null(pc.or_(pc.is_null(ids), pc.equal(ids, "")), True).to_numpy(zero_copy_only=False)
    n_msgs = pc.fill_null(pc.list_value_length(conv), 0).to_numpy(zero_copy_only=False)
    flat_roles = pc.list_flatten(turns).field("role")
    parents = pc.list_parent_indices(turns).to_numpy()
    bad_role_msg = ~pc.fill_null(pc.is_in(flat_roles, pa.array(ROLES)), False).to_numpy(zero_copy_only=False)
    bad_role = _any_per_row(bad_role_msg, parents, n) if len(parents) else np.zeros(n, bool)
    is_user = pc.fill_null(pc.equal(flat_roles, "user"), False).to_numpy(zero_copy_only=False)
    n_user = np.bincount(parents, weights=is_user.astype(np.float64), minlength=n).astype(np.int32)
    reasons = [
        (bad_id, "missing conversation_id"),
        (n_msgs == 0, "empty or missing conversation"),
        (bad_role, f"message role not one of {', '.join(ROLES)}"),
    ]
    keep = np.ones(n, dtype=bool)
    for mask, reason in reasons:
        for row in np.nonzero(mask & keep)[0]:
            rejects.add(path, offset + int(row) + 1, reason, raw=str(ids[int(row)]))
        keep &= ~mask

    def col(name: str, typ: pa.DataType) -> pa.Array:
        if name not in names:
            return pa.nulls(n, typ)
        return batch.column(name).cast(typ)

    if "openai_moderation" in names:
        flagged, categories = _moderation(batch.column("openai_moderation"), n)
    else:
        flagged, categories = pa.nulls(n, pa.bool_()), pa.nulls(n, pa.list_(pa.string()))
    user_col = "user_id" if "user_id" in names else "user"
    out = pa.RecordBatch.from_arrays(
        [
            ids,
            col("model", pa.string()),
            turns,
            pa.array(n_user, pa.int32()),
            col("language", pa.string()),
            col(user_col, pa.string()),
            flagged,
            categories,
            col("redacted", pa.bool_()),
            pa.array(["lmsys"] * n, pa.string()),
        ],
        schema=CONVERSATION_SCHEMA,
    )
    return out if keep.all() else out.filter(pa.array(keep))


def _read_jsonl(path: Path, rejects: RejectLog, batch_size: int) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, object]] = []
    for line_no, rec in iter_json_records(path, rejects):
        row = _json_row(rec)
        if isinstance(row, str):
            rejects.add(path, line_no, row, raw=json.dumps(rec, default=str)[:500])
            continue
        rows.append(row)
        if len(rows) >= batch_size:
            yield pa.RecordBatch.from_pylist(rows, schema=CONVERSATION_SCHEMA)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=CONVERSATION_SCHEMA)


def _json_row(rec: dict[str, object]) -> dict[str, object] | str:
    """One JSON record as a schema row, or the reason it cannot be one."""
    cid = rec.get("conversation_id")
    if not isinstance(cid, str) or not cid:
        return "missing conversation_id"
    conv = rec.get("conversation")
    if not isinstance(conv, list) or not conv:
        return "empty or missing conversation"
    turns = []
    for msg in conv:
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            return f"message role not one of {', '.join(ROLES)}"
        try:
            text = content_text(msg.get("content"), "conversation content")
        except CellError as exc:
            return str(exc)
        turns.append({"role": msg["role"], "content": text})
    moderation = rec.get("openai_moderation")
    flagged: bool | None = None
    categories: list[str] = []
    if isinstance(moderation, list):
        flagged = False
        for m in moderation:
            if isinstance(m, dict):
                flagged = flagged or bool(m.get("flagged"))
                cats = m.get("categories")
                if isinstance(cats, dict):
                    categories += [k for k, v in cats.items() if v and k not in categories]
    redacted = rec.get("redacted")
    user = rec.get("user_id", rec.get("user"))
    return {
        "conversation_id": cid,
        "model": _str_or_none(rec.get("model")),
        "turns": turns,
        "n_user_turns": sum(1 for t in turns if t["role"] == "user"),
        "language": _str_or_none(rec.get("language")),
        "user_id": _str_or_none(user),
        "moderation_flagged": flagged,
        "moderation_categories": categories,
        "redacted": bool(redacted) if redacted is not None else None,
        "source": "lmsys",
    }


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _sniff(p: Peek) -> bool:
    # A JSON record also needs an id or a model: a bare "conversation" key is too common a word.
    return "conversation" in p.columns and (p.origin != "json" or p.any_of("conversation_id", "model"))


def _from_table(table: pa.Table, o: ReadOptions) -> Iterator[pa.RecordBatch]:
    return convert_batches(iter(table.to_batches(o.batch_size)), o.where, o.rejects)


READER = LayoutReader(
    "lmsys",
    "conversations",
    TABLE_SUFFIXES + JSON_SUFFIXES,
    ("conversation_id", "conversation"),
    _sniff,
    lambda path, o: read(path, o.rejects, o.batch_size),
    _from_table,
)
