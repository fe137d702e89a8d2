"""Outputs are complete or absent: every file or folder a command writes goes through here.

A writer writes to a temporary name in the same folder and the result is renamed into place only when
it is complete, so SIGKILL or Ctrl-C at any moment leaves the previous complete output or none, never a
truncated file that a later command would read as valid. ``os.replace`` is atomic on POSIX when source
and target are on the same file system, which the same-folder temporary name guarantees.

No output is written over an input of the command that writes it: ``atomic_path`` and ``atomic_dir``
check every target against the inputs the running command declared (``declare_inputs``), and the
command line checks the paths its options name before anything is read or opened for writing.
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
    refuse_input_as_output(target)
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
    refuse_input_as_output(target, whole_folder=True)
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


_declared_inputs: tuple[Path, ...] = ()


def declare_inputs(inputs: Iterable[str | Path]) -> None:
    """Record the running command's inputs; every later output path is checked against them.

    The command line declares them once per command (``arenapref.cli.common.start_command``), so a
    folder or file written deep inside a stage (a funnel beside ``-o``, a model folder, a chart) is
    refused too, not only the paths the command names. A plain module variable, not a context
    variable, so worker threads see it; the command clears it when it ends.
    """
    global _declared_inputs
    _declared_inputs = tuple(Path(p) for p in inputs)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_input_as_output(
    out: str | Path,
    inputs: Iterable[str | Path] = (),
    *,
    what: str = "the output",
    whole_folder: bool = False,
) -> None:
    """Stop with one sentence when an output path would write over an input; the one rule for all outputs.

    ``out`` may not be, or resolve to (symlinks, relative paths, hard links), one of ``inputs`` or of
    the declared inputs (``declare_inputs``), nor an existing file inside an input folder, nor, when it is
    a folder replaced as a whole (``whole_folder``), a folder that holds an input.
    Inputs that do not exist are skipped: reading them fails with its own message.
    """
    out_p = Path(out)
    out_r = out_p.resolve()
    for src in (*inputs, *_declared_inputs):
        src_p = Path(src)
        if not src_p.exists():
            continue
        src_r = src_p.resolve()
        if out_r == src_r or _same_file(out_r, src_r):
            raise ArenaprefError(f"{what} {out} is the input {src}; choose another output path")
        if src_r.is_dir() and out_r.is_relative_to(src_r) and out_r.exists():
            raise ArenaprefError(
                f"{what} {out} is the input file {out_r.relative_to(src_r)} of the folder {src}; "
                "choose another output path"
            )
        if whole_folder and src_r.is_relative_to(out_r):
            raise ArenaprefError(
                f"{what} {out} is the input {src}'s folder (or one above it); choose another output path"
            )


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
