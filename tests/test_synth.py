"""The synthetic generator: raw layouts, determinism, truth that matches the files, realistic figures."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import quicktok
from typer.testing import CliRunner

from arenapref.cli import main
from arenapref.cli.app import app
from arenapref.errors import ArenaprefError
from arenapref.synth import SynthManifest, generate
from arenapref.synth.competition import davidson
from arenapref.synth.lmsys import MODERATION_CATEGORIES
from arenapref.synth.text import ERROR_TEXTS, jaccard, norm_key, small_edit

csv.field_size_limit(2**31 - 1)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> SynthManifest:
    out = tmp_path_factory.mktemp("synth")
    return generate(out, conversations=4000, battles=1500, seed=11, malformed_share=0.05, shard_rows=1500)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> SynthManifest:
    out = tmp_path_factory.mktemp("synth20k")
    return generate(out, conversations=20_000, battles=3000, seed=5)


def _lmsys(m: SynthManifest) -> pa.Table:
    return pq.read_table(m.lmsys_dir)


def _user_turns(t: pa.Table) -> list[list[str]]:
    return [[x["content"] for x in c if x["role"] == "user"] for c in t.column("conversation").to_pylist()]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_lmsys_shards_have_the_published_schema(ws: SynthManifest) -> None:
    assert len(ws.lmsys_shards) == 3  # 4000 rows at 1500 per shard
    schema = pq.read_schema(ws.lmsys_shards[0])
    assert schema.names == [
        "conversation_id",
        "model",
        "conversation",
        "turn",
        "language",
        "openai_moderation",
        "redacted",
    ]
    assert schema.field("conversation").type == pa.list_(
        pa.struct([("content", pa.string()), ("role", pa.string())])
    )
    assert schema.field("turn").type == pa.int64()
    mod = schema.field("openai_moderation").type.value_type
    assert [f.name for f in mod] == ["categories", "category_scores", "flagged"]
    assert [f.name for f in mod.field("categories").type] == list(MODERATION_CATEGORIES)
    assert mod.field("category_scores").type.field("sexual").type == pa.float64()
    t = _lmsys(ws)
    assert t.num_rows == 4000
    ids = t.column("conversation_id").to_pylist()
    assert len(set(ids)) == 4000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    conv = t.column("conversation").to_pylist()
    turns = t.column("turn").to_pylist()
    moderation = t.column("openai_moderation").to_pylist()
    for c, n, mo in zip(conv, turns, moderation, strict=True):
        assert len(c) == 2 * n == len(mo)
        assert [x["role"] for x in c] == ["user", "assistant"] * n


def test_competition_csvs_have_the_kaggle_layout(ws: SynthManifest) -> None:
    train, test = _read_csv(ws.train_csv), _read_csv(ws.test_csv)
    sub = _read_csv(ws.sample_submission_csv)
    assert list(train[0]) == [
        "id",
        "model_a",
        "model_b",
        "prompt",
        "response_a",
        "response_b",
        "winner_model_a",
        "winner_model_b",
        "winner_tie",
    ]
    assert list(test[0]) == ["id", "prompt", "response_a", "response_b"]
    assert list(sub[0]) == ["id", "winner_model_a", "winner_model_b", "winner_tie"]
    assert len(train) == ws.n_train == 1050 and len(test) == ws.n_test == 450
    assert [r["id"] for r in sub] == [r["id"] for r in test]
    truth = pq.read_table(ws.truth_battles).to_pylist()
    bad = {r["id"] for r in truth if r["malformed_kind"]}
    good = [r for r in train if r["id"] not in bad]
    single = sum(len(json.loads(r["prompt"])) == 1 for r in good) / len(good)
    assert 0.8 < single < 0.94
    cells = [json.loads(r["response_a"]) for r in good] + [json.loads(r["response_b"]) for r in good]
    assert any(c == [None] or (c and c[0] is None) for c in cells)  # `null` turns exist
    assert all(int(r["winner_model_a"]) + int(r["winner_model_b"]) + int(r["winner_tie"]) == 1 for r in good)
    raw = ws.train_csv.read_text(encoding="utf-8")
    assert "\\ud83d\\ude0a" in raw  # ensure_ascii JSON, like the Kaggle file


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }

    a = generate(tmp_path / "a", conversations=1500, battles=300, seed=3, malformed_share=0.1, shard_rows=700)
    generate(tmp_path / "b", conversations=1500, battles=300, seed=3, malformed_share=0.1, shard_rows=700)
    generate(tmp_path / "c", conversations=1500, battles=300, seed=4, malformed_share=0.1, shard_rows=700)
    fa, fb, fc = files(tmp_path / "a"), files(tmp_path / "b"), files(tmp_path / "c")
    assert len(fa) == 3 + 3 + 5 + 1  # shards, CSVs, truth (3 parquet, topics.json, README), manifest
    assert fa == fb
    assert fa["competition/train.csv"] != fc["competition/train.csv"]
    assert SynthManifest.load(tmp_path / "a").to_json() == a.to_json()


def test_truth_matches_the_lmsys_files(ws: SynthManifest) -> None:
    t = _lmsys(ws)
    truth = pq.read_table(ws.truth_conversations)
    assert truth.column("conversation_id").to_pylist() == t.column("conversation_id").to_pylist()
    users = _user_turns(t)
    answers = [
        [x["content"] for x in c if x["role"] == "assistant"] for c in t.column("conversation").to_pylist()
    ]
    rows = truth.to_pylist()
    by_id = {r["conversation_id"]: i for i, r in enumerate(rows)}
    groups: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r["prompt_group"]].append(i)
    # A prompt group carries one list of user turns; different groups never share a (masked) first turn.
    first_keys: dict[str, int] = {}
    for g, members in groups.items():
        assert all(users[i] == users[members[0]] for i in members)
        k = norm_key(users[members[0]][0])
        assert k not in first_keys, (g, first_keys.get(k))
        first_keys[k] = g
    models = t.column("model").to_pylist()
    flagged = [any(m["flagged"] for m in mo) for mo in t.column("openai_moderation").to_pylist()]
    redacted = t.column("redacted").to_pylist()
    keep = []
    for i, r in enumerate(rows):
        err = any(a in ERROR_TEXTS for a in answers[i])
        empty = any(a == "" for a in answers[i])
        assert (r["flagged"], r["redacted"], r["error_answer"], r["empty_answer"]) == (
            flagged[i],
            redacted[i],
            err,
            empty,
        )
        assert r["keep_for_mining"] == (not (flagged[i] or redacted[i] or err or empty))
        keep.append(r["keep_for_mining"])
        if r["redacted"]:
            assert r["has_placeholder"] and "_1" in " ".join(users[i])
        if r["is_exact_dup_record"]:
            j = by_id[r["dup_of"]]
            assert j < i and users[j] == users[i] and answers[j] == answers[i] and models[j] == models[i]
    # Minable groups really have two different models among the records a miner keeps.
    mg = pq.read_table(ws.truth_minable_groups).to_pylist()
    assert len(mg) == len(groups) == ws.prompt_groups
    for r in mg:
        kept_models = {models[i] for i in groups[r["prompt_group"]] if keep[i]}
        assert r["n_distinct_models"] == len(kept_models)
        assert r["minable"] == (len(kept_models) >= 2)
    assert sum(r["minable"] for r in mg) == ws.minable_groups > 100
    # Planted near-duplicates: the variant's first turn is a small edit of its source's.
    variants = [r for r in rows if r["is_near_dup_variant"]]
    assert variants
    for r in variants:
        src = groups[r["near_dup_group"]][0]
        v = by_id[r["conversation_id"]]
        assert users[v][1:] == users[src][1:]
        assert norm_key(users[v][0]) != norm_key(users[src][0])
        assert r["near_dup_jaccard"] == pytest.approx(jaccard(users[src][0], users[v][0]))
    jac = np.array([r["near_dup_jaccard"] for r in variants])
    assert np.mean(jac >= 0.8) > 0.95


def test_truth_matches_the_competition_files(ws: SynthManifest) -> None:
    t = _lmsys(ws)
    users = dict(zip(t.column("conversation_id").to_pylist(), _user_turns(t), strict=True))
    truth = pq.read_table(ws.truth_battles).to_pylist()
    csv_rows = {r["id"]: r for r in _read_csv(ws.train_csv) + _read_csv(ws.test_csv)}
    assert set(csv_rows) == {r["id"] for r in truth}
    seen_kinds = set()
    for r in truth:
        assert r["p_a"] + r["p_b"] + r["p_tie"] == pytest.approx(1.0)
        row = csv_rows[r["id"]]
        if r["malformed_kind"]:
            seen_kinds.add(r["malformed_kind"])
            continue
        prompt = json.loads(row["prompt"])
        if r["split"] == "train":
            onehot = (row["winner_model_a"], row["winner_model_b"], row["winner_tie"])
            assert (
                onehot
                == {"model_a": ("1", "0", "0"), "model_b": ("0", "1", "0"), "tie": ("0", "0", "1")}[
                    r["label"]
                ]
            )
            assert (row["model_a"], row["model_b"]) == (r["model_a"], r["model_b"])
        if r["special"] == "identical":
            assert row["response_a"] == row["response_b"]
        if r["overlap"] == "none":
            assert r["lmsys_conversation_id"] is None
            continue
        src = users[r["lmsys_conversation_id"]]
        if r["overlap"] == "exact":
            assert prompt == src
        elif r["overlap"] == "placeholder":
            assert prompt != src and "NAME_1" in " ".join(src) and "NAME_" not in " ".join(prompt)
            assert norm_key(" ".join(prompt)) == norm_key(" ".join(src))
        else:
            assert prompt[1:] == src[1:] and prompt[0] != src[0]
            assert r["overlap_jaccard"] == pytest.approx(jaccard(src[0], prompt[0]))
    assert seen_kinds == {
        "lone_surrogate",
        "stray_escape",
        "truncated_json",
        "labels_not_one_hot",
        "empty_cell",
    }
    kinds = {r["overlap"] for r in truth}
    assert kinds == {"none", "exact", "placeholder", "near"}
    share = sum(r["overlap"] != "none" for r in truth) / len(truth)
    assert 0.12 < share < 0.18


def test_malformed_rows_are_really_malformed(ws: SynthManifest) -> None:
    truth = {r["id"]: r["malformed_kind"] for r in pq.read_table(ws.truth_battles).to_pylist()}
    for r in _read_csv(ws.train_csv):
        kind = truth[r["id"]]
        if kind == "lone_surrogate":
            assert "\\ud83d" in r["prompt"] + r["response_a"]
        elif kind == "stray_escape":
            with pytest.raises(json.JSONDecodeError):
                json.loads(r["prompt"] if "\\q" in r["prompt"] else r["response_a"])
        elif kind == "truncated_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(r["response_a"] if not r["response_a"].endswith("]") else r["prompt"])
        elif kind == "labels_not_one_hot":
            assert int(r["winner_model_a"]) + int(r["winner_model_b"]) + int(r["winner_tie"]) != 1
        elif kind == "empty_cell":
            assert r["response_b"] == ""


def test_no_malformed_rows_unless_asked(big: SynthManifest) -> None:
    assert sum(big.malformed_counts.values()) == 0
    for r in _read_csv(big.train_csv)[:500]:
        json.loads(r["prompt"]), json.loads(r["response_a"]), json.loads(r["response_b"])


def test_realistic_figures_at_20k(big: SynthManifest) -> None:
    t = _lmsys(big)
    n = t.num_rows
    turns = t.column("turn").to_numpy()
    assert 1.85 < turns.mean() < 2.15 and turns.max() >= 10 and np.mean(turns == 1) > 0.5
    flat = pc.list_flatten(t.column("conversation").combine_chunks())
    is_user = pc.equal(flat.field("role"), "user")
    users = pc.filter(flat.field("content"), is_user).to_pylist()
    answers = pc.filter(flat.field("content"), pc.invert(is_user)).to_pylist()
    enc = quicktok.get_encoding("cl100k_base")
    tu = np.array(quicktok.count_batch(enc, users))
    ta = np.array(quicktok.count_batch(enc, answers))
    assert 55 < tu.mean() < 85 and np.median(tu) < tu.mean()  # long-tailed
    assert 180 < ta.mean() < 250 and np.percentile(ta, 99) > 3 * ta.mean()
    models = pc.value_counts(t.column("model")).to_pylist()
    share = {m["values"]: m["counts"] / n for m in models}
    assert len(share) == 25 and 0.44 < share["vicuna-13b"] < 0.54 and "gpt-4" in share
    langs = {m["values"]: m["counts"] / n for m in pc.value_counts(t.column("language")).to_pylist()}
    assert len(langs) >= 50 and 0.73 < langs["English"] < 0.81
    assert langs["Portuguese"] > langs["Korean"] > 0
    truth = pq.read_table(big.truth_conversations)
    mean = {
        c: float(np.mean(truth.column(c).to_numpy(zero_copy_only=False)))
        for c in truth.column_names
        if truth.schema.field(c).type == pa.bool_()
    }
    assert 0.02 < mean["flagged"] < 0.045 and 0.004 < mean["redacted"] < 0.016
    assert 0.1 < mean["has_placeholder"] < 0.25 and 0.005 < mean["is_exact_dup_record"] < 0.04
    assert 0.01 < mean["error_answer"] < 0.08 and 0.015 < mean["is_near_dup_variant"] < 0.05
    assert any("NETWORK ERROR DUE TO HIGH TRAFFIC" in a for a in answers)
    mg = pq.read_table(big.truth_minable_groups)
    multi = mg.filter(pc.greater_equal(mg.column("n_conversations"), 2)).num_rows / mg.num_rows
    assert multi > 0.3 and big.minable_groups / mg.num_rows > 0.2
    assert 0.3 < big.label_mix["model_a"] < 0.4 and 0.27 < big.label_mix["tie"] < 0.35
    assert big.expected_log_loss < big.uniform_log_loss


def test_non_english_rows_use_their_language() -> None:
    import py3langid

    m_dir = Path(__file__).parent  # unused anchor for mypy's sake
    del m_dir
    from arenapref.synth.text import TextBank

    bank = TextBank(0)
    for name, expect in (("Russian", "ru"), ("German", "de"), ("Chinese", "zh"), ("Spanish", "es")):
        from arenapref.synth.vocab import LANGUAGES

        li = [lang.name for lang in LANGUAGES].index(name) + 1
        start = int(bank.lang_off[li])
        text = " ".join(bank.bank[start : start + 5])
        assert py3langid.classify(text)[0] == expect, (name, text)


def test_long_prompts_in_narrow_scripts_are_not_near_duplicates() -> None:
    """Different groups in scripts with few byte 5-grams stay below compare's 0.8 (long ones used not to)."""
    from arenapref.compare.normalize import normalize_text
    from arenapref.synth.text import MAX_CTX, TextBank, Turns
    from arenapref.synth.vocab import LANGUAGES

    def grams(turns: list[str]) -> set[bytes]:
        b = normalize_text(" ".join(turns), mask=True).encode("utf-8")
        return {b[i : i + 5] for i in range(len(b) - 4)}

    bank = TextBank(0)
    names = [lang.name for lang in LANGUAGES]
    n = 25
    for name in ("Tamil", "Georgian", "Bengali", "Nepali"):
        li = names.index(name) + 1
        assert bank.lang_max_ctx[li] < MAX_CTX and bank.lang_max_ctx[names.index("Spanish") + 1] == MAX_CTX
        for n_turns in (1, 4):
            lang, turns = np.full(n, li), np.full(n, n_turns)
            no = np.zeros(n, dtype=bool)
            keys = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            spec = Turns(keys, np.zeros(n, np.int64), lang, turns, bank.ctx_caps(lang, turns)[0], no, no, no)
            sets = [grams(t) for t in bank.user_turns(spec, names=False).rows()]
            worst = max(len(a & b) / len(a | b) for i, a in enumerate(sets) for b in sets[i + 1 :])
            assert worst < 0.78, (name, n_turns, worst)


