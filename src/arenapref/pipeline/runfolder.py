"""The run folder's rules: whose folder it is, that it never overlaps the data, and one run at a time.

``arenapref run`` replaces stage folders wholesale, so it must never be pointed at a folder that holds
anything else. Three rules, checked before anything is written:

- the run folder may not be, contain, or lie inside any input (the config file included): ``dir = "."``
  next to ``train/train.csv`` would otherwise turn the user's ``train/`` into a stage folder;
- a non-empty folder is used only when it is an arenapref run folder: it carries ``MARKER``, written
  when the run created it (a folder from before the marker existed is adopted when it holds only names a
  run writes and its ``run.json``);
- a stage folder is replaced only when it holds nothing but the files its manifest records (see
  ``foreign_files``), so a file a user dropped into ``run/train/`` is never deleted.

``run_folder`` also takes an exclusive ``flock`` on ``LOCK`` for the whole run: a second run on the same
folder stops with the first one's pid instead of deleting its temporary folders.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from arenapref.atomic import TMP_MARK, write_text
from arenapref.errors import ArenaprefError
from arenapref.pipeline.manifest import HASH_CACHE, MANIFEST

MARKER = ".arenapref-run.json"
LOCK = ".arenapref-run.lock"
RUN_FILE = "run.json"
HISTORY = "history.jsonl"
# Top-level names a run, ``arenapref report`` or the demo's scoring step writes besides the stages.
OWN_NAMES = frozenset({MARKER, LOCK, RUN_FILE, HISTORY, HASH_CACHE, "cache", "mlruns", "report.html", "demo"})


def _overlap(run_dir: Path, inputs: Iterable[Path]) -> str | None:
    run_r = run_dir.resolve()
    for src in inputs:
        src_r = src.resolve()
        if src_r == run_r or src_r.is_relative_to(run_r):
            return f"the run folder {run_dir} contains the input {src}"
        if run_r.is_relative_to(src_r):
            return f"the run folder {run_dir} is inside the input {src}"
    return None


def check_run_dir(run_dir: Path, inputs: Iterable[Path], stages: Iterable[str]) -> None:
    """Refuse, in one sentence, a run folder that overlaps an input or is someone else's folder."""
    problem = _overlap(run_dir, inputs)
    if problem:
        raise ArenaprefError(f"{problem}; set [run] dir to a folder of its own, outside the data")
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise ArenaprefError(f"the run folder {run_dir} is a file; set [run] dir to a folder")
    if (run_dir / MARKER).is_file():
        return
    names = {p.name for p in run_dir.iterdir()}
    known = OWN_NAMES | set(stages)
    foreign = sorted(n for n in names if n not in known and not n.startswith(TMP_MARK))
    if names and (foreign or not names & {RUN_FILE, LOCK}):
        shown = ", ".join(foreign[:3] or sorted(names)[:3])
        raise ArenaprefError(
            f"the run folder {run_dir} is not empty ({shown}) and is not an arenapref run folder; "
            "set [run] dir to a new or empty folder"
        )


def foreign_files(stage_dir: Path, manifest: dict[str, Any] | None) -> list[str]:
    """Files in an existing stage folder that its manifest does not record (so no run wrote them)."""
    if not stage_dir.is_dir():
        return []
    recorded = set((manifest or {}).get("outputs") or ()) | {MANIFEST}
    return sorted(
        rel
        for f in stage_dir.rglob("*")
        if f.is_file() and (rel := f.relative_to(stage_dir).as_posix()) not in recorded
    )


def _clean_leftovers(run_dir: Path) -> None:
    """Remove temporary folders a killed run left behind (only arenapref's own temporary names; the
    lock guarantees no other run is writing them)."""
    for p in run_dir.glob(f"{TMP_MARK}*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "a process whose pid is not recorded"


@contextmanager
def run_folder(run_dir: Path, inputs: Iterable[Path], stages: Iterable[str]) -> Iterator[Path]:
    """Check, create, mark and lock the run folder for the duration of a run; yield it."""
    check_run_dir(run_dir, inputs, stages)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArenaprefError(f"cannot create the run folder {run_dir}: {exc.strerror or exc}") from exc
    lock = run_dir / LOCK
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArenaprefError(
                f"the run folder {run_dir} is in use by another arenapref run ({_holder(lock)}); "
                "wait for it to finish or set [run] dir to another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        if not (run_dir / MARKER).is_file():
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            write_text(run_dir / MARKER, json.dumps({"arenapref_run_folder": 1, "created": stamp}) + "\n")
        _clean_leftovers(run_dir)
        yield run_dir
    finally:
        os.close(fd)  # releases the lock; the file stays (unlinking it would race a waiting run)


__all__ = ["HISTORY", "LOCK", "MARKER", "RUN_FILE", "check_run_dir", "foreign_files", "run_folder"]
