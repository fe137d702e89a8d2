"""Inputs where users keep them: detection that requires its columns, folders, HF layouts, DataFrames,
encodings and damaged files (issues 10 §1/§4 and 11)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from arenapref.errors import InputFormatError
from arenapref.readers import (
    count_prompts,
    detect_format,
    open_source,
    read_battles,
    read_conversations,
)
from arenapref.readers.competition import read_rows
from arenapref.rejects import RejectLog
from arenapref.synth import generate

HEADER = ["id", "model_a", "model_b", "prompt", "response_a", "response_b"]
LABELS = ["winner_model_a", "winner_model_b", "winner_tie"]


def _csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _row(i: int, prompt: str = "Tell me about the ocean floor", label: str = "1,0,0") -> list[str]:
    return [
        str(i),
        "m1",
        "m2",
        json.dumps([prompt], ensure_ascii=False),
        '["answer a"]',
        '["answer b"]',
        *label.split(","),
    ]


# --- §1 detection requires its columns --------------------------------------------------------------


def test_competition_without_response_b_is_named_not_a_submission(tmp_path: Path) -> None:
    header = ["id", "model_a", "model_b", "prompt", "response_a", *LABELS]
    path = _csv(tmp_path / "train.csv", header, [["1", "a", "b", '["q"]', '["x"]', "1", "0", "0"]])
    with pytest.raises(InputFormatError, match="no response_b column"):
        open_source(path)


def test_capitalised_prompt_column_is_named_with_its_case(tmp_path: Path) -> None:
    header = ["id", "Prompt", "response_a", "response_b", *LABELS]
    path = _csv(tmp_path / "train.csv", header, [["1", '["q"]', '["x"]', '["y"]', "1", "0", "0"]])
    with pytest.raises(InputFormatError, match=r"prompt \(found 'Prompt'; names are case-sensitive\)"):
        open_source(path)


def test_real_submission_still_detected(tmp_path: Path) -> None:
    path = _csv(tmp_path / "sub.csv", ["id", *LABELS], [["1", "0.3", "0.3", "0.4"]])
    assert detect_format(path) == "submission"


def test_two_of_three_label_columns_is_named(tmp_path: Path) -> None:
    header = [*HEADER, "winner_model_a", "winner_model_b"]
    path = _csv(tmp_path / "t.csv", header, [_row(1)[:-1]])
    with pytest.raises(InputFormatError, match="no label column winner_tie"):
        open_source(path).read_table()


def test_parquet_battles_need_every_text_column(tmp_path: Path) -> None:
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"id": ["1"], "prompt": [["q"]], "response_a": [["a"]]}), path)
    with pytest.raises(InputFormatError, match="response_b"):
        open_source(path).read_table()


def test_mixed_folder_names_the_files_it_would_not_read(tmp_path: Path) -> None:
    _csv(tmp_path / "train.csv", [*HEADER, *LABELS], [_row(1)])
    (tmp_path / "convs.jsonl").write_text(
        json.dumps(
            {"conversation_id": "c1", "model": "m", "conversation": [{"role": "user", "content": "hi"}]}
        )
        + "\n"
    )
    with pytest.raises(InputFormatError, match=r"convs\.jsonl \(lmsys\), train\.csv \(competition\)"):
        open_source(tmp_path)
    (tmp_path / "notes.xlsx").write_bytes(b"PK")
    with pytest.raises(InputFormatError, match=r"cannot read notes\.xlsx"):
        open_source(tmp_path)


def test_folder_of_one_layout_reads_every_file(tmp_path: Path) -> None:
    _csv(tmp_path / "a.csv", [*HEADER, *LABELS], [_row(1), _row(2)])
    (tmp_path / "sub").mkdir()
    _csv(tmp_path / "sub" / "b.csv", [*HEADER, *LABELS], [_row(3)])
    src = open_source(tmp_path)
    assert src.format == "competition" and src.read_table().column("id").to_pylist() == ["1", "2", "3"]


def test_prompt_count_tells_zero_prompts(tmp_path: Path) -> None:
    empty = _csv(tmp_path / "empty.csv", [*HEADER, *LABELS], [])
    assert open_source(empty).prompt_count() == 0
    blank = _csv(tmp_path / "blank.csv", [*HEADER, *LABELS], [_row(1, prompt="  "), _row(2)])
    assert open_source(blank).prompt_count() == 1
    assert count_prompts(read_battles(blank)) == 1


# --- issue 11: HF layouts -----------------------------------------------------------------------------


def _battles_frame(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "model_a": ["m1"] * n,
            "model_b": ["m2"] * n,
            "prompt": [json.dumps([f"question {i}"]) for i in range(n)],
            "response_a": ['["a"]'] * n,
            "response_b": ['["b"]'] * n,
            "winner_model_a": [1] * n,
            "winner_model_b": [0] * n,
            "winner_tie": [0] * n,
        }
    )


def _lmsys_table(n: int = 2) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "conversation_id": f"c{i}",
                "model": "vicuna-13b",
                "conversation": [
                    {"role": "user", "content": f"hi {i}"},
                    {"role": "assistant", "content": "yo"},
                ],
                "language": "English",
            }
            for i in range(n)
        ]
    )


def test_hf_repo_folder_with_nested_parquet_shards(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("---\nlicense: cc\n---\n")
    (tmp_path / ".gitattributes").write_text("*.parquet filter=lfs\n")
    (tmp_path / "data").mkdir()
    for k in range(2):
        pq.write_table(_lmsys_table(3), tmp_path / "data" / f"train-0000{k}-of-00002.parquet")
    src = open_source(tmp_path)
    assert src.format == "lmsys" and src.read_table().num_rows == 6


def test_save_to_disk_folder_and_arrow_cache_files(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    table = pa.Table.from_pandas(_battles_frame(4), preserve_index=False)
    with ipc.new_stream(str(folder / "data-00000-of-00001.arrow"), table.schema) as w:
        w.write_table(table)
    (folder / "dataset_info.json").write_text(json.dumps({"features": {}}))
    (folder / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]})
    )
    src = open_source(folder)
    assert src.format == "competition" and src.read_table().num_rows == 4
    file_format = tmp_path / "cache-abc.arrow"
    with ipc.new_file(str(file_format), table.schema) as w:
        w.write_table(table)
    assert read_battles(file_format).num_rows == 4


# --- issue 11: Python objects in ----------------------------------------------------------------------


def test_pandas_polars_and_arrow_in_competition_layout() -> None:
    frame = _battles_frame()
    for obj in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame, preserve_index=False)):
        t = read_battles(obj)
        assert t.column("prompt").to_pylist() == [["question 0"], ["question 1"], ["question 2"]]
        assert t.column("p_a").to_pylist() == [1.0, 1.0, 1.0]


def test_list_cells_and_lmsys_frames() -> None:
    frame = _battles_frame()
    frame["prompt"] = [["q", "follow-up"]] * 3
    assert read_battles(frame).column("prompt").to_pylist()[0] == ["q", "follow-up"]
    convs = read_conversations(_lmsys_table().to_pandas())
    assert convs.num_rows == 2 and convs.column("n_user_turns").to_pylist() == [1, 1]
    with pytest.raises(InputFormatError, match="holds conversations"):
        read_battles(_lmsys_table())


class _FakeDataset:
    """What a datasets.Dataset looks like from outside: .data.table is a pyarrow Table."""

    class _Data:
        def __init__(self, table: pa.Table) -> None:
            self.table = table

    def __init__(self, table: pa.Table) -> None:
        self.data = self._Data(table)
        self._indices = None


def test_hf_dataset_object_duck_typed() -> None:
    src = open_source(_FakeDataset(_lmsys_table(5)))
    assert src.format == "lmsys" and str(src.path) == "<Dataset>" and src.read_table().num_rows == 5
    with pytest.raises(InputFormatError, match="cannot read a int"):
        open_source(3)


# --- §4 bad input: one sentence or a counted repair ------------------------------------------------


def test_lone_surrogates_in_every_json_reader_are_repaired_and_counted(tmp_path: Path) -> None:
    lm = tmp_path / "lm.jsonl"
    lm.write_text(
        '{"conversation_id": "c1", "model": "m", "conversation": [{"role": "user", "content": "\\ud83d"}]}\n'
    )
    arena = tmp_path / "arena.jsonl"
    arena.write_text(
        '{"question_id": "q", "model_a": "a", "model_b": "b", "winner": "tie", '
        '"conversation_a": [{"role": "user", "content": "x\\udc00"}], "conversation_b": []}\n'
    )
    pair = tmp_path / "pair.json"
    pair.write_text('[{"instruction": "\\ud83d go", "output_1": "a", "output_2": "b", "preference": 1}]')
    for path, fmt in ((lm, "lmsys"), (arena, "arena"), (pair, "pairwise")):
        src = open_source(path)
        assert src.format == fmt
        table = src.read_table()
        assert table.num_rows == 1 and src.rejects.recovered["lone surrogate"] == 1, fmt
        assert "\ufffd" in json.dumps(table.to_pylist(), ensure_ascii=False)


def test_cp1252_csv_fails_in_one_sentence_or_decodes_counted(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "excel.csv", [*HEADER, *LABELS], [_row(1, prompt="café au lait"), _row(2)], "cp1252"
    )
    with pytest.raises(InputFormatError, match=r"not UTF-8 \(byte 0xe9 .*--encoding cp1252"):
        open_source(path).read_table()
    src = open_source(path, encoding="cp1252")
    assert src.read_table().column("prompt").to_pylist()[0] == ["café au lait"]
    assert src.rejects.recovered == {"decoded from cp1252": 1}
    with pytest.raises(InputFormatError, match="not a text encoding"):
        open_source(path, encoding="klingon").read_table()


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = _csv(tmp_path / "bom.csv", [*HEADER, *LABELS], [_row(1)], "utf-8-sig")
    assert detect_format(path) == "competition" and open_source(path).read_table().num_rows == 1
    jl = tmp_path / "bom.jsonl"
    jl.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps({"conversation_id": "c", "conversation": [{"role": "user", "content": "q"}]}).encode()
        + b"\n"
    )
    assert open_source(jl).read_table().num_rows == 1


def test_openai_multi_part_content_becomes_text(tmp_path: Path) -> None:
    path = tmp_path / "parts.jsonl"
    content = [
        {"type": "text", "text": "first"},
        {"type": "image_url", "image_url": {"url": "x"}},
        {"type": "text", "text": "second"},
    ]
    path.write_text(
        json.dumps(
            {"conversation_id": "c", "model": "m", "conversation": [{"role": "user", "content": content}]}
        )
        + "\n"
    )
    t = open_source(path).read_table()
    assert t.column("turns").to_pylist()[0][0]["content"] == "first\nsecond"
    parquet = tmp_path / "parts.parquet"
    part = pa.struct([("type", pa.string()), ("text", pa.string())])
    msg = pa.struct([("role", pa.string()), ("content", pa.list_(part))])
    pq.write_table(
        pa.table(
            {
                "conversation_id": ["c"],
                "conversation": pa.array(
                    [[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]], pa.list_(msg)
                ),
            }
        ),
        parquet,
    )
    assert open_source(parquet).read_table().column("turns").to_pylist()[0][0]["content"] == "hi"


def test_corrupt_parquet_page_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "shard.parquet"
    pq.write_table(_lmsys_table(2000), path, compression="none")
    data = bytearray(path.read_bytes())
    for i in range(200, 1200):
        data[i] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match=r"shard\.parquet"):
        open_source(path).read_table()


def test_map_with_unknown_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"instruction": "q", "output_1": "a", "output_2": "b"}) + "\n")
    with pytest.raises(InputFormatError, match=r"mapped column.*nope"):
        open_source(path, mapping={"label": "nope"}).read_table()


# --- issue 11: the polars fast path counts what the per-row reader counts --------------------------


def test_fast_path_matches_per_row_reader_on_malformed_synth(tmp_path: Path) -> None:
    m = generate(
        tmp_path / "ws", conversations=200, battles=1500, seed=3, malformed_share=0.08, test_share=0.0
    )
    fast_log, slow_log = RejectLog(), RejectLog()
    fast = open_source(m.train_csv, rejects=fast_log).read_table()
    slow = pa.Table.from_batches(list(read_rows(m.train_csv, slow_log, 8192, False)))
    assert fast.equals(slow)
    assert fast_log.counts == slow_log.counts and fast_log.recovered == slow_log.recovered
    assert [(r.row, r.reason) for r in fast_log.rejects] == [(r.row, r.reason) for r in slow_log.rejects]
    assert sum(fast_log.counts.values()) > 0 and sum(fast_log.recovered.values()) > 0
