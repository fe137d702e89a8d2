"""The preference-set and Arena-release layouts (issue 21 §2), splits (§4), errors that name the layouts
and roles (§5) and the reader parts of issue 22 §5, each on a small file built from the public schema
(``arenapref.testing.layouts``)."""

from __future__ import annotations

import csv
import itertools
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.errors import InputFormatError
from arenapref.readers import FORMATS, open_source, read_battles
from arenapref.readers.base import coin, coins_of
from arenapref.readers.pairwise import parse_mapping
from arenapref.testing.layouts import LAYOUTS, records, write
from cli_helpers import run_cli


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_each_layout_is_detected_and_read_without_loss(tmp_path: Path, name: str) -> None:
    path = write(name, tmp_path, 12)
    src = open_source(path)
    assert src.format == LAYOUTS[name][2]
    table = src.read_table()
    assert table.num_rows > 0 and len(src.rejects) == 0
    for row in table.to_pylist():
        assert row["prompt"] and all(isinstance(t, str) and t for t in row["prompt"])
        assert len(row["response_a"]) == len(row["prompt"]) == len(row["response_b"])
        assert abs(row["p_a"] + row["p_b"] + row["p_tie"] - 1.0) < 1e-9


def _preferred_side(row: dict[str, object]) -> str:
    prov = row["provenance"]
    assert isinstance(prov, list)
    return "b" if "preferred:b" in prov else "a"


@pytest.mark.parametrize(
    "name", ["ultrafeedback-binarized", "capybara-preferences", "skywork-preference", "hh-rlhf"]
)
def test_chosen_goes_to_a_or_b_by_a_seeded_coin(tmp_path: Path, name: str) -> None:
    """The preferred answer is not always A: its side follows the coin on the record id, is recorded in
    provenance, and the label points at it; reading twice gives the same placement."""
    path = write(name, tmp_path, 60)
    first = open_source(path).read_table().to_pylist()
    assert first == open_source(path).read_table().to_pylist()
    sides = Counter(_preferred_side(r) for r in first)
    assert sides["a"] >= 15 and sides["b"] >= 15, sides
    for row in first:
        side = _preferred_side(row)
        assert side == ("b" if coin(str(row["id"])) else "a")
        answer = row["response_a"] if side == "a" else row["response_b"]
        assert isinstance(answer, list) and "Answer c" in str(answer[-1])
        if row["p_tie"] != 1.0:
            assert (row["p_a"], row["p_b"]) == ((1.0, 0.0) if side == "a" else (0.0, 1.0))


def test_chosen_rejected_messages_keep_turns_models_and_ties(tmp_path: Path) -> None:
    capy = open_source(write("capybara-preferences", tmp_path, 4)).read_table().to_pylist()
    raw = records("capybara-preferences", 4)
    for row, rec in zip(capy, raw, strict=True):
        chosen = rec["chosen"]
        assert isinstance(chosen, list)
        assert row["prompt"] == [m["content"] for m in chosen if m["role"] == "user"]
        assert {row["model_a"], row["model_b"]} == {rec["chosen_model"], rec["rejected_model"]}
    uf = open_source(write("ultrafeedback-binarized", tmp_path / "uf", 20)).read_table()
    ties = [r for r in uf.to_pylist() if r["p_tie"] == 1.0]
    assert len(ties) == 2  # score_chosen == score_rejected every tenth record


def test_transcript_splits_turns_and_rejects_a_non_transcript(tmp_path: Path) -> None:
    path = tmp_path / "hh.jsonl"
    good = records("hh-rlhf", 1)[0]
    bad = {"chosen": "no markers here", "rejected": "\n\nHuman: q\n\nAssistant: a"}
    diverging = {"chosen": "\n\nHuman: q1\n\nAssistant: a", "rejected": "\n\nHuman: other\n\nAssistant: b"}
    path.write_text("".join(json.dumps(r) + "\n" for r in (good, bad, diverging)))
    src = open_source(path)
    rows = src.read_table().to_pylist()
    assert len(rows) == 1 and len(rows[0]["prompt"]) == 2 and rows[0]["prompt"][1].startswith("And then?")
    assert src.rejects.counts == {
        "chosen: not a Human:/Assistant: transcript": 1,
        "chosen and rejected do not hold the same user turns": 1,
    }


