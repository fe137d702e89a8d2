"""Topic map: recipe filters, fitting on planted topics, determinism, save/load, assignment, probe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency
from sklearn.metrics import adjusted_rand_score

from arenapref.errors import ArenaprefError
from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table, first_user_turn
from arenapref.rejects import RejectLog
from arenapref.topics import (
    FitSettings,
    SourceMix,
    assign_topics,
    fit_topics,
    load_model,
    probe_mixes,
    wilson_interval,
    with_topic_columns,
    write_chart,
)
from arenapref.topics.fit import (
    MODEL_VERSION,
    NO_PROMPT,
    NOTHING_KNOWN,
    class_tfidf_terms,
    sample_first_prompts,
)
from arenapref.topics.probe import probe
from arenapref.topics.terms import TermCounter, split_words, tokenize
from topics_data import PLANTED, planted_table


@pytest.fixture(scope="module")
def planted() -> tuple[pa.Table, list[int]]:
    return planted_table(60, seed=1)


@pytest.fixture(scope="module")
def fitted(planted: tuple[pa.Table, list[int]]) -> object:
    return fit_topics(planted[0], FitSettings(k=5, seed=3))


def test_split_words_follows_text_boundaries_and_unicode() -> None:
    texts = pa.array(["Hello, wörld! NAME_1 is 日本語", None, "x y zz", "don’t “quote”—a\u00a0bb", ""])
    words, parents = split_words(texts)
    assert words.to_pylist() == ["hello", "wörld", "name_1", "is", "日本語", "zz", "don", "quote", "bb"]
    assert parents.tolist() == [0, 0, 0, 0, 0, 2, 3, 3, 3]
    # A sliced array (non-zero offset) gives the same words for the same texts.
    sliced_words, sliced_parents = split_words(texts.slice(2))
    assert sliced_words.to_pylist() == ["zz", "don", "quote", "bb"]
    assert sliced_parents.tolist() == [0, 1, 1, 1]
    # Words never run across two texts.
    words, _ = split_words(pa.array(["abc", "def"]))
    assert words.to_pylist() == ["abc", "def"]


def test_tokenize_drops_stop_words_before_bigrams() -> None:
    terms, parents = tokenize(pa.array(["the python of code", "sort the list"]))
    assert terms.to_pylist() == ["python", "code", "sort", "list", "python code", "sort list"]
    assert parents.tolist() == [0, 0, 1, 1, 0, 1]


def test_term_counter_counts_known_terms() -> None:
    counter = TermCounter(min_df=1, max_df=1.0).fit(pa.array(["apple pie", "apple tart", "plum"]))
    assert counter.terms == ["apple", "apple pie", "apple tart", "pie", "plum", "tart"]
    counts = counter.counts(pa.array(["apple apple pie kiwi", None]))
    assert counts.toarray().tolist() == [[2, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]]


def test_fit_recovers_planted_topics(fitted: object, planted: tuple[pa.Table, list[int]]) -> None:
    table, truth = planted
    model = fitted
    assert model.k == 5  # type: ignore[attr-defined]
    predicted = model.assign_texts(first_user_turn(table))  # type: ignore[attr-defined]
    assert adjusted_rand_score(truth, predicted) >= 0.9
    # Each label is made of one planted topic's words, and every planted topic has a label.
    vocab_of = {word: name for name, words in PLANTED.items() for word in words}
    named = set()
    for topic in model.topics:  # type: ignore[attr-defined]
        label_words = [w for term in topic.terms[:5] for w in term.split()]
        owners = {vocab_of.get(w) for w in label_words} - {None}
        assert len(owners) == 1, topic.label
        named |= owners
        assert len(topic.examples) == 5
    assert named == set(PLANTED)
    sizes = [t.size for t in model.topics]  # type: ignore[attr-defined]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) == model.stats["kept"]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_same_seed_same_topics(planted: tuple[pa.Table, list[int]], tmp_path: Path) -> None:
    a = fit_topics(planted[0], FitSettings(k=5, seed=7))
    b = fit_topics(planted[0], FitSettings(k=5, seed=7))
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    for name in ("topics.json", "model.json", "embedder.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert np.array_equal(
        np.load(tmp_path / "a" / "centroids.npy"), np.load(tmp_path / "b" / "centroids.npy")
    )


def test_save_load_round_trip_and_version_check(fitted: object, tmp_path: Path) -> None:
    model = fitted
    texts = [
        "How long should I roast garlic in the oven with butter?",
        "pandas dataframe loop exception",
        None,
    ]
    folder = model.save(tmp_path / "map")  # type: ignore[attr-defined]
    loaded = load_model(folder)
    assert loaded.labels == model.labels  # type: ignore[attr-defined]
    assert loaded.settings == model.settings  # type: ignore[attr-defined]
    assert np.array_equal(loaded.assign_texts(texts), model.assign_texts(texts))  # type: ignore[attr-defined]
    assert loaded.assign_texts(texts)[2] == -1
    # The default (hybrid) map places any text with a word it has a token for, in any script.
    assert loaded.assign_texts(["Привет, как дела?", "   "]).tolist()[1] == -1
    meta = json.loads((folder / "model.json").read_text())
    meta["version"] = MODEL_VERSION + 1
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ArenaprefError, match="version"):
        load_model(folder)
    with pytest.raises(ArenaprefError, match=r"no model\.json"):
        load_model(tmp_path / "nothing")


def test_tfidf_map_cannot_place_text_without_its_terms(planted: tuple[pa.Table, list[int]]) -> None:
    model = fit_topics(planted[0], FitSettings(k=5, seed=3, embedder="tfidf"))
    ids, reasons = model.assign_with_reasons(["Привет, как дела?", "   ", "the of and", "garlic pasta"])
    assert ids.tolist()[:3] == [-1, -1, -1] and ids[3] >= 0
    assert reasons.to_pylist() == [NOTHING_KNOWN, NO_PROMPT, NOTHING_KNOWN, None]


def test_recipe_filters_are_counted_and_logged() -> None:
    long_prompt = "word " * 400
    rows = [
        Conversation(
            "a",
            "m",
            [Turn("user", "Explain the rules of chess openings for a beginner please.")],
            language="English",
        ),
        Conversation(
            "b",
            "m",
            [Turn("user", "explain the rules of CHESS openings for a beginner please")],
            language="English",
        ),
        Conversation("c", "m", [Turn("user", "too short")], language="English"),
        Conversation("d", "m", [Turn("user", long_prompt)], language="English"),
        Conversation(
            "e",
            "m",
            [Turn("user", "Erkläre mir bitte die Regeln der Schacheröffnungen ausführlich.")],
            language="German",
        ),
        Conversation("f", "m", [Turn("assistant", "no user turn here at all, only the model talking")]),
        Conversation(
            "g", "m", [Turn("user", "Quelles sont les meilleures ouvertures aux échecs pour débuter ?")]
        ),
    ]
    table = conversations_table(rows)
    sample = sample_first_prompts(table.to_batches(), 100, seed=0)
    from arenapref.topics.fit import select_prompts

    log = RejectLog()
    _, kept_rows, counts = select_prompts(sample, FitSettings(), log, "inline")
    assert kept_rows.tolist() == [0]
    assert counts == {
        "duplicate prompt": 1,
        "shorter than 32 characters": 1,
        "longer than 1536 characters": 1,
        "not English": 2,  # one from the language column, one found by py3langid
        "no user prompt": 1,
    }
    assert len(log) == 6 and {r.row for r in log.rejects} == {1, 2, 3, 4, 5, 6}
    _, rows_all, counts_all = select_prompts(sample, FitSettings(english_only=False), RejectLog(), "inline")
    assert rows_all.tolist() == [0, 4, 6] and "not English" not in counts_all


def test_sample_does_not_depend_on_batch_size() -> None:
    table, _ = planted_table(40, seed=2)
    whole = sample_first_prompts(table.to_batches(), 50, seed=5)
    small = sample_first_prompts(table.to_batches(max_chunksize=7), 50, seed=5)
    assert whole.rows.tolist() == small.rows.tolist()
    assert whole.texts.to_pylist() == small.texts.to_pylist()
    assert len(whole.rows) == 50
    other = sample_first_prompts(table.to_batches(), 50, seed=6)
    assert other.rows.tolist() != whole.rows.tolist()


def test_too_few_prompts_is_a_clear_error() -> None:
    table = conversations_table([Conversation("a", "m", [Turn("user", "hi")])])
    with pytest.raises(ArenaprefError, match="prompts left"):
        fit_topics(table, FitSettings(k=5))


def test_topic_column_on_battles_and_conversations(fitted: object) -> None:
    model = fitted
    battles = battles_table(
        [
            Battle("1", ["Give me a pasta recipe with garlic, basil and tomato sauce"], ["a"], ["b"]),
            Battle("2", [], ["a"], ["b"]),
            Battle("3", ["Which etf or bond fits retirement savings and a pension?", "more"], ["a"], ["b"]),
        ]
    )
    topic = assign_topics(model, battles)  # type: ignore[arg-type]
    assert topic.type == pa.int32() and topic.null_count == 1
    out = with_topic_columns(model, battles)  # type: ignore[arg-type]
    assert out.column_names[-3:] == ["topic", "topic_label", "topic_unassigned"]
    labels = out.column("topic_label").to_pylist()
    assert "pasta" in labels[0] or "basil" in labels[0] or "sauce" in labels[0] or "garlic" in labels[0]
    assert labels[1] is None
    assert out.column("topic")[0].as_py() != out.column("topic")[2].as_py()
    # Applying it twice replaces the columns instead of duplicating them.
    assert with_topic_columns(model, out).column_names == out.column_names  # type: ignore[arg-type]


def test_wilson_interval() -> None:
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    # No rounding crumb at the ends: a share of exactly 0 (or 1) lies inside its interval.
    assert all(wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0 for n in range(1, 6000))


def test_probe_statistics_and_flags(fitted: object) -> None:
    model = fitted
    a = SourceMix("external", [100, 100, 100, 100, 0])
    b = SourceMix("test", [50, 50, 60, 20, 20])
    report = probe_mixes(model, [a, b])  # type: ignore[arg-type]
    assert report.target == "test"
    (pair,) = report.pairs
    expected = chi2_contingency(np.array([[100, 100, 100, 100], [50, 50, 60, 20]]), correction=False)
    assert pair.chi2 == pytest.approx(
        chi2_contingency(np.array([a.counts, b.counts]), correction=False).statistic, rel=1e-5
    )
    assert pair.dof == 4 and expected.dof == 3  # topic 4 is used by the target, so it counts
    assert pair.js_distance == pytest.approx(jensenshannon(a.shares(), b.shares(), base=2), abs=1e-6)
    flags = {c.topic: c.flag for c in report.coverage}
    assert flags[4] == "missing" and flags[3] == "over" and flags[0] == "ok"
    data = report.to_json()
    assert set(data) == {"topics", "sources", "pairs", "target", "coverage", "map_quality", "assigned_by"}
    assert data["sources"][1]["topics"][2] == {
        "topic": 2,
        "count": 60,
        "share": 0.3,
        "ci_low": pytest.approx(0.2414, abs=1e-3),
        "ci_high": pytest.approx(0.3658, abs=1e-3),
    }
    same = probe_mixes(model, [a, SourceMix("copy", list(a.counts))])  # type: ignore[arg-type]
    assert same.pairs[0].js_distance == 0.0 and same.pairs[0].p_value == pytest.approx(1.0)
    with pytest.raises(ArenaprefError, match="target"):
        probe_mixes(model, [a, b], target="nope")  # type: ignore[arg-type]


def test_probe_on_tables_and_chart(fitted: object, tmp_path: Path) -> None:
    model = fitted
    cooking, _ = planted_table(20, seed=9)
    report = probe(model, [cooking, cooking.slice(0, 50)], names=["all", "part"])  # type: ignore[arg-type]
    assert [m.n for m in report.mixes] == [100, 50]
    chart = write_chart(report, tmp_path / "mix.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_class_tfidf_prefers_distinctive_terms() -> None:
    counter = TermCounter(min_df=1, max_df=1.0)
    texts = pa.array(
        ["apple banana common", "apple cherry common", "grape melon common", "grape kiwi common"]
    )
    counter.fit(texts)
    terms = class_tfidf_terms(counter.counts(texts), np.array([0, 0, 1, 1]), 2, counter.terms, 3)
    assert terms[0][0] == "apple" and terms[1][0] == "grape"
    assert "grape" not in terms[0] and "apple" not in terms[1]
    # A bigram whose words are both shown already is skipped.
    texts = pa.array(["python code", "python code", "grape kiwi", "grape melon"])
    counter = TermCounter(min_df=1, max_df=1.0).fit(texts)
    terms = class_tfidf_terms(counter.counts(texts), np.array([0, 0, 1, 1]), 2, counter.terms, 5)
    assert terms[0] == ["code", "python"]
