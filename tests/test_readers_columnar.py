"""The column-wise readers (``readers.columnar``) give exactly what the record-at-a-time readers give.

The same records are written as JSON lines (read one record at a time by the layout's row function)
and as Parquet (read column-wise, the rows it cannot vouch for handed to the same row function); the
battle tables, the rejects (row and reason) and the recoveries must be equal. The records mix ordinary
rows with every irregular kind the column-wise code must notice: system messages, unknown roles,
differing user turns, blank or null turns, missing ids, ties, null cells, unknown winners, image parts.
Batches of 4 rows put regular and irregular rows in the same and in separate batches.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.readers import arena, chosen_rejected, open_source, transcript
from arenapref.readers.base import ReadOptions
from arenapref.readers.registry import reader
from arenapref.rejects import RejectLog


def _m(*turns: tuple[str, str | None]) -> list[dict[str, str | None]]:
    return [{"role": r, "content": c} for r, c in turns]


def _chosen_rejected() -> list[dict[str, object]]:
    p = "Please explain how rivers form deltas over many thousands of years, with examples."
    rows: list[dict[str, object]] = []
    for i in range(13):
        chosen = _m(("user", f"{p} {i}"), ("assistant", f"good {i}"))
        rejected = _m(("user", f"{p} {i}"), ("assistant", f"bad {i}"))
        rows.append(
            {
                "prompt_id": f"id{i}",
                "prompt": f"{p} {i}",
                "chosen": chosen,
                "rejected": rejected,
                "chosen_model": "m1",
                "rejected_model": "m2",
                "score_chosen": 8.0,
                "score_rejected": 5.0,
            }
        )
    sys = ("system", "be brief")
    rows[1]["chosen"] = _m(sys, ("user", f"{p} 1"), ("assistant", "good"))
    rows[1]["rejected"] = _m(sys, ("user", f"{p} 1"), ("assistant", "bad"))
    rows[2]["chosen"] = _m(("user", f"{p} 2"), ("tool", "x"), ("assistant", "good"))
    rows[3]["rejected"] = _m(("user", "another question entirely"), ("assistant", "bad"))
    rows[4]["chosen"], rows[4]["rejected"] = _m(("assistant", "only an answer")), _m(("assistant", "other"))
    rows[5]["chosen"] = _m(("user", None), ("assistant", "a"), ("user", f"{p} 5"), ("assistant", "b"))
    rows[5]["rejected"] = _m(("user", None), ("assistant", "c"), ("user", f"{p} 5"), ("assistant", "d"))
    rows[6]["chosen"] = None
    rows[7]["chosen"] = _m(("user", " \u3000\t"), ("assistant", "good"))
    rows[7]["rejected"] = _m(("user", " \u3000\t"), ("assistant", "bad"))
    rows[8]["chosen"] = _m(("user", f"{p} 8"), ("user", "more"), ("assistant", "good"))
    rows[9]["score_rejected"] = 8.0
    rows[10]["prompt_id"] = ""
    rows[11]["prompt_id"] = None
    rows[11]["chosen_model"] = ""
    rows[12]["chosen"] = _m(("human", f"{p} 12"), ("gpt", "good"))
    rows[12]["rejected"] = _m(("human", f"{p} 12"), ("bot", "bad"))
    return rows


def _transcripts() -> list[dict[str, object]]:
    q = "\n\nHuman: Tell me about the history of the printing press in Europe, in detail please."
    rows: list[dict[str, object]] = [
        {"id": f"t{i}", "chosen": f"{q} {i}\n\nAssistant: good {i}", "rejected": f"{q} {i}\n\nAssistant: bad"}
        for i in range(10)
    ]
    rows[1]["chosen"] = f"{q} 1\n\nAssistant: a1\n\nHuman:\tfollow\n\nAssistant:  good \u2003"
    rows[1]["rejected"] = f"{q} 1\n\nAssistant: a1\n\nHuman:\tfollow\n\nAssistant: bad"
    rows[2]["chosen"] = "no markers at all"
    rows[3]["rejected"] = "lead text" + str(rows[3]["rejected"])
    rows[4]["chosen"] = f"{q} 4\x00\n\nAssistant: good"
    rows[4]["rejected"] = f"{q} 4\x00\n\nAssistant: bad"
    rows[5]["chosen"] = None
    rows[6]["rejected"] = "\n\nHuman: other question\n\nAssistant: bad"
    rows[7]["chosen"] = str(rows[7]["chosen"]).lstrip("\n")
    rows[8]["id"] = ""
    rows[9]["chosen"] = "\n\nHuman:   \n\nAssistant: good"
    rows[9]["rejected"] = "\n\nHuman:   \n\nAssistant: bad"
    return rows


def _parts(*texts: str | None) -> list[dict[str, object]]:
    return [{"type": "text" if t is not None else "image", "text": t, "image": None} for t in texts]


def _arena() -> list[dict[str, object]]:
    p = "Write a short poem about the harbor at night, with the lights on the water."
    rows: list[dict[str, object]] = []
    for i in range(10):
        conv = [
            {"role": "user", "content": _parts(f"{p} {i}", None, "second part"), "num_tokens": 3},
            {"role": "assistant", "content": _parts(f"answer {i}"), "num_tokens": 3},
        ]
        other = [conv[0], {"role": "assistant", "content": _parts(f"other {i}"), "num_tokens": 3}]
        rows.append(
            {
                "id": f"a{i}",
                "model_a": "m1",
                "model_b": "m2",
                "winner": ("model_a", "model_b", "tie", "both_bad")[i % 4],
                "conversation_a": conv,
                "conversation_b": other,
            }
        )
    rows[1]["winner"] = None
    rows[2]["winner"] = "bogus"
    rows[3]["id"] = ""
    rows[4]["conversation_b"] = None
    rows[5]["conversation_a"] = [
        {"role": "system", "content": _parts("sys"), "num_tokens": 1},
        *rows[5]["conversation_a"],
    ]  # type: ignore[misc]
    rows[6]["model_b"] = ""
    rows[7]["conversation_a"] = [
        {"role": "user", "content": None, "num_tokens": 0},
        *rows[7]["conversation_a"],
    ]  # type: ignore[misc]
    return rows


MODULES = {"chosen-rejected": chosen_rejected, "transcript": transcript, "arena": arena}
CASES = {"chosen-rejected": _chosen_rejected, "transcript": _transcripts, "arena": _arena}


def _read(path: Path, layout: str) -> tuple[pa.Table, list[tuple[int | None, str]], dict[str, int]]:
    log = RejectLog()
    batches = list(reader(layout).read(path, ReadOptions(path, log, batch_size=4)))
    table = pa.Table.from_batches(batches)
    return table, [(r.row, r.reason) for r in log.rejects], dict(log.recovered)


@pytest.mark.parametrize("layout", list(CASES))
def test_columnar_equals_record_at_a_time(tmp_path: Path, layout: str) -> None:
    recs = CASES[layout]()
    (tmp_path / "j").mkdir()
    (tmp_path / "p").mkdir()
    jsonl, parquet = tmp_path / "j" / "set.jsonl", tmp_path / "p" / "set.parquet"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(recs), parquet)
    rows, rejects, recovered = _read(jsonl, layout)
    assert rejects and rows.num_rows  # the cases hold both kinds, so the comparison means something
    got = _read(parquet, layout)
    batch = pq.read_table(parquet).to_batches()[0]
    fast = MODULES[layout].batch_battles(batch, np.arange(1, batch.num_rows + 1), ReadOptions(parquet))
    assert fast is not None and 0 < len(fast.rows) < batch.num_rows  # both paths were taken
    assert got[1] == rejects and got[2] == recovered
    assert got[0].equals(rows), (got[0].to_pylist(), rows.to_pylist())


def test_columnar_from_a_table_equals_the_file(tmp_path: Path) -> None:
    recs = [r for r in _chosen_rejected() if r["prompt_id"]]  # ids from row numbers name the file
    path = tmp_path / "set.parquet"
    pq.write_table(pa.Table.from_pylist(recs), path)
    file_src, table_src = open_source(path), open_source(pq.read_table(path))
    from_file, from_table = file_src.read_table(), table_src.read_table()
    assert [(r.row, r.reason) for r in table_src.rejects.rejects] == [
        (r.row, r.reason) for r in file_src.rejects.rejects
    ]
    assert len(file_src.rejects) and from_table.equals(from_file)