def test_rated_completions_pair_by_rating_difference_with_ties_and_a_cap(tmp_path: Path) -> None:
    src = open_source(write("ultrafeedback", tmp_path, 8))
    rows = src.read_table().to_pylist()
    first = [r for r in rows if r["provenance"][0] == "ultrafeedback:1"]
    assert len(first) == 3  # record 0 has one unrated completion: pairs of the other three
    second = [r for r in rows if r["provenance"][0] == "ultrafeedback:2"]
    assert len(second) == 6  # four rated completions: all six pairs (the cap)
    scores = [7.5, 6.0, 6.0, 3.5]
    for r in second:
        i, j = (int(x) for x in r["provenance"][1].split(":")[1].split(","))
        diff = scores[i] - scores[j]
        expected = (0.0, 0.0, 1.0) if diff == 0 else ((1.0, 0.0, 0.0) if diff > 0 else (0.0, 1.0, 0.0))
        assert (r["p_a"], r["p_b"], r["p_tie"]) == expected
    assert sum(1 for r in second if r["p_tie"] == 1.0) == 1
    assert src.rejects.recovered["completion without a response or rating not paired"] == 2


@pytest.mark.parametrize("name", ["ultrafeedback", "helpsteer"])
def test_rated_pairs_go_to_a_or_b_by_their_own_bit_of_the_record_coins(tmp_path: Path, name: str) -> None:
    """The k-th pair of a record (in the pairing order over its usable completions) is swapped exactly
    when bit k of ``coins_of(record id)`` is set; both placements occur, and a second read is the same."""
    path = write(name, tmp_path, 60)
    rows = open_source(path).read_table().to_pylist()
    assert rows == open_source(path).read_table().to_pylist()
    by_record: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_record.setdefault(str(row["provenance"][0]), []).append(row)
    swapped = 0
    for rid, pairs in by_record.items():
        usable = sorted({int(p) for r in pairs for p in str(r["id"]).rsplit(":", 1)[1].split("-")})
        order = list(itertools.combinations(usable, 2))
        for row in pairs:
            i, j = (int(p) for p in str(row["id"]).rsplit(":", 1)[1].split("-"))
            a, b = (int(p) for p in str(row["provenance"][1]).split(":")[1].split(","))
            assert {a, b} == {i, j} and i < j
            k = order.index((i, j))
            assert (a, b) == ((j, i) if coins_of(rid) >> k & 1 else (i, j)), (row["id"], k)
            swapped += a > b
    assert 0.3 < swapped / len(rows) < 0.7, (swapped, len(rows))


def test_helpsteer_groups_rows_by_prompt(tmp_path: Path) -> None:
    path = tmp_path / "hs.jsonl"
    recs = records("helpsteer", 3)
    lone = {**recs[0], "prompt": "A prompt with a single response that cannot be paired with anything."}
    path.write_text("".join(json.dumps(r) + "\n" for r in [*recs, lone]))
    src = open_source(path)
    rows = src.read_table().to_pylist()
    assert len(rows) == 1 + 3 + 1  # 2, 3, 2 responses: 1 + 3 + 1 pairs
    assert src.rejects.counts == {"only one rated response to this prompt: nothing to pair it with": 1}
    ties = [r for r in rows if r["p_tie"] == 1.0]
    assert len(ties) == 1  # helpfulness 3 vs 3 in the three-response prompt


def test_pandalm_votes_become_soft_labels(tmp_path: Path) -> None:
    rows = open_source(write("pandalm", tmp_path, 4)).read_table().to_pylist()
    labels = [(r["p_a"], r["p_b"], r["p_tie"]) for r in rows]
    assert labels == [(1.0, 0.0, 0.0), (0.0, 2 / 3, 1 / 3), (0.0, 0.0, 1.0), (2 / 3, 1 / 3, 0.0)]
    assert rows[0]["prompt"][0].endswith(records("pandalm", 1)[0]["input"])  # type: ignore[arg-type]
    assert (rows[0]["model_a"], rows[0]["model_b"]) == ("bloom-7b", "llama-7b")


