"""Kill suite: SIGKILL a running command and its outputs are complete or absent; a rerun finishes.

Each of ``convert``, ``mine``, ``compare``, ``label`` and ``train`` runs as a real subprocess (the
``arenapref`` entry point, ``arenapref.cli.main``) on a small synthetic workspace:

1. a complete run gives the reference outputs;
2. a run into a fresh folder is killed the moment its first temporary file appears (mid-write);
3. a run over the complete outputs is killed while a temporary file is being filled, or at 70% of the
   reference time, whichever comes first;
4. after every kill, each output is absent or complete: it reads, and its rows equal the reference's
   (a truncated CSV that still parses would have fewer rows, so it fails here); a folder holds exactly
   the reference's files;
5. a rerun into the killed folder finishes and matches the reference.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from arenapref.atomic import TMP_MARK
from arenapref.readers import open_source
from arenapref.synth import generate
from arenapref.testing.judge_server import RunningServer, ServerSettings, serve_in_thread
from arenapref.writers import write_parquet

# Slow (kills and restarts real subprocesses): a plain `pytest` skips it; `./dev test` and CI run it.
pytestmark = pytest.mark.slow

KEY_ENV = "ARENAPREF_KILL_TEST_KEY"
POLL_S = 0.002
RUN_LIMIT_S = 240.0


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kill")
    m = generate(root / "ws", conversations=1500, battles=1500, seed=5, malformed_share=0.02)
    pairs = open_source(m.train_csv).read_table().slice(0, 60)
    write_parquet(pairs, root / "pairs.parquet")
    return root


@pytest.fixture(scope="module")
def judge() -> Iterator[RunningServer]:
    with serve_in_thread(ServerSettings(latency_s=0.01, seed=1)) as server:
        yield server


def _argv(command: str, ws: Path, out: Path, judge_url: str) -> tuple[list[str], Path]:
    """The command line of one command and its main output (a file, or a folder for compare/train)."""
    comp, lmsys = ws / "ws" / "competition" / "train.csv", ws / "ws" / "lmsys"
    if command == "convert":
        return ["convert", str(comp), "-o", str(out / "train.csv")], out / "train.csv"
    if command == "mine":
        return ["mine", str(lmsys), "-o", str(out / "pairs.csv")], out / "pairs.csv"
    if command == "compare":
        return ["compare", str(comp), str(lmsys), "-o", str(out / "cmp")], out / "cmp"
    if command == "label":
        pairs = ws / "pairs.parquet"
        args = ["label", str(pairs), "--judge", "default", "--base-url", judge_url, "--api-key-env", KEY_ENV]
        return [*args, "-o", str(out / "labels.parquet")], out / "labels.parquet"
    assert command == "train"
    return ["train", str(comp), "-o", str(out / "model"), "--model", "length"], out / "model"


def _popen(argv: list[str], cache: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ARENAPREF_CACHE_DIR": str(cache), KEY_ENV: "sk-kill-test", "PYTHONHASHSEED": "0"}
    code = "import sys\nfrom arenapref.cli import main\nmain(sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, *argv, "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _temps(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return [p for p in folder.rglob(f"*{TMP_MARK}*")]


def _run_and_kill(argv: list[str], out: Path, cache: Path, deadline_s: float, filled: bool) -> bool:
    """Start the command; SIGKILL it when a temporary output appears (``filled``: holds bytes) or at the
    deadline. Returns whether it was killed (False: it finished first)."""
    before = set(_temps(out))
    proc = _popen(argv, cache)
    start = time.monotonic()
    while proc.poll() is None:
        fresh = [p for p in _temps(out) if p not in before]
        hit = any(p.is_dir() or p.stat().st_size > 0 for p in fresh if p.exists()) if filled else bool(fresh)
        if hit or time.monotonic() - start > deadline_s:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(POLL_S)
    return False


def _complete_run(argv: list[str], cache: Path) -> float:
    start = time.monotonic()
    proc = _popen(argv, cache)
    _, err = proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return time.monotonic() - start


def _summary(path: Path) -> object:
    """What 'complete and readable' is checked against: rows of tables, keys of JSON, files of folders."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and TMP_MARK not in str(p.relative_to(path)))
        return {str(p.relative_to(path)): _summary(p) for p in files}
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return ("parquet", pq.read_table(path).num_rows)
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        return ("csv", len(rows), open_source(path).read_table().num_rows)
    if suffix == ".json":
        return ("json", sorted(json.loads(path.read_text(encoding="utf-8"))))
    if suffix == ".jsonl":
        return ("jsonl", len([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]))
    return ("bytes", path.stat().st_size > 0)


def _outputs(out: Path) -> dict[str, object]:
    """Every finished output under a command's folder (temporary names excluded), summarised."""
    if not out.exists():
        return {}
    return {
        str(p.relative_to(out)): _summary(p)
        for p in sorted(out.iterdir())
        if TMP_MARK not in p.name and p.suffix != ".sqlite"
    }


def _check_absent_or_complete(out: Path, reference: dict[str, object], main: Path) -> None:
    found = _outputs(out)
    for name, summary in found.items():
        assert name in reference, f"{name} is not an output of a complete run"
        assert summary == reference[name], f"{out / name} is not complete: {summary} != {reference[name]}"
    # The main output and what describes it (funnel, failures) arrive together: no report without data.
    if any(name != main.name for name in found):
        assert main.name in found or main.name not in reference, f"{main.name} missing beside {sorted(found)}"


@pytest.mark.parametrize("command", ["convert", "mine", "compare", "label", "train"])
def test_sigkill_leaves_outputs_complete_or_absent(
    command: str, workspace: Path, judge: RunningServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    ref_out, killed_out = tmp_path / "ref", tmp_path / "killed"
    ref_argv, ref_main = _argv(command, workspace, ref_out, judge.base_url)
    took = _complete_run(ref_argv, cache)
    reference = _outputs(ref_out)
    assert ref_main.name in reference, f"{command} wrote {sorted(reference)}"

    argv, main = _argv(command, workspace, killed_out, judge.base_url)
    _run_and_kill(argv, killed_out, cache, deadline_s=took * 0.5, filled=False)
    _check_absent_or_complete(killed_out, reference, main)

    # Over complete outputs: the previous ones must survive a kill while the new ones are written.
    _run_and_kill(ref_argv, ref_out, cache, deadline_s=took * 0.7, filled=True)
    _check_absent_or_complete(ref_out, reference, ref_main)

    _complete_run(argv, cache)
    assert _outputs(killed_out) == reference
