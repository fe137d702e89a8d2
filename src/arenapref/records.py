"""The record types every stage shares, and their Arrow schemas.

Two kinds of record cover everything arenapref reads:

* a **conversation**: one model talking to one user (LMSYS-Chat-1M, FastChat answers);
* a **battle**: one prompt, two answers, and a label (competition CSVs, Arena votes, pairwise files,
  mined pairs).

Stages pass Arrow tables/batches in these schemas rather than Python objects, because the interesting
sizes (1M conversations) are too large for per-record objects; the dataclasses exist for tests,
generators and notebooks that build a handful of records by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Kind = Literal["conversations", "battles"]

TURN_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])

CONVERSATION_SCHEMA = pa.schema(
    [
        pa.field("conversation_id", pa.string(), nullable=False),
        pa.field("model", pa.string()),
        pa.field("turns", pa.list_(TURN_TYPE)),
        pa.field("n_user_turns", pa.int32()),
        pa.field("language", pa.string()),
        pa.field("user_id", pa.string()),
        # Any message flagged by OpenAI moderation; null when the source has no moderation field.
        pa.field("moderation_flagged", pa.bool_()),
        pa.field("moderation_categories", pa.list_(pa.string())),
        pa.field("redacted", pa.bool_()),
        pa.field("source", pa.string()),
    ]
)

BATTLE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("prompt", pa.list_(pa.string())),
        pa.field("response_a", pa.list_(pa.string())),
        pa.field("response_b", pa.list_(pa.string())),
        pa.field("model_a", pa.string()),
        pa.field("model_b", pa.string()),
        # Label as probabilities (one-hot for human votes, soft for pseudo-labels); null when unlabeled.
        pa.field("p_a", pa.float64()),
        pa.field("p_b", pa.float64()),
        pa.field("p_tie", pa.float64()),
        pa.field("source", pa.string()),
        # Ids of the records this battle was built from (conversation ids for mined pairs).
        pa.field("provenance", pa.list_(pa.string())),
    ]
)

SCHEMAS: dict[Kind, pa.Schema] = {"conversations": CONVERSATION_SCHEMA, "battles": BATTLE_SCHEMA}
LABEL_COLUMNS = ("p_a", "p_b", "p_tie")


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a conversation."""

    role: str
    content: str | None


@dataclass(slots=True)
class Conversation:
    """One model's conversation with one user."""

    conversation_id: str
    model: str | None
    turns: list[Turn]
    language: str | None = None
    user_id: str | None = None
    moderation_flagged: bool | None = None
    moderation_categories: list[str] = field(default_factory=list)
    redacted: bool | None = None
    source: str | None = None

    def to_row(self) -> dict[str, object]:
        return {
            "conversation_id": self.conversation_id,
            "model": self.model,
            "turns": [{"role": t.role, "content": t.content} for t in self.turns],
            "n_user_turns": sum(1 for t in self.turns if t.role == "user"),
            "language": self.language,
            "user_id": self.user_id,
            "moderation_flagged": self.moderation_flagged,
            "moderation_categories": list(self.moderation_categories),
            "redacted": self.redacted,
            "source": self.source,
        }


@dataclass(slots=True)
class Battle:
    """A prompt, two answers and (optionally) who won, as probabilities (A, B, tie)."""

    id: str
    prompt: list[str | None]
    response_a: list[str | None]
    response_b: list[str | None]
    model_a: str | None = None
    model_b: str | None = None
    label: tuple[float, float, float] | None = None
    source: str | None = None
    provenance: list[str] = field(default_factory=list)

    def to_row(self) -> dict[str, object]:
        p_a, p_b, p_tie = self.label if self.label is not None else (None, None, None)
        return {
            "id": self.id,
            "prompt": list(self.prompt),
            "response_a": list(self.response_a),
            "response_b": list(self.response_b),
            "model_a": self.model_a,
            "model_b": self.model_b,
            "p_a": p_a,
            "p_b": p_b,
            "p_tie": p_tie,
            "source": self.source,
            "provenance": list(self.provenance),
        }


def conversations_table(records: Iterable[Conversation]) -> pa.Table:
    """Build a table in CONVERSATION_SCHEMA from dataclasses (small inputs: tests, notebooks)."""
    return pa.Table.from_pylist([r.to_row() for r in records], schema=CONVERSATION_SCHEMA)


