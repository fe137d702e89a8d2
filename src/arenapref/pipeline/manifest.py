"""Fingerprints, versions and the per-stage manifest: what lets a rerun skip work that has not changed.

A stage's *key* hashes its name and version, its settings, the fingerprints of the files it reads and
the keys of the stages it builds on; a stage whose stored manifest carries the same key, and whose
recorded outputs are all still there with their recorded size and content hash, is skipped. A file's
fingerprint is its size and the SHA-256 of its whole content (never its mtime: an edit with the mtime
put back is still caught, and a ``touch`` reruns nothing); a folder's is one hash over its files'.

Hashing is paid once per file version: ``HashCache`` remembers each hash under the file's path, size,
mtime, ctime, inode and device. ctime cannot be set back by a user, so a file edited in place always
misses the cache and is read again, while an untouched 1.6 GB input costs one ``stat``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from arenapref.atomic import TMP_MARK, write_text

MANIFEST = "manifest.json"
HASH_CACHE = ".arenapref-hashes.json"
VERSIONED = ("arenapref", "pyarrow", "polars", "numpy", "scikit-learn", "lightgbm", "pydantic")


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's whole content (hashlib's, which uses the CPU's SHA instructions)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class HashCache:
    """Content hashes of files, remembered by path and stat so an untouched file is not read again.

    ``path`` is where the cache is kept (in the run folder); None keeps it in memory only.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._entries: dict[str, list[Any]] = {}
        self._dirty = False
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}  # a damaged cache only costs re-reading; it is rewritten on save
            if isinstance(loaded, dict):
                self._entries = loaded

    def sha256(self, file: Path) -> tuple[int, str]:
        """The file's size and content hash, read from the cache when its stat is unchanged."""
        st = file.stat()
        where = str(file.resolve())
        stat = _stat_key(st)
        entry = self._entries.get(where)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == stat:
            return st.st_size, str(entry[1])
        digest = sha256_file(file)
        if _stat_key(file.stat()) == stat:  # not written to while it was read
            self._entries[where] = [stat, digest]
            self._dirty = True
        return st.st_size, digest

    def moved(self, old: Path, new: Path) -> None:
        """Re-file the hashes of files under folder ``old`` under ``new`` after a rename of the folder
        (renaming a folder leaves its files' stat as it was, so the hashes still hold)."""
        before, after = str(old.resolve()) + os.sep, str(new.resolve()) + os.sep
        for where in [w for w in self._entries if w.startswith(before)]:
            self._entries[after + where[len(before) :]] = self._entries.pop(where)
            self._dirty = True

    def save(self) -> None:
        """Write the cache (atomically) when it learnt something."""
        if self.path is not None and self._dirty:
            write_text(self.path, json.dumps(self._entries, separators=(",", ":")) + "\n")
            self._dirty = False


def _shown(p: Path, base: Path | None) -> str:
    """The path as the key records it: relative to the workspace when inside it, so a moved or copied
    workspace skips every stage."""
    if base is not None:
        try:
            return p.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return str(p)


def fingerprint(path: str | Path, base: Path | None = None, cache: HashCache | None = None) -> dict[str, Any]:
    """A file's fingerprint (size and content hash), or a folder's: its files (temporaries excluded)
    and one hash over their relative paths, sizes and content hashes.

    ``base`` is the workspace folder (the config's): paths inside it are recorded relative to it.
    """
    p = Path(path)
    hashes = cache if cache is not None else HashCache()
    shown = _shown(p, base)
    if not p.exists():
        return {"path": shown, "missing": True}
    if p.is_file():
        size, digest = hashes.sha256(p)
        return {"path": shown, "size": size, "sha256": digest}
    files = sorted(f for f in p.rglob("*") if f.is_file() and TMP_MARK not in str(f.relative_to(p)))
    # hashlib releases the GIL while hashing, so a folder of shards is hashed on every core.
    with ThreadPoolExecutor(max_workers=max(1, min(len(files), os.cpu_count() or 1, 16))) as pool:
        prints = list(pool.map(hashes.sha256, files))
    listing = [[f.relative_to(p).as_posix(), size, h] for f, (size, h) in zip(files, prints, strict=True)]
    digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    return {"path": shown, "files": len(files), "size": sum(size for size, _ in prints), "sha256": digest}


def output_record(folder: Path, cache: HashCache) -> dict[str, dict[str, Any]]:
    """Every file a stage wrote into ``folder`` (temporaries excluded): relative path -> size and hash."""
    out: dict[str, dict[str, Any]] = {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if f.is_file() and TMP_MARK not in rel and rel != MANIFEST:
            size, digest = cache.sha256(f)
            out[rel] = {"size": size, "sha256": digest}
    return out


def changed_output(folder: Path, recorded: Any, cache: HashCache) -> str | None:
    """Why a completed stage folder no longer holds what its manifest recorded, or None when it does."""
    if not isinstance(recorded, dict):
        return "its manifest records no output hashes (written by an older arenapref)"
    for rel, want in recorded.items():
        f = folder / rel
        if not f.is_file():
            return f"its output {rel} is missing"
        size, digest = cache.sha256(f)
        if size != want.get("size"):
            return f"its output {rel} changed size ({want.get('size'):,} -> {size:,} bytes)"
        if digest != want.get("sha256"):
            return f"its output {rel} changed content"
    return None


def versions() -> dict[str, str]:
    """Python and the library versions that can change a stage's outputs."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "(not installed)"
    return out


def stage_key(name: str, version: str, settings: Any, inputs: list[dict[str, Any]], upstream: Any) -> str:
    """The hash that decides whether a stored stage result is still valid."""
    payload = {"stage": name, "version": version, "settings": settings, "inputs": inputs, "up": upstream}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def read_manifest(stage_dir: Path) -> dict[str, Any] | None:
    """The stage folder's manifest, or None when the folder is absent or was never completed."""
    p = stage_dir / MANIFEST
    if not p.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def write_manifest(stage_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest (last, so its presence means the folder is complete)."""
    return write_text(
        stage_dir / MANIFEST, json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n"
    )


__all__ = [
    "HASH_CACHE",
    "MANIFEST",
    "HashCache",
    "changed_output",
    "fingerprint",
    "output_record",
    "read_manifest",
    "sha256_file",
    "stage_key",
    "versions",
    "write_manifest",
]
