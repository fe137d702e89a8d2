"""The executors by name (``local``, ``threads``, ``processes``, ``ray``), and the lazily started one a
pipeline run shares."""

from __future__ import annotations

import importlib.util

from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.executors.base import Executor, LocalExecutor

EXECUTORS = ("local", "threads", "processes", "ray")


class LazyExecutor:
    """One executor for a whole run, started on first use and closed once at the end.

    A pipeline whose stages are all skipped never asks for it, so it never starts Ray; one that runs
    several stages starts a local Ray instance once instead of once a stage.
    """

    def __init__(self, name: str = "local", address: str | None = None) -> None:
        self.name, self.address = name, address
        self._executor: Executor | None = None

    def get(self) -> Executor:
        """The executor, started now if this is the first call."""
        if self._executor is None:
            self._executor = get_executor(self.name, self.address)
        return self._executor

    def close(self) -> None:
        """Close the executor if it was started (``contextlib.closing`` makes this a ``with`` block)."""
        if self._executor is not None:
            self._executor.close()
        self._executor = None


def ray_available() -> bool:
    """Whether the optional ``ray`` package is installed (checked without importing it)."""
    return importlib.util.find_spec("ray") is not None


def get_executor(name: str = "local", address: str | None = None, workers: int | None = None) -> Executor:
    """The executor called ``name``: ``local`` (blocks one after another in this process), ``threads`` or
    ``processes`` (a pool of ``workers`` on this machine, its cores by default), or ``ray`` (on
    ``address``, else a local Ray instance).

    ``address`` is what ``ray.init`` takes: ``auto`` for the cluster this machine belongs to, or
    ``ray://head:10001`` for a remote one. Without ray installed, asking for it is one sentence.
    """
    if name not in EXECUTORS:
        raise ArenaprefError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    if name != "ray" and address is not None:
        raise ArenaprefError("`address` only applies to `executor`=ray")
    if name == "local":
        return LocalExecutor()
    if name in ("threads", "processes"):
        from arenapref.executors.pool import ProcessExecutor, ThreadExecutor

        return ThreadExecutor(workers) if name == "threads" else ProcessExecutor(workers)
    if not ray_available():
        raise MissingDependencyError("ray", "`executor`=ray", "ray")
    from arenapref.executors.ray_executor import RayExecutor

    return RayExecutor(address=address)