def battles_table(records: Iterable[Battle]) -> pa.Table:
    """Build a table in BATTLE_SCHEMA from dataclasses (small inputs: tests, notebooks)."""
    return pa.Table.from_pylist([r.to_row() for r in records], schema=BATTLE_SCHEMA)


def kind_of(schema: pa.Schema) -> Kind:
    """Which record kind a table holds, judged by its columns."""
    if "turns" in schema.names and "conversation_id" in schema.names:
        return "conversations"
    if "response_a" in schema.names and "prompt" in schema.names:
        return "battles"
    raise ValueError(f"columns {schema.names} are neither conversations nor battles")


def is_shared_schema(schema: pa.Schema) -> bool:
    """Whether a table already holds records in the shared schema (turns as lists, not JSON strings).

    Why more than ``kind_of``: the competition's CSV read as a plain Arrow table has ``prompt`` and
    ``response_a`` columns too, but as JSON strings; such a table must go through the readers.
    """
    try:
        kind = kind_of(schema)
    except ValueError:
        return False
    column = schema.field("prompt" if kind == "battles" else "turns").type
    return bool(pa.types.is_list(column) or pa.types.is_large_list(column))


def user_turns(table: pa.Table | pa.RecordBatch) -> pa.ListArray | pa.LargeListArray:
    """The list of user turns of every row, for either record kind.

    This is what prompt keys, topics and pair mining look at; for battles it is the prompt column.
    Computed one record batch at a time, and only the user turns' text is concatenated: combining a whole
    ``turns`` column first would copy every assistant answer too, and stops with Arrow's offset overflow
    once a table's turn text passes 2 GiB (a 1M-conversation log). ``list<string>`` while the user turns'
    own text fits Arrow's 32-bit offsets, ``large_list<large_string>`` beyond (or for such an input).
    """
    batches = [table] if isinstance(table, pa.RecordBatch) else table.to_batches()
    parts = [_batch_user_turns(b) for b in batches if b.num_rows]
    small = pa.list_(pa.string())
    if not parts:
        return pa.array([], small)
    sizes = [int(pc.sum(pc.binary_length(pc.list_flatten(p))).as_py() or 0) for p in parts]
    if sum(sizes) < 2**31 and all(p.type == small for p in parts):
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    return pa.concat_arrays([p.cast(pa.large_list(pa.large_string())) for p in parts])


def _batch_user_turns(batch: pa.RecordBatch) -> pa.Array:
    """``user_turns`` of one record batch: ``list<string>``, or large types for a batch that has them."""
    if kind_of(batch.schema) == "battles":
        prompt = batch.column("prompt")
        return (
            prompt if prompt.type == pa.list_(pa.string()) else prompt.cast(pa.large_list(pa.large_string()))
        )
    turns = batch.column("turns")
    flat = pc.list_flatten(turns)
    parents = pc.list_parent_indices(turns)
    is_user = pc.equal(flat.field("role"), "user")
    contents = pc.filter(flat.field("content"), is_user)
    kept_parents = pc.filter(parents, is_user).to_numpy(zero_copy_only=False)
    counts = np.bincount(kept_parents, minlength=len(turns)) if len(kept_parents) else np.zeros(len(turns))
    offsets = np.zeros(len(turns) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if pa.types.is_string(contents.type):
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), contents)
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), contents.cast(pa.large_string()))


def first_user_turn(table: pa.Table | pa.RecordBatch) -> pa.Array:
    """The first user turn of every row (null where there is none)."""
    turns = user_turns(table)
    return pc.list_element(pc.if_else(pc.greater(pc.list_value_length(turns), 0), turns, None), 0)


def conform(table: pa.Table, kind: Kind) -> pa.Table:
    """Add missing schema columns as nulls and order them; extra columns (topic, ...) are kept at the end."""
    schema = SCHEMAS[kind]
    cols = []
    names = []
    for f in schema:
        if f.name in table.column_names:
            cols.append(table.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
        names.append(f.name)
    for name in table.column_names:
        if name not in names:
            cols.append(table.column(name))
            names.append(name)
    return pa.table(cols, names=names)
