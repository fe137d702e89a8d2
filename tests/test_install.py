"""The install story: the demo's lock is a subset of the test lock, and extras declare ranges, not pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_ONLY = ("torch", "transformers", "peft", "ray", "pytest", "accelerate", "mypy", "ruff")


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    pairs = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {p[0].lower().replace("_", "-"): p[1] for p in pairs}


def test_demo_lock_is_the_test_lock_minus_the_test_only_packages() -> None:
    demo, full = _pins("requirements-demo.lock"), _pins("requirements.lock")
    assert {k: v for k, v in demo.items() if full.get(k) != v} == {}  # same pins, so both envs agree
    assert not [name for name in TEST_ONLY if name in demo]
    assert all(name in full for name in TEST_ONLY)


def test_extras_and_dependencies_declare_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    pinned = [s for s in specs if re.search(r"===?", s)]
    assert pinned == [], pinned
