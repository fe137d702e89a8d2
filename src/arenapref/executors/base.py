"""The executor interface: run a per-block function over blocks, results back in block order."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TypeVar

from arenapref.errors import ArenaprefError, MissingDependencyError

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "ray")


class Executor:
    """Runs ``fn(item)`` for every item; subclasses decide where.

    ``imap`` yields results in item order as they become available, so a driver that writes each
    result out holds only the results in flight, never all of them; ``items`` may be a lazy iterable,
    drawn only as blocks are submitted, so a driver that builds blocks on demand holds only those in
    flight too. ``workers`` is how many blocks run at once (what a stage uses to size its blocks).
    """

    name = "base"

    @property
    def workers(self) -> int:
        return 1

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        raise NotImplementedError

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """All results, in item order."""
        return list(self.imap(fn, items))

    def close(self) -> None:
        """Release what the executor started (a local Ray instance); idempotent."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LocalExecutor(Executor):
    """Every block in this process, one after another: the reference the Ray executor must equal."""

    name = "local"

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)


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


def get_executor(name: str = "local", address: str | None = None) -> Executor:
    """The executor called ``name``: ``local``, or ``ray`` (on ``address``, else a local Ray instance).

    ``address`` is what ``ray.init`` takes: ``auto`` for the cluster this machine belongs to, or
    ``ray://head:10001`` for a remote one. Without ray installed, asking for it is one sentence.
    """
    if name == "local":
        if address is not None:
            raise ArenaprefError("--address only applies to --executor ray")
        return LocalExecutor()
    if name == "ray":
        if not ray_available():
            raise MissingDependencyError("ray", "--executor ray", "ray")
        from arenapref.executors.ray_executor import RayExecutor

        return RayExecutor(address=address)
    raise ArenaprefError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
