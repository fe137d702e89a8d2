"""The executor interface: run a per-block function over blocks, results back in block order.

Choosing an executor by name (and so importing Ray) is ``executors.registry``'s job, which keeps this
module free of the Ray executor that subclasses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


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
