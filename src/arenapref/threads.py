"""How many threads to use when the caller did not say: every core this process may run on.

Why the machine's cores: a Kaggle notebook has 4 cores, and a default of one thread left three idle
for LightGBM and the topic fit. ``ARENAPREF_THREADS`` caps it for the whole process - on a busy shared
machine OpenMP threads spin-wait against other processes (two LightGBM threads once measured 40x slower
than one on 648 battles there), and the test suite sets it to 1 for that reason.
"""

from __future__ import annotations

import os

from arenapref.errors import ArenaprefError

ENV = "ARENAPREF_THREADS"


def default_threads() -> int:
    """``ARENAPREF_THREADS`` when set, else the number of cores this process may use."""
    value = os.environ.get(ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ArenaprefError(f"{ENV} must be a whole number of threads, at least 1 (got {value!r})")
        return int(value)
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def resolve_threads(n: int | None) -> int:
    """``n`` when it is a positive count; ``None``, 0 or a negative value mean ``default_threads()``."""
    return n if n is not None and n > 0 else default_threads()


__all__ = ["ENV", "default_threads", "resolve_threads"]
