"""WSDM Cup 2025 (binary winner, accuracy) end to end, honest OOF figures, and check-submission's rules.

WSDM-shaped files are built here from the public schema (``id, prompt, response_a, response_b, winner,
model_a, model_b, language``, plain-string cells; test without winner and models), with the labels of
arenapref's synthetic battles (ties dropped), so a model has real signal to learn.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.api import train
from arenapref.metrics import log_loss
from arenapref.model.ablate import ablate
from arenapref.model.estimators import battle_labels
from arenapref.model.evaluate import evaluate_model
from arenapref.model.io import check_submission
from arenapref.model.kinds import load_model, make_estimator
from arenapref.model.task import accuracy, binary_labels, detect_task
from arenapref.model.training import (
    CalibratedPreferenceModel,
    apply_temperature,
    choose_temperature,
    fit_temperature,
    honest_oof,
)
from arenapref.pipeline import run_pipeline
from arenapref.readers import open_source, read_battles
from arenapref.rejects import RejectLog
from arenapref.synth import SynthManifest, generate
from cli_helpers import run_cli

FAST = {"n_estimators": 60, "learning_rate": 0.15, "num_leaves": 7, "min_child_samples": 10, "n_seeds": 1}
FAST_ARGS = [arg for k, v in FAST.items() for arg in ("--param", f"{k}={v}")]
LANGS = ("English", "Chinese", "Russian", "Spanish")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthManifest:
    return generate(tmp_path_factory.mktemp("synth"), conversations=1200, battles=900, seed=5)


def _wsdm_rows(table: pa.Table) -> list[dict[str, object]]:
    """Battles (ties dropped) as WSDM rows: one plain string per cell, winner model_a/model_b."""
    labels, ok = battle_labels(table)
    rows = []
    for k, r in enumerate(table.to_pylist()):
        if not ok[k] or labels[k, 2] > 0:
            continue
        rows.append(
            {
                "id": f"w{k}",
                "prompt": "\n".join(t or "" for t in r["prompt"]),
                "response_a": "\n".join(t or "" for t in r["response_a"]),
                "response_b": "\n".join(t or "" for t in r["response_b"]),
                "winner": "model_a" if labels[k, 0] > labels[k, 1] else "model_b",
                "model_a": r["model_a"] or "m1",
                "model_b": r["model_b"] or "m2",
                "language": LANGS[k % len(LANGS)],
            }
        )
    return rows


@pytest.fixture(scope="module")
def wsdm(synth: SynthManifest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rows = _wsdm_rows(read_battles(synth.train_csv))
    d = tmp_path_factory.mktemp("wsdm")
    n_test = 80
    pq.write_table(pa.Table.from_pylist(rows[n_test:]), d / "train.parquet")
    test = [{k: v for k, v in r.items() if k not in ("winner", "model_a", "model_b")} for r in rows[:n_test]]
    pq.write_table(pa.Table.from_pylist(test), d / "test.parquet")
    pq.write_table(pa.Table.from_pylist(rows[:n_test]), d / "test_labeled.parquet")
    return {"train": d / "train.parquet", "test": d / "test.parquet", "labeled": d / "test_labeled.parquet"}


def test_wsdm_layout_is_read_column_wise_and_bad_rows_are_counted(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "prompt": "Qué es?", "response_a": "Una", "response_b": "Dos", "winner": "model_b",
         "model_a": "x", "model_b": "y", "language": "Spanish"},
        {"id": "2", "prompt": "p", "response_a": "a", "response_b": None, "winner": "tie",
         "model_a": "x", "model_b": "y", "language": "English"},
        {"id": " ", "prompt": "p", "response_a": "a", "response_b": "b", "winner": "model_a",
         "model_a": "x", "model_b": "y", "language": "English"},
    ]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train.parquet")
    src = open_source(tmp_path / "train.parquet")
    assert src.format == "wsdm"
    table = src.read_table()
    assert table.num_rows == 1 and src.rejects.counts == {"invalid label": 1, "empty id": 1}
    row = table.to_pylist()[0]
    # plain strings are one turn each, never parsed as JSON; the label is one-hot with no tie
    assert row["prompt"] == ["Qué es?"] and row["response_b"] == ["Dos"]
    assert (row["p_a"], row["p_b"], row["p_tie"]) == (0.0, 1.0, 0.0)
    assert row["language"] == "Spanish" and row["source"] == "wsdm"
    assert detect_task(table, battle_labels(table)[0]) == "binary"
    # a JSON-looking plain string stays the text it is
    rows[0]["prompt"] = '["not", "a list"]'
    pq.write_table(pa.Table.from_pylist(rows[:1]), tmp_path / "json.parquet")
    assert read_battles(tmp_path / "json.parquet").column("prompt").to_pylist() == [['["not", "a list"]']]


def test_task_is_detected_and_ties_are_dropped_or_split(synth: SynthManifest) -> None:
    three = read_battles(synth.train_csv)
    y, ok = battle_labels(three)
    assert detect_task(three, y[ok]) == "three-way"
    lab = np.array([[1.0, 0, 0], [0, 0, 1.0], [0.2, 0.3, 0.5]])
    drop, keep = binary_labels(lab, "drop")
    np.testing.assert_allclose(drop[keep], [[1, 0, 0], [0.4, 0.6, 0]])
    assert keep.tolist() == [True, False, True]
    split, keep = binary_labels(lab, "split")
    np.testing.assert_allclose(split, [[1, 0, 0], [0.5, 0.5, 0], [0.45, 0.55, 0]])
    # a split tie has no winner: it counts neither for nor against accuracy
    pred = np.array([[0.6, 0.4, 0], [0.6, 0.4, 0], [0.3, 0.7, 0]])
    assert accuracy(pred, split) == 1.0 and accuracy(pred[:2], split[:2]) == 1.0
    assert accuracy(pred[1:2], split[1:2]) != accuracy(pred[1:2], split[1:2])  # NaN: nothing to score
    # three-way data trains a binary model when asked: ties dropped (counted) and no tie predicted
    model = CalibratedPreferenceModel(make_estimator("lgbm", **FAST), n_folds=3, task="binary").fit(three)
    assert model.task_ == "binary" and model.n_ties_dropped_ > 100
    p = model.predict_proba(three.slice(0, 50))
    assert (p[:, 2] == 0).all() and np.allclose(p[:, :2].sum(axis=1), 1.0)


def test_wsdm_end_to_end_cli(
    wsdm: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = tmp_path / "m"
    code, out, err = run_cli(["train", str(wsdm["train"]), "-o", str(m), "--folds", "3", *FAST_ARGS], capsys)
    assert code == 0, err
    assert "task: binary" in out and "OOF accuracy" in out
    acc = float(out.split("OOF accuracy ")[1].split()[0])
    assert acc > 0.6, out  # the synthetic labels carry a learnable signal; a coin scores 0.5
    code, out, err = run_cli(["evaluate", str(m), str(wsdm["labeled"])], capsys)
    assert code == 0, err
    assert "the binary task's score" in out
    metrics = json.loads((m / "eval" / "metrics.json").read_text())["model"]
    assert metrics["task"] == "binary" and metrics["n"] == 80 and metrics["accuracy"] > 0.55
    sub = tmp_path / "sub.csv"
    code, out, err = run_cli(["predict", str(m), str(wsdm["test"]), "-o", str(sub)], capsys)
    assert code == 0, err
    with sub.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "winner"] and len(rows) == 81
    assert {r[1] for r in rows[1:]} <= {"model_a", "model_b"}
    assert [r[0] for r in rows[1:]] == pq.read_table(wsdm["test"]).column("id").to_pylist()
    code, out, err = run_cli(["check-submission", str(sub), str(wsdm["test"])], capsys)
    assert code == 0 and "format check passed" in out, err
    # rows in another order still pass (Kaggle matches by id)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join(",".join(r) for r in [rows[0], *rows[:0:-1]]) + "\n")
    code, out, err = run_cli(["check-submission", str(shuffled), str(wsdm["test"])], capsys)
    assert code == 0, err
    # a three-way header is refused when the binary task is asked for
    code, out, err = run_cli(["check-submission", str(sub), str(wsdm["test"]), "--task", "three-way"], capsys)
    assert code == 3 and "header must be id,winner_model_a" in err + out


def test_wsdm_pipeline_run_and_report_use_accuracy(
    wsdm: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off = "\n".join(f"[{s}]\nenabled = false" for s in ("profile", "compare", "topics", "mine", "label"))
    params = ", ".join(f"{k} = {v}" for k, v in FAST.items())
    (tmp_path / "PIPELINE.toml").write_text(
        f'[sources]\ntrain = "{wsdm["train"]}"\ntest = "{wsdm["test"]}"\n{off}\n'
        f"[train]\nfolds = 3\nparams = {{ {params} }}\n",
        encoding="utf-8",
    )
    summary = run_pipeline(tmp_path / "PIPELINE.toml", progress=False)
    status = {s.name: s.status for s in summary.stages}
    assert status["train"] == status["evaluate"] == status["predict"] == "ran", status
    sub = tmp_path / "run" / "predict" / "submission.csv"
    assert sub.read_text().splitlines()[0] == "id,winner"
    metrics = json.loads((tmp_path / "run" / "evaluate" / "metrics.json").read_text())
    assert metrics["oof"]["task"] == "binary" and metrics["oof"]["accuracy"] > 0.55
    code, _, err = run_cli(["report", str(tmp_path / "run")], capsys)
    assert code == 0, err
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "binary task: trained on" in html and "out-of-fold accuracy" in html


def test_binary_ablation_reports_accuracy(wsdm: dict[str, Path], synth: SynthManifest) -> None:
    base = read_battles(wsdm["train"])
    extra = read_battles(synth.train_csv)  # three-way rows: their ties are left out for the binary task
    report = ablate(base, extra, holdout_frac=0.3, params=FAST, repeats=2, n_boot=100, task="binary")
    assert report.task == "binary" and report.metric.startswith("error rate")
    o = report.overall
    assert o.base_accuracy is not None and o.extra_accuracy is not None
    assert o.diff == pytest.approx(o.base_accuracy - o.extra_accuracy, abs=1e-9)
    assert report.n_ties_dropped > 0 and "accuracy" in "\n".join(report.lines())
    assert json.dumps(report.as_dict())


@pytest.mark.slow
def test_headline_oof_is_cross_fitted_and_human_rows_apart(synth: SynthManifest, tmp_path: Path) -> None:
    human = read_battles(synth.train_csv)
    summary = train([synth.train_csv], tmp_path / "a", folds=3, params=FAST)
    # the headline is the honest figure: the temperature was chosen on other folds, so it is never the
    # (optimistic) in-sample one unless no temperature was kept
    if summary.temperature != 1.0:
        assert summary.oof_log_loss >= summary.oof_log_loss_in_sample
    oof = pq.read_table(tmp_path / "a" / "oof.parquet")
    assert oof.column("human").to_pylist() == [True] * oof.num_rows
    # a three-way model scored on the binary task: ties left out (counted), A/B renormalised
    ev = evaluate_model(tmp_path / "a", [synth.train_csv], out_dir=tmp_path / "ev", task="binary")
    three = evaluate_model(tmp_path / "a", [synth.train_csv], out_dir=tmp_path / "ev3")
    assert ev.model.task == "binary" and ev.model.n_ties_left_out > 0
    assert ev.model.n + ev.model.n_ties_left_out == three.model.n
    assert ev.model.accuracy == pytest.approx(three.model.accuracy_no_ties, abs=0.02)
    # pseudo-labeled rows (label_source set) are reported apart from the human rows
    model = load_model(tmp_path / "a")
    pairs = human.slice(0, 300)
    soft = model.predict_proba(pairs)
    pseudo = pa.table(
        {
            "id": [f"p{i}" for i in range(pairs.num_rows)],
            "prompt": pairs.column("prompt"),
            "response_a": pairs.column("response_b"),
            "response_b": pairs.column("response_a"),
            "p_a": soft[:, 1],
            "p_b": soft[:, 0],
            "p_tie": soft[:, 2],
            "label_source": ["teacher:a"] * pairs.num_rows,
        }
    )
    pq.write_table(pseudo, tmp_path / "pairs.parquet")
    mixed = train([synth.train_csv, tmp_path / "pairs.parquet"], tmp_path / "b", folds=3, params=FAST)
    assert mixed.n_human == summary.n_human and mixed.n_pseudo == 300
    assert mixed.pseudo_log_loss is not None
    text = "\n".join(mixed.lines())
    assert f"on {mixed.n_human} human-labeled battles" in text and "300 pseudo-labeled battles apart" in text


def test_honest_oof_never_sees_the_fold_it_scores() -> None:
    rng = np.random.default_rng(0)
    true = rng.dirichlet([2.0, 2.0, 2.0], size=1200)
    y = np.eye(3)[[rng.choice(3, p=p) for p in true]]
    sharp = apply_temperature(true, 0.5)  # overconfident: a temperature > 1 is kept
    folds, w = np.arange(1200) % 4, np.ones(1200)
    every = np.ones(1200, dtype=bool)
    honest = honest_oof(sharp, y, w, folds, every)
    for k in range(4):
        rest = folds != k
        t = choose_temperature(sharp[rest], y[rest], w[rest], folds[rest])[0]
        assert t > 1.2
        np.testing.assert_allclose(honest[folds == k], apply_temperature(sharp[folds == k], t))
    # a fold's post-processed predictions do not depend on that fold's own labels
    y2 = y.copy()
    y2[folds == 0] = y[folds == 0][::-1]
    np.testing.assert_allclose(honest_oof(sharp, y2, w, folds, every)[folds == 0], honest[folds == 0])
    # the in-sample figure (temperature fitted on the very rows scored) is the optimistic one
    in_sample = apply_temperature(sharp, fit_temperature(sharp, y))
    assert log_loss(in_sample, y) < log_loss(honest, y) < log_loss(sharp, y)


def _sub(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("id", "winner")) -> Path:
    path.write_text("\n".join(",".join(r) for r in [list(header), *rows]) + "\n")
    return path


def test_check_submission_reports_ids_in_any_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test = tmp_path / "test.csv"
    test.write_text(
        "id,prompt,response_a,response_b\n" + "".join(f'{i},"[""q""]","[""a""]","[""b""]"\n' for i in "123")
    )
    ok = check_submission(
        _sub(tmp_path / "ok.csv", [["3", "model_a"], ["1", "model_b"], ["2", "model_a"]]), test
    )
    assert ok.ok and ok.task == "binary"
    bad = check_submission(
        _sub(
            tmp_path / "bad.csv",
            [["3", "model_a"], ["3", "model_b"], ["9", "model_a"], ["", "model_b"], ["1", "tie"]],
        ),
        test,
    )
    text = "; ".join(bad.problems)
    assert "1 test ids have no row, e.g. '2'" in text
    assert "1 ids are not in the test file, e.g. '9'" in text
    assert "1 ids appear more than once, e.g. '3'" in text
    assert "blank id: 1 rows, e.g. line 5" in text
    assert "winner not one of model_a, model_b: 1 rows, e.g. line 6" in text
    three = _sub(
        tmp_path / "three.csv",
        [["2", "0.2", "0.3", "0.5"], ["1", "0.2", "0.3", "0.5"], ["3", "0.5", "0.5", "0.5"]],
        ("id", "winner_model_a", "winner_model_b", "winner_tie"),
    )
    res = check_submission(three, test)
    assert res.task == "three-way" and res.problems == ["row does not sum to 1: 1 rows, e.g. line 4"]
    code, _out, err = run_cli(["check-submission", str(three), str(tmp_path / "missing.csv")], capsys)
    assert code == 1 and "missing.csv: no such test file" in err and "Traceback" not in err
    code, _out, err = run_cli(["check-submission", str(tmp_path / "nope.csv"), str(test)], capsys)
    assert code == 1 and "nope.csv: no such submission" in err


def test_a_blank_test_id_gets_no_submission_row(
    synth: SynthManifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = tmp_path / "m"
    train([synth.train_csv], m, folds=2, params=FAST)
    test = tmp_path / "test.csv"
    lines = synth.test_csv.read_text(encoding="utf-8").splitlines()
    test.write_text("\n".join([*lines[:3], ',"[""q""]","[""a""]","[""b""]"', *lines[3:]]) + "\n")
    sub = tmp_path / "sub.csv"
    code, _out, err = run_cli(["predict", str(m), str(test), "-o", str(sub)], capsys)
    assert code == 0, err
    ids = [r[0] for r in csv.reader(sub.open(newline=""))][1:]
    assert "" not in ids and "1 rejected" in err  # the reader counts the row it could not answer
    # a submission that does carry a blank id is reported, not passed
    blank = tmp_path / "blank.csv"
    blank.write_text(sub.read_text() + ",0.3,0.3,0.4\n")
    assert "blank id: 1 rows" in "; ".join(check_submission(blank, test).problems)


def test_wsdm_rejects_go_to_the_log(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"id": ["1", "2"], "prompt": ["p", ""], "response_a": ["a", "a"], "response_b": ["b", "b"],
                  "language": ["English", "English"]}),
        tmp_path / "test.parquet",
    )  # fmt: skip
    log = RejectLog()
    table = read_battles(tmp_path / "test.parquet", rejects=log)
    assert table.num_rows == 1 and log.counts == {"empty prompt": 1}
    assert table.column("p_a").null_count == 1  # an unlabeled test file stays unlabeled


def test_bench_read_wsdm_smoke(tmp_path: Path) -> None:
    bench = Path(__file__).resolve().parents[1] / "bench" / "bench_read_wsdm.py"
    spec = importlib.util.spec_from_file_location("bench_read_wsdm", bench)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    res = module.main(["--battles", "300", "--rows", "2000", "--workdir", str(tmp_path)])
    assert res["wsdm_format"] == "wsdm" and res["wsdm_rows"] == 2000 and res["ratio"] > 0