def test_davidson_and_edits() -> None:
    p = davidson(np.array([0.0, 5.0, -5.0]))
    assert np.allclose(p[0] + p[1] + p[2], 1.0)
    assert p[0][0] == pytest.approx(p[1][0]) and p[0][1] > 0.8 > p[0][2]
    src = "Write a Python function that reverses a linked list using a generator. The output list is empty."
    for k in range(50):
        e = small_edit(src, k)
        assert norm_key(e) != norm_key(src) and jaccard(src, e) > 0.7


def test_cli_writes_a_workspace(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "synth",
            "--out",
            str(tmp_path / "w"),
            "-n",
            "800",
            "--battles",
            "200",
            "--seed",
            "2",
            "--malformed-share",
            "0.1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote 800 conversations" in res.output and "malformed rows" in res.output
    assert (tmp_path / "w" / "truth" / "README.md").is_file()
    assert SynthManifest.load(tmp_path / "w").n_test == 60


def test_cli_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--out", str(tmp_path), "--malformed-share", "1.5"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "malformed_share must be between 0 and 1" in err and "Traceback" not in err
    with pytest.raises(ArenaprefError):
        SynthManifest.load(tmp_path / "nothing")


def test_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "bench" / "bench_synth.py"
    spec = importlib.util.spec_from_file_location("bench_synth", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synth"] = module
    spec.loader.exec_module(module)
    res = module.main(["--n", "1500", "--battles", "200", "--ref-n", "300", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert res["n"] == 1500 and res["wall_s"] > 0 and res["speedup"] > 0 and res["peak_rss_mb"] > 0
    assert pq.read_table(tmp_path / "reference").num_rows == 300
    assert "speedup" in out


def test_csv_quoting_matches_the_csv_module() -> None:
    import io

    from arenapref.synth.competition import csv_field

    values = ['["a, b"]', '["say \\"hi\\""]', "[null]", "", "plain", "x\ny", "r\rz", '"', "123"]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["0", *values])
    assert buf.getvalue() == ",".join(["0", *map(csv_field, values)]) + "\n"
