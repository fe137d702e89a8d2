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


def _texts(content: pa.Array) -> list[str | None] | None:
    """Each message's text: the string, or its text parts joined by newlines; None for other types."""
    t = content.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return content.to_pylist()  # type: ignore[no-any-return]
    if not (pa.types.is_list(t) and pa.types.is_struct(t.value_type)):
        return None
    if t.value_type.get_field_index("text") < 0:
        return None
    parts = pc.struct_field(pc.list_flatten(content), "text").to_pylist()
    off = _offsets(content)
    valid = content.is_valid().to_numpy(zero_copy_only=False)
    return [
        "\n".join(p for p in parts[off[i] : off[i + 1]] if isinstance(p, str)) if valid[i] else None
        for i in range(len(content))
    ]


def message_lists(arr: pa.Array) -> list[object]:
    """A column's cells as lists of (role, text) tuples when it is a message-list column, else as Python."""
    t = arr.type
    if not (pa.types.is_list(t) and pa.types.is_struct(t.value_type)):
        return arr.to_pylist()  # type: ignore[no-any-return]
    struct = t.value_type
    if struct.get_field_index("role") < 0 or struct.get_field_index("content") < 0:
        return arr.to_pylist()  # type: ignore[no-any-return]
    flat = pc.list_flatten(arr)
    texts = _texts(pc.struct_field(flat, "content"))
    roles = pc.struct_field(flat, "role")
    if texts is None or not (pa.types.is_string(roles.type) or pa.types.is_large_string(roles.type)):
        return arr.to_pylist()  # type: ignore[no-any-return]
    role_list = roles.to_pylist()
    pairs = list(zip(role_list, texts, strict=True))
    off = _offsets(arr)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    return [pairs[off[i] : off[i + 1]] if valid[i] else None for i in range(len(arr))]
