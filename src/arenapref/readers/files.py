"""Which files a reader reads: a path may be one file or a folder of shards."""

from __future__ import annotations

from pathlib import Path

from arenapref.errors import InputFormatError


def files_of(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The data files of a path: the file itself, or a folder's files with the given suffixes, sorted."""
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise InputFormatError(f"{path}: folder holds no {' or '.join(suffixes)} files")
    return files