def test_real_pandalm_testset_reads_without_a_mapping(shared_data: Path) -> None:
    src = open_source(shared_data / "pandalm_human_999" / "testset-v1.json")
    t = src.read_table()
    assert src.format == "pandalm" and t.num_rows == 999 and len(src.rejects) == 0
    unanimous = sum(1 for r in t.to_pylist() if max(r["p_a"], r["p_b"], r["p_tie"]) == 1.0)
    assert unanimous == 879  # PROVENANCE.txt: 879 unanimous


def test_arena_140k_parts_and_both_bad(tmp_path: Path) -> None:
    rows = open_source(write("arena-140k", tmp_path, 4)).read_table().to_pylist()
    assert [r["p_tie"] for r in rows] == [0.0, 0.0, 1.0, 1.0]
    assert rows[0]["id"].startswith("c4b9710c-") and len(rows[0]["prompt"]) == 2
    assert rows[0]["response_a"][0].startswith("Answer a0.")


def test_convert_writes_every_layout_in_the_competition_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in LAYOUTS:
        src = write(name, tmp_path / name, 6)
        out = tmp_path / f"{name}.csv"
        code, _, err = run_cli(["convert", str(src), "-o", str(out), "--quiet"], capsys)
        assert code == 0, f"{name}: {err}"
        with out.open(encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert header[:6] == ["id", "model_a", "model_b", "prompt", "response_a", "response_b"]
        back, orig = read_battles(out).to_pylist(), open_source(src).read_table().to_pylist()
        assert len(back) == len(orig) > 0
        for b, o in zip(back, orig, strict=True):
            assert [b[k] for k in ("id", "prompt", "response_a", "response_b", "model_a", "model_b")] == [
                o[k] for k in ("id", "prompt", "response_a", "response_b", "model_a", "model_b")
            ]
            assert [b[k] for k in ("p_a", "p_b", "p_tie")] == pytest.approx(
                [o[k] for k in ("p_a", "p_b", "p_tie")]
            )


# --- §4 splits ------------------------------------------------------------------------------------------


def _hf_repo(root: Path) -> Path:
    """A Hugging Face dataset repo: labeled train shards and an unlabeled test shard."""
    data = root / "data"
    data.mkdir(parents=True)
    train = pa.Table.from_pylist(records("arena-55k", 6))
    pq.write_table(train.slice(0, 3), data / "train-00000-of-00002.parquet")
    pq.write_table(train.slice(3, 3), data / "train-00001-of-00002.parquet")
    test = train.drop_columns(["winner_model_a", "winner_model_b", "winner_tie"]).slice(0, 2)
    pq.write_table(test, data / "test-00000-of-00001.parquet")
    (root / "README.md").write_text("card")
    return root


def test_split_folder_is_never_merged_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _hf_repo(tmp_path / "repo")
    with pytest.raises(InputFormatError, match=r"splits test \(unlabeled\), train \(labeled\)") as info:
        open_source(repo)
    # A library error names the parameter; the command line shows its flag (below).
    assert "choose one with `split`=NAME" in str(info.value) and "--split" not in str(info.value)
    assert open_source(repo, split="train").read_table().num_rows == 6
    assert open_source(repo, split="test").read_table().num_rows == 2
    with pytest.raises(InputFormatError, match="has no split 'validation'; its splits are test, train"):
        open_source(repo, split="validation")
    code, _, err = run_cli(["convert", str(repo), "-o", str(tmp_path / "t.parquet"), "--quiet"], capsys)
    assert code != 0 and "choose one with --split NAME" in err
    code, _, err = run_cli(
        ["convert", str(repo), "-o", str(tmp_path / "t.parquet"), "--split", "train", "--quiet"], capsys
    )
    assert code == 0, err
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 6


def test_splits_of_one_kind_read_together_with_a_note(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    table = pa.Table.from_pylist(records("arena-55k", 4))
    pq.write_table(table.slice(0, 2), data / "train-00000-of-00001.parquet")
    pq.write_table(table.slice(2, 2), data / "validation-00000-of-00001.parquet")
    src = open_source(tmp_path)
    assert src.read_table().num_rows == 4
    assert "splits train, validation read together (split picks one)" in src.rejects.summary()


class _FakeDataset:
    """What a datasets.Dataset looks like from outside: .data.table is a pyarrow Table."""

    class _Data:
        def __init__(self, table: pa.Table) -> None:
            self.table = table

    def __init__(self, table: pa.Table) -> None:
        self.data = self._Data(table)
        self._indices = None


def test_dataset_dict_needs_a_split_not_a_key_error() -> None:
    train = pa.Table.from_pylist(records("arena-55k", 3))
    test = train.drop_columns(["winner_model_a", "winner_model_b", "winner_tie"])
    dd = {"train": _FakeDataset(train), "test": _FakeDataset(test)}
    with pytest.raises(
        InputFormatError, match=r"<DatasetDict>: holds splits train \(labeled\), test \(unlabeled\)"
    ):
        read_battles(dd)
    assert read_battles(dd, split="train").column("p_a").null_count == 0
    assert read_battles(dd, split="test").column("p_a").null_count == 3
    assert read_battles({"train": _FakeDataset(train)}).num_rows == 3
    with pytest.raises(InputFormatError, match="no split 'dev'"):
        read_battles(dd, split="dev")


# --- §5 errors that name the layouts and the roles; issue 22 §5 -------------------------------------------


def test_unknown_layout_lists_layouts_and_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"chosen": [{"role": "user", "content": "q"}], "extra": 1}) + "\n")
    with pytest.raises(InputFormatError) as exc:
        open_source(path)
    msg = str(exc.value)
    assert "closest: chosen-rejected (lacks rejected)" in msg
    assert all(name in msg for name in FORMATS)
    with pytest.raises(InputFormatError, match="unknown format 'chosen_rejected'; closest: chosen-rejected"):
        open_source(path, format="chosen_rejected")


