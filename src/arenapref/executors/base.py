"""The one step contract and the one runner (as datatrove's ``PipelineStep`` and its executors).

A stage step that can run in parallel is a ``BlockStep``: it cuts its input into blocks, names the
function a worker runs on one block, and merges the blocks' results on the driver, in block order.
``run_step`` runs any such step on any ``Executor`` without knowing what the step computes; with no
executor it takes the step's single-process path. Stage packages hold their steps; this package holds
only where blocks run.

Choosing an executor by name (and so importing Ray) is ``executors.registry``'s job, which keeps this
module free of the Ray executor that subclasses ``Executor``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
B = TypeVar("B")
P = TypeVar("P")


class Executor:
    """Runs ``fn(item)`` for every item; subclasses decide where.

    ``imap`` yields results in item order as they become available, so a driver that writes each
    result out holds only the results in flight, never all of them; ``items`` may be a lazy iterable,
    drawn only as blocks are submitted, so a driver that builds blocks on demand holds only those in
    flight too. ``workers`` is how many blocks run at once (what a step uses to size its blocks).
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
    """Every block in this process, one after another: the reference the other executors must equal."""

    name = "local"

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)


class BlockStep(ABC, Generic[B, P, R]):
    """A step of a stage that runs in blocks: ``blocks`` -> ``work`` on each -> ``merge`` in block order.

    The instance lives on the driver and may hold the step's input. Only ``work`` and the blocks travel
    to workers, so ``work`` must be picklable and hold no input: a module-level function, or a
    ``functools.partial`` of one over small settings. ``merge`` may return a generator (a streamed
    result, drawn block by block) and may update counters the step holds.
    """

    @abstractmethod
    def blocks(self, workers: int) -> Iterable[B]:
        """The blocks, in the order their results merge; ``workers`` says how many run at once."""

    @property
    @abstractmethod
    def work(self) -> Callable[[B], P]:
        """What a worker computes from one block."""

    @abstractmethod
    def merge(self, parts: Iterator[P]) -> R:
        """The step's result from its blocks' results (given in block order)."""

    def whole(self) -> R:
        """The result in this process when no executor is given: the blocks one after another.

        A step overrides it where one pass over the whole input is cheaper; it must give what ``merge``
        gives (each stage's tests compare the two).
        """
        return self.merge(map(self.work, self.blocks(1)))


def run_step(step: BlockStep[B, P, R], executor: Executor | None = None) -> R:
    """``step`` on ``executor`` (its blocks as tasks), or ``step.whole()`` in this process without one."""
    if executor is None:
        return step.whole()
    return step.merge(executor.imap(step.work, step.blocks(executor.workers)))
