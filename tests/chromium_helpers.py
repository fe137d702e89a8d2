"""Headless Chromium for the report tests: installed on demand (Debian ``chromium``), never skipped.

A report that was never rendered has not been tested, so a machine where Chromium can neither be found
nor installed fails these tests with a message saying what to install.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@functools.cache
def chromium() -> str:
    """The Chromium binary; runs ``apt-get install -y chromium`` (with sudo when not root) if missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt:
        prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*prefix, apt, "install", "-y", "chromium"], env=env, capture_output=True, timeout=900)
        found = shutil.which("chromium")
        if found:
            return found
    pytest.fail(
        "the report tests need headless Chromium: install Debian's `chromium` package "
        "(apt-get install -y chromium)"
    )


def _run(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    profile = tmp / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def dump_dom(page: Path, tmp: Path) -> str:
    """The DOM Chromium built from the page."""
    res = _run(["--dump-dom", page.resolve().as_uri()], tmp)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def screenshot(page: Path, tmp: Path, height: int = 4000) -> np.ndarray:
    """A 1280-wide screenshot as an RGB(A) float array."""
    import matplotlib.image as mpimg

    png = tmp / "screenshot.png"
    res = _run([f"--screenshot={png}", f"--window-size=1280,{height}", page.resolve().as_uri()], tmp)
    assert res.returncode == 0 and png.is_file(), res.stderr[-2000:]
    return np.asarray(mpimg.imread(png))


def assert_not_blank(pixels: np.ndarray) -> None:
    """Real content: many non-white pixels and more than a couple of distinct colours."""
    rgb = pixels[..., :3].reshape(-1, 3)
    non_white = float((rgb.min(axis=1) < 0.9).mean())
    colours = len(np.unique((rgb[:: max(1, len(rgb) // 200_000)] * 255).astype(np.uint8), axis=0))
    assert non_white > 0.02 and colours > 20, (non_white, colours)
