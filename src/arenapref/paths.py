"""Where arenapref keeps state that outlives one command: the per-user cache folder.

The judge cache, topic titles and distilled embedders are shared across runs and output names, so a rerun
with any ``--out`` never pays twice. ``$ARENAPREF_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/arenapref``,
else ``~/.cache/arenapref`` (``~/Library/Caches/arenapref`` on macOS,
``%LOCALAPPDATA%/arenapref`` on Windows).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_cache_dir() -> Path:
    """The per-user cache folder (created on demand by the caller)."""
    env = os.environ.get("ARENAPREF_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "arenapref"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "arenapref"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "arenapref"
