"""``arenapref run``: config checks, skipping unchanged stages, --only/--from, and surviving SIGKILL.

One small synthetic workspace is run once in-process (the reference); the kill test runs the same config
in a subprocess, kills it during the label stage (mid-judging) and again during ablate, reruns it, and
compares the final outputs with the reference. The judge is the real local HTTP server, started here so
it outlives the killed runs and can count every request it received.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import arenapref
from arenapref.errors import ArenaprefError
from arenapref.label.settings import judge_config
from arenapref.pipeline import load_config, parse_config, run_pipeline, stage_names
from arenapref.report import SECTIONS, write_report
from arenapref.synth import generate
from arenapref.testing.judge_server import RunningServer, ServerSettings, serve_in_thread
from chromium_helpers import assert_not_blank, dump_dom, screenshot
from cli_helpers import run_cli

CONCURRENCY = 4


def _config(server: RunningServer) -> str:
    return f"""
[run]
dir = "run"
seed = 1
[sources]
lmsys = ["synth/lmsys"]
train = "synth/competition/train.csv"
test = "synth/competition/test.csv"
[topics]
k = 6
[label]
max_pairs = 150
[label.judge]
base_url = "{server.base_url}"
api_key_env = ""
concurrency = {CONCURRENCY}
eval_rows = 40
[label.teacher]
n_estimators = 50
[train]
folds = 2
params = {{n_estimators = 60}}
[ablate]
n_boot = 50
params = {{n_estimators = 60}}
curve = [0.5, 1.0]
"""


@dataclass
class Workspace:
    root: Path
    config: Path


def _workspace(root: Path, server: RunningServer) -> Workspace:
    generate(root / "synth", conversations=2000, battles=500, seed=1)
    cfg = root / "PIPELINE.toml"
    cfg.write_text(_config(server), encoding="utf-8")
    return Workspace(root, cfg)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve_in_thread(ServerSettings(seed=0, latency_s=0.01)) as s:
        yield s


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, server: RunningServer) -> Workspace:
    ws = _workspace(tmp_path_factory.mktemp("reference"), server)
    summary = run_pipeline(ws.config, progress=False)
    assert [s.status for s in summary.stages] == ["ran"] * len(stage_names())
    return ws


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    cases = {
        "[label.judge]\nconcurrency = 0\n": "label.judge.concurrency: must be ≥ 1",
        "[mine]\nmax_pair = 3\n": "mine.max_pair: unknown key",
        "[train]\nfolds = 'five'\n": "train.folds: must be a valid integer",
        "[label]\nuse = 'humans'\n": "label.use: must be one of 'judge' or 'teacher'",
        "[ablate]\nholdout_frac = 1.5\n": "ablate.holdout_frac: must be < 1",
    }
    for text, expected in cases.items():
        path = tmp_path / "PIPELINE.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ArenaprefError) as exc:
            load_config(path)
        assert str(exc.value) == f"{path}: {expected}", text
    path.write_text("[run\n", encoding="utf-8")
    with pytest.raises(ArenaprefError, match="not valid TOML"):
        load_config(path)
    # Unset judge settings come from the judge's spec (the shipped default asks 16 at once).
    assert parse_config({}).label.judge.concurrency is None
    assert judge_config(parse_config({}).label.judge).client.concurrency == 16


def test_run_command_reports_config_errors_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "PIPELINE.toml"
    path.write_text("[label.judge]\nconcurrency = 0\n", encoding="utf-8")
    code, _, err = run_cli(["run", str(path)], capsys)
    assert code == 1 and "label.judge.concurrency: must be ≥ 1" in err and "Traceback" not in err
    path.write_text("[sources]\ntrain = 'nope.csv'\n", encoding="utf-8")
    code, _, err = run_cli(["run", str(path), "--quiet"], capsys)
    assert code == 1 and "nope.csv does not exist" in err
    code, _, err = run_cli(["run", str(path), "--only", "nosuch"], capsys)
    assert code == 1 and "not a stage" in err


@pytest.mark.slow
def test_rerun_with_nothing_changed_skips_every_stage_in_seconds(
    reference: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    t0 = time.perf_counter()
    code, out, err = run_cli(["run", str(reference.config), "--json"], capsys)
    took = time.perf_counter() - t0
    assert code == 0, err
    doc = json.loads(out)
    assert [s["status"] for s in doc["stages"]] == ["skipped"] * len(stage_names())
    assert "unchanged" in err and took < 10, took
    for name in stage_names():
        manifest = json.loads((reference.root / "run" / name / "manifest.json").read_text())
        assert manifest["key"] and manifest["versions"]["pyarrow"] and "seconds" in manifest


def test_moved_workspace_skips_every_stage(reference: Workspace, tmp_path: Path) -> None:
    # Keys record inputs relative to the workspace, so a copy elsewhere (mtimes kept) is still current.
    moved = tmp_path / "elsewhere" / "ws"
    shutil.copytree(reference.root, moved, symlinks=True)
    summary = run_pipeline(moved / "PIPELINE.toml", progress=False)
    assert [s.status for s in summary.stages] == ["skipped"] * len(stage_names())
    manifest = json.loads((moved / "run" / "mine" / "manifest.json").read_text())
    assert [fp["path"] for fp in manifest["inputs"]][:2] == ["synth/lmsys", "synth/competition/test.csv"]


def _subprocess_run(cfg: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(arenapref.__file__).parents[1])}
    cmd = [sys.executable, "-c", "from arenapref.cli import main; main()", "run", str(cfg), "--quiet"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen[bytes], ready: object, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, (
            f"the run ended before the kill point: {proc.stderr.read() if proc.stderr else ''!r}"
        )
        if callable(ready) and ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the kill point was never reached")


def _tmp_stage(run: Path, stage: str) -> bool:
    return any(p.name.endswith(f"-{stage}") for p in run.glob(".arenapref-tmp-*"))


def _final_outputs(root: Path) -> dict[str, object]:
    run = root / "run"
    ablation = json.loads((run / "ablate" / "ablation.json").read_text())
    ablation.pop("seconds")
    return {
        "submission": (run / "predict" / "submission.csv").read_bytes(),
        "pairs": pq.read_table(run / "mine" / "pairs.parquet"),
        "labeled": pq.read_table(run / "label" / "labeled.parquet"),
        "oof": pq.read_table(run / "train" / "model" / "oof.parquet"),
        "metrics": (run / "evaluate" / "metrics.json").read_text(),
        "ablation": ablation,
    }


@pytest.mark.slow
def test_kill_during_two_stages_then_rerun_gives_identical_outputs(
    reference: Workspace, server: RunningServer, tmp_path: Path
) -> None:
    ws = _workspace(tmp_path / "killed", server)
    run = ws.root / "run"
    earlier = server.stats()
    before, asked_before = earlier["total"], earlier["by_key"]
    # Kill 1: in the label stage, after the judge has answered part of the mined pairs.
    proc = _subprocess_run(ws.config)
    _kill_when(proc, lambda: _tmp_stage(run, "label") and server.stats()["total"] - before > 150)
    assert not (run / "label" / "manifest.json").exists() and (run / "mine" / "manifest.json").is_file()
    cached = (run / "cache" / "judge.sqlite").stat().st_size
    assert cached > 0
    # Kill 2: in the ablate stage (label, train and evaluate finished in this second attempt).
    proc = _subprocess_run(ws.config)
    _kill_when(proc, lambda: _tmp_stage(run, "ablate"))
    assert (run / "label" / "manifest.json").is_file() and not (run / "ablate" / "manifest.json").exists()
    # The rerun finishes; stages completed before a kill are skipped.
    summary = run_pipeline(ws.config, progress=False)
    status = {s.name: s.status for s in summary.stages}
    assert status["label"] == "skipped" and status["ablate"] == "ran" and status["predict"] == "ran"
    assert not list(run.glob(".arenapref-tmp-*"))
    got, want = _final_outputs(ws.root), _final_outputs(reference.root)
    for k, v in want.items():
        assert got[k] == v if not hasattr(v, "equals") else v.equals(got[k]), k
    # No judge question answered before a kill was asked again, except those in flight at the kill
    # (at most the concurrency) and those answered inside the cache's few-millisecond commit window.
    stats = server.stats()
    mine = json.loads((run / "label" / "manifest.json").read_text())["counts"]["judge"]
    asked = {k: n - asked_before.get(k, 0) for k, n in stats["by_key"].items()}
    repeats = sum(n - 1 for n in asked.values() if n > 1)
    assert mine["orders_cached"] > 0
    assert repeats <= 2 * CONCURRENCY, repeats


def test_only_and_from_rerun_parts(reference: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["run", str(reference.config), "--only", "predict", "--json"], capsys)
    assert code == 0, err
    status = {s["name"]: s["status"] for s in json.loads(out)["stages"]}
    assert status["predict"] == "ran" and {v for k, v in status.items() if k != "predict"} == {"kept"}
    code, out, err = run_cli(["run", str(reference.config), "--from", "ablate", "--json"], capsys)
    status = {s["name"]: s["status"] for s in json.loads(out)["stages"]}
    assert code == 0 and status["ablate"] == status["predict"] == "ran" and status["train"] == "kept"


def test_changing_one_setting_reruns_that_stage_and_its_dependants(reference: Workspace) -> None:
    text = reference.config.read_text(encoding="utf-8")
    reference.config.write_text(text.replace("curve = [0.5, 1.0]", "curve = [1.0]"), encoding="utf-8")
    try:
        summary = run_pipeline(reference.config, progress=False)
    finally:
        reference.config.write_text(text, encoding="utf-8")
    ran = [s.name for s in summary.stages if s.status == "ran"]
    assert ran == ["ablate"]


@pytest.mark.slow
def test_full_report_renders_in_chromium(
    reference: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["report", str(reference.root / "run"), "-o", str(tmp_path / "r.html"), "--json"], capsys
    )
    assert code == 0, err
    page = Path(json.loads(out)["report"])
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text.replace(f"{reference.root}", "") and "<script" not in text
    dom = dump_dom(page, tmp_path)
    for sid in SECTIONS:
        assert f'id="{sid}"' in dom, sid
    assert "not run" not in dom and dom.count("data:image/png;base64,") >= 6
    assert_not_blank(screenshot(page, tmp_path))
    assert write_report(reference.root / "run") == reference.root / "run" / "report.html"
