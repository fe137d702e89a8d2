"""Runs you can compare (issue 24 item 5): the append-only history, ``arenapref runs [--json]``,
``arenapref runs diff A B``, and ``[run] track = "mlflow"`` against a real local MLflow file store."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from arenapref.pipeline import run_pipeline
from arenapref.pipeline.runfolder import HISTORY
from cli_helpers import run_cli
from pipeline_helpers import make_synth, make_workspace

HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace run twice: with 10 trees, then with 20 (train reruns, mine is skipped)."""
    synth = make_synth(tmp_path_factory.mktemp("synth"))
    cfg = make_workspace(tmp_path_factory.mktemp("history") / "ws", synth)
    run_pipeline(cfg, progress=False)
    first_line = (cfg.parent / "run" / HISTORY).read_bytes()
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("n_estimators = 10", "n_estimators = 20"), encoding="utf-8")
    summary = run_pipeline(cfg, progress=False)
    assert summary.history_id == 2 and summary.status_of("mine").status == "skipped"
    # Append-only: the first run's record is still there, byte for byte.
    assert (cfg.parent / "run" / HISTORY).read_bytes().startswith(first_line)
    return cfg.parent


def test_runs_lists_every_run_with_settings_and_figures(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["runs", "-w", str(two_runs), "--json"], capsys)
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["id"] for r in runs] == [1, 2] and {r["outcome"] for r in runs} == {"completed"}
    first, second = runs
    assert first["settings"]["train"]["params"]["n_estimators"] == 10
    assert second["settings"]["train"]["params"]["n_estimators"] == 20
    assert second["stages"]["mine"]["status"] == "skipped" and second["stages"]["train"]["status"] == "ran"
    # Figures of a skipped stage come from its manifest, so every record has the run's full result.
    assert first["key_figures"]["pairs_mined"] == second["key_figures"]["pairs_mined"] > 0
    assert first["figures"]["train"]["oof_log_loss"] == first["key_figures"]["oof_log_loss"]
    assert "ablation_diff" not in first["key_figures"]  # ablate is disabled in this workspace
    code, _, err = run_cli(["runs", "-w", str(two_runs / "run")], capsys)
    oof = f"{second['key_figures']['oof_log_loss']:.4f}"
    assert code == 0 and "OOF loss" in err and oof in err and "completed" in err, err


def test_runs_diff_shows_what_changed(two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        ["runs", "diff", "1", "last", "-w", str(two_runs / "PIPELINE.toml"), "--json"], capsys
    )
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["a"], doc["b"]) == (1, 2)
    assert {c["key"]: (c["a"], c["b"]) for c in doc["settings"]} == {"train.params.n_estimators": (10, 20)}
    figures = {c["key"] for c in doc["figures"]}
    assert "train.oof_log_loss" in figures and not any(k.startswith("mine.") for k in figures)
    assert [c["key"] for c in doc["key_figures"]] == ["oof_log_loss"]
    code, _, err = run_cli(["runs", "diff", "1", "2", "-w", str(two_runs)], capsys)
    assert code == 0 and "train.params.n_estimators: 10 -> 20 (+10)" in err, err
    code, _, err = run_cli(["runs", "diff", "1", "7", "-w", str(two_runs)], capsys)
    assert code == 1 and "run '7': no such run in the history (the runs are 1, 2, or 'last')" in err


def test_failed_and_damaged_records(
    two_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(two_runs, ws)
    history = ws / "run" / HISTORY
    history.write_bytes(history.read_bytes() + b'{"id": 3, "started": "2026-')  # a kill mid-record
    (ws / "train" / "train.csv").unlink()
    code, _, err = run_cli(["run", str(ws), "--quiet"], capsys)
    assert code == 1 and "train.csv does not exist" in err
    code, out, err = run_cli(["runs", "-w", str(ws), "--json"], capsys)
    assert code == 0 and "line(s) 3 are not complete run records" in err, err
    doc = json.loads(out)
    assert doc["damaged_lines"] == [3] and [r["id"] for r in doc["runs"]] == [1, 2, 3]
    assert (
        doc["runs"][-1]["outcome"].startswith("failed: ")
        and "train.csv does not exist" in doc["runs"][-1]["outcome"]
    )


@pytest.mark.skipif(HAS_MLFLOW, reason="checks the message shown when mlflow is not installed")
def test_tracking_without_mlflow_says_how_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "PIPELINE.toml"
    cfg.write_text('[run]\ntrack = "mlflow"\n', encoding="utf-8")
    code, _, err = run_cli(["run", str(cfg)], capsys)
    assert (
        code != 0
        and "install mlflow" in err
        and "arenapref[mlflow]" in err
        and not (tmp_path / "run").exists()
    )


@pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is not installed (pip install 'arenapref[mlflow]')")
def test_mlflow_tracking_logs_params_metrics_and_report_to_a_local_file_store(
    two_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    ws = tmp_path / "ws"
    shutil.copytree(two_runs, ws)
    cfg = ws / "PIPELINE.toml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("seed = 1", 'seed = 1\ntrack = "mlflow"'), encoding="utf-8"
    )
    summary = run_pipeline(cfg, progress=False)
    assert summary.tracked and summary.history_id == 3
    assert {s.status for s in summary.stages} <= {"skipped", "disabled"}  # tracking is not in any key
    store = ws / "run" / "mlruns"
    assert store.is_dir()
    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    run = client.get_run(summary.tracked)
    assert run.info.status == "FINISHED"
    assert run.data.params["train.params.n_estimators"] == "20" and run.data.params["run.track"] == "mlflow"
    record = json.loads(Path(ws / "run" / HISTORY).read_text(encoding="utf-8").splitlines()[-1])
    assert run.data.metrics["oof_log_loss"] == pytest.approx(record["key_figures"]["oof_log_loss"])
    assert run.data.metrics["mine.pairs"] == record["figures"]["mine"]["pairs"]
    assert run.data.tags["arenapref.history_id"] == "3"
    assert {a.path for a in client.list_artifacts(summary.tracked)} == {"record.json", "report.html"}
    report = Path(client.download_artifacts(summary.tracked, "report.html", str(tmp_path)))
    assert "<html" in report.read_text(encoding="utf-8").lower()
    # A store that cannot be written: one sentence, and the run is still in the history.
    bad = (ws / "PIPELINE.toml" / "mlruns").as_uri()
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace('track = "mlflow"', f'track = "mlflow"\nmlflow_uri = "{bad}"')
    )
    code, _, err = run_cli(["run", str(cfg), "--quiet"], capsys)
    assert code == 1 and f"run 4 is in the history, but logging it to MLflow at {bad} failed" in err, err
    assert "Traceback" not in err
