"""``records.user_turns`` works one record batch at a time (issue 22: a 1M-conversation log's turn text
passes Arrow's 2 GiB offsets when a whole ``turns`` column is combined)."""

from __future__ import annotations

import pyarrow as pa

from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table, user_turns


def _conversations() -> pa.Table:
    return conversations_table(
        [
            Conversation("a", "m", [Turn("user", "hi"), Turn("assistant", "yo"), Turn("user", "more")]),
            Conversation("b", "m", []),
            Conversation("c", "m", [Turn("system", "s"), Turn("user", None), Turn("assistant", "x")]),
        ]
    )


def test_chunked_sliced_and_empty_chunks_give_every_row() -> None:
    one = _conversations()
    table = pa.concat_tables([one, one.slice(1), one.slice(0, 0), one.slice(0, 1)])
    assert table.column("turns").num_chunks == 4
    got = user_turns(table)
    assert got.type == pa.list_(pa.string())
    assert got.to_pylist() == [["hi", "more"], [], [None], [], [None], ["hi", "more"]]
    assert user_turns(table.to_batches()[0]).to_pylist() == [["hi", "more"], [], [None]]
    assert user_turns(one.slice(0, 0)).to_pylist() == []


def test_battles_by_batch_and_large_types_kept_large() -> None:
    battles = battles_table(
        [Battle("1", ["p", "q"], ["a", "b"], ["c", "d"]), Battle("2", ["r"], ["a"], ["b"])]
    )
    assert user_turns(pa.concat_tables([battles, battles.slice(1)])).to_pylist() == [["p", "q"], ["r"], ["r"]]
    large = pa.large_list(pa.large_string())
    wide = battles.set_column(1, "prompt", battles.column("prompt").cast(large))
    got = user_turns(pa.concat_tables([wide, wide]))
    assert got.type == large and got.to_pylist() == [["p", "q"], ["r"], ["p", "q"], ["r"]]
