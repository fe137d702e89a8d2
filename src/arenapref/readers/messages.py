"""Message-list columns (``[{role, content}]``) of Arrow tables decoded column-wise.

``to_pylist`` builds one dict per message and per content part; on a preference set of a million pairs
that is most of the read time. A column of type ``list<struct<role, content>>`` (content a string, or a
list of ``{type, text, ...}`` parts as in arena-human-preference-140k) is decoded here from its flat
arrays into one list of ``(role, text)`` tuples per row, the same values ``jsoncells.content_text``
gives for the same messages. Any other type falls back to ``to_pylist`` (the readers accept both).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Message = tuple[str, str | None]


def _offsets(arr: pa.ListArray) -> np.ndarray:
    off = np.asarray(arr.offsets, dtype=np.int64)
    rel: np.ndarray = off - off[0]
    return rel


def content_texts(content: pa.Array) -> pa.Array | None:
    """Each message's text: the string, or its text parts joined by newlines (parts without text, such
    as images, left out); None for other types."""
    t = content.type
    if pa.types.is_string(t):
        return content
    if pa.types.is_large_string(t):
        return content.cast(pa.string())
    if not (pa.types.is_list(t) and pa.types.is_struct(t.value_type)):
        return None
    if t.value_type.get_field_index("text") < 0 or not pa.types.is_string(t.value_type.field("text").type):
        return None
    parts = pc.struct_field(pc.list_flatten(content), "text")
    owner = np.asarray(pc.list_parent_indices(content), np.int64)
    keep = np.asarray(parts.is_valid())
    counts = np.bincount(owner[keep], minlength=len(content))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), parts.filter(pa.array(keep))), "\n")
    return pc.if_else(content.is_valid(), joined, pa.nulls(len(content), pa.string()))


def message_lists(arr: pa.Array) -> list[object]:
    """A column's cells as lists of (role, text) tuples when it is a message-list column, else as Python."""
    t = arr.type
    if not (pa.types.is_list(t) and pa.types.is_struct(t.value_type)):
        return arr.to_pylist()  # type: ignore[no-any-return]
    struct = t.value_type
    if struct.get_field_index("role") < 0 or struct.get_field_index("content") < 0:
        return arr.to_pylist()  # type: ignore[no-any-return]
    flat = pc.list_flatten(arr)
    texts = content_texts(pc.struct_field(flat, "content"))
    roles = pc.struct_field(flat, "role")
    if texts is None or not (pa.types.is_string(roles.type) or pa.types.is_large_string(roles.type)):
        return arr.to_pylist()  # type: ignore[no-any-return]
    role_list = roles.to_pylist()
    pairs = list(zip(role_list, texts.to_pylist(), strict=True))
    off = _offsets(arr)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    return [pairs[off[i] : off[i + 1]] if valid[i] else None for i in range(len(arr))]
