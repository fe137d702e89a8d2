"""Reader fuzz suite: whatever the bytes, the outcome is records, counted rejects, or one ArenaprefError.

Each example starts from a small valid file of one format and damages it the ways real files are damaged
(random bytes, truncation, another encoding, surrogate escapes, renamed or dropped columns), then reads it
with the format detected and with the format forced. Any exception other than ``ArenaprefError`` fails.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arenapref.errors import ArenaprefError
from arenapref.readers import FORMATS, open_source
from arenapref.records import BATTLE_SCHEMA, CONVERSATION_SCHEMA

CSV_HEADER = "id,model_a,model_b,prompt,response_a,response_b,winner_model_a,winner_model_b,winner_tie\n"


def _competition() -> tuple[str, bytes]:
    rows = [
        '1,gpt-4,claude,"[""What is a Fourier series?""]","[""A sum.""]","[""No idea"", null]",1,0,0\n',
        '2,llama,vicuna,"[""Tell me a joke"",""another""]","[""Why did..."",""x""]","[null,""y""]",0,0,1\n',
        '3,a,b,"[""caf\\u00e9 \\u2603""]","[""ok""]","[""fine""]",0,1,0\n',
    ]
    return "train.csv", (CSV_HEADER + "".join(rows)).encode()


def _submission() -> tuple[str, bytes]:
    return "sub.csv", b"id,winner_model_a,winner_model_b,winner_tie\n1,0.2,0.3,0.5\n2,0.1,0.1,0.8\n"


def _lmsys_jsonl() -> tuple[str, bytes]:
    recs = [
        {
            "conversation_id": "a" * 32,
            "model": "vicuna-13b",
            "conversation": [
                {"role": "user", "content": "hi NAME_1"},
                {"role": "assistant", "content": "hello"},
            ],
            "language": "English",
            "openai_moderation": [{"flagged": False, "categories": {"violence": False}}],
            "redacted": False,
        },
        {"conversation_id": "b" * 32, "model": "koala", "conversation": [{"role": "user", "content": "q"}]},
    ]
    return "lmsys.jsonl", "".join(json.dumps(r) + "\n" for r in recs).encode()


def _arena_jsonl() -> tuple[str, bytes]:
    rec = {
        "question_id": "q1",
        "model_a": "a",
        "model_b": "b",
        "winner": "tie (bothbad)",
        "conversation_a": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}],
        "conversation_b": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "y"}],
    }
    return "arena.jsonl", (json.dumps(rec) + "\n" + json.dumps({**rec, "question_id": "q2"}) + "\n").encode()


def _pairwise_json() -> tuple[str, bytes]:
    recs = [
        {"instruction": "Sum 2+2", "input": "", "output_1": "4", "output_2": "5", "preference": 1},
        {
            "instruction": "Name a fruit",
            "input": "red",
            "output_1": "apple",
            "output_2": "car",
            "preference": 1.5,
        },
    ]
    return "alpaca.json", json.dumps(recs).encode()


def _pairwise_csv() -> tuple[str, bytes]:
    return "pairs.csv", b"prompt,chosen_a,output_b,winner\nq,a,b,model_a\nq2,a2,b2,tie\n"


def _parquet(table: pa.Table, name: str) -> tuple[str, bytes]:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="none")
    return name, sink.getvalue().to_pybytes()


def _native_battles() -> tuple[str, bytes]:
    rows = [
        {
            "id": "1",
            "prompt": ["q"],
            "response_a": ["a"],
            "response_b": ["b"],
            "p_a": 1.0,
            "p_b": 0.0,
            "p_tie": 0.0,
        }
    ]
    return _parquet(pa.Table.from_pylist(rows, schema=BATTLE_SCHEMA), "battles.parquet")


def _native_conversations() -> tuple[str, bytes]:
    rows = [{"conversation_id": "c", "turns": [{"role": "user", "content": "q"}], "n_user_turns": 1}]
    return _parquet(pa.Table.from_pylist(rows, schema=CONVERSATION_SCHEMA), "convs.parquet")


def _lmsys_parquet() -> tuple[str, bytes]:
    rows = [{"conversation_id": "c1", "model": "m", "conversation": [{"role": "user", "content": "hey"}]}]
    return _parquet(pa.Table.from_pylist(rows), "train-00000-of-00001.parquet")


def _arrow_stream() -> tuple[str, bytes]:
    table = pa.table({"id": ["1"], "prompt": ['["q"]'], "response_a": ['["a"]'], "response_b": ['["b"]']})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return "data-00000-of-00001.arrow", sink.getvalue().to_pybytes()


SEEDS: list[Callable[[], tuple[str, bytes]]] = [
    _competition,
    _submission,
    _lmsys_jsonl,
    _arena_jsonl,
    _pairwise_json,
    _pairwise_csv,
    _native_battles,
    _native_conversations,
    _lmsys_parquet,
    _arrow_stream,
]


def _read_all_ways(path: Path) -> None:
    """Read with detection and with every format forced; only ArenaprefError may escape."""
    for fmt in (None, *FORMATS):
        try:
            src = open_source(path, format=fmt)
            table = src.read_table(batch_size=2)
        except ArenaprefError as exc:
            assert str(exc).strip(), "an error must say something"
            assert "\n" not in str(exc).strip() or fmt is not None
            continue
        assert table.schema.names[: len(src.schema)] == src.schema.names
        for row in table.to_pylist():
            json.dumps(row, default=str).encode("utf-8")  # every stored string is valid UTF-8
        assert len(src.rejects) >= 0 and all(r.reason for r in src.rejects.rejects)


def _mutate(data: bytes, kind: str, pos: float, blob: bytes) -> bytes:
    i = int(pos * len(data))
    if kind == "truncate":
        return data[:i]
    if kind == "overwrite":
        return data[:i] + blob + data[i + len(blob) :]
    if kind == "insert":
        return data[:i] + blob + data[i:]
    if kind == "surrogate":
        return data[:i] + b"\\ud83d" + data[i:]
    if kind == "cp1252":
        return data.decode("utf-8", "replace").replace("\\u00e9", "é").encode(
            "cp1252", "replace"
        ) + "é".encode("cp1252")
    if kind == "utf16":
        return data.decode("utf-8", "replace").encode("utf-16")
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "rename":
        for old, new in (
            (b"prompt", b"Prompt"),
            (b"response_b", b"respb"),
            (b"conversation", b"convo"),
            (b"id", b""),
        ):
            if old in data:
                return data.replace(old, new, 1)
        return data
    return blob


MUTATIONS = ["truncate", "overwrite", "insert", "surrogate", "cp1252", "utf16", "bom", "rename", "random"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    kind=st.sampled_from(MUTATIONS),
    pos=st.floats(0.0, 1.0),
    blob=st.binary(min_size=0, max_size=24),
)
def test_damaged_files_never_raise_anything_else(
    seed: Callable[[], tuple[str, bytes]], kind: str, pos: float, blob: bytes
) -> None:
    name, data = seed()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(_mutate(data, kind, pos, blob))
        _read_all_ways(path)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    other=st.sampled_from(SEEDS),
    kind=st.sampled_from(MUTATIONS),
    pos=st.floats(0.0, 1.0),
)
def test_folders_of_damaged_files(
    seed: Callable[[], tuple[str, bytes]], other: Callable[[], tuple[str, bytes]], kind: str, pos: float
) -> None:
    """Folders: two files (maybe of different layouts), one damaged; read whole or named in the error."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        (folder / "sub").mkdir(parents=True)
        name, data = seed()
        (folder / name).write_bytes(data)
        name2, data2 = other()
        (folder / "sub" / f"x-{name2}").write_bytes(_mutate(data2, kind, pos, b"\xff\x00"))
        _read_all_ways(folder)


@settings(max_examples=200, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    ),
    key=st.sampled_from(
        ["conversation", "content", "turns", "winner", "prompt", "conversation_a", "preference"]
    ),
)
def test_json_records_with_odd_values(value: object, key: str) -> None:
    """Any JSON value in any field an LMSYS, Arena, FastChat or pairwise record reads."""
    recs: list[dict[str, object]] = [
        {"conversation_id": "c", "model": "m", "conversation": [{"role": "user", "content": "q"}]},
        {
            "question_id": "q",
            "model_a": "a",
            "model_b": "b",
            "winner": "tie",
            "conversation_a": [],
            "conversation_b": [],
        },
        {"instruction": "q", "output_1": "a", "output_2": "b", "preference": 1},
        {"prompt": "q", "response_a": "a", "response_b": "b", "winner": "model_a"},
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for i, rec in enumerate(recs):
            if key in rec or key == "content":
                rec = (
                    {**rec, key: value}
                    if key != "content"
                    else {**rec, "conversation": [{"role": "user", "content": value}]}
                )
            path = Path(tmp) / f"r{i}.jsonl"
            path.write_text(json.dumps(rec) + "\n" + json.dumps(rec) + "\n")
            _read_all_ways(path)