def test_map_errors_name_the_roles(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match=r"did you mean prompt\?.*a \(answer A\)"):
        parse_mapping("promt=q")
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"q": "x", "left": "1"}) + "\n")
    with pytest.raises(InputFormatError, match=r"role\(s\) b \(answer B\)"):
        open_source(path, mapping={"prompt": "q", "a": "left"}).read_table()
    with pytest.raises(InputFormatError, match=r"mapped column\(s\) lefft \(closest: left\)"):
        open_source(path, mapping={"prompt": "q", "a": "lefft", "b": "left"}).read_table()


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl", "empty.json"])
def test_an_empty_file_says_it_is_empty(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(InputFormatError, match=rf"{name}: is empty"):
        open_source(path).read_table()


def test_jsonl_with_a_first_line_over_64_kb_is_sniffed(tmp_path: Path) -> None:
    rec = records("capybara-preferences", 1)[0]
    rec["chosen"][-1]["content"] += " long" * 40_000  # type: ignore[index]
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    assert path.stat().st_size > 150_000
    src = open_source(path)
    assert src.format == "chosen-rejected" and src.read_table().num_rows == 1


def test_protect_and_exclude_take_a_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A protect source read with an explicit layout (here a pairwise file needing --protect-format)."""
    source = write("ppe", tmp_path / "src", 5)
    prompt = pq.read_table(source).column("prompt")[2].as_py()
    protect = tmp_path / "protect.json"  # JSON with winner/model_a/model_b: detection says arena
    protect.write_text(
        json.dumps(
            [
                {
                    "id": "t1",
                    "prompt": prompt,
                    "response_a": "x",
                    "response_b": "y",
                    "winner": "model_a",
                    "model_a": "m",
                    "model_b": "n",
                }
            ]
        )
    )
    code, _, err = run_cli(["check-leakage", str(source), "--protect", str(protect), "--quiet"], capsys)
    assert code != 0 and code != 3, err  # detected as arena: every row rejected, the guard refuses
    code, _, err = run_cli(
        ["check-leakage", str(source), "--protect", str(protect), "--protect-format", "pairwise", "--quiet"],
        capsys,
    )
    assert code == 3, err


def test_hub_split_names_and_save_to_disk_dataset_dict_folders(tmp_path: Path) -> None:
    """ultrafeedback_binarized names its shards train_prefs-*, test_prefs-*; save_to_disk writes one folder
    per split, each with state.json."""
    hub = tmp_path / "hub" / "data"
    hub.mkdir(parents=True)
    table = pa.Table.from_pylist(records("ultrafeedback-binarized", 5))
    pq.write_table(table.slice(0, 3), hub / "train_prefs-00000-of-00001.parquet")
    pq.write_table(table.slice(3, 2), hub / "test_prefs-00000-of-00001-abc123.parquet")
    src = open_source(tmp_path / "hub")
    assert (
        src.read_table().num_rows == 5
        and "splits test_prefs, train_prefs read together" in src.rejects.summary()
    )
    assert open_source(tmp_path / "hub", split="train_prefs").read_table().num_rows == 3
    saved = tmp_path / "saved"
    for name, part in (("train", table.slice(0, 3)), ("test", table.slice(3, 2))):
        (saved / name).mkdir(parents=True)
        pq.write_table(part, saved / name / "data.parquet")
        (saved / name / "state.json").write_text("{}")
    (saved / "dataset_dict.json").write_text('{"splits": ["train", "test"]}')
    assert open_source(saved, split="test").read_table().num_rows == 2


def test_pku_saferlhf_label_is_the_better_response(tmp_path: Path) -> None:
    path = write("pku-saferlhf", tmp_path, 4)
    rows = open_source(path).read_table().to_pylist()
    assert [(r["p_a"], r["p_b"]) for r in rows] == [(1.0, 0.0), (0.0, 1.0)] * 2
    assert rows[0]["response_a"][0].startswith("Answer 00.") and rows[0]["model_b"] == "Alpaca2-7B"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**records("pku-saferlhf", 1)[0], "better_response_id": 2}) + "\n")
    src = open_source(bad)
    assert src.read_table().num_rows == 0 and src.rejects.counts == {"better_response_id 2 is not 0 or 1": 1}


@pytest.mark.parametrize("name", ["arena-140k", "skywork-preference", "ultrafeedback-binarized"])
def test_column_wise_message_decoding_equals_the_per_record_reader(tmp_path: Path, name: str) -> None:
    """Parquet message lists are decoded column-wise; the same records as JSON lines go through
    ``content_text`` one by one: the tables must be identical (an image part carries no text)."""
    recs = records(name, 8)
    if name == "arena-140k":
        conv = recs[0]["conversation_a"]
        assert isinstance(conv, list)
        conv[0]["content"].append({"type": "image", "text": None, "image": "x.png", "mimeType": "image/png"})
    (tmp_path / "p").mkdir()
    (tmp_path / "j").mkdir()
    pq.write_table(pa.Table.from_pylist(recs), tmp_path / "p" / "data.parquet")
    (tmp_path / "j" / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    columnwise = open_source(tmp_path / "p" / "data.parquet").read_table()
    per_record = open_source(tmp_path / "j" / "data.jsonl").read_table()
    assert columnwise.num_rows == 8 and columnwise.equals(per_record)


def test_mine_exclude_takes_a_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompt = "A question long enough for every guard rule, about tides and the moon's pull on the sea."
    convs = tmp_path / "convs.jsonl"
    with convs.open("w", encoding="utf-8") as fh:
        for i, p in enumerate(
            [prompt, "Another long question about volcanoes, magma chambers and eruptions."]
        ):
            for model in ("m1", "m2"):
                conv = [{"role": "user", "content": p}, {"role": "assistant", "content": f"{model} {i}"}]
                fh.write(
                    json.dumps({"conversation_id": f"{model}-{i}", "model": model, "conversation": conv})
                    + "\n"
                )
    exclude = tmp_path / "test.json"  # pairwise, but winner/model_a/model_b make detection say arena
    row = {"id": "t1", "prompt": prompt, "response_a": "x", "response_b": "y", "winner": "model_a"}
    exclude.write_text(json.dumps([{**row, "model_a": "m", "model_b": "n"}]))
    out = tmp_path / "pairs.parquet"
    args = ["mine", str(convs), "-o", str(out), "--exclude", str(exclude), "--quiet"]
    code, _, err = run_cli(args, capsys)
    assert code == 1, err  # read as arena, every row rejected: the guard refuses to vouch
    code, _, err = run_cli([*args, "--exclude-format", "pairwise"], capsys)
    assert code == 0, err
    assert [t[0] for t in pq.read_table(out).column("prompt").to_pylist()] == [
        "Another long question about volcanoes, magma chambers and eruptions."
    ]
