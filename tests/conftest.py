"""Shared fixtures: the real samples in ../shared/data (skipped when absent) and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Library defaults use every core (arenapref.threads); this machine's cores are shared by every test
# process, where spinning OpenMP threads cost more than they gain. Set before any test runs.
os.environ.setdefault("ARENAPREF_THREADS", "1")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The folder of real samples beside the project; tests using it skip on a fresh clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def _static_embedder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the distilled static embedder across the whole run (content-addressed, so safe)."""
    return tmp_path_factory.mktemp("static-embedder")


@pytest.fixture(autouse=True)
def _private_user_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, _static_embedder_cache: Path
) -> None:
    """Every test gets its own per-user cache folder, so no test reads or fills the real ~/.cache.

    The distilled static embedder (about 20 s to build) is the one entry shared between tests: it is keyed
    by the ONNX file and settings, so sharing cannot make one test see another's state.
    """
    cache = tmp_path_factory.mktemp("user-cache")
    (cache / "static-embedder").symlink_to(_static_embedder_cache, target_is_directory=True)
    monkeypatch.setenv("ARENAPREF_CACHE_DIR", str(cache))
