"""Fingerprints, versions and the per-stage manifest: what lets a rerun skip work that has not changed.

A stage's *key* hashes its name and version, its settings, the fingerprints of the files it reads and
the keys of the stages it builds on; a stage whose stored manifest carries the same key is skipped. File
fingerprints are size + mtime for every file, plus a content hash for small files (so an edited small
config or CSV is caught even when its mtime was preserved); a folder is the sorted list of its files'.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from arenapref.atomic import TMP_MARK, write_text

MANIFEST = "manifest.json"
SMALL_FILE_BYTES = 4 << 20
VERSIONED = ("arenapref", "pyarrow", "polars", "numpy", "scikit-learn", "lightgbm", "pydantic")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_fingerprint(path: Path) -> dict[str, Any]:
    """size, mtime (ns) and, for small files, the SHA-256 of the content."""
    st = path.stat()
    out: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if st.st_size <= SMALL_FILE_BYTES:
        out["sha256"] = _sha256(path)
    return out


def _shown(p: Path, base: Path | None) -> str:
    """The path as the key records it: relative to the workspace when inside it, so a moved or copied
    workspace (with its mtimes kept, as ``cp -a`` and ``shutil.copytree`` do) skips every stage."""
    if base is not None:
        try:
            return p.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return str(p)


def fingerprint(path: str | Path, base: Path | None = None) -> dict[str, Any]:
    """A file's fingerprint, or a folder's: its files (temporaries excluded) and one hash over them.

    ``base`` is the workspace folder (the config's): paths inside it are recorded relative to it.
    """
    p = Path(path)
    shown = _shown(p, base)
    if not p.exists():
        return {"path": shown, "missing": True}
    if p.is_file():
        return {"path": shown, **file_fingerprint(p)}
    files = sorted(f for f in p.rglob("*") if f.is_file() and TMP_MARK not in str(f.relative_to(p)))
    prints = [file_fingerprint(f) for f in files]
    listing = [[f.relative_to(p).as_posix(), fp] for f, fp in zip(files, prints, strict=True)]
    digest = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()
    return {
        "path": shown,
        "files": len(files),
        "size": sum(int(fp["size"]) for fp in prints),
        "sha256": digest,
    }


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


__all__ = ["MANIFEST", "fingerprint", "read_manifest", "stage_key", "versions", "write_manifest"]
