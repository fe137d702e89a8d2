"""Outputs are complete or absent: every file or folder a command writes goes through here.

A writer writes to a temporary name in the same folder and the result is renamed into place only when
it is complete, so SIGKILL or Ctrl-C at any moment leaves the previous complete output or none, never a
truncated file that a later command would read as valid. ``os.replace`` is atomic on POSIX when source
and target are on the same file system, which the same-folder temporary name guarantees.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from arenapref.errors import ArenaprefError

TMP_MARK = ".arenapref-tmp-"


def _tmp_sibling(path: Path) -> Path:
    # Keep the real suffix last so libraries that look at the extension (pyarrow, matplotlib) still work.
    return path.with_name(f"{TMP_MARK}{uuid.uuid4().hex[:12]}-{path.name}")


def ensure_parent(path: Path) -> None:
    """Create the folder an output goes into, or say in one sentence why it cannot exist."""
    parent = path.parent
    for anc in [parent, *parent.parents]:
        if anc.exists():
            if not anc.is_dir():
                raise ArenaprefError(f"cannot write {path}: {anc} is a file, not a folder")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArenaprefError(f"cannot create the folder {parent}: {exc.strerror or exc}") from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ArenaprefError(f"cannot write {path}: the folder {parent} is not writable")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on failure delete it.

    Use for one file: ``with atomic_path(out) as tmp: pq.write_table(t, tmp)``.
    """
    target = Path(path)
    if target.is_dir():
        raise ArenaprefError(f"cannot write the file {target}: a folder of that name exists")
    ensure_parent(target)
    tmp = _tmp_sibling(target)
    try:
        yield tmp
        if not tmp.exists():
            raise ArenaprefError(f"internal: nothing was written for {target}")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    For outputs made of several files (a model folder, a compare report), so a folder never mixes two
    runs. The previous folder is moved aside first and removed only after the new one is in place; a kill
    between the two renames leaves the old folder under a temporary name and no ``path`` (absent, not mixed).
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ArenaprefError(f"cannot write the folder {target}: a file of that name exists")
    ensure_parent(target)
    tmp = _tmp_sibling(target)
    tmp.mkdir()
    try:
        yield tmp
        old: Path | None = None
        if target.exists():
            old = _tmp_sibling(target)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_bytes(path, text.encode("utf-8"))


def _resolved_files(p: Path) -> set[Path]:
    r = p.resolve()
    if r.is_dir():
        return {r, *(f.resolve() for f in r.rglob("*") if f.is_file())}
    return {r}


def refuse_input_as_output(out: str | Path, inputs: Iterable[str | Path]) -> None:
    """Stop with one sentence when an output path is, contains, or resolves to one of the inputs."""
    out_r = Path(out).resolve()
    for src in inputs:
        src_p = Path(src)
        if not src_p.exists():
            continue
        src_r = src_p.resolve()
        if (
            out_r == src_r
            or out_r in _resolved_files(src_p)
            or (out_r.is_dir() and src_r.is_relative_to(out_r))
        ):
            raise ArenaprefError(f"the output {out} is the input {src}; choose another output path")


def output_suffix(path: str | Path, allowed: Iterable[str]) -> str:
    """The output format named by the file's extension, or one sentence listing the ones allowed."""
    allowed_t = tuple(allowed)
    suffix = Path(path).suffix.lower()
    if suffix not in allowed_t:
        shown = suffix or "no extension"
        raise ArenaprefError(
            f"{path}: cannot tell the output format from {shown}; use one of {', '.join(allowed_t)}"
        )
    return suffix
