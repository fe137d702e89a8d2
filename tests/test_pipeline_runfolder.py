"""``arenapref run`` never damages the workspace and never trusts what it has not checked (issue 22 §3).

A tiny workspace (300 conversations, 140 battles; only the mine and train stages enabled, so a run takes
seconds) is run once; each test works on its own copy. The cases: a run folder that contains or lies
inside an input, a non-empty folder that is not a run folder, a user's file in a stage folder, a deleted
or truncated output, an input edited with its mtime put back, and a second run on a locked run folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import arenapref
from arenapref.pipeline import run_pipeline
from arenapref.pipeline.manifest import HASH_CACHE, HashCache, fingerprint
from arenapref.pipeline.runfolder import LOCK, MARKER
from cli_helpers import run_cli
from pipeline_helpers import make_synth, make_workspace, snapshot, statuses


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synth(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, synth: Path) -> Path:
    cfg = make_workspace(tmp_path_factory.mktemp("reference") / "ws", synth)
    summary = run_pipeline(cfg, progress=False)
    assert {s.name for s in summary.stages if s.status == "ran"} == {"mine", "train", "evaluate"}
    return cfg.parent


@pytest.fixture
def ws(reference: Path, tmp_path: Path) -> Path:
    """A copy of the reference workspace (mtimes kept, as ``cp -a`` does)."""
    copy = tmp_path / "ws"
    shutil.copytree(reference, copy)
    return copy


@pytest.mark.parametrize(
    ("run_dir", "expected"),
    [
        (".", "contains the input"),  # the case that replaced train/ and deleted the user's files
        ("train", "contains the input"),
        ("data/lmsys/run", "is inside the input"),
        ("train/train.csv", "contains the input"),
    ],
)
def test_run_folder_overlapping_an_input_is_refused_before_anything_is_written(
    tmp_path: Path, synth: Path, run_dir: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = make_workspace(tmp_path / "ws", synth, run_dir)
    before = snapshot(cfg.parent)
    code, _, err = run_cli(["run", str(cfg), "--quiet"], capsys)
    assert code == 1 and expected in err and "set [run] dir to a folder of its own" in err, err
    assert "Traceback" not in err and err.count("error:") == 1
    assert snapshot(cfg.parent) == before


def test_non_empty_folder_that_is_not_a_run_folder_is_refused(
    tmp_path: Path, synth: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = make_workspace(tmp_path / "ws", synth, "results")
    (cfg.parent / "results" / "train").mkdir(parents=True)
    (cfg.parent / "results" / "train" / "notes.txt").write_text("mine", encoding="utf-8")
    before = snapshot(cfg.parent)
    code, _, err = run_cli(["run", str(cfg), "--quiet"], capsys)
    assert code == 1 and "is not empty (train) and is not an arenapref run folder" in err, err
    assert snapshot(cfg.parent) == before
    # An empty folder is fine: the run marks it as its own.
    shutil.rmtree(cfg.parent / "results" / "train")
    ran = {s.name for s in run_pipeline(cfg, progress=False).stages if s.status == "ran"}
    assert ran == {"mine", "train", "evaluate"}
    assert (cfg.parent / "results" / MARKER).is_file()


def test_a_users_file_in_a_stage_folder_is_never_deleted(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = ws / "run" / "train" / "my-notes.txt"
    note.write_text("keep me", encoding="utf-8")
    # Skipping leaves the folder alone ...
    code, out, err = run_cli(["run", str(ws), "--json", "--quiet"], capsys)
    assert code == 0 and statuses(out)["train"]["status"] == "skipped", err
    # ... and a rerun, which would replace the folder, stops and names the file.
    code, _, err = run_cli(["run", str(ws), "--only", "train", "--quiet"], capsys)
    assert code == 1 and "my-notes.txt, which its manifest does not record" in err, err
    assert note.read_text(encoding="utf-8") == "keep me"


def test_missing_or_changed_outputs_rerun_their_stage_and_say_why(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ws / "run"
    pairs = (run / "mine" / "pairs.parquet").read_bytes()
    (run / "mine" / "pairs.parquet").unlink()
    code, out, err = run_cli(["run", str(ws), "--json"], capsys)
    assert code == 0, err
    st = statuses(out)
    assert st["mine"]["status"] == "ran" and st["mine"]["reason"] == "its output pairs.parquet is missing"
    assert st["train"]["status"] == "skipped"  # train does not build on mine here (label is disabled)
    assert "1 stage(s) ran" in err and "pairs.parquet is missing" in err
    assert (run / "mine" / "pairs.parquet").read_bytes() == pairs
    # A truncated model: train reruns, saying why, and so does evaluate, which is built on the model
    # (what the rerun wrote is not necessarily what evaluate scored).
    model = run / "train" / "model" / "model.pkl"
    model.write_bytes(model.read_bytes()[:100])
    code, out, err = run_cli(["run", str(ws), "--json", "--quiet"], capsys)
    st = statuses(out)
    assert st["mine"]["status"] == "skipped" and st["train"]["status"] == "ran", err
    assert st["train"]["reason"].startswith("its output model/model.pkl changed size (")
    assert (
        st["evaluate"]["status"] == "ran" and st["evaluate"]["reason"] == "the train stage it builds on reran"
    )
    # Same size, other content: caught by the content hash.
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    code, out, _ = run_cli(["run", str(ws), "--json", "--quiet"], capsys)
    assert statuses(out)["train"]["reason"] == "its output model/model.pkl changed content"
    code, out, _ = run_cli(["run", str(ws), "--json", "--quiet"], capsys)
    assert {s["status"] for s in statuses(out).values()} <= {"skipped", "disabled"}


def test_input_edited_with_its_mtime_put_back_reruns(ws: Path) -> None:
    train = ws / "train" / "train.csv"
    st = train.stat()
    text = train.read_bytes()
    flipped = text.replace(b",1,0,0\n", b",0,1,0\n")
    assert flipped != text and len(flipped) == len(text)
    train.write_bytes(flipped)
    os.utime(train, ns=(st.st_atime_ns, st.st_mtime_ns))
    summary = run_pipeline(ws / "PIPELINE.toml", progress=False)
    assert summary.status_of("train").status == "ran"
    assert summary.status_of("train").reason == "settings, inputs or upstream changed"
    assert summary.status_of("mine").status == "skipped"  # mine does not read the training CSV


def test_large_input_is_hashed_whole_and_the_hash_is_reused_only_for_the_same_file(tmp_path: Path) -> None:
    big = tmp_path / "train.csv"
    big.write_bytes(os.urandom(8 << 20))
    cache_file = tmp_path / HASH_CACHE
    cache = HashCache(cache_file)
    first = fingerprint(big, tmp_path, cache)
    cache.save()
    # A byte flipped in the middle, size and mtime put back: another fingerprint.
    st = big.stat()
    with big.open("r+b") as fh:
        fh.seek(4 << 20)
        b = fh.read(1)
        fh.seek(4 << 20)
        fh.write(bytes([b[0] ^ 1]))
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert big.stat().st_mtime_ns == st.st_mtime_ns and big.stat().st_size == st.st_size
    second = fingerprint(big, tmp_path, HashCache(cache_file))
    assert (
        second["sha256"] != first["sha256"] and second["size"] == first["size"] and "mtime_ns" not in second
    )
    # An untouched file is not read again: a (deliberately wrong) remembered hash is what comes back.
    cache = HashCache(cache_file)
    fingerprint(big, tmp_path, cache)
    cache.save()
    entries = json.loads(cache_file.read_text(encoding="utf-8"))
    entries[str(big.resolve())][1] = "0" * 64
    cache_file.write_text(json.dumps(entries), encoding="utf-8")
    assert fingerprint(big, tmp_path, HashCache(cache_file))["sha256"] == "0" * 64


def test_a_second_run_on_a_locked_run_folder_names_the_holder(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(arenapref.__file__).parents[1])}
    hold = (
        "import sys, time; from pathlib import Path; from arenapref.pipeline.runfolder import run_folder\n"
        "with run_folder(Path(sys.argv[1]), [], []):\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", hold, str(ws / "run")], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        before = snapshot(ws / "run")
        t0 = time.perf_counter()
        code, _, err = run_cli(["run", str(ws), "--quiet"], capsys)
        assert code == 1 and f"in use by another arenapref run (pid {proc.pid})" in err, err
        assert time.perf_counter() - t0 < 10 and "Traceback" not in err
        assert snapshot(ws / "run") == before
    finally:
        proc.kill()
        proc.wait()
    code, _, err = run_cli(["run", str(ws), "--quiet"], capsys)
    assert code == 0 and (ws / "run" / LOCK).is_file(), err
