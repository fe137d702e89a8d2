"""``arenapref.testing.layouts.write`` streams its records in chunks (so the reader benchmark can write a
million rows in bounded memory) and still writes what one call over the whole list wrote: the same JSON
bytes, the same tables."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from arenapref.testing import layouts
from arenapref.testing.layouts import LAYOUTS, records, write


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_chunked_write_equals_writing_the_whole_list(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layouts, "CHUNK", 3)  # 8 records (HelpSteer: 20 rows): several chunks, a short last
    path = write(name, tmp_path, 8, seed=5)
    recs = records(name, 8, seed=5)
    if path.suffix == ".parquet":
        written = pq.read_table(path)
        assert pq.ParquetFile(path).num_row_groups == -(-len(recs) // 3)
        assert written.equals(pa.Table.from_pylist(recs))
    elif path.suffix == ".csv":
        assert path.read_bytes() == _csv_bytes(recs)
    elif path.suffix == ".json":
        assert path.read_text(encoding="utf-8") == json.dumps(recs)
    else:
        assert path.read_text(encoding="utf-8") == "".join(json.dumps(r) + "\n" for r in recs)


def _csv_bytes(recs: list[dict[str, object]]) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.Table.from_pylist(recs), sink)
    return bytes(sink.getvalue().to_pybytes())


def test_records_are_the_same_one_at_a_time_and_the_same_for_a_seed() -> None:
    assert list(layouts.iter_records("helpsteer", 5, seed=2)) == records("helpsteer", 5, seed=2)
    assert records("capybara-preferences", 3, seed=1) == records("capybara-preferences", 3, seed=1)
    assert records("capybara-preferences", 3, seed=1) != records("capybara-preferences", 3, seed=2)


@pytest.mark.parametrize("name", ["ppe", "arena-55k", "pandalm", "hh-rlhf"])
def test_no_records_is_an_empty_file_of_the_layout(tmp_path: Path, name: str) -> None:
    path = write(name, tmp_path, 0)
    assert path.name == LAYOUTS[name][1]
    if path.suffix == ".parquet":
        assert pq.read_table(path).num_rows == 0
    else:
        assert path.read_text(encoding="utf-8") in ("", "[]")


def test_words_are_drawn_as_random_choice_draws_them() -> None:
    """The fast draw in ``_text`` takes the same bits as ``random.choice``: the same records as before it."""
    fast, plain = random.Random(11), random.Random(11)
    for words in (0, 1, 40, 200):
        expected = "tag " + " ".join(plain.choice(layouts.WORDS) for _ in range(words))
        assert layouts._text(fast, words, "tag") == expected
    assert fast.random() == plain.random()
