"""The default topic map: fitted in MiniLM's space, rows placed by a student, the probe sampled exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score

from arenapref.topics import FitSettings, fit_topics, load_model
from arenapref.topics.fit import TopicModel
from arenapref.topics.probe import probe
from arenapref.topics.static import embed_extra_installed
from arenapref.topics.student import matched_agreement
from cli_helpers import run_cli
from topics_data import planted_table

pytestmark = pytest.mark.skipif(not embed_extra_installed(), reason="the embed extra is not installed")
SMALL_VOCAB = 6000


@pytest.fixture(scope="module")
def planted() -> tuple[pa.Table, list[int]]:
    return planted_table(150, seed=5)  # 750 prompts: enough for a student (student.MIN_PROMPTS)


@pytest.fixture(scope="module")
def student_map(planted: tuple[pa.Table, list[int]]) -> TopicModel:
    return fit_topics(planted[0], FitSettings(k=5, seed=0, distill_vocab=SMALL_VOCAB))


def test_matched_agreement_ignores_topic_numbering() -> None:
    a = np.array([0, 0, 1, 1, 2, 2])
    assert matched_agreement(a, np.array([2, 2, 0, 0, 1, 1]), 3) == 1.0
    assert matched_agreement(a, np.array([2, 2, 0, 1, 1, 1]), 3) == pytest.approx(5 / 6)


@pytest.mark.slow
def test_default_map_is_minilm_with_a_student(
    student_map: TopicModel, planted: tuple[pa.Table, list[int]]
) -> None:
    table, truth = planted
    assert student_map.embedder.name == "minilm" and student_map.student is not None
    assert student_map.assigner == "student"
    quality = student_map.quality
    assert 0 < quality["seed_stability"] <= 1 and 0 < quality["student_agreement"] <= 1
    assert student_map.timing["embed_prompts_per_second"] > 0
    texts = pa.array([r[0]["content"] for r in table.column("turns").to_pylist()])
    by_student = student_map.assign_texts(texts)
    exact, _ = student_map.assign_with_reasons(texts, exact=True)
    # The student imitates the transformer's map; both recover the planted topics.
    assert np.mean(by_student == exact) > 0.9
    assert adjusted_rand_score(truth, exact) > 0.9 and adjusted_rand_score(truth, by_student) > 0.9


def test_student_map_round_trips(student_map: TopicModel, tmp_path: Path) -> None:
    student_map.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["student"] is True and meta["quality"] == student_map.quality
    loaded = load_model(tmp_path / "m")
    texts = pa.array(
        ["bake the pasta with garlic and tomato sauce", "my python loop raises an exception", None]
    )
    assert loaded.assign_texts(texts).tolist() == student_map.assign_texts(texts).tolist()
    assert loaded.assign_texts(texts)[2] == -1


@pytest.mark.slow
def test_a_small_fit_places_rows_with_the_transformer() -> None:
    model = fit_topics(planted_table(40, seed=5)[0], FitSettings(k=5, seed=0, distill_vocab=SMALL_VOCAB))
    assert model.student is None and model.assigner == "minilm"
    assert any("too few for a student" in n for n in model.notes)


@pytest.mark.slow
def test_assign_transformer_keeps_no_student(planted: tuple[pa.Table, list[int]]) -> None:
    model = fit_topics(planted[0], FitSettings(k=5, seed=0, assign="transformer", distill_vocab=SMALL_VOCAB))
    assert model.student is None and model.assigner == "minilm"
    assert "seed_stability" in model.quality and "student_agreement" not in model.quality


def test_probe_samples_a_transformer_map_exactly(
    student_map: TopicModel, planted: tuple[pa.Table, list[int]]
) -> None:
    table = planted[0]
    report = probe(student_map, [table, table.slice(0, 50)], ["all", "head"], sample=120)
    whole, head = report.mixes
    assert whole.sampled_from == table.num_rows and whole.n == 120
    assert head.sampled_from is None and head.n == 50  # smaller than the sample: every row, exactly
    out = report.to_json()
    assert out["assigned_by"] == "transformer (sampled)"
    assert out["map_quality"]["seed_stability"] == student_map.quality["seed_stability"]
    assert out["sources"][0]["sampled_from"] == table.num_rows
    everything = probe(student_map, [table], ["all"], sample=0)
    assert everything.mixes[0].n == table.num_rows and everything.assigner == "student"


@pytest.mark.slow
def test_cli_fit_prints_student_agreement_next_to_seed_stability(
    planted: tuple[pa.Table, list[int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow.parquet as pq

    src = tmp_path / "conv.parquet"
    pq.write_table(planted[0], src)
    code, out, err = run_cli(["topics", "fit", str(src), "-o", str(tmp_path / "m"), "--k", "5"], capsys)
    assert code == 0, err
    assert "map seed stability" in out and "student agreement" in out
    code, out, err = run_cli(
        ["topics", "probe", str(tmp_path / "m"), str(src), "--sample", "100", "--json"], capsys
    )
    assert code == 0, err
    assert json.loads(out)["assigned_by"] == "transformer (sampled)"
    code, out, err = run_cli(["topics", "probe", str(tmp_path / "m"), str(src), "--sample", "100"], capsys)
    assert code == 0 and "placed by the transformer" in out and "student agreement" in out


@pytest.mark.slow
def test_map_sample_caps_the_transformer_pass(planted: tuple[pa.Table, list[int]]) -> None:
    capped = fit_topics(planted[0], FitSettings(k=5, seed=0, distill_vocab=SMALL_VOCAB, map_sample=300))
    whole = fit_topics(planted[0], FitSettings(k=5, seed=0, embedder="tfidf", map_sample=300))
    # Only a transformer's pass is capped; the recipe says so, with the count.
    assert whole.stats["kept"] == capped.stats["selected"] > 300
    assert capped.stats["kept"] == 300 and sum(t.size for t in capped.topics) == 300
    assert {"step": "seeded sample of 300 for the transformer (map_sample)", "count": 300} in capped.recipe
    assert capped.recipe[-1]["count"] == 300
    # 240 prompts outside the hold-out are too few for a student: the note says rows go through MiniLM.
    assert capped.student is None and any("too few for a student" in note for note in capped.notes)
    table, truth = planted
    texts = pa.array([r[0]["content"] for r in table.column("turns").to_pylist()])
    assert adjusted_rand_score(truth, capped.assign_texts(texts)) > 0.9
